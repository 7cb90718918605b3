// The side panel (a bottom sheet on phones): a thread, loaded from the server's own thread
// page (?fragment=1); a list of threads to choose from; or the editor. The forms in a thread
// (reply, edit, delete, +1, flag...) are posted with fetch and the thread reloaded, so the
// reader never leaves the text. Closing it takes focus back where the reader was. On wide
// screens a thread opens docked in its card in the margin instead (./cards.js), the same
// view in another place; the editor and the list of threads stay at the side.

import { firstMark } from "./highlights.js";
import { attachMentions } from "./mentions.js";

const KINDS = { commenting: "comment", highlighting: "highlight", tagging: "tags" };
// Refusals the server answers with the form or thread drawn again: field errors, not allowed
// (a reply to a thread hidden meanwhile), a conflict, an edit of a version replaced meanwhile.
const REFUSALS = new Set([400, 403, 409, 412]);

export function createPanel(page) {
  const element = document.getElementById("annotation-panel");
  const body = element.querySelector("[data-panel-body]");
  const title = element.querySelector("#panel-title");
  const home = { parent: element.parentElement, next: element.nextSibling };
  let opener = null;
  let openerBlock = null;
  let host = null; // the margin card the panel is docked in (wide screens), or null

  /** Dock the panel inside a margin card (`to`), or (null) put it back at the side or the
   *  bottom of the screen, telling the cards. */
  function place(to) {
    if (to === host) return;
    const from = host;
    host = to;
    if (to) {
      to.append(element);
      element.classList.add("panel-sheet--docked");
      element.setAttribute("role", "region");
      element.removeAttribute("aria-modal");
    } else {
      home.parent.insertBefore(element, home.next?.parentNode === home.parent ? home.next : null);
      element.classList.remove("panel-sheet--docked");
      element.setAttribute("role", "dialog");
      element.setAttribute("aria-modal", "false");
    }
    page.cards?.hosted(from, to);
  }

  /** Show the panel under `heading`: in the card `dock`, or at the side (a bottom sheet on
   *  phones). Focus goes back on closing to what had it when the panel opened, or when it
   *  moved to another card from a control outside it (not when a thread just saved in it
   *  moves to its card: focus was in the panel, or nowhere while saving). */
  function open(heading, { dock = null } = {}) {
    const active = document.activeElement;
    const elsewhere = active && active !== document.body && !element.contains(active);
    if (element.hidden || (dock !== host && elsewhere)) {
      opener = document.activeElement;
      openerBlock = opener?.closest(".block");
    }
    title.textContent = heading;
    place(dock);
    element.hidden = false;
    document.body.classList.toggle("panel-open", !dock);
  }

  function close() {
    element.hidden = true;
    body.replaceChildren();
    document.body.classList.remove("panel-open");
    page.active = null;
    for (const mark of page.body.querySelectorAll("mark.hl--active")) mark.classList.remove("hl--active");
    if (location.hash.startsWith("#a-")) history.replaceState(null, "", location.pathname + location.search);
    returnFocus();
    place(null);
    opener = null;
  }

  /** A thread open in a card moves to the side panel or the bottom sheet (the screen went
   *  narrow), as it is. */
  function undock() {
    if (!host) return;
    place(null);
    if (!element.hidden) document.body.classList.add("panel-open");
  }

  /** Back to what opened the panel; if that was a mark since redrawn (or deleted), to the
   *  annotation's new first mark, or else to the paragraph's Annotate link. */
  function returnFocus() {
    if (!opener) return;
    if (document.contains(opener)) return opener.focus();
    // A margin card redrawn while its thread was open (a new reply): its new head.
    const card = opener.closest(".mcard[data-card]");
    const head = card && document.querySelector(`.mcard[data-card="${card.dataset.card}"] .mcard__head`);
    if (head) return head.focus();
    const id = opener.dataset.starts?.split(" ")[0];
    const next = (id && firstMark(page, id)) || openerBlock?.querySelector("a[data-annotate]") || page.body;
    next.focus();
  }

  /** A message for the panel: an error, or why there is nothing to show. */
  function say(text) {
    const p = document.createElement("p");
    p.className = "panel-message";
    p.textContent = text;
    return p;
  }

  async function openThread(id, { focus = true } = {}) {
    open("Thread", { dock: page.cards?.hostFor(id) ?? null });
    body.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(`${page.config.dataset.threadBase}${id}/?fragment=1`, { credentials: "same-origin" });
      if (!response.ok) throw new Error(response.status === 404 ? "This thread is not available." : "Could not load the thread.");
      body.innerHTML = await response.text();
    } catch (error) {
      body.replaceChildren(say(error.message));
    }
    body.removeAttribute("aria-busy");
    const root = body.querySelector("[data-thread-root]")?.dataset.threadRoot;
    if (root) {
      history.replaceState(null, "", `${location.pathname}${location.search}#a-${id}`);
      page.active = Number(root); // marks drawn from now on are drawn active
      for (const mark of page.body.querySelectorAll("mark.hl--active")) mark.classList.remove("hl--active");
      for (const mark of page.body.querySelectorAll(`mark.hl-${root}`)) mark.classList.add("hl--active");
      const target = body.querySelector(`#a-${id}`);
      if (target && String(id) !== root) target.classList.add("note--target");
    }
    enhance(body);
    if (root) page.cards?.threadShown(Number(root), body);
    if (root) page.live?.threadShown(Number(root), body);
    if (focus) body.focus();
  }

  function threadRoot() {
    return Number(body.querySelector("[data-thread-root]")?.dataset.threadRoot) || null;
  }

  async function reloadThread() {
    const root = threadRoot();
    if (root) await openThread(root);
  }

  /** A list of annotations to choose from, each a button that opens its thread. */
  function showPicker(items, heading) {
    open(heading);
    const list = document.createElement("ul");
    list.className = "thread-picker";
    for (const a of items) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "thread-picker__item";
      button.dataset.thread = a.id;
      const quote = document.createElement("span");
      quote.className = "thread-picker__quote";
      const exact = page.text.slice(a.start, a.end);
      quote.textContent = `“${exact.length > 90 ? `${exact.slice(0, 90)}…` : exact}”`;
      const meta = document.createElement("span");
      meta.className = "meta";
      const kind = a.motivation === "questioning" ? (a.answered ? "answered question" : "question") : KINDS[a.motivation] || a.motivation;
      meta.textContent = `${a.author} · ${kind}${a.private ? " · only you" : ""} · ${a.replies} repl${a.replies === 1 ? "y" : "ies"}`;
      button.append(quote, meta);
      item.append(button);
      list.append(item);
    }
    body.replaceChildren(list);
    body.focus();
  }

  /** Post the thread's forms with fetch, and open reply and edit in place. */
  function enhance(root) {
    for (const form of root.querySelectorAll("form[data-enhance], form[data-edit-form]")) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        post(form);
      });
    }
    for (const link of root.querySelectorAll("a[data-reply]")) {
      link.addEventListener("click", (event) => {
        const form = body.querySelector("[data-reply-form]");
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
      link.addEventListener("click", (event) => {
        event.preventDefault();
        edit(link);
      });
    }
    for (const link of root.querySelectorAll("a[data-goto]")) {
      link.addEventListener("click", (event) => {
        const mark = page.body.querySelector(`mark.hl-${link.dataset.goto}`);
        if (!mark) return;
        event.preventDefault();
        mark.scrollIntoView({ block: "center" });
        if (window.matchMedia("(max-width: 760px)").matches) close();
      });
    }
    attachMentions(root, page.members);
  }

  async function post(form) {
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    });
    if (response.ok && form.action.includes("/delete/")) {
      const id = Number(form.action.split("/notes/")[1].split("/")[0]);
      const gone = page.layer.get(id);
      if (gone) {
        // Gone, unless it had replies (then it stays as “[deleted]”).
        const replies = body.querySelectorAll("[data-thread-root] .note").length > 1;
        if (!replies) page.layer.remove(id);
        page.redraw(gone);
        if (!replies) return close();
      }
    }
    if (response.status === 429) {
      // Over a rate limit: say which and for how long (templates/429.html); the text stays.
      if (button) button.disabled = false;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const limit = doc.querySelector("[data-rate-limit-message]")?.textContent;
      return form.append(say(limit ?? "Too many at once: wait a minute, then send it again."));
    }
    if (!response.ok) {
      // The server's answer, drawn in place: an editor with its errors, or with the version
      // saved meanwhile over the reader's kept words (412); a thread whose reply was refused.
      const doc = REFUSALS.has(response.status) ? new DOMParser().parseFromString(await response.text(), "text/html") : null;
      const editor = form.matches("[data-edit-form]") && doc?.querySelector("[data-edit-holder]");
      const holder = form.closest("[data-edit-holder]");
      if (editor && holder) return showEditor(holder, document.importNode(editor, true));
      const thread = doc?.querySelector(".thread");
      if (thread) {
        body.replaceChildren(document.importNode(thread, true));
        enhance(body);
        body.querySelector("[role=alert]")?.focus();
        return;
      }
      if (button) button.disabled = false;
      const reason = [403, 409].includes(response.status) && doc?.querySelector(".lede")?.textContent;
      const away = response.status === 503 && "The site cannot reach its database just now. Your text is still here: send it again in a few seconds.";
      return form.append(say(reason || away || "That did not work. Reload the page and try again."));
    }
    if (form.matches("[data-reply-form]")) {
      const root = page.layer.get(threadRoot());
      if (root) root.replies += 1;
      page.refreshMargins();
    }
    await reloadThread();
  }

  async function edit(link) {
    const response = await fetch(`${link.href}?fragment=1`, { credentials: "same-origin" });
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const editor = doc.querySelector("[data-edit-holder]");
    if (editor) showEditor(link.closest(".note"), document.importNode(editor, true));
  }

  /** The editor in place of `old` (a note, or the editor before it): its form posted with
   *  fetch (carrying the version it was drawn from, so a stale edit is refused), Cancel
   *  back to the thread. After a conflict, focus goes to the message saying so. */
  function showEditor(old, editor) {
    old.replaceWith(editor);
    enhance(editor);
    editor.querySelector("[data-edit-cancel]")?.addEventListener("click", (e) => {
      e.preventDefault();
      reloadThread();
    });
    const notice = editor.querySelector("[data-edit-conflict]");
    if (notice) {
      notice.tabIndex = -1;
      notice.focus();
    } else {
      (editor.querySelector(".errorlist")?.closest(".field")?.querySelector("textarea, input:not([type=hidden])") ?? editor.querySelector("textarea, input[type=text]"))?.focus();
    }
  }

  element.querySelector("[data-panel-close]").addEventListener("click", close);
  body.addEventListener("click", (event) => {
    const pick = event.target.closest("button[data-thread]");
    if (pick) openThread(Number(pick.dataset.thread));
  });

  return { element, body, open, close, undock, say, openThread, showPicker, enhance };
}
