// Meeting mode and live updates on the group reading page (the server's side: meetings/live.py).
//
// One loop asks the version endpoint whether anything changed: {"version": the layer's figure,
// "live": meeting mode's}, with If-None-Match, so an unchanged answer is a 304 from one indexed
// query. Plain short requests, nothing held open: any proxy, any number of app servers.
//   - While meeting mode runs: about every second (MEETING_MS plus jitter), so a spotlight or
//     a note reaches every open page within 3 s. A hidden tab asks every 30 s, and at once
//     when it is shown again.
//   - Otherwise: every 3 s (QUIET_MS; one indexed query, a 304), and not at all while the tab
//     is hidden; every 2 s (SOON_MS) while one of the group's meetings is on. So meeting mode,
//     even started without a scheduled meeting, and its first spotlight reach an open page
//     within 3 s.
//   - A failing or slow server (an error, no answer in TIMEOUT_MS, an answer slower than
//     SLOW_MS) is asked less and less often: the delay doubles with each failure up to
//     BACKOFF_CAP_MS, with jitter so that many pages do not come back in step; the first
//     good answer brings the usual pace back.
// When `live` moved, live.json says what meeting mode is now (through the permission table);
// when `version` moved, layer.json is asked for again (the browser revalidates it) and merged:
//   - in meeting mode at once, block by block, never touching what the reader is doing: a
//     block under their selection waits until it is let go, the open thread gains the new
//     replies without its reply box or an edit being rewritten, and the page does not move
//     (the first block in view is kept where it was). New notes out of view are counted in a
//     quiet "3 new" button that goes to them.
//   - outside meeting mode a button offers "Show 3 new notes"; nothing is redrawn unasked.
// Following the facilitator (on by default; remembered for the tab in sessionStorage): a new
// spotlight scrolls the page to its passage, unless the reader is typing. The passage is
// marked for everyone (a bar beside its paragraphs, and the words themselves where the
// browser has CSS highlights) and announced in a polite live region.

import { loadLayer } from "./api.js";
import { firstMark, redrawAround } from "./highlights.js";
import { passagePoints, rangePositions } from "./positions.js";

export const MEETING_MS = 1000;
export const QUIET_MS = 3000;
export const SOON_MS = 2000;
const SOON_FOR_MS = 5 * 3600_000; // a page left open: the meeting is surely over by then
export const HIDDEN_MEETING_MS = 30_000;
export const SLOW_MS = 2500;
export const TIMEOUT_MS = 10_000;
export const BACKOFF_CAP_MS = 60_000;
const JITTER = 0.25; // up to a quarter more, so pages opened together drift apart
const FOLLOW_KEY = "commonplace:follow-facilitator";
const QUOTE_CHARS = 90;
const NEAR_SCREENS = 3; // the follow scroll glides this far at most, and jumps further

/** The next wait before asking again: the pace of the mode, doubled for each failure in a
 *  row up to `cap`, the back-off with "equal jitter" (half fixed, half random); `random` is
 *  Math.random, given for the tests. Pure. */
export function nextDelay({ base, failures, cap = BACKOFF_CAP_MS, random = Math.random }) {
  if (!failures) return Math.round(base * (1 + JITTER * random()));
  const backoff = Math.min(cap, Math.max(base, MEETING_MS) * 2 ** failures);
  return Math.round(backoff / 2 + (backoff / 2) * random());
}

/** What changed between the layer the page holds (`old`, a Layer) and the one just fetched
 *  (`items`): {added, removed, changed, news}, `news` counting the notes and replies that
 *  others added (what "3 new" counts). Pure. */
export function layerChanges(old, items) {
  const fresh = new Map(items.map((a) => [a.id, a]));
  const added = [];
  const changed = [];
  let news = 0;
  for (const item of items) {
    const before = old.get(item.id);
    if (!before) {
      added.push(item);
      if (!item.mine) news += 1 + (item.replies || 0);
    } else if (differs(before, item)) {
      changed.push(item);
      if (item.replies > before.replies) news += item.replies - before.replies;
    }
  }
  const removed = old.items.filter((a) => !fresh.has(a.id));
  return { added, removed, changed, news };
}

