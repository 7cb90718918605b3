// The group reading page: highlights, the selection toolbar, the editor, threads in a side
// panel (a bottom sheet on phones) or, on wide screens, as cards in the margin beside their
// passages, mentions, filters and stepping through their matches.
// Without this script the page still reads, and threads are reachable through plain links
// and forms. This entry module asks for the layer at once, wires the modules in ./reading/
// together while it comes, then draws it (the text reads and scrolls all the while).
//
// For the benchmark, window.__commonplace records the layer's `state` (loading, drawing,
// drawn or failed), how many annotations are `shown`, and when each step happened, in
// milliseconds since the epoch (performance.timeOrigin + performance.now(), so comparable
// with performance.timing.navigationStart): layerRequestedAt, layerLoadedAt (the server's
// answer all in), onScreenDrawnAt (the blocks on screen drawn), drawnAt (every block drawn)
// and paintedAt (the frame after); then, on a wide screen, cardsAt (the first margin cards
// placed, in idle time after the drawing, their module fetched only then). Each is also a
// performance mark: "commonplace:drawn"...

import "./confirm.js";
import { loadLayer } from "./reading/api.js";
import { openEditor } from "./reading/editor.js";
import { drawHighlights, redrawAround, segmentIn, updateMargins } from "./reading/highlights.js";
import { Layer, filtersFrom, isThread } from "./reading/layer.js";
import { initMatches } from "./reading/matches.js";
import { createPanel } from "./reading/panel.js";
import { prepareWords, textOf } from "./reading/positions.js";
import { initToolbar } from "./reading/toolbar.js";

const config = document.getElementById("reading-config");
const filters = filtersFrom(new URLSearchParams(location.search));
const timings = { state: "loading" };
window.__commonplace = timings;
function stamp(name) {
  timings[`${name}At`] = performance.timeOrigin + performance.now();
  performance.mark(`commonplace:${name}`);
}
stamp("layerRequested");
const loading = loadLayer(config, filters, { arrived: () => stamp("layerLoaded") });

const body = document.querySelector(".reading__body");
// After the first frame, with every paragraph laid out once and its height remembered, those
// off screen skip rendering (site.css): drawing their marks then costs no layout or paint.
requestAnimationFrame(() => setTimeout(() => body.classList.add("reading__body--lazy")));
const page = {
  body,
  config,
  text: textOf(body, { context: Number(config.dataset.quoteContext) }),
  layer: new Layer([], { loaded: false }),
  members: JSON.parse(document.getElementById("members-data").textContent),
  filters,
  archived: config.dataset.archived === "1",
  csrfToken: config.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "",
  active: null, // the thread open in the panel: its marks are drawn active
  cards: null, // the cards in the margin (./reading/cards.js), once the layer is drawn
  /** Redraw the blocks `item` covers after it was added or removed; with no item, all. */
  live: null, // meeting mode and live updates (./reading/live.js), once the layer is drawn
  redraw: (item) => {
    const done = item ? redrawAround(page, item) : drawHighlights(page);
    page.cards?.changed();
    page.live?.redrawn();
    return done;
  },
  refreshMargins: () => {
    updateMargins(page);
    page.cards?.changed();
  },
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

/** A click on a mark: the innermost thread there, or a choice when several threads meet (on
 *  a wide screen, where their cards are beside the text, the innermost one's card). */
function clickMark(mark) {
  const items = page.layer.innermostFirst(mark.dataset.ids.split(" ").map(Number));
  if (items.length === 1 || items.filter(isThread).length <= 1 || page.cards?.on) {
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
    // Until the layer is here, the count the server wrote is all there is: wait for it (or
    // if it cannot come, go to the list the link names).
    return loaded.then(
      () => showThreads(count.closest(".block")),
      () => location.assign(count.href),
    );
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
  const link = event.target.closest(".orphans a[data-thread], .page-notes a[data-thread]");
  if (link) {
    event.preventDefault();
    panel.openThread(Number(link.dataset.thread));
  }
});
document.addEventListener("keydown", (event) => {
  // Escape in a dialog (the confirm step) closes that, not the panel.
  if (event.key === "Escape" && !panel.element.hidden && !event.target.closest("dialog")) panel.close();
});

const filterForm = document.querySelector("[data-filters]");
if (filterForm) {
  // Filters apply as soon as they change, so the Apply button leaves the page (and the tab order).
  filterForm.querySelector("[data-filters-submit]").hidden = true;
  filterForm.addEventListener("change", () => filterForm.requestSubmit());
}
for (const hint of document.querySelectorAll("[data-js-only]")) hint.hidden = page.archived;

initToolbar(page, panel);
document.body.classList.add("js-annotations");

const loaded = loading.then((items) => {
  page.layer.load(items);
  timings.shown = page.layer.items.length;
  timings.state = "drawing";
});
const drawn = loaded.then(() => drawHighlights(page, { onScreen: () => stamp("onScreenDrawn") }));
drawn.then(
  (finished) => {
    if (!finished) return;
    stamp("drawn");
    timings.state = "drawn";
    requestAnimationFrame(() =>
      setTimeout(() => {
        stamp("painted");
        startCards();
        startLive();
        (window.requestIdleCallback ?? setTimeout)(prepareWords);
      }),
    );
    initMatches(page);
  },
  () => {
    timings.state = "failed";
    const note = document.createElement("p");
    note.className = "layer-summary__error";
    note.setAttribute("role", "status");
    note.textContent = "The highlights could not be loaded. Reload the page to try again.";
    document.querySelector(".layer-summary")?.after(note);
  },
);

/** The cards in the margin, once the highlights are drawn and painted: their module is asked
 *  for only now, and they are placed when the browser is idle, so they never hold up the
 *  drawing. On a narrow screen they wait, in case it widens. */
function startCards() {
  const idle = window.requestIdleCallback ?? ((run) => setTimeout(run, 1));
  import("./reading/cards.js").then(({ createCards }) =>
    idle(
      () => {
        page.cards = createCards(page, panel);
        page.cards.start({ placed: () => stamp("cards") });
      },
      { timeout: 1000 },
    ),
  );
}

/** Meeting mode and live updates, once the highlights are drawn and painted: like the cards,
 *  their module is asked for only now, so it never holds up the first drawing. */
function startLive() {
  if (!document.querySelector("[data-live]")) return;
  import("./reading/live.js").then(({ createLive }) => {
    page.live = createLive(page, panel);
    page.live.start();
  });
}

const wanted = /^#a-(\d+)$/.exec(location.hash);
if (wanted) {
  const id = Number(wanted[1]);
  Promise.allSettled([panel.openThread(id, { focus: false }), drawn]).then(() => {
    const root = Number(panel.body.querySelector("[data-thread-root]")?.dataset.threadRoot);
    body.querySelector(`mark.hl-${root || id}`)?.scrollIntoView({ block: "center" });
  });
}
