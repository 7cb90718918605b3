// The group reading page: highlights, the selection toolbar, the editor, threads in a side
// panel (a bottom sheet on phones), mentions and filters. Without this script the page still
// reads, and threads are reachable through plain links and forms.
//
// Positions are Unicode code points over the reading's canonical text: every heading and
// block text carries `data-start` (its code point offset), and the text of those elements,
// in document order, joined by "\n\n", is the canonical text.

const SEPARATOR = "\n\n";
const CONTEXT = 32;

const config = document.getElementById("reading-config");
const body = document.querySelector(".reading__body");
const panel = document.getElementById("annotation-panel");
const panelBody = panel.querySelector("[data-panel-body]");
const panelTitle = panel.querySelector("#panel-title");
const toolbar = document.getElementById("selection-toolbar");
const archived = config.dataset.archived === "1";
const layer = JSON.parse(document.getElementById("layer-data").textContent);
const members = JSON.parse(document.getElementById("members-data").textContent);
const csrfToken = config.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "";

// --- code points -----------------------------------------------------------------------------

/** Number of code points in a string (a surrogate pair counts once). */
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

/** The UTF-16 index of code point `cp` in `text`. */
export function utf16Index(text, cp) {
  let i = 0;
  for (let n = 0; n < cp && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return i;
}

// --- the text model ------------------------------------------------------------------------

const segments = [...body.querySelectorAll("[data-start]")].map((el) => ({
  el,
  start: Number(el.dataset.start),
  text: el.textContent,
}));
for (const seg of segments) {
  seg.length = cpLength(seg.text);
  seg.end = seg.start + seg.length;
}
const canonical = segments.map((s) => s.text).join(SEPARATOR);
const canonicalCps = Array.from(canonical);

function cpSlice(start, end) {
  return canonicalCps.slice(Math.max(0, start), Math.max(0, end)).join("");
}

function segmentOf(node) {
  const el = (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement)?.closest("[data-start]");
  return el ? segments.find((s) => s.el === el) : undefined;
}

/** Code point offset of a DOM point (container, offset) within its segment. */
function pointOffset(seg, container, offset) {
  const range = document.createRange();
  range.setStart(seg.el, 0);
  range.setEnd(container, offset);
  return cpLength(range.toString());
}

/** {start, end, exact, prefix, suffix} for a DOM Range over the reading, or null. */
function rangeToTarget(range) {
  let startSeg = segmentOf(range.startContainer);
  let endSeg = segmentOf(range.endContainer);
  let start;
  let end;
  if (startSeg) start = startSeg.start + pointOffset(startSeg, range.startContainer, range.startOffset);
  else {
    startSeg = segments.find((s) => range.comparePoint(s.el, 0) >= 0 || range.intersectsNode(s.el));
    if (!startSeg) return null;
    start = startSeg.start;
  }
  if (endSeg) end = endSeg.start + pointOffset(endSeg, range.endContainer, range.endOffset);
  else {
    const inside = segments.filter((s) => range.intersectsNode(s.el));
    endSeg = inside[inside.length - 1];
    if (!endSeg) return null;
    end = endSeg.end;
  }
  // Trim white space at the edges, like a reader would expect.
  while (start < end && /\s/u.test(canonicalCps[start])) start++;
  while (end > start && /\s/u.test(canonicalCps[end - 1])) end--;
  if (end <= start) return null;
  return targetFor(start, end);
}

function targetFor(start, end) {
  return {
    start,
    end,
    exact: cpSlice(start, end),
    prefix: cpSlice(start - CONTEXT, start),
    suffix: cpSlice(end, end + CONTEXT),
  };
}

// --- highlights -----------------------------------------------------------------------------

function unwrapHighlights() {
  for (const mark of body.querySelectorAll("mark.hl")) {
    const parent = mark.parentNode;
    while (mark.firstChild) parent.insertBefore(mark.firstChild, mark);
    mark.remove();
    parent.normalize();
  }
}

/** Wrap [from, to) (UTF-16 offsets within el's text) in a mark. */
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

function renderHighlights() {
  unwrapHighlights();
  const byId = new Map(layer.map((a) => [a.id, a]));
  for (const seg of segments) {
    const covering = layer.filter((a) => a.s < seg.end && a.e > seg.start);
    if (!covering.length) continue;
    const bounds = new Set();
    for (const a of covering) {
      bounds.add(Math.max(a.s, seg.start) - seg.start);
      bounds.add(Math.min(a.e, seg.end) - seg.start);
    }
    const points = [...bounds].sort((x, y) => x - y);
    const pieces = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const [a, b] = [points[i], points[i + 1]];
      const ids = covering.filter((x) => x.s - seg.start <= a && x.e - seg.start >= b).map((x) => x.id);
      if (ids.length) pieces.push([a, b, ids]);
    }
    // Wrap from the end so earlier offsets stay valid.
    for (const [a, b, ids] of pieces.reverse()) {
      wrapRange(seg.el, utf16Index(seg.text, a), utf16Index(seg.text, b), () => {
        const mark = document.createElement("mark");
        const items = ids.map((id) => byId.get(id));
        mark.className = "hl";
        mark.dataset.ids = ids.join(" ");
        mark.dataset.depth = String(Math.min(ids.length, 3));
        if (items.every((x) => x.m === "highlighting")) mark.classList.add("hl--plain");
        if (items.some((x) => x.mine)) mark.classList.add("hl--mine");
        if (items.some((x) => x.p)) mark.classList.add("hl--private");
        if (items.some((x) => x.m === "questioning")) mark.classList.add("hl--question");
        for (const id of ids) mark.classList.add(`hl-${id}`);
        return mark;
      });
    }
  }
  updateMargins();
}

