"""The search form: the words, and the filters, each refusing what it cannot use with a
sentence that says why (an unknown member, reading or section, a date that is not one, NUL
characters, a search too long), so a bad address gets a page that explains, never a 500.

Everything is GET, so a search is an address that can be shared with the group, bookmarked
and paged through. Dates are days in the viewer's own time zone (the middleware activates
it): "from" is from the start of that day, "to" until the end of that one.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from annotations.services import TAG_MAX_LENGTH
from groups.models import GroupReading, Membership, ReadingGroup
from readings.models import Section
from search.query import Criteria, section_range
from search.syntax import SearchSyntaxError, parse

NUL_MESSAGE = "The search cannot contain NUL characters."


@dataclass
class Choices:
    """What the filters offer in this group: its readings, members and sections."""

    group_readings: list
    members: list
    sections: list

    @classmethod
    def for_group(cls, group: ReadingGroup) -> "Choices":
        """Three queries."""
        group_readings = list(
            GroupReading.objects.filter(group=group)
            .select_related("reading")
            .order_by("reading__title", "pk")
        )
        members = list(
            Membership.objects.filter(group=group)
            .select_related("user")
            .order_by("user__display_name", "user__username")
        )
        sections = list(
            Section.objects.filter(
                reading_id__in=[gr.reading_id for gr in group_readings]
            ).order_by("reading_id", "position")
        )
        return cls(group_readings, members, sections)


EARLIEST, LATEST = date(1900, 1, 1), date(9000, 12, 31)  # what a day in any zone may be


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search for",
        required=False,
        strip=True,
        # The syntax (search/syntax.py) says how long a search may be, with a clearer
        # sentence than a field's limit; this only keeps a pasted book out of the parser.
        max_length=2_000,
        error_messages={
            "max_length": "That is far too long for a search.",
            "null_characters_not_allowed": NUL_MESSAGE,
        },
    )
    reading = forms.ChoiceField(
        label="Reading",
        required=False,
        error_messages={"invalid_choice": "This group does not read that."},
    )
    section = forms.TypedChoiceField(
        label="Section",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "There is no such section in this group's readings."},
    )
    member = forms.ChoiceField(
        label="Written by",
        required=False,
        error_messages={"invalid_choice": "Nobody of that name is a member of this group."},
    )
    tag = forms.CharField(
        label="Tag",
        required=False,
        max_length=TAG_MAX_LENGTH + 1,  # room for a leading #
        error_messages={
            "max_length": f"A tag is at most {TAG_MAX_LENGTH} characters long.",
            "null_characters_not_allowed": "A tag cannot contain NUL characters.",
        },
    )
    questions = forms.BooleanField(label="Questions only", required=False)
    unanswered = forms.BooleanField(label="Unanswered questions only", required=False)

    field_order = ["q", "reading", "section", "member", "tag", "from", "to", "questions"]

    def __init__(self, data, *, choices: Choices):
        super().__init__(data)
        self.choices = choices
        # "from" and "to" read well in an address, but are not names Python lets us declare.
        date_errors = {"invalid": "Enter a date as year-month-day, for example 2026-03-01."}
        self.fields["from"] = forms.DateField(
            label="From", required=False, error_messages=date_errors
        )
        self.fields["to"] = forms.DateField(label="To", required=False, error_messages=date_errors)
        for name in ("from", "to"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            setattr(self, f"clean_{name}", lambda name=name: self._clean_day(name))
        self.order_fields(self.field_order)
        self.fields["reading"].choices = [("", "All readings")] + [
            (gr.reading.slug, gr.reading.title) for gr in choices.group_readings
        ]
        titles = {gr.reading_id: gr.reading.title for gr in choices.group_readings}
        by_reading: dict[int, list] = {}
        for section in choices.sections:
            by_reading.setdefault(section.reading_id, []).append(
                (section.pk, section.heading or "Introduction")
            )
        self.fields["section"].choices = [("", "Anywhere")] + [
            (titles[reading_id], options)
            for reading_id, options in by_reading.items()
            if reading_id in titles
        ]
        self.fields["member"].choices = [("", "Anyone")] + [
            (m.user.username, m.user.public_name) for m in choices.members
        ]

    def clean_q(self):
        text = self.cleaned_data["q"]
        try:
            self.query = parse(text)
        except SearchSyntaxError as error:
            raise forms.ValidationError(str(error)) from None
        return text

    def clean_tag(self):
        # As written: tags keep their case and are matched without it (annotations.services).
        tag = " ".join(self.cleaned_data["tag"].split()).lstrip("#").strip()
        if len(tag) > TAG_MAX_LENGTH:
            raise forms.ValidationError(f"A tag is at most {TAG_MAX_LENGTH} characters long.")
        return tag

    def _clean_day(self, name):
        day = self.cleaned_data[name]
        if day is not None and not EARLIEST <= day <= LATEST:
            raise forms.ValidationError(f"Choose a day between {EARLIEST.year} and {LATEST.year}.")
        return day

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", "The “to” date is before the “from” date.")
        section, reading = self._section(), self._reading()
        if section is not None and reading is not None and section.reading_id != reading.pk:
            self.add_error("section", "That section is in another reading.")
        if data.get("unanswered"):
            data["questions"] = True  # an unanswered question is a question
        return data

    def _reading(self):
        slug = self.cleaned_data.get("reading")
        return next(
            (gr.reading for gr in self.choices.group_readings if gr.reading.slug == slug), None
        )

    def _section(self):
        section_id = self.cleaned_data.get("section")
        return next((s for s in self.choices.sections if s.pk == section_id), None)

    @property
    def filters(self) -> list[dict]:
        """The filter fields, plainly, for the page to draw without a template per option
        (Django's widgets render each <option> through a template: 15 ms for this form)."""
        shown = []
        for name in self.fields:
            if name == "q":
                continue
            bound = self[name]
            field = self.fields[name]
            value = bound.value()
            item = {
                "name": name,
                "id": bound.id_for_label,
                "label": field.label,
                "errors": bound.errors,
                "kind": "input",
            }
            if isinstance(field, forms.BooleanField):
                item.update(kind="check", checked=bool(value))
            elif isinstance(field, forms.ChoiceField):
                chosen = "" if value is None else str(value)
                options, groups = [], []
                for key, label in field.choices:
                    if isinstance(label, list | tuple):
                        groups.append(
                            (key, [(str(k), text, str(k) == chosen) for k, text in label])
                        )
                    else:
                        options.append((str(key), label, str(key) == chosen))
                item.update(kind="select", options=options, groups=groups)
            else:
                item.update(
                    type="date" if isinstance(field, forms.DateField) else "text",
                    value="" if value is None else str(value),
                )
            shown.append(item)
        return shown

    @property
    def filtered(self) -> bool:
        """Whether any filter is set (the form opens its filters)."""
        data = getattr(self, "cleaned_data", None) or {}
        return any(data.get(name) for name in self.fields if name != "q")

    def criteria(self) -> Criteria:
        """What to look for (after is_valid). A section filter reads its reading's blocks."""
        data = self.cleaned_data
        zone = timezone.get_current_timezone()
        section = self._section()
        reading = self._reading()
        if section is not None:
            reading_id = section.reading_id
            siblings = [s for s in self.choices.sections if s.reading_id == reading_id]
            where = section_range(section, siblings)
        else:
            reading_id, where = (reading.pk if reading else None), None
        member = next(
            (m for m in self.choices.members if m.user.username == data.get("member")), None
        )

        def day_start(day) -> datetime:
            return timezone.make_aware(datetime.combine(day, time.min), zone)

        return Criteria(
            query=self.query,
            reading_id=reading_id,
            section=where,
            author_id=member.user_id if member else None,
            tag=data.get("tag", ""),
            questions=bool(data.get("questions")),
            unanswered=bool(data.get("unanswered")),
            since=day_start(data["from"]) if data.get("from") else None,
            until=day_start(data["to"] + timedelta(days=1)) if data.get("to") else None,
        )
