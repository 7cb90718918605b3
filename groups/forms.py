import unicodedata
from datetime import timedelta

from django import forms
from django.conf import settings
from django.core.validators import validate_email
from django.utils import timezone

from accounts.models import time_zone_choices
from commonplace import untrusted
from groups.models import ReadingGroup

MAX_EMAILS_PER_BATCH = 50


class GroupForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        initial="UTC",
        help_text="Meetings and due dates are set in this time zone.",
    )

    class Meta:
        model = ReadingGroup
        fields = ["name", "description", "time_zone"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "name": "For example “Tuesday Reading Circle”.",
            "description": "A sentence or two: what you read and when you meet.",
        }

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the group a name.")
        return name


EXPIRY_CHOICES = [
    ("", "Never"),
    ("1", "In 1 day"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
]


class InviteLinkForm(forms.Form):
    label = forms.CharField(
        max_length=80,
        required=False,
        help_text="Optional: where you will share it, e.g. “Union newsletter”.",
    )
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires")
    max_uses = forms.IntegerField(
        min_value=1,
        max_value=1000,
        required=False,
        label="Maximum number of people",
        help_text="Leave empty for no limit.",
    )

    def expires_at(self):
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + timedelta(days=int(days)) if days else None


class EmailInviteForm(forms.Form):
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ana@example.org, ben@example.org"}),
        label="Email addresses",
        help_text=(
            f"Separate addresses with commas, spaces or new lines (up to {MAX_EMAILS_PER_BATCH})."
        ),
    )

    def clean_emails(self):
        raw = self.cleaned_data["emails"].replace(",", " ").replace(";", " ").split()
        emails = list(dict.fromkeys(address.strip().lower() for address in raw if address.strip()))
        if not emails:
            raise forms.ValidationError("Enter at least one email address.")
        if len(emails) > MAX_EMAILS_PER_BATCH:
            raise forms.ValidationError(
                f"At most {MAX_EMAILS_PER_BATCH} addresses at a time; you entered {len(emails)}."
            )
        bad = []
        for email in emails:
            try:
                validate_email(email)
            except forms.ValidationError:
                bad.append(email)
        if bad:
            raise forms.ValidationError(
                "These are not email addresses: %(bad)s", params={"bad": ", ".join(bad)}
            )
        return emails


class ReadingImportForm(forms.Form):
    FORMAT_CHOICES = [("txt", "Plain text"), ("md", "Markdown")]

    title = forms.CharField(max_length=300, required=False, help_text="Required for pasted text.")
    author = forms.CharField(max_length=200, required=False)
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        label="Paste the text",
        help_text="Paragraphs separated by blank lines.",
    )
    text_format = forms.ChoiceField(
        choices=FORMAT_CHOICES, initial="txt", label="The pasted text is", required=False
    )
    file = forms.FileField(
        required=False,
        label="…or upload a file",
        help_text=(
            "A .md (Markdown, front matter allowed) or .txt file, up to "
            f"{untrusted.size(settings.READING_IMPORT_MAX_BYTES)}."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".md,.markdown,.txt,text/plain,text/markdown"}
        ),
    )

    def clean(self):
        data = super().clean()
        text, upload = data.get("text", ""), data.get("file")
        if bool(text.strip()) == bool(upload):
            raise forms.ValidationError("Paste the text or upload a file (one of the two).")
        if upload is not None and upload.size > settings.READING_IMPORT_MAX_BYTES:
            limit = untrusted.size(settings.READING_IMPORT_MAX_BYTES)
            self.add_error("file", f"The file is larger than {limit}.")
        if text.strip() and not data.get("title"):
            self.add_error("title", "Give the pasted text a title.")
        return data

    def source(self) -> tuple[bytes, str]:
        """The bytes to import and a file name that tells the importer their format."""
        upload = self.cleaned_data.get("file")
        if upload is not None:
            return upload.read(), upload.name
        extension = self.cleaned_data.get("text_format") or "txt"
        return self.cleaned_data["text"].encode("utf-8"), f"pasted.{extension}"

    def overrides(self) -> dict[str, str]:
        return {
            "title": self.cleaned_data.get("title", "").strip(),
            "author": self.cleaned_data.get("author", "").strip(),
        }


def _typed_name(text: str) -> str:
    """A name as typed to confirm: spaces and case do not count."""
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


class GroupDeleteForm(forms.Form):
    """Deleting a group asks for its name, typed: a group is not deleted by a slip."""

    confirm_name = forms.CharField(label="Type the group's name to confirm", max_length=200)

    def __init__(self, *args, group: ReadingGroup, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group
        self.fields["confirm_name"].help_text = f"The name is “{group.name}”."
        self.fields["confirm_name"].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean_confirm_name(self):
        typed = self.cleaned_data["confirm_name"]
        if _typed_name(typed) != _typed_name(self.group.name):
            raise forms.ValidationError("That is not the group's name: nothing was deleted.")
        return typed