const isThread = (a) => a.m !== "highlighting" || a.r > 0;

function threadsOn(blockEl) {
  const seg = segments.find((s) => blockEl.contains(s.el));
  if (!seg) return [];
  return layer.filter((a) => isThread(a) && a.s < seg.end && a.e > seg.start);
}

function updateMargins() {
  for (const margin of body.querySelectorAll(".margin")) {
    const block = margin.closest(".block");
    const count = threadsOn(block).length;
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
    link.textContent = `${count} thread${count === 1 ? "" : "s"}`;
    link.setAttribute("aria-label", `${count} thread${count === 1 ? "" : "s"} on this paragraph`);
  }
}

// --- the API --------------------------------------------------------------------------------

async function api(method, url, payload) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      "Content-Type": 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
      Accept: "application/ld+json",
      "X-CSRFToken": csrfToken,
    },
    body: payload ? JSON.stringify(payload) : undefined,
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error || `The server said ${response.status}.`);
  return data;
}

async function createAnnotation(target, { motivation, text = "", tags = [], visibility = "group" }) {
  const bodies = [];
  if (text.trim()) bodies.push({ type: "TextualBody", value: text, format: "text/markdown" });
  for (const tag of tags) bodies.push({ type: "TextualBody", value: tag, purpose: "tagging" });
  const created = await api("POST", config.dataset.container, {
    "@context": "http://www.w3.org/ns/anno.jsonld",
    type: "Annotation",
    motivation,
    visibility,
    body: bodies,
    target: {
      source: config.dataset.source,
      selector: [
        { type: "TextQuoteSelector", exact: target.exact, prefix: target.prefix, suffix: target.suffix },
        { type: "TextPositionSelector", start: target.start, end: target.end },
      ],
    },
  });
  const id = Number(created.id.split("/").pop());
  layer.push({
    id,
    s: target.start,
    e: target.end,
    m: motivation,
    a: "You",
    u: config.dataset.user,
    p: visibility === "private",
    r: 0,
    q: motivation === "questioning" ? false : null,
    mine: true,
    f: false,
    h: false,
    x: false,
    t: tags,
  });
  renderHighlights();
  return id;
}

// --- the panel --------------------------------------------------------------------------------

let opener = null;

function openPanel(title) {
  if (panel.hidden) opener = document.activeElement;
  panelTitle.textContent = title;
  panel.hidden = false;
  document.body.classList.add("panel-open");
}

