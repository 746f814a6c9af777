"""Trusted profiles and their claim rules: stored, and evaluable against a set of federated claims.

``profile_matches`` is the decision a federation sign-in will ask: may a session with these claims
take on this profile, and for how long?
"""

import fnmatch

from django.db import transaction

from iam_project.errors import InvalidInput
from iam_project.locking import lock_row

from .models import ClaimRule, TrustedProfile

OPERATORS = ("EQUALS", "NOT_EQUALS", "EQUALS_IGNORE_CASE", "NOT_EQUALS_IGNORE_CASE", "CONTAINS", "IN")
RULE_TYPES = ("Profile-SAML", "Profile-CR")


def _values(raw):
    """A claim's value(s) as a list of strings (a claim may be multi-valued)."""
    if raw is None:
        return []
    if isinstance(raw, (list, tuple)):
        return [str(v) for v in raw]
    return [str(raw)]


def condition_holds(condition, claims):
    operator, expected = condition["operator"], condition["value"]
    values = _values(claims.get(condition["claim"]))
    wanted = [v.strip().strip('"') for v in str(expected).split(",")] if operator == "IN" else [str(expected)]
    if operator == "EQUALS":
        return any(v == wanted[0] for v in values)
    if operator == "NOT_EQUALS":
        return bool(values) and all(v != wanted[0] for v in values)
    if operator == "EQUALS_IGNORE_CASE":
        return any(v.lower() == wanted[0].lower() for v in values)
    if operator == "NOT_EQUALS_IGNORE_CASE":
        return bool(values) and all(v.lower() != wanted[0].lower() for v in values)
    if operator == "CONTAINS":
        return any(wanted[0] in v or fnmatch.fnmatchcase(v, wanted[0]) for v in values)
    if operator == "IN":
        return any(v in wanted for v in values)
    return False


def profile_matches(profile, claims, rule_type="Profile-SAML", realm_name=None):
    """The first claim rule of ``profile`` (of ``rule_type`` and, if given, ``realm_name``) whose every
    condition holds for ``claims``; None when none does. Its ``expiration`` bounds the session."""
    for rule in profile.rules.filter(type=rule_type).order_by("created_at", "id"):
        if realm_name is not None and rule.realm_name and rule.realm_name != realm_name:
            continue
        if rule.conditions and all(condition_holds(c, claims) for c in rule.conditions):
            return rule
    return None


def validate_conditions(conditions, field="conditions"):
    if not isinstance(conditions, list) or not conditions:
        raise InvalidInput({field: ["At least one condition {claim, operator, value} is required."]})
    cleaned = []
    for index, condition in enumerate(conditions):
        if not isinstance(condition, dict) or not {"claim", "operator", "value"} <= set(condition):
            raise InvalidInput({f"{field}[{index}]": ["Each condition has claim, operator and value."]})
        if condition["operator"] not in OPERATORS:
            raise InvalidInput({f"{field}[{index}].operator": [f"Must be one of {', '.join(OPERATORS)}."]})
        cleaned.append({"claim": str(condition["claim"]), "operator": condition["operator"],
                        "value": str(condition["value"])})
    return cleaned


@transaction.atomic
def save_profile(profile, name=None, description=None, email=None, version=None):
    if version is not None and not profile._state.adding:
        profile = lock_row(TrustedProfile, profile.pk, version, label="trusted profile")
    for field, value, limit in (("name", name, 255), ("description", description, 2000), ("email", email, 254)):
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise InvalidInput({field: [f"Must be a string of at most {limit} characters."]})
    if email:
        from django.core.exceptions import ValidationError

        from iam_project.validators import validate_email_address

        try:
            validate_email_address(email)
        except ValidationError as exc:
            raise InvalidInput({"email": list(exc.messages)}) from None
    for field, value in (("name", name), ("description", description), ("email", email)):
        if value is not None:
            setattr(profile, field, value)
    if not profile.name:
        raise InvalidInput({"name": ["A trusted profile needs a name."]})
    profile.save()
    return profile


@transaction.atomic
def save_claim_rule(rule, version=None, **fields):
    if version is not None and not rule._state.adding:
        rule = lock_row(ClaimRule, rule.pk, version, label="claim rule")
    if fields.get("type") not in RULE_TYPES:
        raise InvalidInput({"type": [f"Must be one of {', '.join(RULE_TYPES)}."]})
    fields["conditions"] = validate_conditions(fields.get("conditions"))
    expiration = fields.get("expiration")
    if expiration is not None and not (900 <= int(expiration) <= 86400):
        raise InvalidInput({"expiration": ["Must be between 900 and 86400 seconds."]})
    for field, value in fields.items():
        if value is not None:
            setattr(rule, field, value)
    rule.save()
    return rule
