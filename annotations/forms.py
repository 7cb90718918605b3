from django import forms

from annotations.models import BODY_MAX_LENGTH, Annotation

KIND_CHOICES = [
    ("commenting", "Comment"),
    ("questioning", "Question"),
    ("highlighting", "Highlight only"),
]


class BodyField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "data-mentions": "1"}))
        kwargs.setdefault("max_length", BODY_MAX_LENGTH)
        kwargs.setdefault(
            "error_messages",
            {
                "max_length": (
                    f"The comment is too long: the limit is {BODY_MAX_LENGTH:,} characters "
                    "(it has %(show_value)d)."
                ),
            },
        )
        super().__init__(**kwargs)


class AnnotateForm(forms.Form):
    """Annotate a paragraph without a mouse: choose the exact words, then write."""

    quote = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="The words you are annotating",
        help_text=(
            "Keep the whole paragraph or cut it down to the exact words "
            "(copy them from the paragraph)."
        ),
    )
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="commenting", label="Kind")
    body = BodyField(
        required=False,
        label="Comment",
        help_text="Markdown: *italic*, **bold**, > quote, lists, links. @name mentions a member.",
    )
    tags = forms.CharField(required=False, max_length=600, help_text="Separate tags with commas.")
    visibility = forms.ChoiceField(
        choices=Annotation.Visibility.choices,
        initial=Annotation.Visibility.GROUP,
        widget=forms.RadioSelect,
        label="Who can see it",
    )


class ReplyForm(forms.Form):
    body = BodyField(label="Reply", help_text="Markdown; @name mentions a member.")
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ChoicesWithRefusals(forms.RadioSelect):
    """Radio buttons some of whose choices are shown but cannot be chosen (`refused`)."""

    refused: frozenset = frozenset()

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value in self.refused:
            option["attrs"]["disabled"] = True
        return option


class EditForm(forms.Form):
    """Edit an annotation. `version` is the one the form was drawn from (the browser's
    If-Match); `private_refused`, why it cannot be made private now (annotations.access's
    make_private line), shown under the choice it withholds."""

    body = BodyField(required=False, label="Text")
    tags = forms.CharField(required=False, max_length=600, help_text="Separate tags with commas.")
    kind = forms.ChoiceField(choices=KIND_CHOICES, required=False)
    visibility = forms.ChoiceField(
        choices=Annotation.Visibility.choices,
        required=False,
        widget=ChoicesWithRefusals,
        label="Who can see it",
    )
    version = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, private_refused: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.private_refused = private_refused
        if private_refused:
            self.fields["visibility"].widget.refused = frozenset({Annotation.Visibility.PRIVATE})
            self.fields["visibility"].help_text = private_refused

    def clean_visibility(self):
        visibility = self.cleaned_data["visibility"]
        if self.private_refused and visibility == Annotation.Visibility.PRIVATE:
            raise forms.ValidationError(self.private_refused)
        return visibility


class FlagForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Why should a facilitator look at this?")


class HideForm(forms.Form):
    note = forms.CharField(max_length=500, label="Note to the author (why it is hidden)")


class DiscussForm(forms.Form):
    """Start a discussion of the whole reading (not of a passage)."""

    kind = forms.ChoiceField(
        choices=[("commenting", "Comment"), ("questioning", "Question")],
        initial="commenting",
        widget=forms.RadioSelect,
        label="Comment or question?",
    )
    body = BodyField(
        label="Your comment or question",
        help_text="Markdown: *italic*, **bold**, > quote, lists, links. @name mentions a member.",
        error_messages={"required": "Write something to start the discussion."},
    )
    tags = forms.CharField(required=False, max_length=600, help_text="Separate tags with commas.")
    visibility = forms.ChoiceField(
        choices=Annotation.Visibility.choices,
        initial=Annotation.Visibility.GROUP,
        widget=forms.RadioSelect,
        label="Who can see it",
    )