function closePanel() {
  panel.hidden = true;
  panelBody.replaceChildren();
  document.body.classList.remove("panel-open");
  for (const mark of body.querySelectorAll("mark.hl--active")) mark.classList.remove("hl--active");
  if (location.hash.startsWith("#a-")) history.replaceState(null, "", location.pathname + location.search);
  if (opener && document.contains(opener)) opener.focus();
  opener = null;
}

function threadUrl(id) {
  return `${config.dataset.threadBase}${id}/?fragment=1`;
}

async function openThread(id, { focus = true } = {}) {
  openPanel("Thread");
  panelBody.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(threadUrl(id), { credentials: "same-origin" });
    if (!response.ok) throw new Error(response.status === 404 ? "This thread is not available." : "Could not load the thread.");
    panelBody.innerHTML = await response.text();
  } catch (error) {
    panelBody.replaceChildren(message(error.message));
  }
  panelBody.removeAttribute("aria-busy");
  const root = panelBody.querySelector("[data-thread-root]")?.dataset.threadRoot;
  if (root) {
    history.replaceState(null, "", `${location.pathname}${location.search}#a-${id}`);
    for (const mark of body.querySelectorAll("mark.hl--active")) mark.classList.remove("hl--active");
    for (const mark of body.querySelectorAll(`mark.hl-${root}`)) mark.classList.add("hl--active");
    const target = panelBody.querySelector(`#a-${id}`);
    if (target && String(id) !== root) target.classList.add("note--target");
  }
  enhance(panelBody);
  if (focus) panelBody.focus();
}

function message(text) {
  const p = document.createElement("p");
  p.className = "panel-message";
  p.textContent = text;
  return p;
}

async function reloadThread() {
  const thread = panelBody.querySelector("[data-thread-root]");
  if (thread) await openThread(Number(thread.dataset.threadRoot));
}

function showThreadList(blockEl) {
  const threads = threadsOn(blockEl);
  openPanel(`${threads.length} thread${threads.length === 1 ? "" : "s"} here`);
  const list = document.createElement("ul");
  list.className = "thread-picker";
  for (const a of threads) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "thread-picker__item";
    button.dataset.thread = a.id;
    const quote = document.createElement("span");
    quote.className = "thread-picker__quote";
    const exact = cpSlice(a.s, a.e);
    quote.textContent = `“${exact.length > 90 ? `${exact.slice(0, 90)}…` : exact}”`;
    const meta = document.createElement("span");
    meta.className = "meta";
    const kind = { commenting: "comment", questioning: a.q ? "answered question" : "question", highlighting: "highlight", tagging: "tags" }[a.m] || a.m;
    meta.textContent = `${a.a} · ${kind}${a.p ? " · only you" : ""} · ${a.r} repl${a.r === 1 ? "y" : "ies"}`;
    button.append(quote, meta);
    item.append(button);
    list.append(item);
  }
  panelBody.replaceChildren(list);
  panelBody.focus();
}

// --- the editor -----------------------------------------------------------------------------