const COMPARED = ["start", "end", "motivation", "private", "replies", "answered", "hidden", "deleted", "plussed", "prompt", "author"];

function differs(a, b) {
  return COMPARED.some((key) => (a[key] ?? null) !== (b[key] ?? null)) || String(a.tags) !== String(b.tags);
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function readFollow() {
  try {
    return sessionStorage.getItem(FOLLOW_KEY) !== "off";
  } catch {
    return true;
  }
}

function writeFollow(on) {
  try {
    sessionStorage.setItem(FOLLOW_KEY, on ? "on" : "off");
  } catch {
    // Private modes may refuse storage: following still switches for this page.
  }
}

/** Meeting mode and live updates for the reading page `page`, opening threads through
 *  `panel`. Call start() once the highlights are drawn. */
export function createLive(page, panel) {
  const section = document.querySelector("[data-live]");
  const announcer = document.querySelector("[data-live-announce]");
  const versionUrl = page.config.dataset.version;
  const canRun = section.dataset.canRun === "1";
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  let running = section.dataset.running === "1";
  const meetingUntil = section.dataset.meetingOn === "1" ? Date.now() + SOON_FOR_MS : 0;
  let state = { running, can_run: canRun, spotlight: null };
  // The figures the page was made at: its layer.json, asked for just after, is at least as
  // new, so a change seen against these is at worst fetched once for nothing (a 304).
  const known = { version: Number(section.dataset.layerVersion) || 0, live: Number(section.dataset.version) || 0 };
  let etag = null;
  let failures = 0;
  let timer = 0;
  let asking = false;
  let stopped = false;
  let lastAsked = 0;
  let follow = readFollow();
  let seenSpot = null; // the `at` of the spotlight last followed
  let opening = true; // until the page's first state from the server: a spotlight is jumped to
  const settled = () => (opening = false);
  let offer = false; // outside meeting mode: new notes wait behind "Show N new notes"
  let unseen = []; // ids of new notes out of view, behind the "N new" button
  const waiting = new Map(); // id → item, redraws held while the reader's selection is there

  // --- the loop ---------------------------------------------------------------------------

  function pace() {
    if (running) return document.hidden ? HIDDEN_MEETING_MS : MEETING_MS;
    return Date.now() < meetingUntil ? SOON_MS : QUIET_MS;
  }

  function schedule(delay = nextDelay({ base: pace(), failures })) {
    clearTimeout(timer);
    timer = 0;
    if (stopped || (document.hidden && !running)) return; // resumed on visibilitychange
    timer = setTimeout(ask, delay);
  }

  async function ask() {
    if (asking || stopped) return;
    asking = true;
    timer = 0;
    const began = performance.now();
    let took = TIMEOUT_MS;
    lastAsked = Date.now();
    let ok = false;
    try {
      const response = await fetch(versionUrl, {
        credentials: "same-origin",
        cache: "no-store",
        headers: etag ? { "If-None-Match": etag } : {},
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      took = performance.now() - began;
      if (response.redirected || response.status === 403 || response.status === 404) {
        // Signed out, or no longer in the group: nothing more to learn here.
        stopped = true;
      } else if (response.status === 304) ok = true;
      else if (response.ok) {
        await changed(await response.json());
        // Only once what changed is taken in: a failure on the way is asked about again.
        etag = response.headers.get("ETag");
        ok = true;
      }
    } catch {
      // A network error, a timeout, a failed live.json or layer.json: counted below, and
      // asked again later.
    }
    asking = false;
    failures = ok && took <= SLOW_MS ? 0 : Math.min(failures + 1, 16);
    schedule();
  }

  /** Ask now, unless an answer is on its way. */
  function askSoon() {
    if (!asking) schedule(0);
  }

  async function changed(figures) {
    if (figures.live !== known.live) {
      await refreshState();
      known.live = figures.live;
    }
    if (figures.version !== known.version) {
      await refreshLayer();
      known.version = figures.version;
      // A new note or reply may be news for this reader: the header's inbox count asks again.
      document.dispatchEvent(new CustomEvent("commonplace:changed"));
    }
  }

  // --- meeting mode ---------------------------------------------------------------------------

  async function refreshState() {
    const response = await fetch(section.dataset.state, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`live.json said ${response.status}`);
    applyState(await response.json());
  }

  function applyState(next) {
    const was = running;
    state = next;
    running = Boolean(next.running);
    section.hidden = !running && !canRun;
    section.classList.toggle("live--on", running);
    document.body.classList.toggle("live-running", running);
    section.querySelector("[data-live-on]").hidden = !running;
    const off = section.querySelector("[data-live-off]");
    if (off) off.hidden = running;
    section.querySelector("[data-live-leader]").textContent = next.leading ? "You are leading" : `${next.leader} is leading`;
    const start = section.querySelector("[data-live-start]");
    const end = section.querySelector("[data-live-end]");
    if (start) start.hidden = running;
    if (end) end.hidden = !running;
    followButton.hidden = !running || Boolean(next.leading);
    toolbarButton.hidden = !(running && canRun);
    markThreadButtons();
    if (running !== was) {
      announce(running ? `Meeting mode has started: ${next.leading ? "you are" : `${next.leader} is`} leading.` : "Meeting mode has ended.");
      if (running) showThreadButton();
      if (!running) seenSpot = null;
      schedule();
    }
    showAgenda(next.agenda);
    showSpotlight(running ? next.spotlight : null);
    if (running && offer) takeAll(); // what waited now goes in at once
  }

  function announce(text) {
    announcer.textContent = "";
    // A change the screen reader notices, even of the same words twice.
    setTimeout(() => (announcer.textContent = text), 50);
  }

  // --- the spotlight ----------------------------------------------------------------------------

  const spotLine = section.querySelector("[data-live-spot]");
  let spotBlocks = [];

  function quoteOf(start, end) {
    const words = page.text.slice(start, end).split(/\s+/).join(" ").trim();
    return words.length > QUOTE_CHARS ? `${words.slice(0, QUOTE_CHARS)}…` : words;
  }

  /** What the spotlight is, in words: the item's own, else the passage's. */
  function words(spot) {
    if (spot.text) return spot.text;
    return spot.start != null ? `“${quoteOf(spot.start, spot.end)}”` : "";
  }

  function describe(spot) {
    if (spot.kind === "agenda") return `the agenda item ${spot.text ? `“${spot.text}”` : words(spot)}`;
    return spot.kind === "thread" ? `a thread on ${words(spot)}` : `the passage ${words(spot)}`;
  }

  function showSpotlight(spot) {
    markPassage(spot);
    spotLine.replaceChildren();
    spotLine.hidden = !spot;
    if (!spot) return;
    const label = document.createElement("p");
    label.className = "live__spot-text";
    const kind = document.createElement("span");
    kind.className = "live__spot-kind";
    kind.textContent = "Spotlight";
    label.append(kind, " ", spot.kind === "agenda" ? `Agenda: ${words(spot)}` : words(spot));
    spotLine.append(label);
    const actions = document.createElement("span");
    actions.className = "live__spot-actions";
    if (spot.start != null) actions.append(button("Go to it", () => goTo(spot, { focus: true })));
    if (spot.thread) actions.append(button(["Open", " the thread"], () => panel.openThread(spot.thread)));
    if (canRun) actions.append(button("Clear", () => send(section.dataset.spotlight, { kind: "" }), "live__clear"));
    spotLine.append(actions);

    if (spot.at === seenSpot) return;
    seenSpot = spot.at;
    const leader = state.leading ? "You" : state.leader;
    announce(`${leader} spotlighted ${describe(spot)}.`);
    if (follow && !state.leading && spot.start != null && !typing()) goTo(spot, { smooth: !opening });
  }

  /** A small button; `text` may be [words, more words] where phones show only the first
   *  (the name stays whole). */
  function button(text, onClick, className = "") {
    const el = document.createElement("button");
    el.type = "button";
    el.className = `button--small button--quiet ${className}`.trim();
    const [words, more] = Array.isArray(text) ? text : [text, ""];
    el.textContent = words;
    if (more) {
      const rest = document.createElement("span");
      rest.className = "live__more";
      rest.textContent = more;
      el.append(rest);
    }
    el.addEventListener("click", onClick);
    return el;
  }

  /** Whether the reader is writing something (the editor, a reply, an edit): the page does
   *  not move under them then. */
  function typing() {
    const active = document.activeElement;
    if (active?.matches?.("textarea, input[type=text], [contenteditable]") && !active.closest("[data-live]")) return true;
    return Boolean(panel.body.querySelector("[data-editor]")) && !panel.element.hidden;
  }

  /** Scroll the passage's first line to a third of the way down the room under the banner
   *  (at once when the page has just opened, else smoothly unless motion is reduced). */
  function goTo(spot, { focus = false, smooth = true } = {}) {
    // A paragraph off screen skips rendering (site.css), and a Range's rectangles there are not
    // where its lines will be: the passage's paragraph is rendered for the measuring.
    const block = page.text.segmentAt(spot.start)?.el.closest(".block");
    if (block) block.style.contentVisibility = "visible";
    const box = passageBox(spot);
    if (block) block.style.contentVisibility = "";
    if (!box) return;
    const above = section.classList.contains("live--on") ? section.getBoundingClientRect().bottom : 0;
    const room = window.innerHeight - Math.max(0, above);
    const top = window.scrollY + box.top - Math.max(0, above) - room / 3;
    // Smoothly to a passage a few screens away; at once to one further (a smooth scroll across
    // the whole essay is a blur that takes over a second before the passage is there). At once
    // is "instant", not "auto": "auto" follows the page's CSS, which asks for smooth scrolling.
    const near = Math.abs(top - window.scrollY) <= NEAR_SCREENS * window.innerHeight;
    const glide = smooth && near && !reduceMotion.matches;
    window.scrollTo({ top: Math.max(0, top), behavior: glide ? "smooth" : "instant" });
    if (focus) {
      const mark = spot.thread && firstMark(page, spot.thread);
      mark?.focus({ preventScroll: true });
    }
  }

  /** Where the passage's first line is on the screen (or its paragraph, failing that). */
  function passageBox(spot) {
    const first = [...(passageRange(spot)?.getClientRects() ?? [])].find((rect) => rect.height > 0);
    return first ?? page.text.segmentAt(spot.start)?.el.getBoundingClientRect() ?? null;
  }

  /** Mark the spotlit passage: a bar beside its paragraphs (and headings), and its words
   *  (a CSS highlight, drawn again after the marks are). */
  function markPassage(spot) {
    for (const el of spotBlocks) el.classList.remove("live-spotlit");
    spotBlocks = [];
    window.CSS?.highlights?.delete("live-spotlight");
    if (!spot || spot.start == null) return;
    for (const seg of page.text.segments) {
      if (seg.start >= spot.end || seg.end <= spot.start) continue;
      const el = seg.el.closest(".block") ?? seg.el;
      if (!spotBlocks.includes(el)) spotBlocks.push(el);
    }
    for (const el of spotBlocks) el.classList.add("live-spotlit");
    spotBlocks[0]?.setAttribute("data-spotlight-label", "Spotlight");
    paintWords(spot);
  }

  function paintWords(spot) {
    if (!window.CSS?.highlights || !window.Highlight || !spot || spot.start == null) return;
    const range = passageRange(spot);
    if (range) CSS.highlights.set("live-spotlight", new Highlight(range));
  }

  /** The spotlit passage as a DOM Range over the marks as drawn now; null for a passage past
   *  the text (revised meanwhile: the bar beside its paragraph still marks it). */
  function passageRange(spot) {
    try {
      const [[a, ao], [b, bo]] = passagePoints(page.text, spot.start, spot.end);
      const range = new Range();
      range.setStart(a, ao);
      range.setEnd(b, bo);
      return range;
    } catch {
      return null;
    }
  }

  // --- the facilitator's controls ---------------------------------------------------------------

  async function send(url, data) {
    const body = new FormData();
    for (const [key, value] of Object.entries(data)) body.append(key, String(value));
    let answer = null;
    let response = null;
    try {
      response = await fetch(url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": page.csrfToken, "X-Requested-With": "fetch", Accept: "application/json" },
      });
      answer = await response.json().catch(() => null);
    } catch {
      // Said below.
    }
    if (!response?.ok || !answer) {
      const text = answer?.error || "That did not work. Try again in a moment.";
      say(text);
      return;
    }
    say("");
    applyState(answer);
    askSoon(); // the figures moved: take them in, so the next change is seen as one
  }

  const error = document.createElement("p");
  error.className = "live__error";
  error.setAttribute("role", "alert");
  error.hidden = true;
  section.querySelector(".live__bar").after(error);
  function say(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  for (const form of section.querySelectorAll("[data-live-start], [data-live-end]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(form.action, {});
    });
  }

  const followButton = section.querySelector("[data-live-follow]");
  followButton.setAttribute("aria-pressed", String(follow));
  followButton.addEventListener("click", () => {
    follow = !follow;
    writeFollow(follow);
    followButton.setAttribute("aria-pressed", String(follow));
    if (follow && state.spotlight?.start != null) goTo(state.spotlight);
  });

  // "Spotlight" beside Highlight and Comment in the selection toolbar (toolbar.js asks
  // page.live.spotlightPassage).
  const toolbarButton = document.createElement("button");
  toolbarButton.type = "button";
  toolbarButton.dataset.action = "spotlight";
  toolbarButton.textContent = "Spotlight";
  toolbarButton.hidden = true;
  document.getElementById("selection-toolbar")?.append(toolbarButton);

  /** "Spotlight this thread" in the open thread: shown to those who run meeting mode while it
   *  runs, pressed while that thread is the spotlight. */
  function markThreadButtons() {
    const current = running && state.spotlight?.kind === "thread" ? state.spotlight.thread : null;
    for (const spot of document.querySelectorAll("[data-live-spot-thread]")) {
      spot.hidden = !(running && canRun);
      spot.setAttribute("aria-pressed", String(Number(spot.dataset.liveSpotThread) === current));
    }
  }

  function showThreadButton() {
    const thread = panel.body.querySelector(".thread[data-thread-root]");
    if (thread) addThreadButton(Number(thread.dataset.threadRoot), thread);
  }

  function addThreadButton(root, thread) {
    if (!canRun || thread.querySelector("[data-live-spot-thread]")) return;
    const item = page.layer.get(root);
    if (item && (item.private || item.hidden || item.deleted)) return; // the server refuses these
    const holder = document.createElement("p");
    holder.className = "live-thread";
    // A toggle: pressed while this thread is the spotlight, and pressing it then clears it.
    const spot = button("Spotlight this thread", () => {
      const on = spot.getAttribute("aria-pressed") === "true";
      send(section.dataset.spotlight, on ? { kind: "" } : { kind: "thread", thread: root });
    });
    spot.dataset.liveSpotThread = String(root);
    holder.append(spot);
    const first = thread.querySelector(":scope > article.note");
    thread.insertBefore(holder, first);
    markThreadButtons();
  }

  const agenda = document.createElement("details");
  agenda.className = "live__agenda";
  agenda.hidden = true;
  section.querySelector(".live__bar").after(agenda);
  let agendaShown = "";

  function showAgenda(items) {
    const shown = JSON.stringify(items ?? null);
    if (shown === agendaShown) return;
    agendaShown = shown;
    agenda.hidden = !running || !items?.length;
    if (agenda.hidden) return;
    const summary = document.createElement("summary");
    summary.textContent = `Agenda (${items.length})`;
    const list = document.createElement("ol");
    list.className = "live__agenda-list";
    for (const item of items) {
      const li = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = item.label;
      if (item.discussed) text.className = "live__discussed";
      const spot = button("Spotlight", () => {
        agenda.open = false; // the banner back to its size
        send(section.dataset.spotlight, { kind: "agenda", item: item.id });
      });
      spot.setAttribute("aria-label", `Spotlight “${item.label}”`);
      li.append(text, " ", spot);
      list.append(li);
    }
    agenda.replaceChildren(summary, list);
  }

  // --- the layer, merged ----------------------------------------------------------------------

  async function refreshLayer() {
    const items = await loadLayer(page.config, page.filters);
    const diff = layerChanges(page.layer, items);
    if (!diff.added.length && !diff.removed.length && !diff.changed.length) return;
    if (running || !diff.news) {
      offer = false;
      merge(diff);
    } else {
      offer = true;
      showOffer(diff.news);
    }
  }

  /** Everything new, now (asked for again: the reader may have added notes meanwhile). */
  async function takeAll({ reveal = false } = {}) {
    offer = false;
    marker.hidden = true;
    try {
      merge(layerChanges(page.layer, await loadLayer(page.config, page.filters)), { reveal });
    } catch {
      offer = true; // asked again on the next click
      marker.textContent = "New notes could not be loaded: try again";
      marker.hidden = false;
    }
  }

  /** The first block on screen and where it is, to keep it there while blocks are redrawn. */
  function anchor() {
    const top = document.querySelector(".site-header")?.getBoundingClientRect().bottom ?? 0;
    for (const seg of page.text.segments) {
      const box = seg.el.getBoundingClientRect();
      if (box.bottom > top) return { el: seg.el, top: box.top };
    }
    return null;
  }

  /** Scroll back by what the block `anchor()` found has moved since, at once ("instant": the
   *  page's CSS would glide it, and the reader would see the text slide). */
  function keepInPlace(kept) {
    if (!kept) return;
    const shift = kept.el.getBoundingClientRect().top - kept.top;
    if (Math.abs(shift) >= 1) window.scrollBy({ top: shift, behavior: "instant" });
  }

  /** The [start, end) of the segments under the reader's selection, if they are selecting in
   *  the text: those blocks are not redrawn until the selection is let go. */
  function selectedSpan() {
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
    const range = selection.getRangeAt(0);
    if (!range.intersectsNode(page.body)) return null;
    const found = rangePositions(page.text, range);
    if (!found) return null;
    const first = page.text.segmentAt(found[0]);
    const last = page.text.segmentAt(Math.max(found[0], found[1] - 1));
    return [first.start, last.end];
  }

  function merge({ added, removed, changed }, { reveal = false } = {}) {
    const held = selectedSpan();
    const kept = anchor();
    const focusedMark = document.activeElement?.closest?.("mark.hl[data-starts]");
    const focusedId = focusedMark?.dataset.starts.split(" ")[0];
    const active = page.active;
    // The open thread is asked for first: its answer is on the way while the marks are drawn.
    if (active != null && [...removed, ...changed].some((item) => item.id === active)) refreshThread(active);
    const redraw = (item) => {
      if (held && item.start < held[1] && item.end > held[0]) waiting.set(item.id, item);
      else redrawAround(page, item);
    };
    for (const item of removed) {
      page.layer.remove(item.id);
      redraw(item);
    }
    for (const item of changed) {
      const before = page.layer.get(item.id);
      const moved = before.start !== item.start || before.end !== item.end;
      if (moved) redraw({ ...before });
      item.new = before.new || item.replies > before.replies;
      Object.assign(before, item);
      redraw(before);
    }
    const fresh = [];
    for (const item of added) {
      item.new = !item.mine;
      page.layer.add(item);
      redraw(item);
      if (!item.mine) fresh.push(item);
    }
    page.cards?.changed();
    if (focusedMark && !focusedMark.isConnected && focusedId) firstMark(page, focusedId)?.focus({ preventScroll: true });
    if (!reveal) keepInPlace(kept);
    paintWords(running ? state.spotlight : null);
    const newReplies = changed.filter((item) => item.new && item.id !== active);
    countUnseen([...fresh, ...newReplies]);
    if (reveal && fresh.length) goToNew();
  }

  /** The held redraws, once the reader lets go of their selection. */
  document.addEventListener("selectionchange", () => {
    if (!waiting.size || selectedSpan()) return;
    const items = [...waiting.values()];
    waiting.clear();
    const kept = anchor();
    for (const item of items) redrawAround(page, page.layer.get(item.id) ?? item);
    keepInPlace(kept);
    paintWords(running ? state.spotlight : null);
  });

  // --- "3 new" and "Show 3 new notes" ------------------------------------------------------

  const marker = document.createElement("button");
  marker.type = "button";
  marker.className = "live-new";
  marker.hidden = true;
  document.body.append(marker);
  marker.addEventListener("click", () => (offer ? takeAll({ reveal: true }) : goToNew()));

  function showOffer(count) {
    marker.textContent = `Show ${plural(count, "new note", "new notes")}`;
    marker.classList.add("live-new--offer");
    marker.hidden = false;
  }

  function onScreen(id) {
    const mark = firstMark(page, id) ?? page.body.querySelector(`mark.hl-${id}`);
    if (!mark) return null;
    const box = mark.getBoundingClientRect();
    const top = document.querySelector(".site-header")?.getBoundingClientRect().bottom ?? 0;
    return box.bottom > top && box.top < window.innerHeight ? 0 : box.top < top ? -1 : 1;
  }

  function countUnseen(items) {
    for (const item of items) {
      if (onScreen(item.id) && !unseen.includes(item.id)) unseen.push(item.id);
    }
    showUnseen();
  }

  function showUnseen() {
    unseen = unseen.filter((id) => page.layer.get(id) && onScreen(id));
    if (offer) return;
    marker.classList.remove("live-new--offer");
    marker.hidden = !unseen.length;
    if (!unseen.length) return;
    const below = unseen.filter((id) => onScreen(id) > 0).length >= unseen.length / 2;
    const arrow = document.createElement("span");
    arrow.setAttribute("aria-hidden", "true");
    arrow.textContent = below ? "↓ " : "↑ ";
    const more = document.createElement("span");
    more.className = "visually-hidden";
    more.textContent = ` ${unseen.length === 1 ? "note" : "notes"} ${below ? "below" : "above"}: go to ${unseen.length === 1 ? "it" : "the first"}`;
    marker.replaceChildren(arrow, `${unseen.length} new`, more);
  }

  function goToNew() {
    const items = unseen.map((id) => page.layer.get(id)).filter(Boolean);
    const fresh = items.length ? items : page.layer.items.filter((a) => a.new && !a.mine);
    const first = fresh.sort((a, b) => a.start - b.start)[0];
    unseen = [];
    marker.hidden = true;
    const mark = first && firstMark(page, first.id);
    if (!mark) return;
    mark.scrollIntoView({ block: "center", behavior: reduceMotion.matches ? "auto" : "smooth" });
    mark.focus({ preventScroll: true });
  }

  let scrolling = 0;
  window.addEventListener(
    "scroll",
    () => {
      if (!unseen.length || scrolling) return;
      scrolling = requestAnimationFrame(() => {
        scrolling = 0;
        showUnseen();
      });
    },
    { passive: true },
  );

  // --- the open thread, brought up to date in place ---------------------------------------------

  /** A note the reader is busy with: focused in, a flag or hide form open, or being edited. */
  function busy(note) {
    return note.contains(document.activeElement) || Boolean(note.querySelector("details[open], form[data-edit-form]"));
  }

  async function refreshThread(root) {
    const current = panel.body.querySelector(`.thread[data-thread-root="${root}"]`);
    if (!current) return;
    const holder = document.createElement("template");
    try {
      const response = await fetch(`${page.config.dataset.threadBase}${root}/?fragment=1`, { credentials: "same-origin" });
      if (!response.ok) return;
      // The server-rendered thread fragment (the permission table decided what it holds).
      holder.innerHTML = await response.text();
    } catch {
      return;
    }
    if (!current.isConnected) return;
    const fresh = holder.content.querySelector(".thread");
    if (!fresh) return;
    const old = new Map([...current.querySelectorAll(":scope > article.note")].map((note) => [note.id, note]));
    let previous = null;
    for (const note of fresh.querySelectorAll(":scope > article.note")) {
      const there = old.get(note.id);
      old.delete(note.id);
      if (current.querySelector(`form[action*="/notes/${note.id.slice(2)}/edit/"]`)) continue; // being edited
      if (there && (busy(there) || there.outerHTML === note.outerHTML)) {
        previous = there;
        continue;
      }
      const node = document.importNode(note, true);
      if (there) there.replaceWith(node);
      else if (previous) previous.after(node);
      else current.insertBefore(node, current.querySelector(":scope > article.note, :scope > form") ?? null);
      panel.enhance(node);
      previous = node;
    }
    for (const note of old.values()) if (!busy(note)) note.remove();
    page.cards?.threadShown(root, panel.body);
  }

  // --- start ---------------------------------------------------------------------------------

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return schedule();
    // Back in view: ask at once if the last question is older than the pace.
    if (Date.now() - lastAsked >= Math.min(pace(), MEETING_MS)) askSoon();
    else schedule();
  });

  /** The banner sticks just under the site's header, whose height depends on the width; the
   *  side contents stick under the banner (--live-height) while it runs. */
  function fitUnderHeader() {
    const header = document.querySelector(".site-header");
    const stuck = header && ["sticky", "fixed"].includes(getComputedStyle(header).position);
    document.documentElement.style.setProperty("--live-top", `${stuck ? header.offsetHeight : 0}px`);
  }
  window.addEventListener("resize", fitUnderHeader, { passive: true });
  new ResizeObserver(() => {
    document.documentElement.style.setProperty("--live-height", `${section.offsetHeight}px`);
  }).observe(section);

  return {
    start() {
      fitUnderHeader();
      section.hidden = !running && !canRun;
      applyState(state);
      if (running) refreshState().then(settled, settled);
      else settled();
      schedule(running ? MEETING_MS : nextDelay({ base: pace(), failures: 0 }));
    },

    /** The selection toolbar's "Spotlight" (a facilitator's, in meeting mode). */
    spotlightPassage(target) {
      return send(section.dataset.spotlight, { kind: "passage", start: target.start, end: target.end });
    },

    /** A thread was shown in the panel: offer a facilitator to spotlight it. */
    threadShown(root, body) {
      const thread = body.querySelector(`.thread[data-thread-root="${root}"]`);
      if (thread) addThreadButton(root, thread);
    },

    /** Marks were drawn again (the reader added or removed one): the spotlight's words too. */
    redrawn() {
      paintWords(running ? state.spotlight : null);
    },
  };
}
