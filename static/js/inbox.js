/** The header's unread count: asked for when the page loads, again every minute while the
 *  page is visible, when it becomes visible again, and whenever the page's live checks see the
 *  group's notes change (the reading page's live.js sends "commonplace:changed"). */

const link = document.querySelector("[data-unread-url]");
const badge = link?.querySelector("[data-inbox-count]");
const EVERY = 60_000;
let timer = null;
let etag = null;

function show(count) {
  badge.hidden = count === 0;
  // The visible number, and for a screen reader "3 unread" (the link reads "Inbox 3 unread").
  const hint = document.createElement("span");
  hint.className = "visually-hidden";
  hint.textContent = " unread";
  badge.replaceChildren(count > 99 ? "99+" : String(count), hint);
}

async function refresh() {
  clearTimeout(timer);
  try {
    const headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    const response = await fetch(link.dataset.unreadUrl, { headers, credentials: "same-origin" });
    if (response.ok) {
      etag = response.headers.get("ETag");
      show((await response.json()).unread);
    }
  } catch {
    // Offline for a moment: the next check tries again.
  }
  if (!document.hidden) timer = setTimeout(refresh, EVERY);
}

if (link && badge) {
  refresh();
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
    else clearTimeout(timer);
  });
  document.addEventListener("commonplace:changed", refresh);
}
