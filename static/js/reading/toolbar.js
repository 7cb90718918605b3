// The selection toolbar: select words in the text and it offers Highlight and Comment beside
// them (docked at the bottom of the screen on touch devices). A selection made with a mouse or
// a finger snaps outward to whole words, and with a mouse the selection on screen follows, so
// the reader sees what will be saved; one made or changed with the keyboard stays exact.

import { createAnnotation } from "./api.js";
import { openEditor } from "./editor.js";
import { passagePoints, rangePositions, rangeToTarget } from "./positions.js";

export function initToolbar(page, panel) {
  const toolbar = document.getElementById("selection-toolbar");
  let pending = null;
  let byPointer = false;
  let pointerDown = false;
  let timer = 0;

  /** The selection inside the reading, or null. */
  function selectedRange() {
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
    const range = selection.getRangeAt(0);
    const inside = page.body.contains(range.commonAncestorContainer) || range.intersectsNode(page.body);
    return inside ? range : null;
  }

  /** Make the selection on screen cover exactly `target`, in the direction it was made;
   *  returns its range. */
  function showSnapped(range, target) {
    const [start, end] = rangePositions(page.text, range);
    if (start === target.start && end === target.end) return range;
    const selection = document.getSelection();
    const backward = selection.anchorNode === range.endContainer && selection.anchorOffset === range.endOffset;
    const [from, to] = passagePoints(page.text, target.start, target.end);
    const [anchor, focus] = backward ? [to, from] : [from, to];
    selection.setBaseAndExtent(...anchor, ...focus);
    return selection.getRangeAt(0);
  }

  function place({ mouse = false } = {}) {
    const chosen = page.archived ? null : selectedRange();
    const target = chosen && rangeToTarget(page.text, chosen, { snap: byPointer });
    if (!target) {
      toolbar.hidden = true;
      return;
    }
    const range = mouse ? showSnapped(chosen, target) : chosen;
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

  document.addEventListener("pointerdown", (event) => {
    pointerDown = true;
    if (!toolbar.contains(event.target)) byPointer = true;
  });
  document.addEventListener("keydown", (event) => {
    // Shift with arrows, Home, End...; or select all.
    if (event.shiftKey || ((event.ctrlKey || event.metaKey) && event.key === "a")) byPointer = false;
  });
  for (const type of ["pointerup", "pointercancel"]) {
    // A long press that starts a touch selection ends in pointercancel, not pointerup.
    document.addEventListener(type, (event) => {
      pointerDown = false;
      clearTimeout(timer);
      const mouse = type === "pointerup" && event.pointerType !== "touch";
      timer = setTimeout(() => place({ mouse }), 10);
    });
  }
  document.addEventListener("selectionchange", () => {
    clearTimeout(timer);
    if (!pointerDown) timer = setTimeout(place, 120);
  });

  toolbar.addEventListener("mousedown", (event) => event.preventDefault());
  toolbar.addEventListener("click", async (event) => {
    const action = event.target.closest("button")?.dataset.action;
    // Act on the selection as it is now, not as it was when the toolbar last moved.
    const range = selectedRange();
    if (range) pending = rangeToTarget(page.text, range, { snap: byPointer }) || pending;
    if (!action || !pending) return;
    const target = pending;
    toolbar.hidden = true;
    document.getSelection().removeAllRanges();
    if (action === "spotlight") {
      page.live?.spotlightPassage(target); // meeting mode (./live.js), a facilitator's
    } else if (action === "highlight") {
      try {
        await createAnnotation(page, target, { motivation: "highlighting" });
      } catch (error) {
        panel.open("Could not highlight");
        panel.body.replaceChildren(panel.say(error.message));
      }
    } else {
      openEditor(page, panel, target);
    }
  });
}
