"""The group reading page, and the pages and plain forms of its threads: everything here
works with JavaScript off.

The reading page's script opens the same thread pages in a side panel (`?fragment=1`) and
posts the same forms with fetch. Every view asks annotations.access (or groups.access) first.
"""

import hashlib
import json
from html import unescape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.html import escape, strip_tags
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from annotations import services
from annotations.access import (
    Action,
    annotation_for,
    annotation_for_reader,
    check,
    forget_peek_locks,
    permits,
    reason_refused,
    visible_annotations,
    withheld_counts,
)
from annotations.anchoring import CONTEXT as QUOTE_CONTEXT
from annotations.extras import thread_extras
from annotations.forms import AnnotateForm, DiscussForm, EditForm, FlagForm, HideForm, ReplyForm
from annotations.layer import Filters, is_thread, layer_data, reading_layer, roots_for, thread_for
from annotations.models import Annotation, Flag
from assignments.access import assignments_of
from assignments.times import due_label, due_relative, zone_named
from commonplace.confirm import confirmation_page, is_confirmed
from commonplace.outage import answers_json
from commonplace.ratelimits import rate_limit
from groups.access import (
    GroupAction,
    group_permits,
    group_reading_for,
    group_reading_for_facilitator,
    group_reading_for_member,
    group_reading_versions,
)
from groups.forms import ReadingImportForm
from groups.models import Membership
from groups.panels import reading_extras
from groups.services import membership_seen
from readings.article import reading_article
from readings.importer import ReadingImportError
from readings.layout import reading_layout


def _reading_url(group, reading, **params) -> str:
    url = reverse("annotations:reading", args=[group.slug, reading.slug])
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return f"{url}?{query}" if query else url


def _thread_url(annotation: Annotation) -> str:
    return annotation.get_absolute_url()


def _thread_root(root: Annotation, items: list[Annotation]) -> dict:
    """The thread's root for the template, and whether this person may reply at its foot:
    when a facilitator hid the root, members still see the replies but cannot add to them."""
    visible = bool(items) and items[0].pk == root.pk
    return {
        "root": items[0] if visible else root,
        "root_visible": visible,
        "can_reply_to_thread": visible and items[0].can[Action.REPLY],
    }


def facilitator_ids(group) -> set[int]:
    return set(
        Membership.objects.filter(group=group, role=Membership.Role.FACILITATOR).values_list(
            "user_id", flat=True
        )
    )


