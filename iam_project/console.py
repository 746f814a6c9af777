"""The web console: Django's admin, entered with the console permission of the roles."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import PasswordChangeForm

from .conf import iam_settings


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Please enter a correct email and password.",
        "inactive": "This account is suspended.",
    }

    def confirm_login_allowed(self, user):
        if not user.is_active:
            raise self.get_invalid_login_error()
        if not user.is_staff:  # is_staff asks the engine for the console permission
            raise self.get_invalid_login_error()


class ConsolePasswordChangeForm(PasswordChangeForm):
    """Changing the password in the console goes through the same service as the API."""

    def save(self, commit=True):
        from principals.services import change_own_password

        self.user = change_own_password(
            self.user, self.cleaned_data["old_password"], self.cleaned_data["new_password1"]
        )
        return self.user


class ConsoleSite(admin.AdminSite):
    site_header = "Portcullis"
    site_title = "Portcullis console"
    index_title = "Identity and access"
    login_form = ConsoleAuthenticationForm
    password_change_form = ConsolePasswordChangeForm
    enable_nav_sidebar = True

    def has_permission(self, request):
        from roles.engine import decide

        user = request.user
        if not getattr(user, "is_active", False) or not getattr(user, "is_authenticated", False):
            return False
        context = {"ip": getattr(request, "client_ip", None)}
        return decide(user, iam_settings.CONSOLE_PERMISSION, context=context).allowed
