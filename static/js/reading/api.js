// The page's talk with the server about the layer: loading it (rows under a header), and
// saving a new annotation through the group's W3C Web Annotation container (the same API
// other clients use), then adding it to the layer and drawing it.

import { itemsFromRows, shownItems } from "./layer.js";

/** The annotations the page shows, from `config.dataset.layer` (layer.json with the page's
 *  own query string): the anchored ones passing `filters`. The server filters them the same
 *  way already; filtering again changes nothing there, and keeps what is drawn true to the
 *  page's address whatever is sent. The browser's cache revalidates the layer, so an
 *  unchanged one costs a 304. `arrived` is called once the answer is all in, before it is
 *  read. */
export async function loadLayer(config, filters, { arrived = () => {} } = {}) {
  const response = await fetch(config.dataset.layer, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`The annotations could not be loaded (${response.status}).`);
  const body = await response.text();
  arrived();
  return shownItems(itemsFromRows(JSON.parse(body)), filters);
}

async function send(page, method, url, payload) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      "Content-Type": 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
      Accept: "application/ld+json",
      "X-CSRFToken": page.csrfToken,
    },
    body: payload ? JSON.stringify(payload) : undefined,
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error || `The server said ${response.status}.`);
  return data;
}

/** Save an annotation on `target` ({start, end, exact, prefix, suffix}); returns its id. */
export async function createAnnotation(page, target, { motivation, text = "", tags = [], visibility = "group" }) {
  const { config } = page;
  const bodies = [];
  if (text.trim()) bodies.push({ type: "TextualBody", value: text, format: "text/markdown" });
  for (const tag of tags) bodies.push({ type: "TextualBody", value: tag, purpose: "tagging" });
  const created = await send(page, "POST", config.dataset.container, {
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
  const item = {
    id,
    start: target.start,
    end: target.end,
    motivation,
    author: "You",
    username: config.dataset.user,
    private: visibility === "private",
    replies: 0,
    answered: motivation === "questioning" ? false : null,
    mine: true,
    facilitator: false,
    hidden: false,
    deleted: false,
    tags,
    plussed: false,
  };
  page.layer.add(item);
  page.redraw(item);
  return id;
}
