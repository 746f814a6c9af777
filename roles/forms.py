"""Console form fields for what the API takes as JSON: ACL entries as rows, conditions as IP ranges +
days + hours, properties as key/value rows — and the binding forms that save through roles.services."""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

from .models import DAYS, Role, RoleBinding, validate_conditions

EXTRA_ROWS = 3  # blank rows offered below the filled ones (no script needed: save, and more appear)


def known_resources():
    """Resource names already used in roles' ACL entries: the datalist's suggestions."""
    names = set()
    for entries in Role.objects.values_list("acl_entries", flat=True):
        for entry in entries or []:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), str):
                names.add(entry["resource"])
    return sorted(names)[:500]


class RowsWidget(forms.Widget):
    """Rows of two text inputs posted as ``<name>-<column>`` lists; the value is a list of pairs."""

    columns = ("key", "value")
    labels = ("Key", "Value")
    datalist = None  # a callable returning suggestions for the first column

    def format_value(self, value):
        return [tuple(str(v) for v in pair) for pair in (value or [])]

    def from_json(self, value):
        """The API's spelling of the value, posted whole under the field's name (a script, an older form)."""
        if isinstance(value, dict):
            return [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in value.items()]
        return None

    def value_from_datadict(self, data, files, name):
        if f"{name}-{self.columns[0]}" not in data and isinstance(data.get(name), str):
            try:
                rows = self.from_json(json.loads(data[name]))
            except ValueError:
                rows = None
            return rows if rows is not None else [("", "?")]  # not the expected shape: a row in error
        first = data.getlist(f"{name}-{self.columns[0]}") if hasattr(data, "getlist") else []
        second = data.getlist(f"{name}-{self.columns[1]}") if hasattr(data, "getlist") else []
        rows = list(zip(first, second))
        return [(a.strip(), b.strip()) for a, b in rows if a.strip() or b.strip()]

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-{self.columns[0]}" not in data and name not in data

    def render(self, name, value, attrs=None, renderer=None):
        rows = self.format_value(value) + [("", "")] * EXTRA_ROWS
        list_id = f"{name}-suggestions"
        suggestions = self.datalist() if self.datalist else []
        first, second = self.columns
        body = format_html_join("", (
            '<tr><td><input type="text" name="{}-{}" value="{}" aria-label="{} {}" {}></td>'
            '<td><input type="text" name="{}-{}" value="{}" aria-label="{} {}"></td></tr>'
        ), ((name, first, a, self.labels[0], i + 1, format_html('list="{}"', list_id) if suggestions else "",
             name, second, b, self.labels[1], i + 1) for i, (a, b) in enumerate(rows)))
        options = format_html_join("", '<option value="{}">', ((s,) for s in suggestions))
        return format_html(
            '<table class="rows-widget" id="{}-rows"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>'
            '<datalist id="{}">{}</datalist>', name, self.labels[0], self.labels[1], body, list_id, options)


class AclEntriesWidget(RowsWidget):
    columns = ("resource", "permission")
    labels = ("Resource", "Permission")
    datalist = staticmethod(known_resources)

    def from_json(self, value):
        if isinstance(value, list) and all(isinstance(e, dict) for e in value):
            return [(str(e.get("resource", "")), str(e.get("permission", ""))) for e in value]
        return None


