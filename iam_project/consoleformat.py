"""How the console shows people, times and durations to a person: names, "3 h ago", "1 h 30 min"."""

import re
from datetime import timedelta
from datetime import timezone as dt_timezone

from django.utils import timezone
from django.utils.dateparse import parse_duration

_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
_HUMAN = re.compile(r"^\s*(?:(\d+)\s*d(?:ays?)?)?\s*(?:(\d+)\s*h(?:ours?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?)?)?)?"
                    r"\s*(?:(\d+)\s*s(?:ec(?:onds?)?)?)?\s*$", re.I)


def human_duration(value):
    """``timedelta(hours=1, minutes=30)`` → "1 h 30 min"; the two largest units, as a person says it."""
    if value is None:
        return "—"
    seconds = int(abs(value.total_seconds()))
    if seconds == 0:
        return "0 s"
    parts = []
    for name, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}")
    return " ".join(parts[:2])


def parse_human_duration(text):
    """ "1 h 30 min", "90min", "2d", or ISO 8601 ("PT1H30M") or Django's "01:30:00" → timedelta; None if
    the text is none of these (the caller names the field in its error)."""
    text = (text or "").strip()
    if not text:
        return None
    match = _HUMAN.match(text)
    if match and any(match.groups()):
        days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return parse_duration(text)


def relative_time(moment, now=None):
    """ "in 42 min", "3 h ago", "just now" — the absolute time goes in the tooltip (see the template filter)."""
    if moment is None:
        return "—"
    now = now or timezone.now()
    delta = moment - now
    if abs(delta.total_seconds()) < 60:
        return "just now"
    span = human_duration(delta).split(" ")
    span = " ".join(span[:2])  # one unit is enough for a glance: "3 h", not "3 h 12 min"
    return f"in {span}" if delta.total_seconds() > 0 else f"{span} ago"


def absolute_time(moment):
    """The exact time for the tooltip, in UTC: "2026-11-26 08:05:13 UTC"."""
    if moment is None:
        return ""
    return moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def identity_names(iam_ids):
    """{iam_id: (label, console url)} for principals and clients, two queries for any number of ids.
    Looked up through the model registry: this plumbing imports no app."""
    from django.apps import apps
    from django.conf import settings
    from django.urls import reverse

    found = {}
    ids = {i for i in iam_ids if i}
    for label, name_field, route in ((settings.AUTH_USER_MODEL, "email", "admin:principals_principal_change"),
                                     (settings.OAUTH2_PROVIDER_APPLICATION_MODEL, "name",
                                      "admin:clients_client_change")):
        model = apps.get_model(label)
        wanted = [i for i in ids if i.startswith(model.iam_id_prefix)]
        if not wanted:
            continue
        for pk, iam_id, shown in model.objects.filter(iam_id__in=wanted).values_list("pk", "iam_id", name_field):
            found[iam_id] = (shown or iam_id, reverse(route, args=[pk]))
    return found


def identity_link(iam_id, names=None):
    """<a title="iam id">name or email</a>; an id that names no identity (system, a removed one) as is."""
    from django.utils.html import format_html

    if not iam_id:
        return "—"
    names = names if names is not None else identity_names([iam_id])
    if iam_id in names:
        label, url = names[iam_id]
        return format_html('<a href="{}" title="{}">{}</a>', url, iam_id, label)
    return format_html('<span title="{}">{}</span>', iam_id, iam_id)


def identities_matching(text, limit=50):
    """The iam ids and primary keys of the identities a person means by ``text``: an email or the start
    of one, a client's name or client id, or an iam id itself (for the audit screen's identity filter)."""
    from django.apps import apps
    from django.conf import settings
    from django.db.models import Q

    text = (text or "").strip()
    if not text:
        return [], []
    iam_ids, pks = [text], []
    Principal = apps.get_model(settings.AUTH_USER_MODEL)
    Client = apps.get_model(settings.OAUTH2_PROVIDER_APPLICATION_MODEL)
    for model, match in ((Principal, Q(email__istartswith=text) | Q(properties__name__iexact=text)),
                         (Client, Q(name__iexact=text) | Q(client_id=text))):
        for pk, iam_id in model.objects.filter(match | Q(iam_id=text)).values_list("pk", "iam_id")[:limit]:
            iam_ids.append(iam_id)
            pks.append(str(pk))
    return iam_ids, pks


def human_duration_field():
    """A form field for durations typed as a person writes them ("1 h 30 min", "90 min", "2 d"), ISO 8601
    ("PT1H30M") still accepted, and shown back the same way; bad input is a form error naming the field."""
    from django import forms
    from django.core.exceptions import ValidationError

    class HumanDurationField(forms.DurationField):
        default_error_messages = {"invalid": 'Enter a duration such as "1 h 30 min", "90 min" or "PT1H30M".'}

        def prepare_value(self, value):
            if isinstance(value, timedelta):
                return human_duration(value)
            return value

        def to_python(self, value):
            if value in self.empty_values:
                return None
            if isinstance(value, timedelta):
                return value
            parsed = parse_human_duration(str(value))
            if parsed is None:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            return parsed

    return HumanDurationField
