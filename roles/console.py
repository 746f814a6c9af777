"""Console pages of the access answers: Check access, Who can…?, and an identity's Effective access.

Each page asks the engine for the same permissions as the API operation it mirrors (roles/api/access.py),
and answers through the same functions (roles/explain.py), so the console shows exactly what the API says.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from oauth2_provider.models import get_application_model

from iam_project.console import console_allows, record_console_refusal

from . import explain, graph
from .permissions import split_permission

KINDS = {"principal": "iam/principals", "client": "iam/clients"}


def _require(request, permission, resource=None):
    if not console_allows(request, permission, resource):
        record_console_refusal(request, request.user, permission, f"Permission {permission} is required.")
        raise PermissionDenied


def _readable(request):
    def check(identity):
        resource = KINDS[identity.identity_type]
        return console_allows(request, f"{resource}:read", f"{resource}/{identity.pk}")

    return check


def find_identity(text):
    """An identity named as a person would: an iam id, a principal's email, or a client's client_id or name."""
    text = text.strip()
    principals, clients = get_user_model().objects, get_application_model().objects
    if text.startswith(principals.model.iam_id_prefix):
        return principals.filter(iam_id=text).first()
    if text.startswith(clients.model.iam_id_prefix):
        return clients.filter(iam_id=text).first()
    if "@" in text:
        return principals.filter(email=text.lower()).first()
    return clients.filter(client_id=text).first() or clients.filter(name=text).order_by("id").first()


class _PermissionForm(forms.Form):
    permission = forms.CharField(max_length=300, help_text="resource:action, e.g. iam/principals:read")
    resource = forms.CharField(max_length=500, required=False,
                               help_text="The object acted on, e.g. iam/principals/<id> (optional).")
    ip = forms.GenericIPAddressField(label="From IP address", required=False)
    time = forms.DateTimeField(label="At (UTC)", required=False, help_text="YYYY-MM-DD HH:MM (optional; default now)")

    def clean_permission(self):
        value = self.cleaned_data["permission"].strip()
        try:
            split_permission(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return value


class CheckAccessForm(_PermissionForm):
    identity = forms.CharField(max_length=254, help_text="Email, client id or name, or iam id.")

    field_order = ("identity", "permission", "resource", "ip", "time")

    def clean_identity(self):
        found = find_identity(self.cleaned_data["identity"])
        if found is None:
            raise forms.ValidationError("No principal or client by that email, name or id.")
        return found


class HoldersForm(_PermissionForm):
    pass


def _page(request, template, title, **context):
    return TemplateResponse(request, template, {**admin.site.each_context(request), "title": title, **context})


def check_access_view(request):
    """Check access: the engine's decision for an identity, with its reason."""
    _require(request, "iam/authorize:read")
    form = CheckAccessForm(request.GET or None)
    result = None
    if form.is_valid():
        identity = form.cleaned_data["identity"]
        resource = KINDS[identity.identity_type]
        if not console_allows(request, f"{resource}:read", f"{resource}/{identity.pk}"):
            form.add_error("identity", "You may not read this identity.")
        else:
            decision = explain.check(identity, form.cleaned_data["permission"], form.cleaned_data["resource"] or None,
                                     ip=form.cleaned_data["ip"] or None, at=form.cleaned_data["time"])
            result = {"identity": identity, "decision": decision}
    return _page(request, "admin/access/check.html", "Check access", form=form, result=result)


def holders_view(request):
    """Who can…? Every identity the viewer may read that holds a permission, and through what."""
    _require(request, "iam/authorize:read")
    form = HoldersForm(request.GET or None)
    found, truncated = None, False
    if form.is_valid():
        found, truncated = explain.holders(
            form.cleaned_data["permission"], form.cleaned_data["resource"] or None,
            ip=form.cleaned_data["ip"] or None, at=form.cleaned_data["time"], readable=_readable(request), limit=200)
    return _page(request, "admin/access/holders.html", "Who can…?", form=form, holders=found, truncated=truncated)


def effective_access_view(request, identity_type, pk):
    """An identity's effective access: each permission and where it comes from."""
    resource = KINDS[identity_type]
    _require(request, "iam/roles:read")
    _require(request, f"{resource}:read", f"{resource}/{pk}")
    identity = explain.find(identity_type, pk)
    if identity is None:
        raise Http404(f"No such {identity_type}.")
    model = identity._meta
    return _page(request, "admin/access/effective.html", f"Effective access of {identity}", identity=identity,
                 sources=explain.effective_access(identity, {"ip": None}),
                 change_url=f"admin:{model.app_label}_{model.model_name}_change")


# --- identity search through the Graph query --------------------------------------------------------

_SEARCH_OPERATORS = (("^=", "startsWith"), ("~=", "contains"), ("!=", "neq"), (">", "gt"), ("<", "lt"), ("=", "eq"))


def _search_value(field, text):
    if field == "suspended" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if field.startswith("properties."):
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
    return text


def parse_search(term):
    """A console search as Graph filters: ``field=value`` (``^=`` starts with, ``~=`` contains, ``!=``, ``>``,
    ``<``), e.g. ``roles=system:portal:full properties.team=ops``; ``roles=`` means holds the role. None when
    the term has no such filter (the screen's plain search applies)."""
    filters = []
    for token in term.split():
        for symbol, op in _SEARCH_OPERATORS:
            field, found, value = token.partition(symbol)
            if found and field:
                if field == "roles" and op == "eq":
                    op = "contains"
                filters.append({"field": field, "op": op, "value": _search_value(field, value)})
                break
        else:
            return None
    return filters or None


class GraphSearchMixin:
    """The identity screens' search box runs the Graph query (roles/graph.py) for filter terms."""

    graph_identity_type = None  # 'principal' or 'client'
    search_help_text = ("Search, or filter: roles=system:portal:full, roles^=support:, email^=ana, "
                        "properties.team=ops, suspended=true, createdAt>2026-01-01")

    def get_search_results(self, request, queryset, search_term):
        from django.contrib import messages

        raw = parse_search(search_term)
        if raw is None:
            return super().get_search_results(request, queryset, search_term)
        try:
            where = graph.where_for(self.graph_identity_type, graph.parse_filters(raw))
        except graph.QueryError as exc:
            problems = "; ".join(f"{raw[int(k[8:k.index(']')])]['field']}: {' '.join(v)}" if k.startswith("filters[")
                                 else " ".join(v) for k, v in exc.errors.items())
            self.message_user(request, f"Search not understood: {problems}", messages.ERROR)
            return queryset.none(), False
        return (queryset.none() if where is None else queryset.filter(where)), False


urlpatterns = [
    path("check/", admin.site.admin_view(check_access_view), name="console-access-check"),
    path("holders/", admin.site.admin_view(holders_view), name="console-access-holders"),
    path("principals/<uuid:pk>/", admin.site.admin_view(effective_access_view),
         {"identity_type": "principal"}, name="console-principal-access"),
    path("clients/<uuid:pk>/", admin.site.admin_view(effective_access_view),
         {"identity_type": "client"}, name="console-client-access"),
]