def _stored(value):
    """A field's stored value: JSON text as it comes back from the database or an initial, decoded (text
    that is not JSON shows as no rows); posted rows and decoded values as they are."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return []
    return value


class AclEntriesField(forms.Field):
    """ACL entries [{"resource", "permission"}] edited as rows; a half-filled row is an error naming it."""

    widget = AclEntriesWidget

    def prepare_value(self, value):
        value = _stored(value)
        return [(e.get("resource", ""), e.get("permission", "")) if isinstance(e, dict) else tuple(e)
                for e in value or [] if isinstance(e, (dict, list, tuple))]  # stored entries, or posted rows

    def to_python(self, value):
        entries = []
        for number, (resource, permission) in enumerate(value or [], start=1):
            if not resource or not permission:
                raise ValidationError(f"Row {number}: both a resource and a permission are needed.")
            entries.append({"resource": resource, "permission": permission})
        return entries


class KeyValueField(forms.Field):
    """A JSON object edited as key/value rows. A value that reads as JSON other than a string (true, 42,
    [..], {..}, null) is stored as such; anything else is a string."""

    widget = RowsWidget

    def prepare_value(self, value):
        value = _stored(value)
        if isinstance(value, list):
            return value  # posted rows, shown again with the form's errors
        return [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in (value or {}).items()]

    def to_python(self, value):
        result = {}
        for number, (key, text) in enumerate(value or [], start=1):
            if not key:
                raise ValidationError(f"Row {number}: a value needs a key.")
            if key in result:
                raise ValidationError(f"Row {number}: the key {key} appears twice.")
            try:
                parsed = json.loads(text)
                result[key] = text if isinstance(parsed, str) else parsed
            except ValueError:
                result[key] = text
        return result


DAY_CHOICES = [(d, d.capitalize()) for d in DAYS]


class ConditionsFormMixin(forms.Form):
    """Conditions as fields: IP ranges (one per line), days, start and end hours, time zone. Adds
    ``conditions`` to cleaned_data (validated as the API validates it)."""

    ip_ranges = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 30}),
                                label="Allowed IP ranges", help_text="One CIDR range per line, e.g. 10.0.0.0/8.")
    days = forms.MultipleChoiceField(required=False, choices=DAY_CHOICES, widget=forms.CheckboxSelectMultiple,
                                     label="Days", help_text="None ticked: every day (when hours are set).")
    start = forms.TimeField(required=False, label="From (HH:MM)", widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(required=False, label="Until (HH:MM)", widget=forms.TimeInput(attrs={"type": "time"}))
    timezone = forms.CharField(required=False, max_length=64, label="Time zone",
                               widget=forms.TextInput(attrs={"placeholder": "UTC"}), help_text="Default UTC.")

    def conditions_initial(self, conditions):
        conditions = conditions or {}
        window = conditions.get("timeWindow") or {}
        return {"ip_ranges": "\n".join(conditions.get("ipRanges") or []), "days": window.get("days") or [],
                "start": window.get("start"), "end": window.get("end"), "timezone": window.get("timezone", "UTC")}

    def clean(self):
        data = super().clean()
        conditions = {}
        ranges = [line.strip() for line in (data.get("ip_ranges") or "").splitlines() if line.strip()]
        if ranges:
            conditions["ipRanges"] = ranges
        start, end = data.get("start"), data.get("end")
        if bool(start) != bool(end):
            self.add_error("end" if start else "start", "Give both hours of the window, or neither.")
        elif start and end:
            window = {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
            if data.get("days"):
                window["days"] = list(data["days"])
            window["timezone"] = data.get("timezone") or "UTC"
            conditions["timeWindow"] = window
        elif data.get("days"):
            self.add_error("start", "Days need a window of hours (00:00 to 24:00 for whole days).")
        try:
            validate_conditions(conditions)
        except ValidationError as exc:
            self.add_error("ip_ranges" if "IP" in str(exc) else "timezone", exc)
        data["conditions"] = conditions
        return data


class RoleForm(forms.ModelForm):
    acl_entries = AclEntriesField(label="ACL entries", help_text="One permission per row: a resource (suggestions "
                                  "from existing roles, * for all) and an action (read, write, delete, *).")

    class Meta:
        model = Role
        fields = ("key", "description", "acl_entries")


class BindingForm(ConditionsFormMixin, forms.ModelForm):
    """A new binding (the bindings screen, or a row added on a principal's or client's screen). Existing
    bindings are not edited in place: they are granted or removed (roles.services)."""

    class Meta:
        model = RoleBinding
        fields = ("role", "scope", "starts_at", "expires_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.initial.update(self.conditions_initial(self.instance.conditions))

    def clean(self):
        data = super().clean()
        from django.utils import timezone

        expires = data.get("expires_at")
        if self.instance._state.adding and expires is not None and expires <= timezone.now():
            self.add_error("expires_at", "This moment has passed: the binding would be expired from the start.")
        return data