function openEditor(target, { block = null } = {}) {
  if (archived) return;
  openPanel(block ? "Annotate this paragraph" : "Comment");
  const form = document.getElementById("editor-template").content.firstElementChild.cloneNode(true);
  const quote = form.querySelector("[data-editor-quote]");
  const error = form.querySelector("[data-editor-error]");
  let current = target;
  const showQuote = () => {
    quote.textContent = current.exact.length > 300 ? `${current.exact.slice(0, 300)}…` : current.exact;
  };
  if (block) {
    // Keyboard path: choose the exact words inside the paragraph with the caret.
    const seg = segments.find((s) => block.contains(s.el));
    const choose = form.querySelector("[data-editor-choose]");
    const passage = form.querySelector("[data-editor-passage]");
    choose.hidden = false;
    passage.value = seg.text;
    const sync = () => {
      let [a, b] = [passage.selectionStart, passage.selectionEnd];
      if (a === b) [a, b] = [0, seg.text.length];
      const start = seg.start + cpLength(seg.text.slice(0, a));
      const end = seg.start + cpLength(seg.text.slice(0, b));
      const trimmed = rangeTrim(start, end);
      if (trimmed) current = targetFor(trimmed[0], trimmed[1]);
      showQuote();
    };
    for (const type of ["select", "keyup", "mouseup", "touchend"]) passage.addEventListener(type, sync);
    // Not `readonly`: Chromium will not move a caret through a readonly textarea. The text
    // is protected from edits instead, so the caret and Shift+arrows still work.
    for (const type of ["beforeinput", "paste", "cut", "drop"]) passage.addEventListener(type, (e) => e.preventDefault());
    current = targetFor(seg.start, seg.end);
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
      const id = await createAnnotation(current, { motivation, text, tags, visibility: data.get("visibility") });
      if (motivation === "highlighting") closePanel();
      else await openThread(id);
    } catch (err) {
      showError(error, err.message);
      form.querySelector("button[type=submit]").disabled = false;
    }
  });
  form.querySelector("[data-editor-cancel]").addEventListener("click", closePanel);
  panelBody.replaceChildren(form);
  attachMentions(form);
  if (block) {
    const passage = form.querySelector("[data-editor-passage]");
    passage.focus();
    passage.setSelectionRange(0, 0);
  } else {
    form.querySelector("[name=body]").focus();
  }
}

function rangeTrim(start, end) {
  while (start < end && /\s/u.test(canonicalCps[start])) start++;
  while (end > start && /\s/u.test(canonicalCps[end - 1])) end--;
  return end > start ? [start, end] : null;
}

function showError(el, text) {
  el.textContent = text;
  el.hidden = false;
}

// --- forms inside the panel -----------------------------------------------------------------

function enhance(root) {
  for (const form of root.querySelectorAll("form[data-enhance], form[data-edit-form]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      });
      if (form.action.includes("/delete/")) {
        const id = Number(form.action.split("/notes/")[1].split("/")[0]);
        const index = layer.findIndex((a) => a.id === id);
        const thread = panelBody.querySelector("[data-thread-root]");
        if (index >= 0) {
          // Gone, unless it had replies (then it stays as “[deleted]”).
          const replies = thread && thread.querySelectorAll(".note").length > 1;
          if (!replies) layer.splice(index, 1);
          renderHighlights();
          if (!replies) return closePanel();
        }
      }
      if (!response.ok && response.status !== 400) {
        if (button) button.disabled = false;
        return form.append(message("That did not work. Reload the page and try again."));
      }
      if (response.status === 400) {
        panelBody.innerHTML = extractThread(await response.text());
        enhance(panelBody);
        return;
      }
      if (form.matches("[data-reply-form]")) bumpReplies(form, 1);
      await reloadThread();
    });
  }
  for (const link of root.querySelectorAll("a[data-reply]")) {
    link.addEventListener("click", (event) => {
      const form = panelBody.querySelector("[data-reply-form]");
      if (!form) return;
      event.preventDefault();
      form.querySelector("[data-reply-parent]").value = link.dataset.reply;
      const to = form.querySelector("[data-reply-to]");
      to.textContent = `Replying to ${link.dataset.replyName || "this reply"}`;
      to.hidden = false;
      form.querySelector("textarea").focus();
    });
  }
  for (const link of root.querySelectorAll("a[data-edit]")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      const response = await fetch(`${link.href}?fragment=1`, { credentials: "same-origin" });
      if (!response.ok) return;
      const holder = document.createElement("div");
      holder.innerHTML = await response.text();
      const note = link.closest(".note");
      note.replaceWith(holder);
      enhance(holder);
      holder.querySelector("[data-edit-cancel]")?.addEventListener("click", (e) => {
        e.preventDefault();
        reloadThread();
      });
      holder.querySelector("textarea, input[type=text]")?.focus();
    });
  }
  for (const link of root.querySelectorAll("a[data-goto]")) {
    link.addEventListener("click", (event) => {
      const mark = body.querySelector(`mark.hl-${link.dataset.goto}`);
      if (!mark) return;
      event.preventDefault();
      mark.scrollIntoView({ block: "center" });
      if (window.matchMedia("(max-width: 760px)").matches) closePanel();
    });
  }
  for (const textarea of root.querySelectorAll("textarea[data-mentions]")) attachMentions(textarea.form || root);
}

