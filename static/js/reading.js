// The group reading page: highlights, the selection toolbar, the editor, threads in a side
// panel (a bottom sheet on phones), mentions, filters and stepping through their matches.
// Without this script the page still reads, and threads are reachable through plain links
// and forms. This entry module reads what the server put in the page, draws the layer and
// wires the modules in ./reading/ together.

import "./confirm.js";
import { openEditor } from "./reading/editor.js";
import { drawHighlights, segmentIn, updateMargins } from "./reading/highlights.js";
import { Layer, filtersFrom, isThread } from "./reading/layer.js";
import { initMatches } from "./reading/matches.js";
import { createPanel } from "./reading/panel.js";
import { textOf } from "./reading/positions.js";
import { initToolbar } from "./reading/toolbar.js";

const config = document.getElementById("reading-config");
const body = document.querySelector(".reading__body");
const page = {
  body,
  config,
  text: textOf(body, { context: Number(config.dataset.quoteContext) }),
  layer: new Layer(JSON.parse(document.getElementById("layer-data").textContent)),
  members: JSON.parse(document.getElementById("members-data").textContent),
  filters: filtersFrom(new URLSearchParams(location.search)),
  archived: config.dataset.archived === "1",
  csrfToken: config.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "",
  redraw: () => drawHighlights(page),
  refreshMargins: () => updateMargins(page),
};
const panel = createPanel(page);

function threadsOn(block) {
  const seg = segmentIn(page.text, block);
  return seg ? page.layer.threadsIn(seg.start, seg.end) : [];
}

function showThreads(block) {
  const threads = threadsOn(block);
  if (threads.length === 1) return panel.openThread(threads[0].id);
  panel.showPicker(threads, `${threads.length} thread${threads.length === 1 ? "" : "s"} here`);
}

/** A click on a mark: the innermost thread there, or a choice when several threads meet. */
function clickMark(mark) {
  const items = page.layer.innermostFirst(mark.dataset.ids.split(" ").map(Number));
  if (items.length === 1 || items.filter(isThread).length <= 1) {
    panel.openThread((items.find(isThread) || items[0]).id);
  } else {
    showThreads(mark.closest(".block"));
  }
}

/** Enter or Space on a mark button: what starts there, a choice if several things do. */
function pressMark(mark) {
  const items = page.layer.innermostFirst(mark.dataset.starts.split(" ").map(Number));
  if (items.length === 1) panel.openThread(items[0].id);
  else panel.showPicker(items, `${items.length} annotations here`);
}

body.addEventListener("click", (event) => {
  const mark = event.target.closest("mark.hl");
  if (mark && document.getSelection().isCollapsed) return clickMark(mark);
  const count = event.target.closest("a[data-threads]");
  if (count) {
    event.preventDefault();
    return showThreads(count.closest(".block"));
  }
  const annotate = event.target.closest("a[data-annotate]");
  if (annotate && !page.archived) {
    event.preventDefault();
    openEditor(page, panel, null, { block: annotate.closest(".block") });
  }
});
body.addEventListener("keydown", (event) => {
  const mark = event.target.closest("mark.hl[data-starts]");
  if (!mark || (event.key !== "Enter" && event.key !== " ")) return;
  event.preventDefault();
  pressMark(mark);
});
document.addEventListener("click", (event) => {
  const link = event.target.closest(".orphans a[data-thread]");
  if (link) {
    event.preventDefault();
    panel.openThread(Number(link.dataset.thread));
  }
});
document.addEventListener("keydown", (event) => {
  // Escape in a dialog (the confirm step) closes that, not the panel.
  if (event.key === "Escape" && !panel.element.hidden && !event.target.closest("dialog")) panel.close();
});

const filters = document.querySelector("[data-filters]");
if (filters) {
  // Filters apply as soon as they change, so the Apply button leaves the page (and the tab order).
  filters.querySelector("[data-filters-submit]").hidden = true;
  filters.addEventListener("change", () => filters.requestSubmit());
}
for (const hint of document.querySelectorAll("[data-js-only]")) hint.hidden = page.archived;

page.redraw();
initToolbar(page, panel);
initMatches(page);
document.body.classList.add("js-annotations");
const wanted = /^#a-(\d+)$/.exec(location.hash);
if (wanted) {
  const id = Number(wanted[1]);
  panel.openThread(id, { focus: false }).then(() => {
    const root = Number(panel.body.querySelector("[data-thread-root]")?.dataset.threadRoot);
    body.querySelector(`mark.hl-${root || id}`)?.scrollIntoView({ block: "center" });
  });
}
