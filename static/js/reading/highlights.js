// Drawing the layer over the text. Each stretch of text covered by the same annotations
// becomes one <mark class="hl hl-ID ..."> (data-ids lists them); the first mark of every
// annotation is also a button in the tab order, named for what it opens, so a keyboard reader
// can reach every highlight, bare ones too, and it carries a dot (hl--new) when one of them is
// new since the reader's last visit. The margin beside each block counts its threads.
//
// One pass, one write per block: a block's marks are made in memory, on a copy of the block's
// own markup (taken before it was first marked), and the block's content is then replaced
// once. Redrawing after one annotation is added or removed redraws only the blocks it covers.
// The whole layer is drawn in slices of a few milliseconds, the blocks on screen first, so the
// page keeps scrolling and answering while a busy layer is drawn.

import { utf16Index } from "./positions.js";

const KINDS = { commenting: "Comment", questioning: "Question", highlighting: "Highlight", tagging: "Tags" };

// Milliseconds of drawing before the browser gets the main thread back (to paint, scroll,
// answer a key): short enough that nobody notices a pause, long enough to be few slices.
const SLICE_MS = 8;

/** "Comment by Maria Member, 2 replies": how a mark button speaks of one annotation
 *  ("Prompt, question by ..." for a facilitator's discussion prompt; ", new" when written
 *  to since the reader's last visit). */
function describe(a) {
  const kind = KINDS[a.motivation] ?? "Annotation";
  const answered = a.answered == null ? "" : a.answered ? " (answered)" : " (unanswered)";
  const prompt = a.prompt ? `Prompt, ${kind.toLowerCase()}` : kind;
  const secret = a.private ? ", private" : "";
  const replies = a.replies ? `, ${a.replies} repl${a.replies === 1 ? "y" : "ies"}` : "";
  const fresh = a.new ? ", new" : "";
  return `${prompt}${answered} by ${a.mine ? "you" : a.author}${secret}${replies}${fresh}`;
}

// --- each block as the server wrote it ------------------------------------------------------

const prepared = new WeakMap();

/** A segment's markup before any mark (a fragment to copy), the UTF-16 spans of its text
 *  inside links, and whether it is marked now. Taken the first time the segment is asked
 *  about, which is always before it is first marked. */
function prepare(seg) {
  let found = prepared.get(seg);
  if (found) return found;
  const pristine = document.createDocumentFragment();
  for (const node of seg.el.childNodes) pristine.append(node.cloneNode(true));
  const links = [];
  let offset = 0;
  const walker = document.createTreeWalker(seg.el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const end = offset + node.data.length;
    const link = node.parentElement.closest("a[href]");
    if (link && seg.el.contains(link)) {
      const last = links[links.length - 1];
      if (last && last[1] === offset) last[1] = end;
      else links.push([offset, end]);
    }
    offset = end;
  }
  // Without astral characters a code point offset is its UTF-16 index.
  const astral = seg.text.length !== seg.length;
  found = { pristine, links, astral, marked: false };
  prepared.set(seg, found);
  return found;
}

/** UTF-16 index in the segment's text of code point `cp` of the whole text (clamped). */
function index16(seg, cp) {
  const at = Math.min(Math.max(cp, seg.start), seg.end) - seg.start;
  return prepare(seg).astral ? utf16Index(seg.text, at) : at;
}

/** Whether any of [from, to) (UTF-16, in the segment) is outside the segment's links. */
function outsideLinks(seg, from, to) {
  let at = from;
  for (const [a, b] of prepare(seg).links) {
    if (b <= at) continue;
    if (a > at) return true;
    at = b;
    if (at >= to) return false;
  }
  return at < to;
}

/** The segments the passage [start, end) overlaps, in order. */
function segmentsOver(text, start, end) {
  const { segments } = text;
  let low = 0;
  let high = segments.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (segments[middle].end <= start) low = middle + 1;
    else high = middle;
  }
  const found = [];
  for (let i = low; i < segments.length && segments[i].start < end; i++) found.push(segments[i]);
  return found;
}

const buttonSegments = new WeakMap();

