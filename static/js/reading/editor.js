// The editor in the panel: comment, question or highlight, with tags and who may see it.
// It opens on a selection made in the text, or (the keyboard path, from a paragraph's
// Annotate link) on a whole paragraph, whose exact words the reader then chooses in a
// text box with Shift and the arrow keys: exactly what is selected there, no snapping.

import { createAnnotation } from "./api.js";
import { segmentIn } from "./highlights.js";
import { attachMentions } from "./mentions.js";
import { cpLength } from "./positions.js";

function showError(el, text) {
  el.textContent = text;
  el.hidden = false;
}

/** Open the editor on `target`, or with `block`, on that paragraph. */
export function openEditor(page, panel, target, { block = null } = {}) {
  if (page.archived) return;
  panel.open(block ? "Annotate this paragraph" : "Comment");
  const form = document.getElementById("editor-template").content.firstElementChild.cloneNode(true);
  const quote = form.querySelector("[data-editor-quote]");
  const error = form.querySelector("[data-editor-error]");
  const passage = form.querySelector("[data-editor-passage]");
  let current = target;
  const showQuote = () => {
    quote.textContent = current.exact.length > 300 ? `${current.exact.slice(0, 300)}…` : current.exact;
  };
  if (block) {
    const seg = segmentIn(page.text, block);
    form.querySelector("[data-editor-choose]").hidden = false;
    passage.value = seg.text;
    const sync = () => {
      let [a, b] = [passage.selectionStart, passage.selectionEnd];
      if (a === b) [a, b] = [0, seg.text.length];
      const start = seg.start + cpLength(seg.text.slice(0, a));
      const end = seg.start + cpLength(seg.text.slice(0, b));
      const trimmed = page.text.trim(start, end);
      if (trimmed) current = page.text.target(...trimmed);
      showQuote();
    };
    for (const type of ["select", "keyup", "mouseup", "touchend"]) passage.addEventListener(type, sync);
    // Not `readonly`: Chromium will not move a caret through a readonly textarea. The text
    // is protected from edits instead, so the caret and Shift+arrows still work.
    for (const type of ["beforeinput", "paste", "cut", "drop"]) passage.addEventListener(type, (e) => e.preventDefault());
    current = page.text.target(seg.start, seg.end);
  }
  showQuote();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const motivation = data.get("kind");
    const text = data.get("body") || "";
    if (motivation !== "highlighting" && !text.trim()) {
      showError(error, "Write a comment, or choose “Highlight only”.");
      form.querySelector("[name=body]").focus();
      return;
    }
    const tags = String(data.get("tags") || "").split(",").map((t) => t.trim()).filter(Boolean);
    form.querySelector("button[type=submit]").disabled = true;
    try {
      const id = await createAnnotation(page, current, { motivation, text, tags, visibility: data.get("visibility") });
      if (motivation === "highlighting") panel.close();
      else await panel.openThread(id);
    } catch (err) {
      showError(error, err.message);
      form.querySelector("button[type=submit]").disabled = false;
    }
  });
  form.querySelector("[data-editor-cancel]").addEventListener("click", panel.close);
  panel.body.replaceChildren(form);
  attachMentions(form, page.members);
  if (block) {
    passage.focus();
    passage.setSelectionRange(0, 0);
  } else {
    form.querySelector("[name=body]").focus();
  }
}
