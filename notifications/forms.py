from django import forms

from notifications.models import Kind, Preferences

MEMBER_KINDS = [k for k in Kind.values if k != Kind.FLAG]


class PreferencesForm(forms.ModelForm):
    """One choice per kind of notification (immediately, in the daily digest, or off) and
    the digest's hour."""

    class Meta:
        model = Preferences
        fields = [*Kind.values, "digest_hour"]
        widgets = dict.fromkeys(Kind.values, forms.RadioSelect)

    def kind_fields(self):
        return [self[kind] for kind in Kind.values]
