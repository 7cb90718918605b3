// While a filter is on: "Previous match" and "Next match" step through the highlights the
// filter shows, in the order of the text and wrapping around, scrolling to each and putting
// focus on it (its first mark is a button), with "3 of 12" said politely.

import { firstMark } from "./highlights.js";
import { stepThrough } from "./layer.js";

export function initMatches(page) {
  const nav = document.querySelector("[data-match-nav]");
  if (!nav) return;
  const status = nav.querySelector("[data-match-status]");
  const matches = () => page.layer.matching(page.filters).filter((a) => firstMark(page, a.id));
  let current = null;

  const count = matches().length;
  if (!count) return;
  status.textContent = `${count} match${count === 1 ? "" : "es"}`;
  nav.hidden = false;

  nav.addEventListener("click", (event) => {
    const step = { next: 1, previous: -1 }[event.target.closest("button")?.dataset.match];
    if (!step) return;
    const list = matches();
    const found = stepThrough(list, current, step);
    if (!found) return;
    current = found.item.id;
    status.textContent = `${found.index + 1} of ${list.length}`;
    const mark = firstMark(page, current);
    mark.scrollIntoView({ block: "center" });
    mark.focus({ preventScroll: true });
  });
  // A match reached some other way (Tab, a click) is where the next step starts from.
  page.body.addEventListener("focusin", (event) => {
    const ids = event.target.dataset?.starts?.split(" ").map(Number) ?? [];
    const list = matches();
    current = ids.find((id) => list.some((a) => a.id === id)) ?? current;
  });
}
