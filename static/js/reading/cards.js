// The discussion in the margin, on wide screens: each thread of the passages in view as a
// compact card in the right margin, its top at the top of its highlight's first line, cards
// pushed down where they would overlap, always in the order of the text. A card opens into
// its thread in place (the panel's own thread view, docked inside the card); Escape or the
// card's head closes it again. Narrow screens keep the side panel and the bottom sheet.
//
// How the cards are placed (stackCards, pure):
//   - The cards of one paragraph form a group (a thread belongs to the paragraph its passage
//     starts in; one starting in a heading, to the paragraph after it).
//   - Going down the text, each card goes at max(its passage's top, the bottom of the card
//     above + GAP): a stable downward push, as Google Docs and Medium do.
//   - A busy paragraph cannot show all its cards beside it (2,000 threads over 55 paragraphs
//     would make the margin twenty times longer than the text). A card is shown only while
//     it stays near its passage (pushed down by at most one and a half cards, or by up to
//     three while there is room before the next paragraph's first card); from the first one
//     that does not, the paragraph's remaining cards fold into one "+N more threads" button,
//     which opens the whole group in place. The open card (and a focused one) always shows.
// Every card's height is known before it is drawn (a closed card has a fixed height), so the
// whole margin is placed in arithmetic, and only the cards within a screen of the viewport
// are in the DOM (with, for the keyboard, the first and the last card and the focused one's
// neighbours): placed again on scroll (once a frame), measured again when the text's
// layout changes. The cards live in a layer of their own beside the text (the reading's
// "margin" grid area, a region "Discussion in the margin"), one group per paragraph, in the
// order of the text: nothing inside the text itself is written, and the Tab key reaches the
// cards after the text (Enter on a highlight opens its card directly).
//
// The opening words come from excerpts.json, asked for in batches for the cards near the
// viewport and kept for the page's life; a highlight's card shows its passage instead.

import { isThread } from "./layer.js";

/** Wide enough for cards: the text, its margin links and a card column side by side. Below
 *  this the right margin is under 13rem, too narrow for the opening words to be worth it. */
export const WIDE = "(min-width: 1200px)";
const MIN_CARD_REM = 13; // narrower than this (a large default font, zoom): no cards
const CARD_REM = 18; // a closed card's width, at most
const OPEN_CARD_REM = 24; // an open card's, at most
const EDGE_REM = 1; // kept free at the window's right edge
const GAP = 8; // px between two cards
const SCREENS = 1; // cards kept in the DOM up to this many screens above and below the view
const BATCH = 60; // ids per excerpts.json request (the server's limit)
const PREFETCH = 12; // cards beyond the DOM's window whose words are asked for as well
const QUOTE_CHARS = 140;

const KINDS = { commenting: "Comment", questioning: "Question", highlighting: "Highlight", tagging: "Tags" };

/** Document order within a paragraph: by start, the longer passage first, then by id. */
const inTextOrder = (a, b) => a.start - b.start || b.end - a.end || a.id - b.id;

/** Place the cards of `groups` (in the order of the text: [{key, open, cards: [{id, want,
 *  height, pinned}]}], `want` the top of the card's passage). Returns the cards and folds
 *  to show, top to bottom, never overlapping: [{kind: "card", id, group, top, height}] and
 *  [{kind: "fold", group, top, height, count, open}]. `near`: how far below its passage a
 *  card may always be pushed; `far`: how far at most, when there is room before the next
 *  group's first card. Pure. */
