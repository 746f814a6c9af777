"""Console middleware: a principal with a temporary password must change it before anything else."""

from django.shortcuts import redirect
from django.urls import reverse


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if not getattr(user, "must_change_password", False) or not request.path.startswith("/admin/"):
            return None
        allowed = {reverse("admin:password_change"), reverse("admin:password_change_done"),
                   reverse("admin:logout")}
        if request.path in allowed or request.path.startswith("/admin/jsi18n"):
            return None
        return redirect("admin:password_change")