/** The segment holding annotation `a`'s button: its first mark outside a link is the
 *  button, or if every mark is in a link, its first mark. (An annotation keeps its passage,
 *  and the text its links, so this is worked out once.) */
function buttonSegment(text, a) {
  let found = buttonSegments.get(a);
  if (!found) {
    const over = segmentsOver(text, a.start, a.end);
    found = over.find((seg) => outsideLinks(seg, index16(seg, a.start), index16(seg, a.end))) ?? over[0];
    buttonSegments.set(a, found);
  }
  return found;
}

// --- one block, in memory then in one write -------------------------------------------------

function makeMark(items, active) {
  const mark = document.createElement("mark");
  const classes = ["hl"];
  if (items.every((a) => a.motivation === "highlighting")) classes.push("hl--plain");
  if (items.some((a) => a.mine)) classes.push("hl--mine");
  if (items.some((a) => a.private)) classes.push("hl--private");
  if (items.some((a) => a.motivation === "questioning")) classes.push("hl--question");
  if (active && items.some((a) => a.id === active)) classes.push("hl--active");
  for (const a of items) classes.push(`hl-${a.id}`);
  mark.className = classes.join(" ");
  mark.setAttribute("data-ids", items.map((a) => a.id).join(" "));
  mark.setAttribute("data-depth", String(Math.min(items.length, 3)));
  return mark;
}

/** The stretches of the segment covered by the same annotations: [{from, to, items}], in
 *  UTF-16 offsets within the segment, in order, none empty. */
function pieces(seg, covering) {
  const bounds = new Set();
  for (const a of covering) {
    bounds.add(Math.max(a.start, seg.start));
    bounds.add(Math.min(a.end, seg.end));
  }
  const points = [...bounds].sort((x, y) => x - y);
  const found = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [x, y] = [points[i], points[i + 1]];
    const items = covering.filter((a) => a.start <= x && a.end >= y);
    if (items.length) found.push({ from: index16(seg, x), to: index16(seg, y), items });
  }
  return found;
}

/** Wrap the pieces in marks in `content` (a copy of the segment's markup, not in the page):
 *  one mark per piece per text node, so a passage with <em> in it takes several. Returns the
 *  first mark of each annotation, and its first outside a link. */
function wrap(content, stretches, active) {
  const first = new Map();
  const free = new Map();
  const nodes = [];
  const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node);
  let offset = 0;
  let k = 0;
  for (const node of nodes) {
    const end = offset + node.data.length;
    const inLink = Boolean(node.parentElement?.closest("a[href]"));
    const parts = [];
    let at = offset;
    while (k < stretches.length && stretches[k].from < end) {
      const piece = stretches[k];
      const a = Math.max(piece.from, offset);
      const b = Math.min(piece.to, end);
      if (a > at) parts.push(node.data.slice(at - offset, a - offset));
      const mark = makeMark(piece.items, active);
      mark.textContent = node.data.slice(a - offset, b - offset);
      parts.push(mark);
      for (const item of piece.items) {
        if (!first.has(item.id)) first.set(item.id, mark);
        if (!inLink && !free.has(item.id)) free.set(item.id, mark);
      }
      at = b;
      if (piece.to > end) break; // it goes on in the next text node
      k++;
    }
    if (parts.length) {
      if (at < end) parts.push(node.data.slice(at - offset));
      node.replaceWith(...parts);
    }
    offset = end;
  }
  return { first, free };
}

/** Make each annotation's button in this segment: its first mark outside a link (see
 *  buttonSegment); annotations starting together share one. */
function makeButtons(text, seg, covering, { first, free }) {
  const buttons = new Map();
  for (const a of covering) {
    if (buttonSegment(text, a) !== seg) continue;
    const mark = free.get(a.id) ?? first.get(a.id);
    if (!mark) continue;
    if (buttons.has(mark)) buttons.get(mark).push(a);
    else buttons.set(mark, [a]);
  }
  for (const [mark, items] of buttons) {
    mark.setAttribute("data-starts", items.map((a) => a.id).join(" "));
    // A dot where something new since the reader's last visit starts.
    if (items.some((a) => a.new)) mark.classList.add("hl--new");
    mark.tabIndex = 0;
    mark.setAttribute("role", "button");
    // The name ends with the words themselves, so nothing of the text is lost to a screen reader.
    mark.setAttribute("aria-label", `${items.map(describe).join("; ")}: “${mark.textContent}”`);
  }
}