def _is_fetch(request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


@login_required
@require_safe
def thread(request, group_slug, reading_slug, annotation_id):
    group, membership, group_reading, annotation = annotation_for_reader(
        request, group_slug, reading_slug, annotation_id
    )
    root = annotation if annotation.root_id is None else annotation.root
    if (
        root.pk != annotation.pk
        and not request.GET.get("fragment")
        and permits(membership, Action.SEE, root)
    ):
        return redirect(_thread_url(annotation))  # the thread's own address, at this reply
    items = thread_for(request.user, group, membership, root)
    if not items:
        raise Http404
    reply_to = next((i for i in items if str(i.pk) == request.GET.get("reply_to")), None)
    shown = _thread_root(root, items)
    context = {
        "group": group,
        "membership": membership,
        "reading": group_reading.reading,
        **shown,
        "items": items,
        "reply_to": reply_to,
        "facilitator_ids": facilitator_ids(group),
        "reply_form": ReplyForm(),
        # Under the root, what apps above this one add (meetings: "raise at the meeting").
        "thread_extras": thread_extras(
            membership=membership,
            root=shown["root"],
            reading=group_reading.reading,
            request=request,
        )
        if shown["root_visible"]
        else [],
    }
    template = (
        "annotations/_thread.html" if request.GET.get("fragment") else "annotations/thread.html"
    )
    return render(request, template, context)


@login_required
@require_safe
def thread_list(request, group_slug, reading_slug):
    """Threads on one paragraph (?block=anchor), or the orphans (?orphans=1): the no-JS path."""
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    reading = group_reading.reading
    filters = Filters.from_request(request)
    roots = roots_for(request.user, group, reading, membership, filters)
    block = None
    if request.GET.get("orphans"):
        roots = [r for r in roots if r.anchoring == Annotation.Anchoring.ORPHAN]
        title = "Orphaned annotations"
    elif request.GET.get("flagged") and group_permits(membership, GroupAction.OPEN_FLAG_LIST):
        flagged = {
            root_id or pk
            for pk, root_id in Flag.objects.filter(
                resolved_at__isnull=True, annotation__group=group, annotation__reading=reading
            ).values_list("annotation_id", "annotation__root_id")
        }
        roots = [r for r in roots if r.pk in flagged]
        title = "Flagged for a facilitator"
    else:
        layout = reading_layout(reading)
        blocks = [b for s in layout["sections"] for b in s.block_list]
        block = next((b for b in blocks if b.anchor == request.GET.get("block")), None)
        roots = [r for r in roots if r.anchoring != Annotation.Anchoring.ORPHAN and is_thread(r)]
        if block is not None:
            end = block.start + len(block.text)
            roots = [
                r for r in roots if r.start is not None and r.start < end and r.end > block.start
            ]
            title = f"Threads on paragraph {block.number or ''}".strip()
        else:
            title = "All threads"
    for root in roots:
        root.tag_names = [t.name for t in root.tags.all()]
    context = {
        "group": group,
        "membership": membership,
        "reading": reading,
        "roots": roots,
        "paragraph": block,
        "title": title,
        "filters": filters,
    }
    return render(request, "annotations/thread_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("annotate", methods={"POST"})
def annotate(request, group_slug, reading_slug, block_anchor):
    """Annotate one paragraph by keyboard or without JavaScript."""
    group, membership, group_reading = group_reading_for(
        request, group_slug, reading_slug, GroupAction.ANNOTATE
    )
    reading = group_reading.reading
    layout = reading_layout(reading)
    blocks = [b for s in layout["sections"] for b in s.block_list]
    block = next((b for b in blocks if b.anchor == block_anchor), None)
    if block is None:
        raise Http404
    form = AnnotateForm(request.POST or None, initial={"quote": block.text})
    if request.method == "POST" and form.is_valid():
        quote = form.cleaned_data["quote"].strip()
        index = block.text.find(quote)
        if not quote or index < 0:
            form.add_error("quote", "Those words are not in this paragraph: copy them exactly.")
        else:
            try:
                annotation = services.annotation_create(
                    group=group,
                    reading=reading,
                    author=request.user,
                    motivation=form.cleaned_data["kind"],
                    body=form.cleaned_data["body"],
                    tags=form.cleaned_data["tags"],
                    visibility=form.cleaned_data["visibility"],
                    start=block.start + index,
                    end=block.start + index + len(quote),
                    exact=quote,
                )
            except services.AnnotationError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error))
            else:
                messages.success(request, "Saved.")
                if annotation.motivation == Annotation.Motivation.HIGHLIGHTING:
                    return redirect(_reading_url(group, reading) + f"#{block.anchor}")
                return redirect(_thread_url(annotation))
    context = {
        "group": group,
        "membership": membership,
        "reading": reading,
        "paragraph": block,
        "form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "annotations/annotate.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("annotate", methods={"POST"})
def discuss(request, group_slug, reading_slug):
    """Start a discussion of the whole reading: a comment or question about no one passage
    (Hypothesis calls them page notes). Listed above the text and among the threads."""
    group, membership, group_reading = group_reading_for(
        request, group_slug, reading_slug, GroupAction.ANNOTATE
    )
    reading = group_reading.reading
    form = DiscussForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            annotation = services.annotation_create(
                group=group,
                reading=reading,
                author=request.user,
                motivation=form.cleaned_data["kind"],
                body=form.cleaned_data["body"],
                tags=form.cleaned_data["tags"],
                visibility=form.cleaned_data["visibility"],
                page_note=True,
            )
        except services.AnnotationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, "Your discussion is started.")
            return redirect(_reading_url(group, reading) + f"#a-{annotation.pk}")
    context = {"group": group, "membership": membership, "reading": reading, "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "annotations/discuss.html", context, status=status)


@login_required
@require_POST
@rate_limit("reply")
def reply(request, group_slug, reading_slug, annotation_id):
    """A reply at the foot of a thread (or, with `parent`, to one of its replies). Refused by
    annotations.access (a hidden thread, an archived group): the thread again, 403, the
    reason on the reply and the words kept to copy."""
    group, membership, group_reading, root = annotation_for_reader(
        request, group_slug, reading_slug, annotation_id
    )
    form = ReplyForm(request.POST)
    parent = root
    if form.is_valid() and form.cleaned_data.get("parent"):
        _, _, _, parent = annotation_for_reader(
            request, group_slug, reading_slug, form.cleaned_data["parent"]
        )
    status = 400
    try:
        for target in {root, parent}:
            check(membership, Action.REPLY, target)
    except PermissionDenied as error:
        form.add_error("body", str(error))
        status = 403
    if form.is_valid():
        try:
            annotation = services.annotation_create(
                group=group,
                reading=group_reading.reading,
                author=request.user,
                motivation="replying",
                body=form.cleaned_data["body"],
                parent=parent,
            )
        except services.AnnotationError as error:
            form.add_error("body", str(error))
            status = error.status
        else:
            return redirect(_thread_url(annotation))
    thread_root = root.root or root
    items = thread_for(request.user, group, membership, thread_root)
    context = {
        "group": group,
        "membership": membership,
        "reading": group_reading.reading,
        **_thread_root(thread_root, items),
        "items": items,
        "reply_form": form,
        "facilitator_ids": facilitator_ids(group),
    }
    template = "annotations/_thread.html" if _is_fetch(request) else "annotations/thread.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, group_slug, reading_slug, annotation_id):
    """Edit an annotation. The form carries the version it was drawn from (`version`, the
    browser's If-Match, services.edit_version): an edit of a version replaced meanwhile (in
    another tab, another device, through the API) is refused with 412, and the page shows
    the note as it is now above the person's own words, kept in the form to save over it or
    to drop."""
    group, membership, group_reading, annotation = annotation_for(
        request, group_slug, reading_slug, annotation_id, Action.EDIT
    )
    form = _edit_form(membership, annotation, request.POST or None)
    conflict, status = False, 400
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sent = data["version"]
        try:
            services.annotation_update(
                annotation=annotation,
                body=data["body"],
                tags=data["tags"],
                visibility=None if annotation.is_reply else (data["visibility"] or None),
                motivation=None if annotation.is_reply else (data["kind"] or None),
                precondition=(lambda current: services.edit_version(current) == sent)
                if sent
                else None,
            )
        except services.AnnotationChanged:
            # `annotation` is as it is now (read under the lock): a new form over it, holding
            # what the person wrote, ready to save over the other version.
            conflict, status = True, 412
            form = _edit_form(membership, annotation, request.POST, keep_theirs=True)
        except services.AnnotationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
            status = error.status
        else:
            if not _is_fetch(request):
                messages.success(request, "Saved.")
            return redirect(_thread_url(annotation))
    context = {
        "group": group,
        "membership": membership,
        "reading": group_reading.reading,
        "annotation": annotation,
        "form": form,
        "conflict": conflict,
    }
    fragment = request.GET.get("fragment") or (_is_fetch(request) and request.method == "POST")
    template = "annotations/_edit.html" if fragment else "annotations/edit.html"
    return render(request, template, context, status=status if request.method == "POST" else 200)


def _edit_form(membership, annotation, data=None, *, keep_theirs=False) -> EditForm:
    """The edit form over the annotation as it is now: its words, tags, kind and visibility,
    and its version. `data`: what was posted; with `keep_theirs`, posted words kept over a
    newer version (the version becomes the newer one's, so that saving again replaces it)."""
    tags = list(annotation.tags.values_list("name", flat=True))
    version = services.edit_version(annotation, tags)
    initial = {
        "body": annotation.body,
        "tags": ", ".join(tags),
        "kind": annotation.motivation if not annotation.is_reply else "",
        "visibility": annotation.visibility,
        "version": version,
    }
    if keep_theirs:
        data = data.copy()
        data["version"] = version
    private_refused = None
    if not annotation.is_reply and not annotation.is_private:
        private_refused = (
            None
            if permits(membership, Action.MAKE_PRIVATE, annotation)
            else reason_refused(membership, Action.MAKE_PRIVATE, annotation)
        )
    form = EditForm(data, initial=initial, private_refused=private_refused)
    form.current_tags = tags  # for the page to show the version now saved
    return form


@login_required
@require_POST
def delete(request, group_slug, reading_slug, annotation_id):
    group, membership, group_reading, annotation = annotation_for(
        request, group_slug, reading_slug, annotation_id, Action.DELETE
    )
    if not is_confirmed(request):
        replies = visible_annotations(membership).filter(parent=annotation).count()
        return confirmation_page(
            request,
            title="Delete this annotation?",
            consequence=(
                f"It has {replies} repl{'y' if replies == 1 else 'ies'}: they stay, and your "
                "annotation is shown as “[deleted]” above them."
                if replies
                else "It will be gone for good, for you and for the group."
            ),
            action="Delete",
            cancel_url=_thread_url(annotation),
        )
    root_id = annotation.root_id
    try:
        services.annotation_delete(annotation=annotation)
    except services.AnnotationError as error:  # flagged: held for the facilitators
        if request.headers.get("X-Requested-With"):  # the reading page's panel says it
            page = {"title": "Not deleted", "message": str(error)}
            return render(request, "refused.html", page, status=error.status)
        messages.error(request, str(error))
        return redirect(_thread_url(annotation))
    messages.success(request, "Deleted.")
    forget_peek_locks(membership)  # deleting one's only note in a range locks it again
    still_seen = visible_annotations(membership)
    if root_id and still_seen.filter(pk=root_id).exists():
        return redirect(
            reverse("annotations:thread", args=[group.slug, group_reading.reading.slug, root_id])
        )
    if annotation.pk and still_seen.filter(pk=annotation.pk).exists():
        return redirect(_thread_url(annotation))
    return redirect(_reading_url(group, group_reading.reading))


@login_required
@require_POST
@rate_limit("plus_one")
def plus_one(request, group_slug, reading_slug, annotation_id):
    group, membership, group_reading, annotation = annotation_for(
        request, group_slug, reading_slug, annotation_id, Action.PLUS_ONE
    )
    services.annotation_plus_one(annotation=annotation, user=request.user)
    return redirect(_thread_url(annotation))


@login_required
@require_POST
def answer(request, group_slug, reading_slug, annotation_id):
    group, membership, group_reading, annotation = annotation_for(
        request, group_slug, reading_slug, annotation_id, Action.MARK_ANSWER
    )
    services.annotation_mark_answer(
        reply=annotation, is_answer=request.POST.get("value") != "0", by=request.user
    )
    return redirect(_thread_url(annotation))


@login_required
@require_POST
@rate_limit("flag")
def flag(request, group_slug, reading_slug, annotation_id):
    group, membership, group_reading, annotation = annotation_for(
        request, group_slug, reading_slug, annotation_id, Action.FLAG
    )
    form = FlagForm(request.POST)
    if form.is_valid():
        services.annotation_flag(
            annotation=annotation, user=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(request, "Thank you: the facilitators will take a look.")
    else:
        messages.error(request, "Say why you are flagging it.")
    return redirect(_thread_url(annotation))


@login_required
@require_POST
def hide(request, group_slug, reading_slug, annotation_id):
    group, membership, group_reading, annotation = annotation_for(
        request, group_slug, reading_slug, annotation_id, Action.HIDE
    )
    if request.POST.get("action") == "unhide":
        services.annotation_unhide(annotation=annotation)
        messages.success(request, "It is visible to the group again.")
    elif request.POST.get("action") == "dismiss":  # the flags looked at, the note kept
        services.annotation_flags_dismiss(annotation=annotation)
        messages.success(request, "The flag is dismissed: the note stays as it is.")
    else:
        form = HideForm(request.POST)
        if form.is_valid():
            services.annotation_hide(
                annotation=annotation, by=request.user, note=form.cleaned_data["note"]
            )
            messages.success(
                request, "Hidden from the group. Its author can still see it and your note."
            )
        else:
            messages.error(request, "Leave a note saying why it is hidden.")
    return redirect(_thread_url(annotation))


# --- the group reading page ------------------------------------------------------------------


@login_required
@require_safe
def reading(request, group_slug, reading_slug):
    """The reading with the group's layer over it: margin counts, orphans and filters in the
    HTML (for reading without JavaScript); the highlights come from `layer` as JSON."""
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    membership_seen(membership=membership)
    reading = group_reading.reading
    article = reading_article(reading, slots=True)
    # Sections read and, for facilitators, the heat map (from apps above this one).
    assignments = assignments_of(group_reading)
    heat_for = next((a for a in assignments if str(a.pk) == request.GET.get("heat")), None)
    extras = reading_extras(
        membership=membership,
        group_reading=group_reading,
        request=request,
        new=False,
        assignment=heat_for,  # a facilitator's heat map: in this assignment, else all time
    )
    layer = reading_layer(
        group=group,
        membership=membership,
        group_reading=group_reading,
        article=article,
        article_key=str(reading.updated_at.timestamp()),
        filters=Filters.from_request(request),
    )
    context = {
        "group": group,
        "membership": membership,
        "group_reading": group_reading,
        "reading": reading,
        "article": _article(
            request, membership, group_reading, article, layer, extras, assignments
        ),
        "progress_stylesheet": extras.get("progress_stylesheet"),
        "heat_choices": (
            assignments if group_permits(membership, GroupAction.VIEW_PARTICIPATION) else []
        ),
        "heat_for": heat_for,
        "live": extras.get("live"),  # meeting mode (meetings/live.py)
        "quote_context": QUOTE_CONTEXT,
        **layer,
    }
    return render(request, "groups/reading.html", context)


def _article(request, membership, group_reading, article, layer, extras, assignments) -> str:
    fill = _Fill(request, membership, group_reading, article, layer, extras, assignments)
    return mark_safe(article.html(fill))  # the article is rendered HTML; _Fill escapes


class _Fill:
    """What the group reading page adds to the article (readings/article.py) in its slots:
    after each block its margin (threads, annotate, the assigned range's band and label, and for
    a facilitator the heat of the discussion), after each section's heading its "mark read",
    in the contents what is assigned and when it is due. Every value is escaped here."""

    HEAT_LEVELS = 5

    def __init__(self, request, membership, group_reading, article, layer, extras, assignments):
        group, reading = membership.group, group_reading.reading
        query = request.GET.copy()
        query.pop("block", None)
        query["block"] = ""
        self.threads = escape(
            reverse("annotations:threads", args=[group.slug, reading.slug])
            + "?"
            + query.urlencode()
        )
        self.annotate = ""
        if group_permits(membership, GroupAction.ANNOTATE):
            self.annotate = escape(
                reverse("annotations:annotate", args=[group.slug, reading.slug, "-"])[:-2]
            )
        counts = layer["summary"].counts
        self.counts = dict(zip((s.anchor for s in article.spans), counts, strict=True))
        self.spans = {span.anchor: span for span in article.spans}
        self.assignments = assignments
        self.waiting = withheld_counts(membership, reading.pk)
        self.assignments_url = escape(reverse("assignments:list", args=[group.slug]))
        now = timezone.now()
        viewer_zone, group_zone = timezone.get_current_timezone(), zone_named(group.time_zone)
        self.due = {  # "due in 3 days (Tue 8 Dec, 19:00)"
            a.pk: due_relative(a.due_at, zone=viewer_zone, now=now)
            + " ("
            + due_label(a.due_at, viewer_zone=viewer_zone, group_zone=group_zone, now=now)
            + ")"
            for a in self.assignments
        }
        by_section: dict[str, list] = {}
        for span in article.spans:
            for a in self._covering(span):
                if a not in by_section.setdefault(span.section, []):
                    by_section[span.section].append(a)
        self.by_section = by_section
        self.headings = article.headings
        self.section_button = extras.get("section_button")
        self.heat = extras.get("heat") or {}
        self.hottest = max((t + r for t, r in self.heat.values()), default=0)
        self.first_blocks = {}
        for a in self.assignments:
            first = next((s for s in article.spans if s.end > a.start and s.start < a.end), None)
            if first is not None:
                self.first_blocks.setdefault(first.anchor, []).append(a)

    def _covering(self, span) -> list:
        return [a for a in self.assignments if a.start < span.end and a.end > span.start]

    def __call__(self, kind: str, anchor: str) -> str:
        if kind == "block":
            return self.margin(self.spans[anchor])
        if kind == "toc":
            return "".join(
                f' <span class="toc__assigned">{escape(a.title)} · {escape(self.due[a.pk])}</span>'
                for a in self.by_section.get(anchor, ())
            )
        if kind == "section" and self.section_button is not None:
            label = self.headings.get(anchor) or "Introduction"
            return self.section_button(anchor, label)
        return ""

    def margin(self, span) -> str:
        where = f"paragraph {span.number}" if span.number else "this caption"
        anchor = escape(span.anchor)
        classes = "margin"
        if self._covering(span):
            classes += " margin--assigned"
        threads, replies = self.heat.get(span.anchor, (0, 0))
        heat = ""
        if self.hottest and threads + replies:
            level = -(-(threads + replies) * self.HEAT_LEVELS // self.hottest)  # 1..5
            classes += f" margin--heat margin--heat-{level}"
            heat = (
                f'<span class="margin__heat">{threads} thread{pluralize(threads)} · {replies} '
                f"repl{pluralize(replies, 'y,ies')}</span>"
            )
        html = [f'<div class="{classes}" data-block="{anchor}">', heat]
        if count := self.counts[span.anchor]:
            label = f"{count} thread{pluralize(count)}"
            html.append(
                f'<a class="margin__count" href="{self.threads}{anchor}" data-threads="{anchor}"'
                f' aria-label="{label} on {where}">{label}</a>'
            )
        if self.annotate:
            html.append(
                f'<a class="margin__annotate" href="{self.annotate}{anchor}/"'
                f' data-annotate="{anchor}" aria-label="Annotate {where}">Annotate</a>'
            )
        html.append("</div>")
        # An assignment's title and due date, and the notes waiting behind post before you
        # peek, as a caption above the range's first paragraph (CSS lifts it there).
        flags = []
        for a in self.first_blocks.get(span.anchor, ()):
            flags.append(
                f'<p class="assignment-flag__title"><a href="{self.assignments_url}'
                f'#assignment-{a.pk}">{escape(a.title)}</a> · {escape(self.due[a.pk])}</p>'
            )
            if waiting := self.waiting.get(a.pk):
                flags.append(
                    f'<p class="assignment-flag__waiting">{waiting} note{pluralize(waiting)} '
                    "from the group, visible once you post yours</p>"
                )
        if flags:
            html.append(f'<div class="assignment-flag" data-for="{anchor}">{"".join(flags)}</div>')
        return "".join(html)


@login_required
@require_safe
def layer(request, group_slug, reading_slug):
    """The viewer's layer of the group reading as compact JSON (annotations.layer.layer_data).
    Revalidated on every use (private, no-cache); an unchanged layer answers 304."""
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    body = json.dumps(
        layer_data(
            membership=membership,
            group_reading=group_reading,
            filters=Filters.from_request(request),
        ),
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return _revalidated(request, body)


EXCERPTS_MAX = 60  # roots per request: the cards near the viewport
EXCERPT_LENGTH = 240
LARGEST_ID = 2**63 - 1  # no annotation's (big integer) key is larger; SQLite cannot compare one


@login_required
@require_safe
def excerpts(request, group_slug, reading_slug):
    """The opening words of some threads' roots, as plain text, for the margin's cards:
    `?ids=1,2,3` (at most EXCERPTS_MAX). What the viewer may not see is left out."""
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    raw = [part for part in request.GET.get("ids", "").split(",") if part]
    if not raw or len(raw) > EXCERPTS_MAX or not all(part.isdigit() for part in raw):
        return JsonResponse(
            {"error": f"Give ?ids= as 1 to {EXCERPTS_MAX} annotation ids, comma-separated."},
            status=400,
        )
    rows = (
        visible_annotations(membership)
        .filter(
            reading_id=group_reading.reading_id,
            parent__isnull=True,
            pk__in=[pk for pk in map(int, raw) if pk <= LARGEST_ID],
        )
        .values_list("pk", "body_html", "deleted_at")
    )
    found = {
        str(pk): "" if deleted_at else Truncator(_plain(html)).chars(EXCERPT_LENGTH)
        for pk, html, deleted_at in rows
    }
    response = JsonResponse({"excerpts": found})
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _plain(html: str) -> str:
    """Cleaned body HTML as one line of plain text."""
    return " ".join(unescape(strip_tags(html)).split())


@answers_json  # polled by the page's script: a database outage answers it in JSON too
@login_required
@require_safe
def version(request, group_slug, reading_slug):
    """The layer's version figure and meeting mode's (`live`, meetings/live.py), for pages
    that poll for changes: one indexed query, and 304 while neither changed."""
    layer_version, live_version = group_reading_versions(request, group_slug, reading_slug)
    body = json.dumps({"version": layer_version, "live": live_version}).encode()
    return _revalidated(request, body)


def _revalidated(request, body: bytes) -> HttpResponse:
    """A private JSON response with a strong ETag of its body; 304 to a matching
    If-None-Match."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ["Cookie"])
    return get_conditional_response(request, etag=etag, response=response) or response


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("import", methods={"POST"})
def reading_revise(request, group_slug, reading_slug):
    """Replace the text of a reading this group imported; annotations are re-anchored."""
    group, membership, group_reading = group_reading_for_facilitator(
        request, group_slug, reading_slug, GroupAction.REVISE_TEXT
    )
    reading = group_reading.reading
    form = ReadingImportForm(
        request.POST or None,
        request.FILES or None,
        initial={"title": reading.title, "author": reading.author, "text_format": "md"},
    )
    if request.method == "POST" and form.is_valid():
        data, filename = form.source()
        try:
            services.group_reading_revise(
                group=group,
                reading=reading,
                data=data,
                filename=filename,
                overrides=form.overrides(),
            )
        except ReadingImportError as error:
            form.add_error("file" if form.cleaned_data.get("file") else "text", str(error))
        else:
            messages.success(request, "The text is revised; annotations were moved onto it.")
            return redirect(group_reading)
    context = {"group": group, "membership": membership, "reading": reading, "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "groups/reading_revise.html", context, status=status)
