from django import forms

from accounts.models import User, time_zone_choices


class SignupExtraForm(forms.Form):
    """Extra fields on allauth's sign-up form (ACCOUNT_SIGNUP_FORM_CLASS)."""

    display_name = forms.CharField(
        max_length=80,
        required=False,
        label="Display name",
        help_text="How other members see you. Optional.",
    )
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        initial="UTC",
        label="Time zone",
        help_text="Due dates and meetings are shown in this time zone.",
    )

    def clean_display_name(self):
        return " ".join(self.cleaned_data.get("display_name", "").split())

    def signup(self, request, user: User) -> None:
        user.display_name = self.cleaned_data.get("display_name", "")
        user.time_zone = self.cleaned_data.get("time_zone") or "UTC"
        user.save(update_fields=["display_name", "time_zone"])


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=80, label="Name", help_text="What the token is for, e.g. “Zotero sync script”."
    )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "time_zone"]

    def clean_display_name(self):
        return " ".join(self.cleaned_data.get("display_name", "").split())


class AccountDeleteForm(forms.Form):
    """Deleting an account asks for its password again: a session left open is not enough."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password: nothing was deleted.")
        return password
