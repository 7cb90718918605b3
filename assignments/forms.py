from datetime import time, timedelta

from django import forms
from django.utils import timezone

from assignments import times
from assignments.contents import range_choices
from assignments.models import INSTRUCTIONS_MAX_LENGTH, TITLE_MAX_LENGTH, Assignment

DEFAULT_DUE_TIME = time(19, 0)
DEFAULT_DUE_IN = timedelta(days=7)

# The service's names for its inputs, and the fields that show them.
SERVICE_FIELDS = {
    "title": "title",
    "first_block": "first_block",
    "last_block": "last_block",
    "due_at": "due_date",
    "instructions": "instructions",
}


class LinesField(forms.CharField):
    """Text whose line breaks count one character each, as the service stores them: a
    browser sends CR LF, which would otherwise count twice against max_length."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if value else value


class AssignmentForm(forms.Form):
    """An assignment: a range of one reading (picked from its contents), a due date and time
    entered in the group's zone, Markdown instructions, and "post before you peek".

    `cleaned_data["due_at"]` is the UTC instant. `already_due` is offered once a due date in
    the past was refused (or ticked already): see assignments.services."""

    title = forms.CharField(
        max_length=TITLE_MAX_LENGTH,
        error_messages={
            "required": "Give the assignment a title.",
            "max_length": (
                f"The title is too long: the limit is {TITLE_MAX_LENGTH} characters "
                "(it has %(show_value)d)."
            ),
        },
        help_text="What members see first, e.g. “Week 2: Why the working class”.",
    )
    first_block = forms.ChoiceField(
        label="From",
        error_messages={
            "required": "Choose where the assignment starts.",
            "invalid_choice": "That start is not a section or paragraph of this reading.",
        },
    )
    last_block = forms.ChoiceField(
        label="To",
        error_messages={
            "required": "Choose where the assignment ends.",
            "invalid_choice": "That end is not a section or paragraph of this reading.",
        },
    )
    due_date = forms.DateField(
        label="Due date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give the due date.", "invalid": "Give a date (YYYY-MM-DD)."},
    )
    due_time = forms.TimeField(
        label="Time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": "Give the time.", "invalid": "Give a time (HH:MM)."},
    )
    already_due = forms.BooleanField(
        required=False,
        label="Yes, it is already due",
        help_text="Set it anyway: members see it as overdue.",
    )
    instructions = LinesField(
        required=False,
        max_length=INSTRUCTIONS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Optional. Markdown: *italic*, **bold**, > quote, lists, links.",
        error_messages={
            "max_length": (
                f"The instructions are too long: the limit is {INSTRUCTIONS_MAX_LENGTH:,} "
                "characters (they have %(show_value)d)."
            ),
        },
    )
    post_before_peek = forms.BooleanField(
        required=False,
        label="Post before you peek",
        help_text=(
            "Members see the others' notes in this range only after posting one of their own "
            "there, or once it is due, so everyone reads with fresh eyes first. Facilitators "
            "always see everything."
        ),
    )

    def __init__(self, *args, layout: dict, group, assignment: Assignment | None = None, **kw):
        self.group = group
        self.zone = times.zone_named(group.time_zone)
        if assignment is not None and not kw.get("initial"):
            due_date, due_time = times.to_group_time(assignment.due_at, self.zone)
            kw["initial"] = {
                "title": assignment.title,
                "first_block": assignment.first_block,
                "last_block": assignment.last_block,
                "due_date": due_date,
                "due_time": due_time,
                "instructions": assignment.instructions,
                "post_before_peek": assignment.post_before_peek,
            }
        elif assignment is None:
            soon = timezone.now().astimezone(self.zone) + DEFAULT_DUE_IN
            defaults = {"due_date": soon.date(), "due_time": DEFAULT_DUE_TIME}
            kw["initial"] = {**defaults, **(kw.get("initial") or {})}
        super().__init__(*args, **kw)
        starts, ends = range_choices(layout)
        self.fields["first_block"].choices = starts
        self.fields["last_block"].choices = ends
        now_there = timezone.now().astimezone(self.zone)
        self.fields["due_date"].help_text = (
            f"In the group's time zone, {group.time_zone} (it is {now_there:%H:%M} there now). "
            "Everyone sees it in their own time."
        )
        self.show_already_due = bool(self.data.get("already_due"))

    def clean(self):
        data = super().clean()
        day, clock = data.get("due_date"), data.get("due_time")
        if day is not None and clock is not None:
            try:
                data["due_at"] = times.from_group_time(day, clock, self.zone)
            except times.NoSuchTime as error:
                self.add_error("due_time", str(error))
            except OverflowError:
                self.add_error("due_date", "Choose a due date within the next five years.")
        return data

    def add_service_error(self, error) -> None:
        """Show an AssignmentError beside the field it is about (or above the form)."""
        field = SERVICE_FIELDS.get(error.field)
        self.add_error(field, str(error))
        if error.field == "due_at":
            self.show_already_due = True

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "first_block": data["first_block"],
            "last_block": data["last_block"],
            "due_at": data["due_at"],
            "instructions": data["instructions"],
            "post_before_peek": data["post_before_peek"],
            "already_due": data["already_due"],
        }


class ReadingChoiceForm(forms.Form):
    """Which of the group's readings a new assignment is on (a GET form: it lays out the
    contents to pick the range from)."""

    reading = forms.ChoiceField(label="Reading")

    def __init__(self, *args, group_readings, **kw):
        super().__init__(*args, **kw)
        self.fields["reading"].choices = [
            (gr.reading.slug, gr.reading.title) for gr in group_readings
        ]
