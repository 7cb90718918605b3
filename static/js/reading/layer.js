// The annotation layer of one reading as the page holds it: the list the server embedded in
// #layer-data (one object per root annotation: id, start, end, motivation, author, username,
// private, replies, answered, mine, facilitator, hidden, deleted, tags), kept in step with
// what the reader adds and deletes, and the questions the page asks of it. Pure: no DOM.

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
  if (filters.tag && !a.tags.includes(filters.tag.toLowerCase())) return false;
  if (filters.unanswered && (a.motivation !== "questioning" || a.answered)) return false;
  if (!filters.highlights && !isThread(a)) return false;
  return true;
}

/** Document order: by start, the longer passage first when two start together. */
const inTextOrder = (a, b) => a.start - b.start || b.end - a.end || a.id - b.id;

export class Layer {
  constructor(items) {
    this.items = items;
  }

  get(id) {
    return this.items.find((a) => a.id === id);
  }

  add(item) {
    this.items.push(item);
  }

  remove(id) {
    const index = this.items.findIndex((a) => a.id === id);
    if (index >= 0) this.items.splice(index, 1);
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
