// Positions in a reading's canonical text, counted in Unicode code points (a surrogate pair
// counts once), as the server stores them in TextPositionSelectors.
//
// The canonical text is the text of every heading and block, in document order, joined by
// "\n\n"; each of those elements carries `data-start`, its code point offset. Everything here
// is pure except the last few functions, which map DOM Ranges to positions (and back) when
// called; nothing touches the DOM on import.

export const SEPARATOR = "\n\n";

const SPACE = /\s/u;
// Trimmed from the ends of a selection snapped to words; symbols such as emoji stay.
const EDGE = /[\s\p{P}]/u;
// A hyphen between two words makes them one word, "deeply-felt" (Intl.Segmenter keeps
// "don't" and "workers’s" whole by itself, but splits at hyphens).
const HYPHEN = /^[-\u2010\u2011]$/u;
// Made when first asked for, or in idle time once the page has drawn (prepareWords): building
// a word segmenter loads the browser's break rules, 35-65 ms measured in Chromium, which the
// page's start need not wait for.
let words = null;

/** Build the word segmenter now (reading.js asks in idle time, before any selection). */
export function prepareWords() {
  words ??= new Intl.Segmenter(undefined, { granularity: "word" });
}

/** Number of code points in a string. */
export function cpLength(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** The UTF-16 index of code point `cp` in `text` (its length, past the end). */
export function utf16Index(text, cp) {
  let i = 0;
  for (let n = 0; n < cp && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return i;
}

/** The words of `text` as UTF-16 [from, to) spans, hyphenated words counting as one (and
 *  apostrophes inside words, accents and other scripts handled by Intl.Segmenter). */
export function wordSpans(text) {
  const spans = [];
  let joining = false;
  prepareWords();
  for (const { segment, index, isWordLike } of words.segment(text)) {
    const last = spans[spans.length - 1];
    if (isWordLike && joining) last[1] = index + segment.length;
    else if (isWordLike) spans.push([index, index + segment.length]);
    joining = !isWordLike && last?.[1] === index && HYPHEN.test(segment);
  }
  return spans;
}

/** The canonical text, built from its parts [{start, text, ...}] in document order (extra
 *  fields, such as the element, are kept on each of `segments`). */
export class CanonicalText {
  /** `context`: code points kept on each side of a quote (TextQuoteSelector prefix and
   *  suffix); the server's figure, annotations.anchoring.CONTEXT, reaches the page in
   *  #reading-config's data-quote-context. */
  constructor(parts, { context }) {
    if (!Number.isInteger(context) || context < 0) throw new TypeError("context: a whole number");
    this.context = context;
    this.segments = parts.map((part) => {
      const length = cpLength(part.text);
      return { ...part, length, end: part.start + length };
    });
  }

  /** The whole text, one code point an element: made when first asked for (a selection, a
   *  quote), not while the page starts. */
  get cps() {
    this._cps ??= Array.from(this.segments.map((s) => s.text).join(SEPARATOR));
    return this._cps;
  }

  slice(start, end) {
    return this.cps.slice(Math.max(0, start), Math.max(0, end)).join("");
  }

  /** {start, end, exact, prefix, suffix}: what the API stores for the passage [start, end). */
  target(start, end) {
    return {
      start,
      end,
      exact: this.slice(start, end),
      prefix: this.slice(start - this.context, start),
      suffix: this.slice(end, end + this.context),
    };
  }

  /** [start, end) without white space at either end, or null if nothing else is left. */
  trim(start, end) {
    while (start < end && SPACE.test(this.cps[start])) start++;
    while (end > start && SPACE.test(this.cps[end - 1])) end--;
    return end > start ? [start, end] : null;
  }

  /** The heading or block holding code point `cp` (none for the separators between them). */
  segmentAt(cp) {
    return this.segments.find((s) => s.start <= cp && cp < s.end);
  }

  /** [from, to) of the word holding code point `cp`, or null if it is not in a word. */
  wordAt(cp) {
    const seg = this.segmentAt(cp);
    if (!seg) return null;
    const at = utf16Index(seg.text, cp - seg.start);
    const word = wordSpans(seg.text).find(([from, to]) => from <= at && at < to);
    if (!word) return null;
    return word.map((i) => seg.start + cpLength(seg.text.slice(0, i)));
  }

  /** [start, end) widened to whole words where it begins or ends inside one, then trimmed of
   *  white space and punctuation at the ends (unless that would leave nothing); or null if
   *  only white space was chosen. For selections made with a pointer, which land mid-word. */
  snapToWords(start, end) {
    const trimmed = this.trim(start, end);
    if (!trimmed) return null;
    const from = this.wordAt(trimmed[0])?.[0] ?? trimmed[0];
    const to = this.wordAt(trimmed[1] - 1)?.[1] ?? trimmed[1];
    let [a, b] = [from, to];
    while (a < b && EDGE.test(this.cps[a])) a++;
    while (b > a && EDGE.test(this.cps[b - 1])) b--;
    return b > a ? [a, b] : [from, to];
  }
}

// --- DOM Ranges (called only once the page is there) -----------------------------------------

/** The canonical text of the elements with `data-start` inside `root`; each segment keeps
 *  its element as `el`. */
export function textOf(root, { context }) {
  const parts = [...root.querySelectorAll("[data-start]")].map((el) => ({
    el,
    start: Number(el.dataset.start),
    text: el.textContent,
  }));
  return new CanonicalText(parts, { context });
}

function segmentOf(text, node) {
  const el = (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement)?.closest("[data-start]");
  return el ? text.segments.find((s) => s.el === el) : undefined;
}

/** Code point offset of a DOM point (container, offset) within its segment. */
function pointOffset(seg, container, offset) {
  const range = document.createRange();
  range.setStart(seg.el, 0);
  range.setEnd(container, offset);
  return cpLength(range.toString());
}

/** [start, end) in code points of a DOM Range over the reading (as chosen, untrimmed), or
 *  null if it covers none of the text. */
export function rangePositions(text, range) {
  let startSeg = segmentOf(text, range.startContainer);
  let endSeg = segmentOf(text, range.endContainer);
  let start;
  let end;
  if (startSeg) start = startSeg.start + pointOffset(startSeg, range.startContainer, range.startOffset);
  else {
    startSeg = text.segments.find((s) => range.comparePoint(s.el, 0) >= 0 || range.intersectsNode(s.el));
    if (!startSeg) return null;
    start = startSeg.start;
  }
  if (endSeg) end = endSeg.start + pointOffset(endSeg, range.endContainer, range.endOffset);
  else {
    const inside = text.segments.filter((s) => range.intersectsNode(s.el));
    endSeg = inside[inside.length - 1];
    if (!endSeg) return null;
    end = endSeg.end;
  }
  return [start, end];
}

/** The target for a DOM Range: trimmed of white space, or with `snap`, widened to whole words
 *  (see snapToWords). Null if nothing of the text is chosen. */
export function rangeToTarget(text, range, { snap = false } = {}) {
  const chosen = rangePositions(text, range);
  const span = chosen && (snap ? text.snapToWords(...chosen) : text.trim(...chosen));
  return span ? text.target(...span) : null;
}

/** The DOM point (text node, offset) at code point `cp`, inside segment `seg`. */
function domPoint(seg, cp) {
  let rest = utf16Index(seg.text, cp - seg.start);
  const walker = document.createTreeWalker(seg.el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (rest <= node.data.length) return [node, rest];
    rest -= node.data.length;
  }
  return [seg.el, seg.el.childNodes.length];
}

/** The DOM points [[node, offset], [node, offset]] of the passage [start, end). */
export function passagePoints(text, start, end) {
  return [domPoint(text.segmentAt(start), start), domPoint(text.segmentAt(end - 1), end)];
}