function extractThread(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  return doc.querySelector(".thread")?.outerHTML ?? html;
}

function bumpReplies(form, by) {
  const id = Number(panelBody.querySelector("[data-thread-root]")?.dataset.threadRoot);
  const item = layer.find((a) => a.id === id);
  if (item) {
    item.r += by;
    updateMargins();
  }
}

// --- @mentions ------------------------------------------------------------------------------

let mentionCount = 0;

function attachMentions(scope) {
  for (const textarea of scope.querySelectorAll("textarea[data-mentions]")) {
    if (textarea.dataset.mentionsReady) continue;
    textarea.dataset.mentionsReady = "1";
    const list = document.createElement("ul");
    list.className = "mention-list";
    list.id = `mentions-${++mentionCount}`;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    textarea.after(list);
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", list.id);
    let matches = [];
    let active = 0;
    const close = () => {
      list.hidden = true;
      textarea.removeAttribute("aria-activedescendant");
      matches = [];
    };
    const query = () => {
      const before = textarea.value.slice(0, textarea.selectionStart);
      const found = /(^|[^\w@])@([\w.+-]{0,30})$/u.exec(before);
      return found ? found[2] : null;
    };
    const render = () => {
      list.replaceChildren(
        ...matches.map((m, i) => {
          const li = document.createElement("li");
          li.id = `${list.id}-${i}`;
          li.setAttribute("role", "option");
          li.setAttribute("aria-selected", String(i === active));
          li.textContent = `${m.n} (@${m.u})`;
          li.addEventListener("mousedown", (e) => {
            e.preventDefault();
            insert(m);
          });
          return li;
        }),
      );
      textarea.setAttribute("aria-activedescendant", `${list.id}-${active}`);
    };
    const insert = (m) => {
      const caret = textarea.selectionStart;
      const before = textarea.value.slice(0, caret).replace(/@([\w.+-]{0,30})$/u, `@${m.u} `);
      textarea.value = before + textarea.value.slice(caret);
      textarea.setSelectionRange(before.length, before.length);
      close();
      textarea.focus();
    };
    textarea.addEventListener("input", () => {
      const q = query();
      if (q === null) return close();
      const lower = q.toLowerCase();
      matches = members
        .filter((m) => m.u.toLowerCase().startsWith(lower) || m.n.toLowerCase().includes(lower))
        .slice(0, 6);
      active = 0;
      if (!matches.length) return close();
      list.hidden = false;
      render();
    });
    textarea.addEventListener("keydown", (event) => {
      if (list.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : -1) + matches.length) % matches.length;
        render();
      } else if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        insert(matches[active]);
      } else if (event.key === "Escape") {
        event.stopPropagation();
        close();
      }
    });
    textarea.addEventListener("blur", () => setTimeout(close, 150));
  }
}

// --- selection toolbar ------------------------------------------------------------------------

let pending = null;

function placeToolbar() {
  const selection = document.getSelection();
  if (archived || !selection || selection.isCollapsed || !selection.rangeCount) {
    toolbar.hidden = true;
    return;
  }
  const range = selection.getRangeAt(0);
  if (!body.contains(range.commonAncestorContainer) && !range.intersectsNode(body)) {
    toolbar.hidden = true;
    return;
  }
  const target = rangeToTarget(range);
  if (!target) {
    toolbar.hidden = true;
    return;
  }
  pending = target;
  toolbar.hidden = false;
  const rect = range.getBoundingClientRect();
  const coarse = window.matchMedia("(pointer: coarse)").matches;
  toolbar.classList.toggle("selection-toolbar--docked", coarse);
  if (!coarse) {
    const top = window.scrollY + rect.top - toolbar.offsetHeight - 8;
    const left = Math.min(
      Math.max(8, window.scrollX + rect.left + rect.width / 2 - toolbar.offsetWidth / 2),
      window.scrollX + document.documentElement.clientWidth - toolbar.offsetWidth - 8,
    );
    toolbar.style.top = `${Math.max(window.scrollY + 8, top)}px`;
    toolbar.style.left = `${left}px`;
  } else {
    toolbar.style.top = "";
    toolbar.style.left = "";
  }
}

