"""Which models are audited, under which target type, and which of their fields are secret.

This is the one place that decides what the trail records; the receivers in ``signals.py`` only
follow it. Fields whose name looks secret are masked whatever the entry says.
"""

import functools
import json
import re
from dataclasses import dataclass, field

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


# model label -> how it is audited. Each app names its own models from its AppConfig.ready() with
# ``audit.audited(...)``; nothing here knows the apps.
AUDITED = {}

_by_model = {}


def register(label, entry):
    """Audit the model ``label`` as ``entry`` from now on: resolves it and connects the receivers."""
    from django.apps import apps

    from . import signals

    AUDITED[label] = entry
    model = apps.get_model(label)
    _by_model[model] = entry
    signals.connect_model(model)
    return model


def resolve():
    """Each audited model class with its entry."""
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


def _copied(value):
    """A copy of a JSON-like value (dicts and lists of plain values), so that a change made in place later
    still shows against it; several times cheaper than ``copy.deepcopy``, which every loaded row of an
    audited model pays (a list page loads fifty)."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def snapshot(instance, entry):
    """The loaded values of the recorded fields (deferred fields are left out, not fetched)."""
    loaded = instance.__dict__
    return {
        attname: _copied(loaded[attname]) if isinstance(loaded[attname], (dict, list)) else loaded[attname]
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
