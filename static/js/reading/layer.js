// The annotation layer of one reading as the page holds it: one object per root annotation
// (id, start, end, motivation, author, username, private, replies, answered, mine,
// facilitator, hidden, deleted, tags, plussed, orphan; and prompt and new when the server
// sends them), kept in step with what the reader adds and
// deletes, and the questions the page asks of it. The server sends the layer as rows under a
// header of column names (see itemsFromRows); the page keeps the anchored annotations its
// filters show. Pure: no DOM.

/** A bare highlight is not a thread until somebody replies to it. */
export const isThread = (a) => a.motivation !== "highlighting" || a.replies > 0;

/** The filters in a reading page's query string: the same parameters, read the same way, as
 *  Filters.from_request on the server. */
export function filtersFrom(params) {
  return {
    show: params.get("show") === "mine" ? "mine" : "all",
    member: (params.get("member") ?? "").slice(0, 150),
    tag: (params.get("tag") ?? "").slice(0, 50),
    unanswered: params.get("questions") === "unanswered",
    highlights: params.get("highlights") !== "hide",
  };
}

/** Whether an annotation passes the filters (as the server's roots_for decides). */
export function matchesFilters(a, filters) {
  if (filters.show === "mine" && !a.mine) return false;
  if (filters.member && (a.username !== filters.member || a.deleted)) return false;
  // Tags keep the case they were written in; the filter folds it (as the server's tag_key).
  if (filters.tag && !a.tags.some((tag) => tag.toLowerCase() === filters.tag.toLowerCase())) return false;
  if (filters.unanswered && (a.motivation !== "questioning" || a.answered)) return false;
  if (!filters.highlights && !isThread(a)) return false;
  return true;
}

/** Document order: by start, the longer passage first when two start together. */
const inTextOrder = (a, b) => a.start - b.start || b.end - a.end || a.id - b.id;

/** The objects of a layer sent as rows: {columns, rows, people, tags}, where `author` is an
 *  index into `people` ({name, username}) and `tags` a list of indexes into `tags`. Columns
 *  are found by name in the header, so the server may add columns (they are ignored) or
 *  reorder them. */
export function itemsFromRows({ columns, rows, people = [], tags = [] }) {
  const at = Object.fromEntries(columns.map((name, index) => [name, index]));
  const column = (row, name, otherwise) => (name in at ? row[at[name]] : otherwise);
  return rows.map((row) => {
    const person = people[column(row, "author", -1)] ?? { name: "", username: "" };
    const item = {
      id: column(row, "id"),
      start: column(row, "start"),
      end: column(row, "end"),
      motivation: column(row, "motivation"),
      author: person.name,
      username: person.username,
      private: Boolean(column(row, "private", false)),
      replies: column(row, "replies", 0),
      answered: column(row, "answered", null),
      mine: Boolean(column(row, "mine", false)),
      facilitator: Boolean(column(row, "facilitator", false)),
      hidden: Boolean(column(row, "hidden", false)),
      deleted: Boolean(column(row, "deleted", false)),
      tags: (column(row, "tags", []) ?? []).map((index) => tags[index]),
      plussed: Boolean(column(row, "plussed", false)),
      orphan: Boolean(column(row, "orphan", false)),
    };
    // Later columns, on the object only when sent: `prompt`, the assignment whose
    // discussion prompt this is (or null); `new`, written to since the viewer's last visit.
    if ("prompt" in at) item.prompt = column(row, "prompt") ?? null;
    if ("new" in at) item.new = Boolean(column(row, "new"));
    // `original`: an imported note's "originally by <name>, <date>" (or null).
    if ("original" in at) item.original = column(row, "original") ?? null;
    return item;
  });
}

/** What the page draws of a whole layer: the anchored annotations passing `filters` (not the
 *  orphans, nor the discussions of the whole reading, which have no passage). */
export function shownItems(items, filters) {
  return items.filter((a) => !a.orphan && a.start != null && matchesFilters(a, filters));
}

export class Layer {
  /** `items`: the annotations to hold, in the server's order (by start, then id). With
   *  `loaded: false`, a layer still on its way: see load(). */
  constructor(items = [], { loaded = true } = {}) {
    this.items = [];
    this.byId = new Map();
    this.loaded = loaded;
    // What the reader adds or removes before load(), kept through it.
    this.added = new Map();
    this.removed = new Set();
    for (const item of items) this.#put(item);
  }

  #put(item) {
    this.#drop(item.id);
    this.items.push(item);
    this.byId.set(item.id, item);
  }

  #drop(id) {
    if (!this.byId.delete(id)) return;
    this.items.splice(
      this.items.findIndex((a) => a.id === id),
      1,
    );
  }

  /** Take the layer as the server sent it, keeping what the reader added or removed while
   *  it was on its way (a fetch begun before a save may not hold what was saved). */
  load(items) {
    this.items = [];
    this.byId.clear();
    for (const item of items) if (!this.removed.has(item.id)) this.#put(item);
    for (const item of this.added.values()) if (!this.byId.has(item.id)) this.#put(item);
    this.added.clear();
    this.removed.clear();
    this.loaded = true;
  }

  get(id) {
    return this.byId.get(id);
  }

  add(item) {
    this.#put(item);
    if (!this.loaded) this.added.set(item.id, item);
  }

  remove(id) {
    this.#drop(id);
    if (!this.loaded) {
      this.added.delete(id);
      this.removed.add(id);
    }
  }

  /** Annotations whose passage overlaps [start, end). */
  overlapping(start, end) {
    return this.items.filter((a) => a.start < end && a.end > start);
  }

  /** Threads (not bare highlights) whose passage overlaps [start, end), e.g. one block's. */
  threadsIn(start, end) {
    return this.overlapping(start, end).filter(isThread);
  }

  /** The annotations with these ids, the innermost (shortest) passage first. */
  innermostFirst(ids) {
    const items = ids.map((id) => this.get(id)).filter(Boolean);
    return items.sort((a, b) => a.end - a.start - (b.end - b.start));
  }

  /** The annotations passing `filters`, in document order. */
  matching(filters) {
    return this.items.filter((a) => matchesFilters(a, filters)).sort(inTextOrder);
  }
}

/** The item after (`step` 1) or before (-1) the one with id `currentId` in `list`, wrapping
 *  around; from no current item (or one no longer listed), the first or the last. Returns
 *  {item, index}, or null for an empty list. */
export function stepThrough(list, currentId, step) {
  if (!list.length) return null;
  const at = list.findIndex((a) => a.id === currentId);
  const index = at < 0 ? (step > 0 ? 0 : list.length - 1) : (at + step + list.length) % list.length;
  return { item: list[index], index };
}
