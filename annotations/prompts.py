"""A facilitator's discussion prompts for an assignment: questions anchored to a passage inside
its range. A prompt is an annotation (`Annotation.prompt_of`), so its page lives here; it is
written by annotations.services.annotation_create, which checks the facilitator, the range and
the group reading. Removing one is deleting the annotation, from its thread.

Without JavaScript in two steps, like the keyboard "Annotate" page: choose a paragraph of the
range, then cut its words down to the passage and write the question.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from annotations import services
from annotations.forms import BodyField
from annotations.models import Annotation
from assignments.access import assignment_for
from assignments.contents import block_end, blocks_of, paragraph_label
from commonplace.ratelimits import rate_limit
from groups.access import GroupAction
from readings.layout import reading_layout


class PromptForm(forms.Form):
    block = forms.CharField(widget=forms.HiddenInput)
    quote = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="The words the prompt is about",
        help_text=(
            "Keep the whole paragraph or cut it down to the exact words "
            "(copy them from the paragraph)."
        ),
        error_messages={"required": "Keep at least a few words of the paragraph."},
    )
    body = BodyField(
        label="The question",
        help_text="What should members discuss here? Markdown; @name mentions a member.",
        error_messages={"required": "Write the question."},
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("annotate", methods={"POST"})
def prompt_create(request, group_slug, assignment_id):
    """Add a prompt to an assignment: a paragraph of its range (?block=anchor), the words, the
    question. Without a paragraph, the page asks for one."""
    group, membership, assignment = assignment_for(
        request, group_slug, assignment_id, GroupAction.MANAGE_ASSIGNMENTS
    )
    reading = assignment.group_reading.reading
    paragraphs = [
        block
        for block in blocks_of(reading_layout(reading))
        if assignment.start <= block.start and block_end(block) <= assignment.end
    ]
    wanted = (request.POST if request.method == "POST" else request.GET).get("block", "")
    block = next((b for b in paragraphs if b.anchor == wanted), None)
    context = {
        "group": group,
        "membership": membership,
        "assignment": assignment,
        "reading": reading,
        "paragraph_choices": [(b.anchor, paragraph_label(b)) for b in paragraphs],
        "edit_url": reverse("assignments:edit", args=[group.slug, assignment.pk]),
    }
    if block is None:
        # No paragraph yet (or one outside the range): choose one.
        problem = "That paragraph is not inside the assignment's range." if wanted else ""
        context |= {"problem": problem}
        status = 400 if wanted or request.method == "POST" else 200
        return render(request, "annotations/prompt_choose.html", context, status=status)
    form = PromptForm(request.POST or None, initial={"block": block.anchor, "quote": block.text})
    if request.method == "POST" and form.is_valid():
        quote = form.cleaned_data["quote"].strip()
        index = block.text.find(quote) if quote else -1
        if index < 0:
            form.add_error("quote", "Those words are not in this paragraph: copy them exactly.")
        else:
            try:
                services.annotation_create(
                    group=group,
                    reading=reading,
                    author=request.user,
                    motivation=Annotation.Motivation.QUESTIONING,
                    body=form.cleaned_data["body"],
                    visibility=Annotation.Visibility.GROUP,
                    start=block.start + index,
                    end=block.start + index + len(quote),
                    exact=quote,
                    prompt_of=assignment,
                )
            except services.AnnotationError as error:
                field = {"target": "quote", "body": "body"}.get(error.field)
                form.add_error(field, str(error))
            else:
                messages.success(request, "Prompt added: members find it in the margin.")
                return redirect(context["edit_url"] + "#prompts")
    context |= {"form": form, "paragraph": block}
    status = 400 if request.method == "POST" else 200
    return render(request, "annotations/prompt_create.html", context, status=status)
