"""Console forms of clients: grant types as checkboxes, scopes as a multi-select of known scopes,
redirect URIs one per line, and the wizard (web app / SPA / machine-to-machine) that sets them for a kind."""

import json

from django import forms
from oauth2_provider.models import get_application_model

from roles.models import Role
from roles.scopes import OIDC_SCOPES, is_permission_scope

from .choices import GrantTypeChoices

CUSTOM_SCOPE_HELP = "Other permission scopes (resource:action), one per line."


def known_scopes(extra=()):
    """The scopes one can pick: OpenID Connect's, every permission the roles name, and ``extra`` (a client's own)."""
    scopes = list(OIDC_SCOPES)
    permissions = set()
    for entries in Role.objects.values_list("acl_entries", flat=True):
        for entry in entries or []:
            if isinstance(entry, dict) and entry.get("resource") and entry.get("permission"):
                permissions.add(f"{entry['resource']}:{entry['permission']}")
    permissions.update(s for s in extra if isinstance(s, str) and s not in OIDC_SCOPES)
    return scopes + sorted(permissions)[:1000]


class ListMultipleChoiceField(forms.MultipleChoiceField):
    """A list from checkboxes or a multi-select; a JSON list in one value (the API's spelling) is read too."""

    def __init__(self, *args, strict=True, **kwargs):
        self.strict = strict
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if isinstance(value, (list, tuple)) and len(value) == 1 and str(value[0]).lstrip().startswith("["):
            try:
                value = json.loads(value[0])
            except ValueError:
                raise forms.ValidationError("Must be a list.") from None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise forms.ValidationError("Must be a list of strings.")
        return super().to_python(value)

    def valid_value(self, value):
        if self.strict:
            return super().valid_value(value)
        return value in OIDC_SCOPES or is_permission_scope(value)  # scopes: any well-formed one


class RedirectUrisField(forms.CharField):
    """Redirect URIs one per line (stored space-separated, as django-oauth-toolkit keeps them)."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value):
        return "\n".join((value or "").split())

    def to_python(self, value):
        return " ".join((super().to_python(value) or "").split())


class ClientForm(forms.ModelForm):
    grant_types = ListMultipleChoiceField(choices=GrantTypeChoices.choices, required=False,
                                          widget=forms.CheckboxSelectMultiple, label="Grant types",
                                          help_text="Authorization code always requires PKCE (S256).")
    scopes = ListMultipleChoiceField(choices=(), required=False, strict=False, label="Scopes",
                                     widget=forms.SelectMultiple(attrs={"size": 10}),
                                     help_text="What the client may ask for; permission scopes reach no further than "
                                               "the signed-in principal's own access.")
    redirect_uris = RedirectUrisField(required=False, label="Redirect URIs", help_text="One per line.")

    class Meta:
        model = get_application_model()
        fields = ("name", "client_type", "grant_types", "redirect_uris", "scopes", "skip_authorization", "suspended")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = list(self.instance.scopes or []) if not self.instance._state.adding else []
        posted = self.data.getlist("scopes") if hasattr(self.data, "getlist") else []
        self.fields["scopes"].choices = [(s, s) for s in known_scopes(current + list(posted))]


KINDS = {
    "web": {"label": "Web application (server side, keeps a secret)", "clientType": "confidential",
            "grantTypes": ["authorization_code", "refresh_token"], "redirect": True},
    "spa": {"label": "Single-page or mobile app (no secret, PKCE)", "clientType": "public",
            "grantTypes": ["authorization_code", "refresh_token"], "redirect": True},
    "m2m": {"label": "Machine to machine (client credentials)", "clientType": "confidential",
            "grantTypes": ["client_credentials"], "redirect": False},
}


class ClientWizardForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, v["label"]) for k, v in KINDS.items()], widget=forms.RadioSelect,
                             label="What kind of application?")
    name = forms.CharField(max_length=255)
    redirect_uris = RedirectUrisField(required=False, label="Redirect URIs",
                                      help_text="One per line; needed for web apps and single-page apps.")
    scopes = ListMultipleChoiceField(choices=(), required=False, strict=False, label="Scopes",
                                     widget=forms.SelectMultiple(attrs={"size": 10}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        posted = self.data.getlist("scopes") if hasattr(self.data, "getlist") else []
        self.fields["scopes"].choices = [(s, s) for s in known_scopes(posted)]

    def clean(self):
        data = super().clean()
        kind = KINDS.get(data.get("kind"))
        if kind and kind["redirect"] and not data.get("redirect_uris"):
            self.add_error("redirect_uris", "This kind of application needs at least one redirect URI.")
        if kind and not kind["redirect"] and data.get("redirect_uris"):
            self.add_error("redirect_uris", "A machine-to-machine client signs nobody in: leave this empty.")
        return data

    def properties(self):
        """The API's client properties for the kind chosen (POST /resources/iam/clients)."""
        data, kind = self.cleaned_data, KINDS[self.cleaned_data["kind"]]
        scopes = list(data.get("scopes") or [])
        if kind["redirect"] and not scopes:
            scopes = ["openid", "profile", "email"]
        return {"name": data["name"], "clientType": kind["clientType"], "grantTypes": list(kind["grantTypes"]),
                "redirectUris": data["redirect_uris"].split(), "scopes": scopes}