export function stackCards(groups, { gap = GAP, foldHeight, near, far }) {
  const placed = [];
  let floor = -Infinity;
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g];
    const next = groups[g + 1]?.cards[0]?.want ?? Infinity;
    const folded = [];
    let folding = false; // from the first card that does not fit, the rest fold
    for (const [i, card] of group.cards.entries()) {
      const top = Math.max(card.want, floor);
      if (!group.open) {
        const more = i < group.cards.length - 1 ? foldHeight + gap : 0;
        const room = next - gap - card.height - more;
        folding ||= top > Math.max(card.want + near, Math.min(room, card.want + far));
        if (folding && !card.pinned) {
          folded.push(card);
          continue;
        }
      }
      placed.push({ kind: "card", id: card.id, group: group.key, top, height: card.height });
      floor = top + card.height + gap;
    }
    if (folded.length || group.open) {
      const top = Math.max(folded[0]?.want ?? floor, floor);
      placed.push({ kind: "fold", group: group.key, top, height: foldHeight, count: folded.length, open: Boolean(group.open) });
      floor = top + foldHeight + gap;
    }
  }
  return placed;
}

/** The index of the first of `placed` (sorted by top, none overlapping) reaching below `y`. */
export function firstBelow(placed, y) {
  let low = 0;
  let high = placed.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (placed[middle].top + placed[middle].height < y) low = middle + 1;
    else high = middle;
  }
  return low;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function span(className, text) {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = text;
  return el;
}

/** The cards of the reading page `page` ({body, text, layer, config, ...}), opening threads
 *  through `panel`. Inert until start(); draws nothing unless the screen is wide. */
