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

/** Wrap [from, to) (UTF-16 offsets within el's text) in marks: `make(i)` makes the mark for
 *  its i-th text node (a passage with <em> in it takes several). */
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
  pieces.forEach(([node, a, b], index) => {
    let target = node;
    if (a > 0) target = target.splitText(a);
    if (b - a < target.data.length) target.splitText(b - a);
    const mark = make(index);
    target.parentNode.insertBefore(mark, target);
    mark.appendChild(target);
  });
}

/** A mark over `items`; with `opens` ({starting, words}), also the button that opens the
 *  annotations starting there. */
function makeMark(items, opens) {
  const mark = document.createElement("mark");
  mark.className = "hl";
  mark.dataset.ids = items.map((a) => a.id).join(" ");
  mark.dataset.depth = String(Math.min(items.length, 3));
  if (items.every((a) => a.motivation === "highlighting")) mark.classList.add("hl--plain");
  if (items.some((a) => a.mine)) mark.classList.add("hl--mine");
  if (items.some((a) => a.private)) mark.classList.add("hl--private");
  if (items.some((a) => a.motivation === "questioning")) mark.classList.add("hl--question");
  for (const a of items) mark.classList.add(`hl-${a.id}`);
  if (opens) {
    // The name holds the words themselves, so nothing of the text is lost to a screen reader.
    mark.dataset.starts = opens.starting.map((a) => a.id).join(" ");
    mark.tabIndex = 0;
    mark.setAttribute("role", "button");
    mark.setAttribute("aria-label", `${opens.starting.map(describe).join("; ")}: “${opens.words}”`);
  }
  return mark;
}

/** Redraw every mark in the reading from the layer, then the margin counts. */
export function drawHighlights(page) {
  const { body, text, layer } = page;
  unwrap(body);
  const started = new Set();
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
      if (!items.length) continue;
      const starting = items.filter((x) => !started.has(x.id));
      for (const x of starting) started.add(x.id);
      pieces.push([a, b, items, starting]);
    }
    // Wrap from the end so earlier offsets stay valid.
    for (const [a, b, items, starting] of pieces.reverse()) {
      const [from, to] = [utf16Index(seg.text, a), utf16Index(seg.text, b)];
      const opens = starting.length ? { starting, words: seg.text.slice(from, to) } : null;
      wrapRange(seg.el, from, to, (i) => makeMark(items, i === 0 ? opens : null));
    }
  }
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
      link.href = `${config.dataset.threads}?block=${encodeURIComponent(block.id)}`;
      link.dataset.threads = block.id;
      margin.prepend(link);
    }
    const number = block.querySelector(".block__number")?.textContent;
    const threads = `${count} thread${count === 1 ? "" : "s"}`;
    link.textContent = threads;
    link.setAttribute("aria-label", `${threads} on ${number ? `paragraph ${number}` : "this caption"}`);
  }
}
