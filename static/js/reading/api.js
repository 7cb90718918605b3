// The page's talk with the server about the layer: loading it (the viewer's whole layer, as
// rows; the page keeps what its filters show), and saving a new annotation through the
// group's W3C Web Annotation container (the same API other clients use), then adding it to
// the layer and drawing it.

import { itemsFromRows, shownItems } from "./layer.js";

/** The annotations the page shows: the viewer's whole layer from `config.dataset.layer`
 *  (the browser's cache revalidates it, so an unchanged layer costs a 304), or failing that
 *  attribute, the list embedded in #layer-data; either way, only those passing `filters`.
 *  `arrived` is called once the server's answer is all in, before it is read. */
export async function loadLayer(config, filters, { arrived = () => {} } = {}) {
  if (!config.dataset.layer) {
    const embedded = document.getElementById("layer-data");
    arrived();
    return shownItems(embedded ? JSON.parse(embedded.textContent) : [], filters);
  }
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