export function createCards(page, panel) {
  const media = window.matchMedia(WIDE);
  const rem = () => parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const excerptsUrl = page.config.dataset.excerpts || `${location.pathname}excerpts.json`;

  let started = false;
  let on = false; // cards drawn (wide screen, room in the margin)
  let groups = []; // [{key, block, label, top, cards: [{id, item, want}]}], in text order
  let groupsByKey = new Map();
  let itemsById = new Map();
  let placed = [];
  let measured = false;
  let cardHeight = 0;
  let foldHeight = 0;
  let expanded = null; // the id of the thread open in a card
  const openGroups = new Set(); // groups whose fold the reader opened
  const elements = new Map(); // "c12" or "f<block id>" → element in the DOM
  const containers = new Map(); // block → its group of cards, .mcards
  let layer = null; // the element holding the cards, beside .reading__body
  let layerTop = 0; // its top, from the top of the text
  const excerpts = new Map(); // id → opening words ("" when there are none to show)
  const drawn = new WeakMap(); // card → what its head shows, to skip writing it again
  const wanted = new Set(); // ids whose words are to be asked for
  let asking = false;
  let frame = 0;
  let remeasure = false;
  let onPlaced = null;
  let bodySize = "";
  const sizes = new ResizeObserver(([entry]) => {
    const size = `${entry.contentRect.width}x${entry.contentRect.height}`;
    if (bodySize && size !== bodySize) schedule({ measure: true });
    bodySize = size;
  });
  const openSize = new ResizeObserver(() => schedule()); // the open card's thread grows

  // --- measuring the text -------------------------------------------------------------------

  /** The paragraph (a .block) each segment's threads belong to: its own, or for a heading the
   *  one after it (the one before, for a heading at the very end). */
  const blockOf = (() => {
    let found = null;
    return () => {
      if (found) return found;
      const segments = page.text.segments;
      found = segments.map((seg) => seg.el.closest(".block"));
      for (let i = found.length - 2; i >= 0; i--) found[i] ??= found[i + 1];
      for (let i = 1; i < found.length; i++) found[i] ??= found[i - 1];
      return found;
    };
  })();

  function segmentIndex(cp) {
    const { segments } = page.text;
    let low = 0;
    let high = segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (segments[middle].start <= cp) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /** Where every thread's passage starts on the page, by paragraph; and how much room the
   *  margin has. One layout read for the whole page. */
  function measure() {
    remeasure = false;
    const bodyBox = page.body.getBoundingClientRect();
    const width = document.documentElement.clientWidth;
    const left = bodyBox.right + (parseFloat(getComputedStyle(page.body).getPropertyValue("--mcard-left")) || 6.5) * rem();
    const room = width - left - EDGE_REM * rem();
    if (room < MIN_CARD_REM * rem()) {
      groups = [];
      measured = true;
      return false;
    }
    layerElement().hidden = false;
    const box = layer.getBoundingClientRect();
    layerTop = box.top - bodyBox.top;
    layer.style.setProperty("--mcard-x", `${left - box.left}px`);
    layer.style.setProperty("--mcard-width", `${Math.min(CARD_REM * rem(), room)}px`);
    layer.style.setProperty("--mcard-open-width", `${Math.min(OPEN_CARD_REM * rem(), room)}px`);

    const threads = page.layer.items.filter(isThread);
    const first = new Map();
    if (threads.length) {
      for (const mark of page.body.querySelectorAll("mark.hl")) {
        for (const id of mark.getAttribute("data-ids").split(" ")) if (!first.has(id)) first.set(id, mark);
      }
    }
    const blocks = blockOf();
    const byBlock = new Map();
    for (const item of threads) {
      const mark = first.get(String(item.id));
      const block = blocks[segmentIndex(item.start)];
      if (!mark || !block) continue;
      let group = byBlock.get(block);
      if (!group) {
        const number = block.querySelector(".block__number")?.textContent;
        group = {
          key: block.id,
          block,
          label: number ? `paragraph ${number}` : "this caption",
          top: block.getBoundingClientRect().top - bodyBox.top,
          cards: [],
        };
        byBlock.set(block, group);
      }
      group.cards.push({ id: item.id, item, want: mark.getBoundingClientRect().top - bodyBox.top });
    }
    groups = [...byBlock.values()].sort((a, b) => a.top - b.top);
    for (const group of groups) group.cards.sort((a, b) => inTextOrder(a.item, b.item));
    groupsByKey = new Map(groups.map((group) => [group.key, group]));
    itemsById = new Map(threads.map((item) => [item.id, item]));
    measured = true;
    return true;
  }

  /** A closed card's height and a fold's, from a real one (fixed by the stylesheet). */
  function measureHeights(container) {
    if (cardHeight) return;
    const probe = makeCard(groups[0].cards[0].item);
    const fold = makeFold({ group: groups[0].key, count: 2, open: false }, groups[0]);
    probe.style.visibility = fold.style.visibility = "hidden";
    container.append(probe, fold);
    cardHeight = probe.offsetHeight;
    foldHeight = fold.offsetHeight;
    probe.remove();
    fold.remove();
  }

  // --- placing -----------------------------------------------------------------------------

  function place() {
    const focused = document.activeElement?.closest?.("[data-key]")?.dataset.key;
    const step = cardHeight + GAP;
    placed = stackCards(
      groups.map((group) => ({
        key: group.key,
        open: openGroups.has(group.key),
        cards: group.cards.map((card) => {
          const open = card.id === expanded;
          return {
            id: card.id,
            want: card.want,
            height: (open && elements.get(`c${card.id}`)?.offsetHeight) || cardHeight,
            pinned: open || focused === `c${card.id}`,
          };
        }),
      })),
      { foldHeight, near: 1.5 * step, far: 3 * step },
    );
  }

  /** Put the cards within a screen of the viewport (and the open and focused ones) in the
   *  DOM at their places; take the others out. */
  function render() {
    const bodyTop = page.body.getBoundingClientRect().top;
    const screen = window.innerHeight;
    const from = -bodyTop - SCREENS * screen;
    const to = -bodyTop + (1 + SCREENS) * screen;
    const keep = new Set();
    const focused = document.activeElement?.closest?.("[data-key]")?.dataset.key;

    const start = firstBelow(placed, from);
    let end = start;
    while (end < placed.length && placed[end].top <= to) end++;
    const shown = placed.slice(start, end);
    // Kept wherever the view is, for the keyboard: the first and the last card (Tab from the
    // end of the text, Shift+Tab from below the margin, land on them), the open one, and the
    // focused one with its neighbours (the next Tab or Shift+Tab lands on them before a
    // scroll has drawn them).
    const extra = new Set([placed[0], placed.at(-1)]);
    for (const [i, spot] of placed.entries()) {
      const key = spot.kind === "card" ? `c${spot.id}` : `f${spot.group}`;
      if (spot.kind === "card" && spot.id === expanded) extra.add(spot);
      if (key === focused) for (const near of placed.slice(Math.max(0, i - 1), i + 2)) extra.add(near);
    }
    for (const spot of extra) if (spot && !shown.includes(spot)) shown.push(spot);
    shown.sort((a, b) => a.top - b.top);

    const asked = [];
    const byContainer = new Map();
    for (const spot of shown) {
      const group = groupsByKey.get(spot.group);
      const key = spot.kind === "card" ? `c${spot.id}` : `f${spot.group}`;
      keep.add(key);
      let el = elements.get(key);
      if (spot.kind === "card") {
        const item = itemsById.get(spot.id);
        if (!el) {
          el = makeCard(item);
          elements.set(key, el);
        } else fill(el, item);
        if (!excerptOf(item)) asked.push(item.id);
      } else if (!el || el.dataset.count !== String(spot.count) || el.dataset.open !== String(spot.open)) {
        const fold = makeFold(spot, group);
        if (el && el.contains(document.activeElement)) {
          el.replaceWith(fold); // keeps its place, and focus goes along below
          fold.focus({ preventScroll: true });
        } else el?.remove();
        el = fold;
        elements.set(key, el);
      }
      const top = `${Math.round(spot.top - layerTop)}px`;
      if (el.style.top !== top) el.style.top = top;
      const list = byContainer.get(group) ?? [];
      list.push(el);
      byContainer.set(group, list);
    }
    for (const [key, el] of elements) {
      if (keep.has(key)) continue;
      el.remove();
      elements.delete(key);
    }
    for (const [group, list] of byContainer) arrange(containerOf(group), list);
    for (const [block, container] of containers) {
      if (!container.firstElementChild) {
        container.remove();
        containers.delete(block);
      }
    }
    layer.hidden = !placed.length; // no empty region for a reading without threads
    // The words of the cards shown, and of a few beyond them (below first: reading goes down).
    const after = [...placed.slice(end, end + PREFETCH), ...placed.slice(Math.max(0, start - PREFETCH / 2), start)];
    for (const spot of after) {
      const item = spot.kind === "card" && itemsById.get(spot.id);
      if (item && !excerptOf(item)) asked.push(item.id);
    }
    ask(asked);
  }

  /** The layer of cards, in the reading's margin column, beside the text. */
  function layerElement() {
    if (!layer) {
      layer = document.createElement("div");
      layer.className = "mcards-layer";
      layer.setAttribute("role", "region");
      layer.setAttribute("aria-label", "Discussion in the margin");
      listen(layer);
    }
    if (!layer.isConnected) page.body.after(layer);
    return layer;
  }

  /** The group of cards of `group`'s paragraph, in the layer in the order of the text. */
  function containerOf(group) {
    let container = containers.get(group.block);
    if (!container || !container.isConnected) {
      container = document.createElement("div");
      container.className = "mcards";
      container.setAttribute("role", "group");
      container.setAttribute("aria-label", `Threads on ${group.label}`);
      const after = groups.slice(groups.indexOf(group) + 1);
      const next = after.map((other) => containers.get(other.block)).find((other) => other?.isConnected);
      layerElement().insertBefore(container, next ?? null);
      containers.set(group.block, container);
    }
    return container;
  }

  /** Put `list` in `container` in this order, moving none of the elements already there
   *  (moving one would take focus from it): they are in this order already. */
  function arrange(container, list) {
    let at = container.firstElementChild;
    for (const el of list) {
      if (el === at) at = at.nextElementSibling;
      else container.insertBefore(el, at);
    }
  }

  // --- one card ----------------------------------------------------------------------------

  function excerptOf(item) {
    if (item.motivation === "highlighting" || item.deleted) return true;
    return excerpts.has(item.id);
  }

  function makeCard(item) {
    const el = document.createElement("div");
    el.dataset.key = `c${item.id}`;
    el.dataset.card = item.id;
    const head = document.createElement("button");
    head.type = "button";
    head.className = "mcard__head";
    head.setAttribute("aria-expanded", "false");
    el.append(head);
    fill(el, item);
    return el;
  }

  /** Write the card's head from the layer (and the words, once known): no write if nothing
   *  it shows has changed. */
  function fill(el, item) {
    const words = item.motivation === "highlighting" ? null : excerpts.get(item.id);
    const open = item.id === expanded;
    const shows = JSON.stringify([item.replies, item.answered, item.hidden, item.deleted, item.new, item.tags, words, open, item.author, item.original]);
    if (drawn.get(el) === shows) return;
    drawn.set(el, shows);
    const classes = ["mcard"];
    if (item.prompt) classes.push("mcard--prompt");
    if (item.new) classes.push("mcard--new");
    if (item.private) classes.push("mcard--private");
    if (item.hidden) classes.push("mcard--hidden");
    if (open) classes.push("mcard--open");
    el.className = classes.join(" ");

    const meta = span("mcard__meta", "");
    meta.append(span("mcard__author", item.mine ? "You" : item.author || "Someone"), " ");
    meta.append(span("mcard__kind", KINDS[item.motivation] ?? "Annotation"), " ");
    if (item.prompt) meta.append(span("mcard__badge mcard__badge--prompt", "Prompt"), " ");
    if (item.private) meta.append(span("mcard__badge mcard__badge--private", "Only you"), " ");
    if (item.hidden) meta.append(span("mcard__badge mcard__badge--hidden", "Hidden"), " ");

    let excerpt;
    if (item.deleted) excerpt = span("mcard__excerpt mcard__excerpt--quiet", "Deleted");
    else if (item.motivation === "highlighting") {
      const exact = page.text.slice(item.start, item.end).split(/\s+/).join(" ").trim();
      const quote = exact.length > QUOTE_CHARS ? `${exact.slice(0, QUOTE_CHARS)}…` : exact;
      excerpt = span("mcard__excerpt mcard__excerpt--quote", `“${quote}”`);
    } else if (words === undefined) {
      excerpt = span("mcard__excerpt mcard__excerpt--loading", "");
      excerpt.append(span("visually-hidden", "Loading"));
    } else if (!words) {
      excerpt = span("mcard__excerpt mcard__excerpt--quiet", item.hidden ? "Hidden by a facilitator" : "No text");
    } else excerpt = span("mcard__excerpt", words);

    const foot = [item.replies ? plural(item.replies, "reply", "replies") : "No replies yet"];
    // An imported note says who wrote it where it came from (its author here imported it).
    if (item.original && !item.deleted) foot.push(item.original);
    if (item.answered !== null && item.answered !== undefined) foot.push(item.answered ? "Answered" : "Unanswered");
    if (item.tags?.length) foot.push(item.tags.map((tag) => `#${tag}`).join(" "));
    const footer = span("mcard__foot", "");
    if (item.new) footer.append(span("mcard__new", "New"), " ");
    for (const [i, part] of foot.entries()) {
      if (i) footer.append(" · ");
      footer.append(part === "Answered" ? span("mcard__answered", part) : part);
    }

    const head = el.querySelector(".mcard__head");
    head.replaceChildren(meta, " ", excerpt, " ", footer);
    head.setAttribute("aria-expanded", String(open));
  }

  function makeFold(spot, group) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "mcards__more";
    button.dataset.key = `f${spot.group}`;
    button.dataset.fold = spot.group;
    button.dataset.count = String(spot.count);
    button.dataset.open = String(spot.open);
    button.setAttribute("aria-expanded", String(spot.open));
    const words = spot.open ? "Show fewer threads" : `+${plural(spot.count, "more thread", "more threads")}`;
    button.append(words, span("visually-hidden", ` on ${group.label}`));
    return button;
  }

  // --- the words -----------------------------------------------------------------------------

  function ask(ids) {
    for (const id of ids) wanted.add(id);
    if (!asking && wanted.size) fetchWords();
  }

  async function fetchWords() {
    asking = true;
    const ids = [...wanted].slice(0, BATCH);
    for (const id of ids) wanted.delete(id);
    let found = {};
    try {
      const response = await fetch(`${excerptsUrl}?ids=${ids.join(",")}`, { credentials: "same-origin" });
      if (response.ok) found = (await response.json()).excerpts ?? {};
    } catch {
      // Left without words: the card still names the thread and opens it.
    }
    for (const id of ids) excerpts.set(id, found[id] ?? "");
    asking = false;
    if (on) {
      for (const id of ids) {
        const el = elements.get(`c${id}`);
        const item = page.layer.get(id);
        if (el && item) fill(el, item);
      }
    }
    wanted.clear(); // what is still wanted is asked for again by the next render
    if (on) schedule();
  }

  // --- when to place again -------------------------------------------------------------------

  /** Place (and with `measure`, measure) again in the next frame. */
  function schedule({ measure: again = false } = {}) {
    remeasure ||= again;
    if (!on && !again) return;
    if (!frame) frame = requestAnimationFrame(update);
  }

  function update() {
    frame = 0;
    if (!started || !media.matches) return;
    if (remeasure || !measured) {
      if (!measure()) return stop();
      if (!on) begin();
    }
    if (groups.length) {
      measureHeights(containerOf(groups[0]));
      place();
    } else placed = [];
    render();
    if (onPlaced) {
      onPlaced();
      onPlaced = null;
    }
  }

  function begin() {
    on = true;
    document.body.classList.add("cards-on");
  }

  /** No cards: the screen went narrow, or the margin has no room. An open card's thread
   *  moves to the side panel (or the bottom sheet). */
  function stop() {
    if (!on) return;
    on = false;
    if (expanded !== null) panel.undock();
    for (const el of elements.values()) el.remove();
    elements.clear();
    for (const container of containers.values()) container.remove();
    containers.clear();
    layer?.remove();
    document.body.classList.remove("cards-on");
  }

  // --- the reader's doings ---------------------------------------------------------------

  function linked(id, lit) {
    for (const mark of page.body.querySelectorAll(`mark.hl-${id}`)) mark.classList.toggle("hl--linked", lit);
  }

  /** What the reader does with the cards: open and close one, open and close a fold. */
  function listen(element) {
    element.addEventListener("click", (event) => {
      const head = event.target.closest(".mcard__head");
      if (head) {
        const id = Number(head.parentElement.dataset.card);
        if (id === expanded && !panel.element.hidden) panel.close();
        else panel.openThread(id);
        return;
      }
      const fold = event.target.closest(".mcards__more");
      if (fold) {
        const key = fold.dataset.fold;
        const before = new Set(placed.filter((s) => s.kind === "card" && s.group === key).map((s) => s.id));
        const opening = !openGroups.has(key);
        if (opening) openGroups.add(key);
        else openGroups.delete(key);
        update();
        if (opening) {
          // On to the first of the cards the fold held.
          const first = groups.find((g) => g.key === key)?.cards.find((card) => !before.has(card.id));
          elements.get(`c${first?.id}`)?.querySelector(".mcard__head").focus();
        }
      }
    });
    // A card and its passage light up together.
    element.addEventListener("pointerover", (event) => {
      const card = event.target.closest(".mcard");
      if (card && !card.contains(event.relatedTarget)) linked(card.dataset.card, true);
    });
    element.addEventListener("pointerout", (event) => {
      const card = event.target.closest(".mcard");
      if (card && !card.contains(event.relatedTarget)) linked(card.dataset.card, false);
    });
    element.addEventListener("focusin", (event) => {
      const card = event.target.closest(".mcard");
      if (card) linked(card.dataset.card, true);
      // The focused card's neighbours, before the next key press (a frame may come later);
      // after what is running now, which may be a render that moved the focus.
      if (on) queueMicrotask(() => on && render());
    });
    element.addEventListener("focusout", (event) => {
      const card = event.target.closest(".mcard");
      if (card && !card.contains(event.relatedTarget)) linked(card.dataset.card, false);
    });
  }

  function lightCards(event, lit) {
    const mark = on && event.target.closest("mark.hl");
    if (!mark || mark.contains(event.relatedTarget)) return;
    for (const id of mark.dataset.ids.split(" ")) elements.get(`c${id}`)?.classList.toggle("mcard--linked", lit);
  }
  page.body.addEventListener("pointerover", (event) => lightCards(event, true));
  page.body.addEventListener("pointerout", (event) => lightCards(event, false));

  return {
    /** Whether cards are drawn (a click on a highlight then opens its card). */
    get on() {
      return on;
    },

    /** Begin: measure, place and draw the cards near the viewport (call once the highlights
     *  are drawn), and follow scrolling, resizing and the screen's width from now on.
     *  `placed` is called once, when cards are first placed. */
    start({ placed: first = () => {} } = {}) {
      if (started) return;
      started = true;
      onPlaced = first;
      window.addEventListener("scroll", () => schedule(), { passive: true });
      window.addEventListener("resize", () => schedule({ measure: true }));
      sizes.observe(page.body);
      media.addEventListener("change", () => (media.matches ? schedule({ measure: true }) : stop()));
      if (media.matches) update();
    },

    /** The layer changed (an annotation added or removed, a reply counted): place again. */
    changed() {
      if (started) schedule({ measure: true });
    },

    /** The card to open thread `id` in, drawn now; null when the thread has no card (the
     *  panel opens at the side then). */
    hostFor(id) {
      if (!on) return null;
      const item = page.layer.get(id);
      if (!item || !isThread(item)) return null;
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      if (remeasure && !measure()) {
        stop();
        return null;
      }
      if (!groups.some((group) => group.cards.some((card) => card.id === id))) return null;
      expanded = id;
      place();
      render();
      return elements.get(`c${id}`) ?? null;
    },

    /** The panel moved from card `from` to card `to` (either may be null: the side panel). */
    hosted(from, to) {
      if (from) {
        openSize.unobserve(from);
        const item = page.layer.get(Number(from.dataset.card));
        if (Number(from.dataset.card) === expanded) expanded = null;
        if (item && from.isConnected) fill(from, item);
      }
      if (to) {
        expanded = Number(to.dataset.card);
        const item = page.layer.get(expanded);
        if (item) fill(to, item);
        openSize.observe(to);
      } else expanded = null;
      if (on) {
        update();
      }
    },

    /** The thread `root` was shown (loaded, or loaded again after a reply or an edit): what
     *  the card says follows it. */
    threadShown(root, element) {
      const item = page.layer.get(root);
      if (!item) return;
      const body = element.querySelector(`#a-${root} .note__body`);
      if (body) excerpts.set(root, body.textContent.split(/\s+/).join(" ").trim().slice(0, 240));
      const replies = element.querySelectorAll("[data-thread-root] .note").length - 1;
      if (replies >= 0) item.replies = replies;
      if (item.answered !== null && item.answered !== undefined) {
        item.answered = Boolean(element.querySelector(".note--answer"));
      }
      const el = elements.get(`c${root}`);
      if (el) fill(el, item);
    },
  };
}