/** Draw one segment from the layer as it is now: one write, or none if it has no marks and
 *  had none. */
function paint(page, seg) {
  const state = prepare(seg);
  const covering = page.layer.overlapping(seg.start, seg.end);
  if (!covering.length && !state.marked) return;
  const content = state.pristine.cloneNode(true);
  if (covering.length) {
    const found = wrap(content, pieces(seg, covering), page.active);
    makeButtons(page.text, seg, covering, found);
  }
  seg.el.replaceChildren(content);
  state.marked = covering.length > 0;
}

// --- the whole layer, or the blocks one annotation covers ------------------------------------

/** The segments, those on screen first, then the nearer to the screen the sooner; and how
 *  many are on screen. */
function nearestFirst(segments) {
  const height = window.innerHeight;
  const away = segments.map((seg) => {
    const { top, bottom } = seg.el.getBoundingClientRect();
    return [bottom < 0 ? -bottom : top > height ? top - height : 0, seg];
  });
  away.sort((x, y) => x[0] - y[0]);
  return { order: away.map(([, seg]) => seg), onScreen: away.filter(([d]) => d === 0).length };
}

// Giving way is posting a message to ourselves: the next slice is a task of its own, so
// the browser may paint and lay out what was drawn, scroll or take a key in between. (A
// continuation of scheduler.yield() ran ahead of rendering, leaving one long layout at the
// end; waiting for each animation frame took twice as long in all.)
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
const giveWay = () =>
  new Promise((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });

let drawing = 0; // the latest whole drawing; an earlier one still going stops

/** Draw every mark in the reading from the layer, and the margin counts: the blocks on
 *  screen at once (then `onScreen` is called), the rest in slices of a few milliseconds.
 *  Resolves true once all are drawn, false if a later drawing took over. */
export async function drawHighlights(page, { onScreen = () => {} } = {}) {
  const run = ++drawing;
  const { order, onScreen: first } = nearestFirst(page.text.segments);
  let began = performance.now();
  for (const [index, seg] of order.entries()) {
    if (index === first) onScreen();
    if (index >= first && performance.now() - began > SLICE_MS) {
      await giveWay();
      if (run !== drawing) return false;
      began = performance.now();
    }
    paint(page, seg);
    updateMargin(page, seg);
  }
  if (first >= order.length) onScreen();
  return true;
}

/** Redraw only the blocks the passage of `item` ({start, end}) covers, and their margins. */
export function redrawAround(page, item) {
  for (const seg of segmentsOver(page.text, item.start, item.end)) {
    paint(page, seg);
    if (page.layer.loaded) updateMargin(page, seg);
  }
}

/** The focusable first mark of an annotation. */
export function firstMark(page, id) {
  return page.body.querySelector(`mark.hl[data-starts~="${id}"]`);
}

/** The canonical text segment inside a block element. */
export function segmentIn(text, block) {
  return text.segments.find((s) => block.contains(s.el));
}

/** Set the "N threads" link in the margin beside a segment's block from the layer (no
 *  write if it says so already, as the server's count does until the layer changes). */
function updateMargin({ layer, config }, seg) {
  const block = seg.el.closest(".block");
  const margin = block?.querySelector(".margin");
  if (!margin) return;
  const count = layer.threadsIn(seg.start, seg.end).length;
  let link = margin.querySelector(".margin__count");
  if (!count) {
    link?.remove();
    return;
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
  const label = `${threads} on ${number ? `paragraph ${number}` : "this caption"}`;
  if (link.textContent !== threads) link.textContent = threads;
  if (link.getAttribute("aria-label") !== label) link.setAttribute("aria-label", label);
}

/** Set each block's "N threads" link in the margin from the layer. */
export function updateMargins(page) {
  for (const seg of page.text.segments) updateMargin(page, seg);
}
