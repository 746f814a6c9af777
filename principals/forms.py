"""Forms of the principals app: the password change of the console and the sign-in pages."""

from django.contrib.auth.forms import PasswordChangeForm

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
