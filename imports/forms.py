from django import forms

from commonplace import untrusted
from imports.formats import MAX_FILE_BYTES
from imports.previews import TOKEN_PATTERN


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="The file of annotations",
        help_text=(
            "A W3C Web Annotation file (.jsonld or .json) or a Hypothesis export (.json), up to "
            f"{untrusted.size(MAX_FILE_BYTES)}. You see what it holds before anything is "
            "imported."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".json,.jsonld,application/json,application/ld+json"}
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {untrusted.size(MAX_FILE_BYTES)}."
            )
        return upload

    def file_bytes(self) -> bytes:
        upload = self.cleaned_data["file"]
        upload.seek(0)
        return upload.read()


class ImportConfirmForm(forms.Form):
    preview = forms.RegexField(regex=TOKEN_PATTERN, widget=forms.HiddenInput)
