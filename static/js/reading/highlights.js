// Drawing the layer over the text. Each stretch of text covered by the same annotations
// becomes one <mark class="hl hl-ID ..."> (data-ids lists them); the first mark of every
// annotation is also a button in the tab order, named for what it opens, so a keyboard reader
// can reach every highlight, bare ones too. The margin beside each block counts its threads.

import { utf16Index } from "./positions.js";

const KINDS = { commenting: "Comment", questioning: "Question", highlighting: "Highlight", tagging: "Tags" };

/** "Comment by Maria Member, 2 replies": how a mark button speaks of one annotation. */
function describe(a) {
  const kind = KINDS[a.motivation] ?? "Annotation";
  const answered = a.answered === null ? "" : a.answered ? " (answered)" : " (unanswered)";
  const secret = a.private ? ", private" : "";
  const replies = a.replies ? `, ${a.replies} repl${a.replies === 1 ? "y" : "ies"}` : "";
  return `${kind}${answered} by ${a.mine ? "you" : a.author}${secret}${replies}`;
}

function unwrap(root) {
  for (const mark of root.querySelectorAll("mark.hl")) {
    const parent = mark.parentNode;
    while (mark.firstChild) parent.insertBefore(mark.firstChild, mark);
    mark.remove();
    parent.normalize();
  }
}

/** Wrap [from, to) (UTF-16 offsets within el's text) in marks made by `make` (one for each
 *  text node: a passage with <em> in it takes several). */
function wrapRange(el, from, to, make) {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let offset = 0;
  const pieces = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const length = node.data.length;
    const a = Math.max(from, offset);
    const b = Math.min(to, offset + length);
    if (a < b) pieces.push([node, a - offset, b - offset]);
    offset += length;
    if (offset >= to) break;
  }
  for (const [node, a, b] of pieces) {
    let target = node;
    if (a > 0) target = target.splitText(a);
    if (b - a < target.data.length) target.splitText(b - a);
    const mark = make();
    target.parentNode.insertBefore(mark, target);
    mark.appendChild(target);
  }
}

function makeMark(items) {
  const mark = document.createElement("mark");
  mark.className = "hl";
  mark.dataset.ids = items.map((a) => a.id).join(" ");
  mark.dataset.depth = String(Math.min(items.length, 3));
  if (items.every((a) => a.motivation === "highlighting")) mark.classList.add("hl--plain");
  if (items.some((a) => a.mine)) mark.classList.add("hl--mine");
  if (items.some((a) => a.private)) mark.classList.add("hl--private");
  if (items.some((a) => a.motivation === "questioning")) mark.classList.add("hl--question");
  for (const a of items) mark.classList.add(`hl-${a.id}`);
  return mark;
}

/** Make the first mark of annotation `a` (the first outside a link in the text, if there is
 *  one) the button that opens it; annotations starting together share one. */
function makeButton({ body, layer }, a) {
  const marks = [...body.querySelectorAll(`mark.hl-${a.id}`)];
  const mark = marks.find((m) => !m.closest("a[href]")) ?? marks[0];
  if (!mark) return;
  const ids = [...(mark.dataset.starts?.split(" ") ?? []), String(a.id)];
  mark.dataset.starts = ids.join(" ");
  mark.tabIndex = 0;
  mark.setAttribute("role", "button");
  // The name ends with the words themselves, so nothing of the text is lost to a screen reader.
  const who = ids.map((id) => describe(layer.get(Number(id)))).join("; ");
  mark.setAttribute("aria-label", `${who}: “${mark.textContent}”`);
}

/** Redraw every mark in the reading from the layer, then the margin counts. */
export function drawHighlights(page) {
  const { body, text, layer } = page;
  unwrap(body);
  for (const seg of text.segments) {
    const covering = layer.overlapping(seg.start, seg.end);
    if (!covering.length) continue;
    const bounds = new Set();
    for (const a of covering) {
      bounds.add(Math.max(a.start, seg.start) - seg.start);
      bounds.add(Math.min(a.end, seg.end) - seg.start);
    }
    const points = [...bounds].sort((x, y) => x - y);
    const pieces = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const [a, b] = [points[i], points[i + 1]];
      const items = covering.filter((x) => x.start - seg.start <= a && x.end - seg.start >= b);
      if (items.length) pieces.push([a, b, items]);
    }
    // Wrap from the end so earlier offsets stay valid.
    for (const [a, b, items] of pieces.reverse()) {
      wrapRange(seg.el, utf16Index(seg.text, a), utf16Index(seg.text, b), () => makeMark(items));
    }
  }
  for (const a of layer.items) makeButton(page, a);
  updateMargins(page);
}

/** The focusable first mark of an annotation. */
export function firstMark(page, id) {
  return page.body.querySelector(`mark.hl[data-starts~="${id}"]`);
}

/** The canonical text segment inside a block element. */
export function segmentIn(text, block) {
  return text.segments.find((s) => block.contains(s.el));
}

/** Set each block's "N threads" link in the margin from the layer. */
export function updateMargins({ body, text, layer, config }) {
  for (const margin of body.querySelectorAll(".margin")) {
    const block = margin.closest(".block");
    const seg = segmentIn(text, block);
    const count = seg ? layer.threadsIn(seg.start, seg.end).length : 0;
    let link = margin.querySelector(".margin__count");
    if (!count) {
      link?.remove();
      continue;
    }
    if (!link) {
      link = document.createElement("a");
      link.className = "margin__count";
      const params = new URLSearchParams(location.search); // keep the active filter
      params.set("block", block.id);
      link.href = `${config.dataset.threads}?${params}`;
      link.dataset.threads = block.id;
      margin.prepend(link);
    }
    const number = block.querySelector(".block__number")?.textContent;
    const threads = `${count} thread${count === 1 ? "" : "s"}`;
    link.textContent = threads;
    link.setAttribute("aria-label", `${threads} on ${number ? `paragraph ${number}` : "this caption"}`);
  }
}
