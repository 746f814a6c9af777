"""Forms of the principals app: the password change of the console and the sign-in pages, and the
console's principal forms (creation with name, roles and invitation; properties as key/value rows)."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm

from roles.forms import KeyValueField

from .services import change_own_password


class ConsolePasswordChangeForm(PasswordChangeForm):
    """Changing the password in the console goes through the same service as the API."""

    def clean(self):
        cleaned = super().clean()
        old, new = cleaned.get("old_password"), cleaned.get("new_password1")
        if old and new and old == new:
            self.add_error("new_password1", "The new password must differ from the current one.")
        return cleaned

    def save(self, commit=True):
        self.user = change_own_password(
            self.user, self.cleaned_data["old_password"], self.cleaned_data["new_password1"]
        )
        return self.user


class PrincipalCreationForm(forms.ModelForm):
    """A new principal: email, name, roles, and how it gets its first password."""

    INVITE, NONE = "invite", "none"

    name = forms.CharField(max_length=200, required=False)
    roles = forms.ModelMultipleChoiceField(queryset=None, required=False,
                                           widget=forms.SelectMultiple(attrs={"size": 8}),
                                           help_text="Only roles you hold yourself can be given.")
    invitation = forms.ChoiceField(choices=[
        (INVITE, "Send an invitation: a mail with a temporary password, to be changed at first sign-in"),
        (NONE, "No password for now (sign-in through another way, or a reset later)"),
    ], initial=INVITE, widget=forms.RadioSelect, label="First password")

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from roles.models import Role

        self.fields["roles"].queryset = Role.objects.order_by("key")
        self.fields["roles"].label_from_instance = lambda role: f"{role.key} — {role.description}"[:120]


class PrincipalChangeForm(forms.ModelForm):
    properties = KeyValueField(required=False, label="Properties",
                               help_text="One property per row (name is the display name).")

    class Meta:
        model = get_user_model()
        fields = ("email", "properties", "must_change_password")
