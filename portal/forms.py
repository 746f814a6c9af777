"""Forms of the self-service pages: they validate and translate; the services decide."""

from django import forms

from iam_project.validators import validate_email_address
from jit.durations import parse_iso_duration

DURATION_HELP = "Minutes (90), hours and minutes (1h30m), or ISO 8601 (PT1H30M)."


def parse_human_duration(text):
    """'90' (minutes), '1h30m', '2h', '45m' or ISO 8601 'PT1H30M' -> timedelta, or None."""
    import re
    from datetime import timedelta

    text = (text or "").strip()
    if not text or len(text) > 32:
        return None
    if text.upper().startswith("P"):
        return parse_iso_duration(text.upper())
    if text.isdigit():
        return timedelta(minutes=int(text)) if int(text) <= 100000 else None
    match = re.fullmatch(r"(?:(\d{1,4})\s*h)?\s*(?:(\d{1,5})\s*m(?:in)?)?", text.lower())
    if not match or not any(match.groups()):
        return None
    return timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    email = forms.CharField(max_length=254, validators=[validate_email_address])


class PasswordForm(forms.Form):
    current_password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    confirm_password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("confirm_password"):
            self.add_error("confirm_password", "The two new passwords differ.")
        return data


class AccessRequestForm(forms.Form):
    """``choices``: the (role, scope) pairs the principal may request, as 'role-key|scope'."""

    role = forms.ChoiceField()
    duration = forms.CharField(max_length=32, initial="1h", help_text=DURATION_HELP)
    justification = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = list(choices)

    def clean_duration(self):
        value = parse_human_duration(self.cleaned_data["duration"])
        if value is None or value.total_seconds() <= 0:
            raise forms.ValidationError(DURATION_HELP)
        return value


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=1000, required=False)
