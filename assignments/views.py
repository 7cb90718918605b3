"""A group's assignments: the list every member reads, and a facilitator's pages to set, change,
reorder and delete them. Prompts are annotations: their pages are annotations/prompts.py."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from assignments import services
from assignments.access import assignment_for
from assignments.contents import Layouts, blocks_of, paragraph_choices, range_name
from assignments.forms import AssignmentForm, ReadingChoiceForm
from assignments.models import Assignment
from commonplace.confirm import confirmation_page, is_confirmed
from groups.access import GroupAction, group_for, group_permits


def _list_url(group, assignment=None) -> str:
    url = reverse("assignments:list", args=[group.slug])
    return f"{url}#assignment-{assignment.pk}" if assignment is not None else url


def _edit_url(group, assignment, part: str = "") -> str:
    url = reverse("assignments:edit", args=[group.slug, assignment.pk])
    return f"{url}#{part}" if part else url


def shown_prompts(assignment: Assignment) -> list:
    """The assignment's prompts a member may read, in text order: shared root questions, not
    deleted or hidden (prompts are facilitators' shared questions, which the annotation table
    shows every member, "post before you peek" included; the thread pages ask it again)."""
    return sorted(
        (
            prompt
            for prompt in assignment.prompts.all()
            if prompt.parent_id is None
            and prompt.visibility == "group"
            and prompt.deleted_at is None
            and prompt.hidden_at is None
        ),
        key=lambda prompt: (prompt.start or 0, prompt.pk),
    )


@login_required
@require_safe
def assignment_list(request, group_slug):
    group, membership = group_for(request, group_slug)
    now = timezone.now()
    assignments = list(
        Assignment.objects.filter(group_reading__group=group)
        .select_related("group_reading__reading")
        .prefetch_related("prompts")
    )
    layouts = Layouts()
    for assignment in assignments:
        reading = assignment.group_reading.reading
        assignment.range_name = range_name(layouts(reading), assignment.start, assignment.end)
        assignment.prompt_list = shown_prompts(assignment)
        assignment.overdue = assignment.is_due(now)
    context = {
        "group": group,
        "membership": membership,
        "assignments": assignments,
        "can_manage": group_permits(membership, GroupAction.MANAGE_ASSIGNMENTS),
        "now": now,
    }
    return render(request, "assignments/list.html", context)


def _next_start(group_reading, layout) -> str:
    """Where a new assignment of this reading most likely starts: after the last one."""
    last = group_reading.assignments.order_by("-end").values_list("end", flat=True).first()
    if last is None:
        return ""
    return next((b.anchor for b in blocks_of(layout) if b.start >= last), "")


@login_required
@require_http_methods(["GET", "POST"])
def assignment_create(request, group_slug):
    group, membership = group_for(request, group_slug, GroupAction.MANAGE_ASSIGNMENTS)
    group_readings = list(group.group_readings.select_related("reading"))
    context = {"group": group, "membership": membership, "group_readings": group_readings}
    if not group_readings:
        return render(request, "assignments/form.html", context)
    source = request.POST if request.method == "POST" else request.GET
    wanted = source.get("reading")
    group_reading = next((gr for gr in group_readings if gr.reading.slug == wanted), None)
    chosen = group_reading or group_readings[0]
    layout = Layouts()(chosen.reading)
    form = AssignmentForm(
        request.POST or None,
        layout=layout,
        group=group,
        initial={"first_block": _next_start(chosen, layout)},
    )
    if request.method == "POST" and group_reading is None:
        form.is_valid()
        form.add_error(None, "Choose one of the group's readings.")
    elif request.method == "POST" and form.is_valid():
        try:
            assignment = services.assignment_create(
                group=group,
                reading=chosen.reading,
                created_by=request.user,
                **form.service_arguments(),
            )
        except services.AssignmentError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request, f"“{assignment.title}” is set. Add its discussion prompts below."
            )
            return redirect(_edit_url(group, assignment, "prompts"))
    context |= {
        "form": form,
        "reading": chosen.reading,
        "reading_form": ReadingChoiceForm(
            initial={"reading": chosen.reading.slug}, group_readings=group_readings
        ),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "assignments/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def assignment_edit(request, group_slug, assignment_id):
    group, membership, assignment = assignment_for(
        request, group_slug, assignment_id, GroupAction.MANAGE_ASSIGNMENTS
    )
    reading = assignment.group_reading.reading
    layout = Layouts()(reading)
    form = AssignmentForm(request.POST or None, layout=layout, group=group, assignment=assignment)
    if request.method == "POST" and form.is_valid():
        try:
            services.assignment_update(assignment=assignment, **form.service_arguments())
        except services.AssignmentError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"“{form.cleaned_data['title']}” is saved.")
            return redirect(_list_url(group, assignment))
    context = {
        "group": group,
        "membership": membership,
        "assignment": assignment,
        "reading": reading,
        "form": form,
        "range_name": range_name(layout, assignment.start, assignment.end),
        "prompts": shown_prompts(assignment),
        "prompt_paragraphs": paragraph_choices(layout, assignment.start, assignment.end),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "assignments/form.html", context, status=status)


@login_required
@require_POST
def assignment_delete(request, group_slug, assignment_id):
    group, _, assignment = assignment_for(
        request, group_slug, assignment_id, GroupAction.MANAGE_ASSIGNMENTS
    )
    if not is_confirmed(request):
        return confirmation_page(
            request,
            title=f"Delete “{assignment.title}”?",
            consequence=(
                "The assignment leaves the group's list. Everything written under it stays: "
                "its prompts become ordinary questions, with their replies."
            ),
            action="Delete the assignment",
            cancel_url=_edit_url(group, assignment),
        )
    services.assignment_delete(assignment=assignment)
    messages.success(request, f"“{assignment.title}” is deleted; its discussion stays.")
    return redirect(_list_url(group))


@login_required
@require_POST
def assignment_move(request, group_slug, assignment_id):
    group, _, assignment = assignment_for(
        request, group_slug, assignment_id, GroupAction.MANAGE_ASSIGNMENTS
    )
    try:
        services.assignment_move(assignment=assignment, direction=request.POST.get("direction"))
    except services.AssignmentError as error:
        messages.error(request, str(error))
    return redirect(_list_url(group, assignment))
