"""Which models are audited, under which target type, and which of their fields are secret.

This is the one place that decides what the trail records; the receivers in ``signals.py`` only
follow it. Fields whose name looks secret are masked whatever the entry says.
"""

import copy
import functools
import json
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

REDACTED = "[redacted]"

# Bookkeeping every model has: recorded nowhere (the event's own time and hash say as much).
ALWAYS_EXCLUDED = frozenset({"version", "created_at", "updated_at", "last_login", "created", "updated"})

SECRET_NAME = re.compile(r"password|secret|token|digest|apikey|api_key|private|credential", re.IGNORECASE)


@dataclass(frozen=True)
class Audited:
    target_type: str
    exclude: frozenset = field(default_factory=frozenset)
    redact: frozenset = field(default_factory=frozenset)
    label: str = ""  # attribute shown as the target's name (email, key, ...); "__str__" for str(obj)

    def describe(self, instance):
        if not self.label:
            return ""
        value = str(instance) if self.label == "__str__" else getattr(instance, self.label, "")
        return str(value or "")[:255]


# model label -> how it is audited. Later apps add their models here, not in their own code.
AUDITED = {
    settings.AUTH_USER_MODEL: Audited("principal", redact=frozenset({"password", "security_stamp"}),
                                         label="email"),
    settings.OAUTH2_PROVIDER_APPLICATION_MODEL: Audited(
        "client", redact=frozenset({"client_secret"}),
        exclude=frozenset({"client_id", "authorization_grant_type", "hash_client_secret", "user"}), label="name",
    ),
    "clients.ClientSecret": Audited("clientSecret", exclude=frozenset({"last_used_at"}), label="prefix"),
    "clients.ApiKey": Audited("apiKey", exclude=frozenset({"last_used_at", "modified_at"}), label="name"),
    "ibmcloud.TrustedProfile": Audited("trustedProfile", label="name"),
    "ibmcloud.ClaimRule": Audited("claimRule", label="name"),
    "ibmcloud.Policy": Audited("policy", label="__str__"),
    "ibmcloud.AccountSettings": Audited("accountSettings", label="account_id"),
    "roles.Role": Audited("role", label="key"),
    # Access requests and approvals are recorded as jit.* events (audit.record), with their details.
    "jit.Eligibility": Audited("jitEligibility", label="__str__"),
    "roles.RoleBinding": Audited("roleBinding", label="__str__"),
    "guardian.UserObjectPermission": Audited("objectPermission"),
    "guardian.GroupObjectPermission": Audited("objectPermission"),
}

_by_model = {}


def resolve():
    """Map each audited model class to its entry (called once the app registry is ready)."""
    from django.apps import apps

    _by_model.clear()
    for label, entry in AUDITED.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        _by_model[model] = entry
    return dict(_by_model)


def entry_for(model):
    return _by_model.get(model)


@functools.lru_cache(maxsize=None)
def recorded_fields(model, entry):
    """(attname, name, is_secret) of every concrete field the trail records for the model."""
    out = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.name in ALWAYS_EXCLUDED or f.name in entry.exclude:
            continue
        # A yes/no flag (must_change_password) holds no secret, whatever its name says.
        secret = f.name in entry.redact or (
            f.get_internal_type() != "BooleanField" and bool(SECRET_NAME.search(f.name)))
        out.append((f.attname, f.name, secret))
    return out


def to_json(value):
    """A plain-JSON copy of a field value (UUIDs, datetimes and decimals as strings)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def snapshot(instance, entry):
    """The loaded values of the recorded fields (deferred fields are left out, not fetched)."""
    loaded = instance.__dict__
    return {
        attname: copy.deepcopy(loaded[attname]) if isinstance(loaded[attname], (dict, list)) else loaded[attname]
        for attname, _, _ in recorded_fields(type(instance), entry)
        if attname in loaded
    }


def diff(model, entry, before, after):
    """{field: [before, after]} of what changed; a secret field shows only that it changed."""
    changes = {}
    for attname, name, secret in recorded_fields(model, entry):
        if attname not in after and attname not in before:
            continue
        old, new = before.get(attname), after.get(attname)
        if old == new:
            continue
        if secret:
            changes[name] = [REDACTED if old else None, REDACTED if new else None]
        else:
            changes[name] = [to_json(old), to_json(new)]
    return changes