let selectionTimer = 0;
let pointerDown = false;
document.addEventListener("pointerdown", () => {
  pointerDown = true;
});
for (const type of ["pointerup", "pointercancel"]) {
  // A long press that starts a touch selection ends in pointercancel, not pointerup.
  document.addEventListener(type, () => {
    pointerDown = false;
    clearTimeout(selectionTimer);
    selectionTimer = setTimeout(placeToolbar, 10);
  });
}
document.addEventListener("selectionchange", () => {
  clearTimeout(selectionTimer);
  if (!pointerDown) selectionTimer = setTimeout(placeToolbar, 120);
});

toolbar.addEventListener("mousedown", (event) => event.preventDefault());
toolbar.addEventListener("click", async (event) => {
  const action = event.target.closest("button")?.dataset.action;
  // Act on the selection as it is now, not as it was when the toolbar last moved.
  const selection = document.getSelection();
  if (selection && !selection.isCollapsed && selection.rangeCount) {
    pending = rangeToTarget(selection.getRangeAt(0)) || pending;
  }
  if (!action || !pending) return;
  const target = pending;
  toolbar.hidden = true;
  document.getSelection().removeAllRanges();
  if (action === "highlight") {
    try {
      await createAnnotation(target, { motivation: "highlighting" });
    } catch (error) {
      openPanel("Could not highlight");
      panelBody.replaceChildren(message(error.message));
    }
  } else {
    openEditor(target);
  }
});

// --- clicks, keys, filters ------------------------------------------------------------------

body.addEventListener("click", (event) => {
  const mark = event.target.closest("mark.hl");
  if (mark && document.getSelection().isCollapsed) {
    const ids = mark.dataset.ids.split(" ").map(Number);
    const items = layer.filter((a) => ids.includes(a.id));
    // The innermost (shortest) passage first; a highlight with no thread opens too.
    items.sort((a, b) => a.e - a.s - (b.e - b.s));
    if (items.length === 1 || items.filter(isThread).length <= 1) {
      openThread((items.find(isThread) || items[0]).id);
    } else {
      showThreadList(mark.closest(".block"));
    }
    return;
  }
  const count = event.target.closest("a[data-threads]");
  if (count) {
    event.preventDefault();
    const list = threadsOn(count.closest(".block"));
    if (list.length === 1) openThread(list[0].id);
    else showThreadList(count.closest(".block"));
    return;
  }
  const annotate = event.target.closest("a[data-annotate]");
  if (annotate && !archived) {
    event.preventDefault();
    openEditor(null, { block: annotate.closest(".block") });
  }
});

panelBody.addEventListener("click", (event) => {
  const pick = event.target.closest("button[data-thread]");
  if (pick) openThread(Number(pick.dataset.thread));
});
document.addEventListener("click", (event) => {
  const link = event.target.closest(".orphans a[data-thread]");
  if (link) {
    event.preventDefault();
    openThread(Number(link.dataset.thread));
  }
});
panel.querySelector("[data-panel-close]").addEventListener("click", closePanel);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !panel.hidden) closePanel();
});

const filters = document.querySelector("[data-filters]");
if (filters) {
  filters.querySelector("[data-filters-submit]").classList.add("visually-hidden");
  filters.addEventListener("change", () => filters.requestSubmit());
}
for (const hint of document.querySelectorAll("[data-js-only]")) hint.hidden = archived;

// --- start --------------------------------------------------------------------------------------

renderHighlights();
document.body.classList.add("js-annotations");
const wanted = /^#a-(\d+)$/.exec(location.hash);
if (wanted) {
  const id = Number(wanted[1]);
  openThread(id, { focus: false }).then(() => {
    const root = Number(panelBody.querySelector("[data-thread-root]")?.dataset.threadRoot);
    body.querySelector(`mark.hl-${root || id}`)?.scrollIntoView({ block: "center" });
  });
}
