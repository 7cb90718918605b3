from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from assignments import times
from assignments.forms import LinesField
from assignments.models import Assignment
from meetings.models import (
    AGENDA_TEXT_MAX_LENGTH,
    LINK_MAX_LENGTH,
    RECAP_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from meetings.times import ends_at

DEFAULT_START = time(19, 0)
DEFAULT_LENGTH = timedelta(minutes=90)
DEFAULT_IN = timedelta(days=7)

# The service's names for its inputs, and the fields that show them.
SERVICE_FIELDS = {
    "title": "title",
    "starts_at": "date",
    "ends_at": "ends",
    "link": "link",
    "assignment": "assignment",
    "text": "text",
    "recap": "recap",
}


class MeetingForm(forms.Form):
    """A meeting: a title, a day with a start and an end time entered in the group's zone, an
    online link and the assignment it discusses. `cleaned_data["starts_at"]` and
    `["ends_at"]` are UTC instants; `in_the_past` is offered once a past start was refused."""

    title = forms.CharField(
        max_length=TITLE_MAX_LENGTH,
        error_messages={
            "required": "Give the meeting a title.",
            "max_length": f"The title is too long: the limit is {TITLE_MAX_LENGTH} characters.",
        },
        help_text="What members see first, e.g. “Week 2: Why the working class”.",
    )
    date = forms.DateField(
        label="Date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give the date.", "invalid": "Give a date (YYYY-MM-DD)."},
    )
    starts = forms.TimeField(
        label="Starts",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": "Give the start time.", "invalid": "Give a time (HH:MM)."},
    )
    ends = forms.TimeField(
        label="Ends",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": "Give the end time.", "invalid": "Give a time (HH:MM)."},
    )
    in_the_past = forms.BooleanField(
        required=False,
        label="Yes, it has already happened",
        help_text="Record it anyway, to keep its agenda and write its recap.",
    )
    link = forms.CharField(
        required=False,
        label="Online link",
        max_length=LINK_MAX_LENGTH,
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "url"}),
        help_text="Optional. The call's address (http or https), e.g. https://meet.example/abc.",
        error_messages={
            "max_length": f"The link is too long: the limit is {LINK_MAX_LENGTH} characters."
        },
    )
    assignment = forms.ModelChoiceField(
        queryset=Assignment.objects.none(),
        required=False,
        label="Discusses",
        empty_label="No assignment in particular",
        error_messages={
            "invalid_choice": "That assignment is not one of this group's: choose another."
        },
    )

    def __init__(self, *args, group, meeting=None, **kw):
        self.group = group
        self.zone = times.zone_named(group.time_zone)
        if meeting is not None and not kw.get("initial"):
            day, start = times.to_group_time(meeting.starts_at, self.zone)
            _, end = times.to_group_time(ends_at(meeting), self.zone)
            kw["initial"] = {
                "title": meeting.title,
                "date": day,
                "starts": start,
                "ends": end,
                "link": meeting.link,
                "assignment": meeting.assignment_id,
            }
        elif meeting is None:
            soon = timezone.now().astimezone(self.zone) + DEFAULT_IN
            end = (datetime.combine(soon.date(), DEFAULT_START) + DEFAULT_LENGTH).time()
            defaults = {"date": soon.date(), "starts": DEFAULT_START, "ends": end}
            kw["initial"] = {**defaults, **(kw.get("initial") or {})}
        super().__init__(*args, **kw)
        self.fields["assignment"].queryset = Assignment.objects.filter(
            group_reading__group=group
        ).select_related("group_reading__reading")
        self.fields["assignment"].label_from_instance = lambda a: a.title
        now_there = timezone.now().astimezone(self.zone)
        self.fields["date"].help_text = (
            f"In the group's time zone, {group.time_zone} (it is {now_there:%H:%M} there now). "
            "Everyone sees it in their own time."
        )
        self.show_in_the_past = bool(self.data.get("in_the_past"))

    def clean(self):
        data = super().clean()
        day, start, end = data.get("date"), data.get("starts"), data.get("ends")
        if day is None:
            return data
        try:
            if start is not None:
                data["starts_at"] = times.from_group_time(day, start, self.zone)
            if end is not None:
                data["ends_at"] = times.from_group_time(day, end, self.zone)
        except times.NoSuchTime as error:
            self.add_error("starts" if "starts_at" not in data else "ends", str(error))
        except OverflowError:
            self.add_error("date", "Choose a date within the next two years.")
        return data

    def add_service_error(self, error) -> None:
        """Show a MeetingError beside the field it is about (or above the form)."""
        self.add_error(SERVICE_FIELDS.get(error.field), str(error))
        if error.field == "starts_at" and "passed" in str(error):
            self.show_in_the_past = True

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "link": data["link"],
            "assignment": data["assignment"],
            "in_the_past": data["in_the_past"],
        }


class AgendaItemForm(forms.Form):
    text = forms.CharField(
        label="Add an item",
        max_length=AGENDA_TEXT_MAX_LENGTH,
        error_messages={
            "required": "Write the item.",
            "max_length": (
                f"The item is too long: the limit is {AGENDA_TEXT_MAX_LENGTH} characters."
            ),
        },
        help_text="A point of its own: “Check-in”, “Choose the next reading”.",
    )


class RecapForm(forms.Form):
    recap = LinesField(
        required=False,
        label="Recap",
        max_length=RECAP_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What the group talked about and decided. Markdown: *italic*, **bold**, "
        "lists, links. Shown on the group's home under the meeting.",
        error_messages={
            "max_length": f"The recap is too long: the limit is {RECAP_MAX_LENGTH:,} characters."
        },
    )
