// @mentions: typing "@" and a few letters in a comment or reply box lists the group's
// members (a listbox the arrow keys move through); Enter or Tab puts "@username " in the text.

let lists = 0;

/** Offer mentions in every `textarea[data-mentions]` inside `scope`, once each. `members` is
 *  the group's [{username, name}]. */
export function attachMentions(scope, members) {
  for (const textarea of scope.querySelectorAll("textarea[data-mentions]")) {
    if (textarea.dataset.mentionsReady) continue;
    textarea.dataset.mentionsReady = "1";
    const list = document.createElement("ul");
    list.className = "mention-list";
    list.id = `mentions-${++lists}`;
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
          li.textContent = `${m.name} (@${m.username})`;
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
      const before = textarea.value.slice(0, caret).replace(/@([\w.+-]{0,30})$/u, `@${m.username} `);
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
        .filter((m) => m.username.toLowerCase().startsWith(lower) || m.name.toLowerCase().includes(lower))
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
