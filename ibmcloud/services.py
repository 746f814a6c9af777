"""The IBM face's operations: the account, API keys and service IDs as IBM makes them, trusted profiles
and claim rules, access policies.

Called alike by the IBM API, the console and the commands; ``actor`` is the acting identity or None for
the platform. Each write is one transaction and audited by the audit app's receivers. A policy is one
role binding: it is made and ended through ``roles.services`` (``create_binding``, ``end_owned_binding``)
under the same least-privilege rules as any binding.
"""

import fnmatch
import ipaddress
import re
import secrets
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from clients import services as client_services
from clients.choices import GrantTypeChoices
from iam_project import outbox
from iam_project.errors import Conflict, Forbidden, InvalidInput, NotFound
from iam_project.identity import find_identity
from iam_project.locking import lock_row
from iam_project.validators import validate_email_address
from roles.authority import ensure_can_grant, ensure_not_self
from roles.choices import BindingSourceChoices
from roles.models import OWNER_ROLE, Role
from roles.permissions import SERVICE_TYPES, join_scope
from roles.services import (actor_iam_id, create_binding, delete_role, end_owned_binding, ensure_owner_remains,
                            put_role)

from .models import (AccountSettings, ActivityReport, ClaimRule, Policy, Preference, ProfileIdentity, ProfileLink,
                     RoleFace, ServiceIdGroup, TrustedProfile)


# --- the account --------------------------------------------------------------------------------------------

ACCOUNT_ID_CACHE_KEY = "iam:account_id"
ACCOUNT_RULES_CACHE_KEY = "iam:account:rules"
ACCOUNT_ID = re.compile(r"^[0-9a-f]{32}$")
# A number of seconds or hours as IBM sends it: ASCII digits only (str.isdigit takes '²', which int() refuses).
NUMBER = re.compile(r"^[0-9]{1,12}$")
SETTINGS_FIELDS = ("restrict_create_service_id", "restrict_create_platform_apikey", "mfa",
                   "session_expiration_in_seconds", "session_invalidation_in_seconds", "max_sessions_per_identity",
                   "allowed_ip_addresses", "system_access_token_expiration_in_seconds",
                   "system_refresh_token_expiration_in_seconds", "restrict_user_list_visibility",
                   "restrict_user_domains", "user_mfa")
RESTRICT_VALUES = ("RESTRICTED", "NOT_RESTRICTED", "NOT_SET")
MFA_VALUES = ("NONE", "NONE_NO_ROPC", "TOTP", "TOTP4ALL", "LEVEL1", "LEVEL2", "LEVEL3")
# IBM's bounds of the token lifetimes it lets an account set (seconds).
TOKEN_SECONDS = {"system_access_token_expiration_in_seconds": (900, 3600),
                 "system_refresh_token_expiration_in_seconds": (900, 259200)}
# IBM's defaults, shown under ``effective`` for a field the account leaves NOT_SET.
EFFECTIVE_DEFAULTS = {"restrict_create_service_id": "NOT_RESTRICTED", "restrict_create_platform_apikey": "NOT_RESTRICTED",
                      "session_expiration_in_seconds": "86400", "session_invalidation_in_seconds": "7200",
                      "max_sessions_per_identity": "NOT_SET", "system_access_token_expiration_in_seconds": "3600",
                      "system_refresh_token_expiration_in_seconds": "259200"}
IDENTITY_TYPES = ("user", "service_id", "service")
INTERACTION_STATES = ("enabled", "limited", "monitor")


def account():
    """The installation's one account, made on first use (writes its row the first time)."""
    return AccountSettings.current()


def account_id():
    """The account's id (never changes once made): cached, so a page of 100 keys is not 100 queries."""
    value = cache.get(ACCOUNT_ID_CACHE_KEY)
    if value is None:
        value = account().account_id
        cache.set(ACCOUNT_ID_CACHE_KEY, value, None)
    return value


def ensure_account_id(value, field="account_id"):
    """A well-formed account id (32 hex characters) or InvalidInput naming ``field``: a malformed one is bad
    input (400), another account's id a refusal (403, see the API's ``ensure_account``)."""
    if not isinstance(value, str) or not ACCOUNT_ID.match(value):
        raise InvalidInput({field: ["Not an account id (32 hexadecimal characters)."]})
    return value


def account_rules():
    """What the platform enforces of the account's settings, cached (invalidated by every change): the access
    token lifetime (seconds or None), the session expiry and invalidation (seconds or None) and the allowed
    IP networks (a list, empty for any)."""
    rules = cache.get(ACCOUNT_RULES_CACHE_KEY)
    if rules is None:
        # Read, never made here: issuing a token must not write the account's row (nor audit it).
        row = AccountSettings.objects.filter(pk=1).first() or AccountSettings()

        def seconds(value):
            return int(value) if NUMBER.match(value) else None

        rules = {"access_token_seconds": seconds(row.system_access_token_expiration_in_seconds),
                 "session_expiration_seconds": seconds(row.session_expiration_in_seconds),
                 "session_invalidation_seconds": seconds(row.session_invalidation_in_seconds),
                 "allowed_networks": [p.strip() for p in row.allowed_ip_addresses.split(",") if p.strip()]}
        cache.set(ACCOUNT_RULES_CACHE_KEY, rules, 300)
    return rules


def access_token_seconds(default):
    """The lifetime of a new access token: ``default`` (the platform's), shortened by the account's
    ``system_access_token_expiration_in_seconds`` when that is set (never lengthened)."""
    limit = account_rules()["access_token_seconds"]
    return min(default, limit) if limit else default


def address_allowed(ip):
    """Whether the account's ``allowed_ip_addresses`` (none: every address) lets ``ip`` in."""
    networks = account_rules()["allowed_networks"]
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks
               if ipaddress.ip_network(net, strict=False).version == address.version)


def account_mfa_level():
    """The account's ``mfa`` setting (NONE, NONE_NO_ROPC, TOTP, TOTP4ALL, LEVEL1, LEVEL2, LEVEL3) and its
    per-user exceptions ``{iam_id: level}``: for multi-factor sign-in to read. Stored and shown by the IBM
    face; enforced by whoever asks."""
    from mfa.services import policy  # the account's mfa is the platform's multi-factor policy (one setting)

    row = account()
    return policy().level, {entry["iam_id"]: entry["mfa"] for entry in row.user_mfa}


def _list_problem(field, value):
    if not isinstance(value, list) or len(value) > 100:
        return "Must be a list (at most 100 entries)."
    if field == "user_mfa":
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("iam_id"), str) or \
                    entry.get("mfa") not in MFA_VALUES or set(entry) - {"iam_id", "mfa"}:
                return f"Each entry is {{iam_id, mfa}}, mfa one of {', '.join(MFA_VALUES)}."
    else:
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("realm_id"), str) or \
                    set(entry) - {"realm_id", "invitation_email_allow_patterns", "restrict_invitation"}:
                return "Each entry is {realm_id, invitation_email_allow_patterns, restrict_invitation}."
            patterns = entry.get("invitation_email_allow_patterns", [])
            if not isinstance(patterns, list) or not all(isinstance(p, str) and len(p) <= 255 for p in patterns):
                return "invitation_email_allow_patterns is a list of strings."
            if not isinstance(entry.get("restrict_invitation", False), bool):
                return "restrict_invitation is true or false."
    return None


def setting_problem(field, value):
    """Why ``value`` is not acceptable for the account setting ``field``, or None."""
    if field in ("user_mfa", "restrict_user_domains"):
        return _list_problem(field, value)
    if not isinstance(value, str):
        return "Must be a string."
    if field == "restrict_user_list_visibility":
        return None if value in ("RESTRICTED", "NOT_RESTRICTED") else "Must be RESTRICTED or NOT_RESTRICTED."
    if field in TOKEN_SECONDS:
        low, high = TOKEN_SECONDS[field]
        if value == "NOT_SET" or (NUMBER.match(value) and low <= int(value) <= high):
            return None
        return f"Must be NOT_SET or a number of seconds between {low} and {high}."
    if field.startswith("restrict_"):
        return None if value in RESTRICT_VALUES else f"Must be one of {', '.join(RESTRICT_VALUES)}."
    if field == "mfa":
        return None if value in MFA_VALUES else f"Must be one of {', '.join(MFA_VALUES)}."
    if field.endswith("_seconds"):
        if value == "NOT_SET" or (NUMBER.match(value) and 900 <= int(value) <= 86400 * 30):
            return None
        return "Must be NOT_SET or a number of seconds between 900 and 2592000."
    if field == "max_sessions_per_identity":
        return None if value == "NOT_SET" or (NUMBER.match(value) and 1 <= int(value) <= 10) else \
            "Must be NOT_SET or a number from 1 to 10."
    if field == "allowed_ip_addresses":
        if len(value) > 2000:
            return "At most 2000 characters."
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                return f"{part!r} is not an IP address or network."
    return None


def _networks_allow(value, ip):
    networks = [ipaddress.ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip()]
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not networks or any(address in net for net in networks if net.version == address.version)


@transaction.atomic
def update_account_settings(actor, version, changes, client_ip=None):
    """Change the account's identity settings (``changes``: field -> value; None values are left alone),
    under If-Match ``version``. Every value is checked first: nothing changes unless all are right.
    ``client_ip``: the address the change comes from — ``allowed_ip_addresses`` must keep it in (no one locks
    the account's administrators, themselves included, out by a typo)."""
    row = lock_row(AccountSettings, account().pk, version, label="account settings")
    errors = {}
    for field in SETTINGS_FIELDS:
        value = changes.get(field)
        if value is None:
            continue
        problem = setting_problem(field, value)
        if not problem and field == "allowed_ip_addresses" and client_ip and not _networks_allow(value, client_ip):
            problem = f"It must include the address this change comes from ({client_ip})."
        if problem:
            errors[field] = [problem]
        else:
            setattr(row, field, value)
    if errors:
        raise InvalidInput(errors)
    # mfa: the platform's multi-factor policy is this setting (one setting; its change needs step-up).
    if changes.get("mfa") is not None:
        from mfa.services import set_policy

        set_policy(actor, level=changes["mfa"], field_names={"level": "mfa"})
    row.save()
    cache.delete(ACCOUNT_RULES_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(ACCOUNT_RULES_CACHE_KEY))
    return row


def effective_settings(row):
    """IBM's ``effective`` settings: the account's own, IBM's default where it leaves one NOT_SET (no
    enterprise templates apply to an installation of one account)."""
    effective = {field: getattr(row, field) for field in SETTINGS_FIELDS}
    for field, default in EFFECTIVE_DEFAULTS.items():
        if effective[field] == "NOT_SET":
            effective[field] = default
    return effective


def default_interaction():
    return {"identity_types": {kind: {"state": "enabled", "external_allowed_accounts": []}
                               for kind in IDENTITY_TYPES}}


def interaction(row):
    """The account's ``external_account_identity_interaction`` (IBM's default where never set)."""
    return row.external_account_identity_interaction or default_interaction()


@transaction.atomic
def update_access_management(actor, version, patch):
    """Patch the account's access-management settings (``external_account_identity_interaction``) under
    If-Match ``version``: for each identity type given, its ``state`` and ``external_allowed_accounts``."""
    row = lock_row(AccountSettings, account().pk, version, label="account settings")
    current = interaction(row)
    if patch is not None and not isinstance(patch, dict):
        raise InvalidInput({"external_account_identity_interaction": ["Must be an object {identity_types}."]})
    types = (patch or {}).get("identity_types") or {}
    if not isinstance(types, dict) or set(types) - set(IDENTITY_TYPES):
        raise InvalidInput({"identity_types": [f"Only {', '.join(IDENTITY_TYPES)}."]})
    for kind, change in types.items():
        if not isinstance(change, dict):
            raise InvalidInput({f"identity_types.{kind}": ["Must be an object {state, external_allowed_accounts}."]})
        merged = dict(current["identity_types"][kind])
        if "state" in change:
            if change["state"] not in INTERACTION_STATES:
                raise InvalidInput({f"identity_types.{kind}.state": [f"Must be one of {', '.join(INTERACTION_STATES)}."]})
            merged["state"] = change["state"]
        if "external_allowed_accounts" in change:
            accounts = change["external_allowed_accounts"]
            if not isinstance(accounts, list) or len(accounts) > 100:
                raise InvalidInput({f"identity_types.{kind}.external_allowed_accounts": ["A list of account ids."]})
            merged["external_allowed_accounts"] = [ensure_account_id(a, f"identity_types.{kind}.external_allowed_accounts")
                                                   for a in accounts]
        current["identity_types"][kind] = merged
    row.external_account_identity_interaction = current
    row.save()
    return row


# --- API keys and service IDs (the clients app's, under the account's rules) ------------------------------------


def create_api_key(actor, owner, name, description="", expires_at=None):
    """An API key for ``owner`` (see ``clients.services.create_api_key``). When the account restricts key
    creation, only holders of iam/apikeys:write make one — their own included. Returns (key, value)."""
    restricted = account().restrict_create_platform_apikey == "RESTRICTED"
    return client_services.create_api_key(actor, owner, name, description or "", expires_at, restricted=restricted)


@transaction.atomic
def create_service_id(actor, name, description="", apikey=None):
    """A service ID: a confidential client whose grant is the API key. With ``apikey`` ({name,
    description}), its first key too, in the same transaction. Returns (client, (key, value) or None)."""
    client = client_services.create_client(actor, {"name": name, "description": description or "",
                                                   "grantTypes": [GrantTypeChoices.API_KEY.value],
                                                   "clientType": "confidential"})
    created = None
    if apikey is not None:
        created = create_api_key(actor, client, apikey.get("name") or name, apikey.get("description") or "")
    return client, created


def update_service_id(actor, pk, version, name=None, description=None):
    """Rename or redescribe a service ID under If-Match ``version``; other fields are left alone."""
    changes = {field: value for field, value in (("name", name), ("description", description)) if value is not None}
    return client_services.update_client(actor, pk, version=version, properties=changes)


# --- trusted profiles and claim rules -------------------------------------------------------------------------

OPERATORS = ("EQUALS", "NOT_EQUALS", "EQUALS_IGNORE_CASE", "NOT_EQUALS_IGNORE_CASE", "CONTAINS", "IN")
RULE_TYPES = ("Profile-SAML", "Profile-CR")
EXPIRATION_RANGE = (900, 86400)


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
    """The conditions of a claim rule, cleaned to ``[{"claim", "operator", "value"}]`` strings, or
    InvalidInput naming the condition at fault."""
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


def _text_problems(values, limits):
    return {field: [f"Must be a string of at most {limits[field]} characters."]
            for field, value in values.items()
            if value is not None and (not isinstance(value, str) or len(value) > limits[field])}


PROFILE_LIMITS = {"name": 255, "description": 2000, "email": 254}
RULE_LIMITS = {"name": 255, "realm_name": 255, "cr_type": 16, "type": 64}


def clean_profile(name=None, description=None, email=None, adding=False):
    """The profile fields given (None: unchanged), checked as the API and the console both require."""
    values = {"name": name, "description": description, "email": email}
    errors = _text_problems(values, PROFILE_LIMITS)
    if email and "email" not in errors:
        try:
            validate_email_address(email)
        except ValidationError as exc:
            errors["email"] = list(exc.messages)
    if (adding or name is not None) and not name and "name" not in errors:
        errors["name"] = ["A trusted profile needs a name."]
    if errors:
        raise InvalidInput(errors)
    return {field: value for field, value in values.items() if value is not None}


@transaction.atomic
def create_profile(actor, name, description="", email=""):
    """A new trusted profile (audited). Returns it."""
    profile = TrustedProfile(**clean_profile(name, description, email, adding=True))
    profile.save()
    return profile


@transaction.atomic
def update_profile(actor, pk, version=None, name=None, description=None, email=None):
    """Change the given fields of a profile under If-Match ``version`` (None: any). Returns it."""
    changes = clean_profile(name, description, email)
    profile = lock_row(TrustedProfile, pk, version, label="trusted profile")
    for field, value in changes.items():
        setattr(profile, field, value)
    profile.save()
    return profile


@transaction.atomic
def delete_profile(actor, pk, version=None):
    """Delete a profile and its claim rules (each deletion audited), under If-Match ``version`` (None:
    any): no session can take it on any more."""
    profile = lock_row(TrustedProfile, pk, version, label="trusted profile")
    for rule in profile.rules.select_for_update():
        rule.delete()
    profile.delete()


def clean_claim_rule(fields, adding=False):
    """The claim-rule fields given (None: unchanged), checked as the API and the console both require."""
    errors = _text_problems({f: fields.get(f) for f in RULE_LIMITS}, RULE_LIMITS)
    if (adding or fields.get("type") is not None) and "type" not in errors and fields.get("type") not in RULE_TYPES:
        errors["type"] = [f"Must be one of {', '.join(RULE_TYPES)}."]
    expiration = fields.get("expiration")
    if expiration is not None:
        low, high = EXPIRATION_RANGE
        if isinstance(expiration, bool) or not isinstance(expiration, int) or not low <= expiration <= high:
            errors["expiration"] = [f"Must be between {low} and {high} seconds."]
    cleaned = {field: value for field, value in fields.items() if value is not None}
    if adding or fields.get("conditions") is not None:
        try:
            cleaned["conditions"] = validate_conditions(fields.get("conditions"))
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return cleaned


@transaction.atomic
def create_claim_rule(actor, profile_pk, **fields):
    """A new claim rule of the profile (locked meanwhile, so it cannot be deleted under the rule)."""
    cleaned = clean_claim_rule(fields, adding=True)
    profile = lock_row(TrustedProfile, profile_pk, label="trusted profile")
    rule = ClaimRule(profile=profile, **cleaned)
    rule.save()
    return rule


def _lock_rule(profile_pk, pk, version):
    if not ClaimRule.objects.filter(pk=pk, profile_id=profile_pk).exists():
        raise NotFound("No such claim rule.")
    return lock_row(ClaimRule, pk, version, label="claim rule")


@transaction.atomic
def update_claim_rule(actor, profile_pk, pk, version=None, **fields):
    """Change a claim rule of the profile under If-Match ``version`` (None: any). Returns it."""
    cleaned = clean_claim_rule(fields)
    rule = _lock_rule(profile_pk, pk, version)
    for field, value in cleaned.items():
        setattr(rule, field, value)
    rule.save()
    return rule


@transaction.atomic
def delete_claim_rule(actor, profile_pk, pk, version=None):
    """Delete a claim rule of the profile under If-Match ``version`` (None: any)."""
    _lock_rule(profile_pk, pk, version).delete()


# --- access policies (each one a role binding of source "policy") -----------------------------------------------

POLICY_STATES = ("active", "deleted")
# IBM's resource attributes: the path ones make the scope's path serviceName[/serviceInstance][/resourceType
# [/resource]]; the others become the scope's qualifiers, which the engine enforces (roles.permissions).
PATH_ATTRIBUTES = ("serviceName", "serviceInstance", "resourceType", "resource")
QUALIFIER_ATTRIBUTES = ("serviceType", "resourceGroupId")
RESOURCE_ATTRIBUTES = ("accountId", *PATH_ATTRIBUTES, *QUALIFIER_ATTRIBUTES)
VALUE = re.compile(r"^[^/;=\s]{1,255}$")
IAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$")


def policy_scope(attributes, tags=None, field="resources"):
    """The binding scope of IBM's resource ``attributes`` ({name: value}, all stringEquals) and access ``tags``
    ({name: value}): the path of the path attributes, then ``serviceType``, ``resourceGroupId`` and each tag
    as qualifiers — each one enforced by the engine, none accepted and ignored. InvalidInput names what is
    wrong; another account's accountId is Forbidden."""
    unknown = sorted(set(attributes) - set(RESOURCE_ATTRIBUTES))
    if unknown:
        raise InvalidInput({field: [f"Unsupported attributes: {', '.join(unknown)} (supported: "
                                    f"{', '.join(RESOURCE_ATTRIBUTES)})."]})
    bad = sorted(name for name, value in {**attributes, **{f"tag {k}": v for k, v in (tags or {}).items()}}.items()
                 if not isinstance(value, str) or not VALUE.match(value) or not VALUE.match(name.removeprefix("tag ")))
    if bad:
        raise InvalidInput({field: [f"Values (and tag names) are 1-255 characters without '/', ';', '=' or spaces: "
                                    f"{', '.join(bad)}."]})
    if "accountId" not in attributes:
        raise InvalidInput({field: ["The accountId attribute is required."]})
    ensure_account_id(attributes["accountId"], f"{field}.accountId")
    if attributes["accountId"] != account_id():
        raise Forbidden(f"Account {attributes['accountId']} is not this account.")
    given = [name for name in PATH_ATTRIBUTES if name in attributes]
    # A narrower attribute never stands without the broader one it belongs to.
    if given and "serviceName" not in given:
        raise InvalidInput({field: ["serviceName is required with any narrower attribute."]})
    if "resource" in attributes and "resourceType" not in attributes:
        raise InvalidInput({field: ["resource needs resourceType."]})
    if attributes.get("serviceType", SERVICE_TYPES[0]) not in SERVICE_TYPES:
        raise InvalidInput({field: [f"serviceType is one of {', '.join(SERVICE_TYPES)}."]})
    qualifiers = {name: attributes[name] for name in QUALIFIER_ATTRIBUTES if name in attributes}
    qualifiers.update({f"tag:{name}": value for name, value in (tags or {}).items()})
    scope = join_scope("/".join(attributes[name] for name in given), qualifiers)
    if len(scope) > 255:
        raise InvalidInput({field: ["The resource is too long (at most 255 characters in all)."]})
    return scope


def policy_subject(iam_id, field="subjects"):
    """The identity named by a policy's subject ``iam_id``, or None for a well-formed iam_id that is no known
    identity (IBM accepts any): such a policy is kept and grants nothing — it never gets a binding, not even
    if an identity with that iam_id appears later (the platform's own iam_ids hold random UUIDs)."""
    if not isinstance(iam_id, str) or not IAM_ID.match(iam_id):
        raise InvalidInput({field: ["iam_id must be 1-64 letters, digits or ._:@- ."]})
    return find_identity(iam_id)


# IBM's time-based conditions (v2 rules) -> the binding's conditions (the engine's time window) and its
# start and expiry. Operators on current_time: the window's minutes, rounded inward (never granting more).
RULE_TIME = "{{environment.attributes.current_time}}"
RULE_DAY = "{{environment.attributes.day_of_week}}"
RULE_DATE_TIME = "{{environment.attributes.current_date_time}}"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME_OF_DAY = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?([+-]\d{2}:\d{2}|Z)?$")
DAY = re.compile(r"^([1-7])([+-]\d{2}:\d{2}|Z)?$")


def _zone(offset, field):
    """A fixed UTC offset as a time zone the engine knows (Etc/GMT-5 is UTC+05:00); whole hours only."""
    if offset in (None, "Z", "+00:00", "-00:00"):
        return "UTC"
    sign, hours, minutes = offset[0], int(offset[1:3]), int(offset[4:6])
    if minutes or hours > 12:
        raise InvalidInput({field: [f"UTC offset {offset}: only whole hours from -12:00 to +12:00 are supported."]})
    return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"


def rule_conditions(rule, field="rule"):
    """(conditions, starts_at, expires_at) of a binding that grants only when IBM's ``rule`` holds, or
    InvalidInput for a rule the engine cannot enforce (anything but time of day, days of the week and a date
    and time range, combined with ``and``) — never stored and ignored."""
    if rule is None:
        return {}, None, None
    if not isinstance(rule, dict):
        raise InvalidInput({field: ["Must be an object."]})
    if "conditions" in rule:
        if rule.get("operator") != "and" or set(rule) - {"operator", "conditions"}:
            raise InvalidInput({field: ["Only conditions combined with the operator 'and' are supported."]})
        conditions = rule["conditions"]
        if not isinstance(conditions, list) or not 1 <= len(conditions) <= 10:
            raise InvalidInput({f"{field}.conditions": ["1 to 10 conditions."]})
    else:
        conditions = [rule]
    window, zones, starts_at, expires_at = {}, set(), None, None
    for index, condition in enumerate(conditions):
        where = f"{field}.conditions[{index}]"
        if not isinstance(condition, dict) or set(condition) != {"key", "operator", "value"}:
            raise InvalidInput({where: ["Each condition is {key, operator, value}."]})
        key, operator, value = condition["key"], condition["operator"], condition["value"]
        if key == RULE_TIME and operator in ("timeGreaterThanOrEquals", "timeGreaterThan", "timeLessThanOrEquals",
                                             "timeLessThan"):
            match = TIME_OF_DAY.match(value) if isinstance(value, str) else None
            if not match or int(match[1]) > 23 or int(match[2]) > 59 or int(match[3] or 0) > 59:
                raise InvalidInput({where: ["A time of day HH:MM[:SS] with its UTC offset, e.g. 09:00:00+00:00."]})
            zones.add(_zone(match[4], where))
            minutes = int(match[1]) * 60 + int(match[2])
            if operator.startswith("timeGreater"):
                exclusive = operator == "timeGreaterThan"
                minutes += 1 if (match[3] and int(match[3])) or exclusive else 0
                window["start"] = minutes
            else:
                window["end"] = minutes  # the window's end is exclusive: the minute itself is left out
        elif key == RULE_DAY and operator == "dayOfWeekAnyOf":
            days = value if isinstance(value, list) else None
            if not days or not all(isinstance(d, str) and DAY.match(d) for d in days):
                raise InvalidInput({where: ["A list of days 1 (Monday) to 7 (Sunday), each with its UTC offset."]})
            for day in days:
                zones.add(_zone(DAY.match(day)[2], where))
            window["days"] = [DAY_NAMES[int(DAY.match(d)[1]) - 1] for d in days]
        elif key == RULE_DATE_TIME and operator in ("dateTimeGreaterThanOrEquals", "dateTimeLessThanOrEquals",
                                                    "dateTimeGreaterThan", "dateTimeLessThan"):
            try:
                moment = parse_datetime(value) if isinstance(value, str) else None
            except ValueError:  # well-formed but no such moment (month 13)
                moment = None
            if moment is None or moment.tzinfo is None:
                raise InvalidInput({where: ["A date and time with its UTC offset (ISO 8601)."]})
            if operator.startswith("dateTimeGreater"):
                starts_at = moment
            else:
                expires_at = moment
        else:
            raise InvalidInput({where: [f"Unsupported condition {key} {operator}: only current_time, day_of_week "
                                        f"and current_date_time conditions are enforced here."]})
    if len(zones) > 1:
        raise InvalidInput({field: ["All times and days must have the same UTC offset."]})
    if starts_at and expires_at and expires_at <= starts_at:
        raise InvalidInput({field: ["The date and time range is empty."]})
    conditions = {}
    if window:
        start, end = window.get("start", 0), window.get("end", 24 * 60)
        if end <= start:
            raise InvalidInput({field: ["The time of day range is empty (an overnight range is two policies)."]})
        conditions["timeWindow"] = {"start": f"{start // 60:02d}:{start % 60:02d}",
                                    "end": f"{end // 60:02d}:{end % 60:02d}", "timezone": zones.pop()}
        if "days" in window:
            conditions["timeWindow"]["days"] = window["days"]
    return conditions, starts_at, expires_at


def _platform_iam_id(iam_id):
    """Whether ``iam_id`` is of the kind the platform gives its principals and clients."""
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    return iam_id.startswith((get_user_model().iam_id_prefix, get_application_model().iam_id_prefix))


def _policy_binding(actor, policy, identity):
    conditions, starts_at, expires_at = rule_conditions(policy.rule)
    return create_binding(actor, identity, policy.role, scope=policy.scope, source=BindingSourceChoices.POLICY,
                          conditions=conditions, starts_at=starts_at, expires_at=expires_at)


def _bind(actor, policy, identity):
    """Give an active policy its binding: to a known identity, under ``create_binding``'s rules; a subject
    that is no known identity gets none — the creator must still hold what the policy says it grants."""
    if identity is None:
        ensure_can_grant(actor, policy.role, policy.scope)
        return None
    return _policy_binding(actor, policy, identity)


POLICY_FIELDS = ("type", "description", "subject_iam_id", "role", "scope", "subjects", "resources", "v2", "pattern",
                 "rule")


@transaction.atomic
def create_policy(actor, identity, role, scope, subjects, resources, type="access", description="",
                  subject_iam_id=None, v2=False, pattern="", rule=None):
    """A policy = a binding of ``role`` to ``identity`` over ``scope`` (and, from a v2 ``rule``, its time
    conditions), under the same no-escalation rule as any binding; the IBM-shaped subjects and resources are
    kept as given. ``identity`` None: a subject that is no known identity (``subject_iam_id``), kept without a
    binding. Writes the policy and its binding (both audited) and invalidates the identity's permissions."""
    policy = Policy(type=type, description=description or "", role=role, subjects=subjects, resources=resources,
                    scope=scope or "", subject_iam_id=identity.iam_id if identity else subject_iam_id, v2=v2,
                    pattern=pattern or "", rule=rule, created_by=actor_iam_id(actor),
                    last_modified_by=actor_iam_id(actor))
    policy.binding = _bind(actor, policy, identity)
    policy.save()
    return policy


def lock_policy(pk, version=None):
    return lock_row(Policy, pk, version, label="policy")


def _drop_binding(actor, policy, check=True):
    if policy.binding_id:
        binding = policy.binding
        policy.binding = None
        policy.save(update_fields=["binding"])
        if check:
            ensure_not_self(actor, binding.identity)
        if binding.role.key == OWNER_ROLE:
            ensure_owner_remains(removing=[binding])
        end_owned_binding(binding)


def end_policy_binding(actor, binding, check=True):
    """The ender of policy bindings (registered with ``roles.services.register_binding_owner``): removing
    one anywhere (console, ``bindrole``) deletes its policy's grant, so the policy reads ``deleted``,
    never ``active`` over nothing."""
    policy = Policy.objects.select_for_update().filter(binding=binding).first()
    if policy is None:  # a policy binding whose policy is gone: just the row
        if check:
            ensure_not_self(actor, binding.identity)
            ensure_can_grant(actor, binding.role, binding.scope)
        end_owned_binding(binding)
        return
    if check:
        ensure_can_grant(actor, policy.role, policy.scope)
    _drop_binding(actor, policy, check=check)
    policy.state = "deleted"
    policy.last_modified_by = actor_iam_id(actor)
    policy.save()


@transaction.atomic
def replace_policy(actor, pk, version, identity, role, scope, subjects, resources, type="access", description="",
                   subject_iam_id=None, v2=False, pattern="", rule=None):
    """Replace a policy under If-Match ``version``: the actor must hold both what it granted and what it
    will grant. Its binding is ended and, for an active policy, made again."""
    policy = lock_policy(pk, version)
    if policy.v2 != v2:
        raise NotFound("No such policy in this version of the API.")
    ensure_can_grant(actor, policy.role, policy.scope)
    active = policy.state == "active"
    _drop_binding(actor, policy)
    policy.type, policy.description = type, description or ""
    policy.subject_iam_id = identity.iam_id if identity else subject_iam_id
    policy.role, policy.scope, policy.subjects, policy.resources = role, scope or "", subjects, resources
    policy.pattern, policy.rule = pattern or "", rule
    policy.last_modified_by = actor_iam_id(actor)
    if active:
        policy.binding = _bind(actor, policy, identity)
    policy.save()
    return policy


@transaction.atomic
def set_policy_state(actor, pk, version, state):
    """``deleted`` removes the binding (the policy grants nothing); ``active`` restores it to the
    subject, who must still exist (a subject that never was a known identity gets none)."""
    if state not in POLICY_STATES:
        raise InvalidInput({"state": [f"Must be one of {', '.join(POLICY_STATES)}."]})
    policy = lock_policy(pk, version)
    ensure_can_grant(actor, policy.role, policy.scope)
    if state == policy.state:
        return policy
    if state == "deleted":
        _drop_binding(actor, policy)
    else:
        identity = find_identity(policy.subject_iam_id)
        if identity is None and policy.binding_id is None and _platform_iam_id(policy.subject_iam_id):
            raise Conflict("The policy's subject no longer exists.")
        policy.binding = _bind(actor, policy, identity)
    policy.state = state
    policy.last_modified_by = actor_iam_id(actor)
    policy.save()
    return policy


@transaction.atomic
def delete_policy(actor, pk, version=None):
    """Delete a policy and end its binding, under If-Match ``version`` (None: any)."""
    policy = lock_policy(pk, version)
    ensure_can_grant(actor, policy.role, policy.scope)
    _drop_binding(actor, policy)
    policy.delete()


# --- roles as IBM names them --------------------------------------------------------------------------------

ROLE_CRN = "crn:v1:portcullis:public:iam::::role:"
ROLE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,29}$")
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
ACTION = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_*-]+)+$")


def role_face(role):
    """The role's IBM names (a RoleFace), or None for a role that has none."""
    try:
        return role.ibm
    except RoleFace.DoesNotExist:
        return None


def role_crn(role):
    """IBM's CRN of a role: its face's (IBM's standard roles, custom roles made on /v2/roles), else the
    platform's CRN of its key."""
    face = role_face(role)
    return face.crn if face else ROLE_CRN + role.key


def find_role(role_id):
    """The role a policy names: by IBM's CRN (a role face), by the platform's CRN of a key, or by its key."""
    face = RoleFace.objects.select_related("role").filter(crn=role_id).first()
    if face is not None:
        return face.role
    return Role.objects.filter(key=role_id.removeprefix(ROLE_CRN)).first()


def actions_to_entries(actions, field="actions"):
    """IBM's actions ("service.resource.action") as the role's ACL entries ({"resource": "service/resource",
    "permission": "action"}): an action names a permission of the platform, e.g. iam.principals.read."""
    if not isinstance(actions, list) or not 1 <= len(actions) <= 100:
        raise InvalidInput({field: ["1 to 100 actions."]})
    entries = []
    for action in actions:
        if not isinstance(action, str) or len(action) > 255 or not ACTION.match(action):
            raise InvalidInput({field: [f"{action!r} is not an action (service.resource.action)."]})
        resource, _, permission = action.rpartition(".")
        entries.append({"resource": resource.replace(".", "/"), "permission": permission})
    return entries


def _clean_custom_role(name, display_name, description, service_name):
    errors = {}
    if name is not None and (not isinstance(name, str) or not ROLE_NAME.match(name)):
        errors["name"] = ["An upper-case letter, then up to 29 letters or digits."]
    if not isinstance(display_name, str) or not 1 <= len(display_name) <= 50:
        errors["display_name"] = ["1 to 50 characters."]
    if description is not None and (not isinstance(description, str) or len(description) > 250):
        errors["description"] = ["At most 250 characters."]
    if service_name is not None and (not isinstance(service_name, str) or not SERVICE_NAME.match(service_name)
                                     or service_name == "system"):
        errors["service_name"] = ["A service name (lower case letters, digits, - and _), not 'system'."]
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def create_custom_role(actor, name, display_name, actions, service_name, description=""):
    """A custom role (IBM's /v2/roles): a platform role keyed ``<service_name>:<name in lower case>`` whose ACL
    entries are the actions, made by ``roles.services.put_role`` (the creator must hold every entry), with its
    IBM names. A name already taken (in any case) is a Conflict."""
    _clean_custom_role(name, display_name, description, service_name)
    entries = actions_to_entries(actions)
    key = f"{service_name}:{name.lower()}"
    if Role.objects.filter(key=key).exists() or RoleFace.objects.filter(name__iexact=name,
                                                                        service_name=service_name).exists():
        raise Conflict(f"A role named {name} already exists for {service_name}.")
    try:
        with transaction.atomic():
            role, _ = put_role(actor, key, description or "", entries)
    except IntegrityError:  # made meanwhile by a concurrent request
        raise Conflict(f"A role named {name} already exists for {service_name}.") from None
    RoleFace.objects.create(role=role, name=name, display_name=display_name, service_name=service_name,
                            crn=f"crn:v1:portcullis:public:{service_name}::a/{account_id()}::customRole:{name}",
                            actions=list(actions), created_by=actor_iam_id(actor),
                            last_modified_by=actor_iam_id(actor))
    return role


@transaction.atomic
def replace_custom_role(actor, pk, version, display_name, actions, description=None):
    """Replace a custom role's display name, description and actions under If-Match ``version``
    (``put_role``: the replacer holds what it was and what it becomes; system roles are refused)."""
    role = lock_row(Role, pk, version, label="role")
    if role.is_system:
        raise Forbidden(f"{role.key} is a system role and cannot be changed.")
    _clean_custom_role(None, display_name, description, None)
    entries = actions_to_entries(actions)
    role, _ = put_role(actor, role.key, role.description if description is None else description, entries)
    face = RoleFace.objects.filter(role=role).first() or RoleFace(
        role=role, name=role.key, service_name=role.namespace, crn=ROLE_CRN + role.key, created_by=actor_iam_id(actor))
    face.display_name, face.actions, face.last_modified_by = display_name, list(actions), actor_iam_id(actor)
    face.save()
    return role


@transaction.atomic
def delete_custom_role(actor, pk, version=None):
    """Delete a custom role nobody holds (``roles.services.delete_role``), with its IBM names."""
    role = lock_row(Role, pk, version, label="role")
    delete_role(actor, role)


# --- service ID groups --------------------------------------------------------------------------------------

GROUP_LIMITS = {"name": 255, "description": 2000}


@transaction.atomic
def create_service_id_group(actor, name, description=""):
    """A new service ID group (audited)."""
    errors = _text_problems({"name": name, "description": description}, GROUP_LIMITS)
    if not name and "name" not in errors:
        errors["name"] = ["A service ID group needs a name."]
    if errors:
        raise InvalidInput(errors)
    return ServiceIdGroup.objects.create(name=name, description=description or "", created_by=actor_iam_id(actor))


@transaction.atomic
def update_service_id_group(actor, pk, version, name, description=None):
    """Rename or redescribe a group under If-Match ``version``."""
    errors = _text_problems({"name": name, "description": description}, GROUP_LIMITS)
    if not name and "name" not in errors:
        errors["name"] = ["A service ID group needs a name."]
    if errors:
        raise InvalidInput(errors)
    group = lock_row(ServiceIdGroup, pk, version, label="service ID group")
    group.name = name
    if description is not None:
        group.description = description
    group.save()
    return group


@transaction.atomic
def delete_service_id_group(actor, pk, version=None):
    lock_row(ServiceIdGroup, pk, version, label="service ID group").delete()


# --- links and identities of trusted profiles ---------------------------------------------------------------

CR_TYPES = ("VSI", "BMS", "IKS_SA", "ROKS_SA", "CE")
LINK_FIELDS = {"crn": 1000, "namespace": 255, "name": 255, "component_type": 255, "component_name": 255}


@transaction.atomic
def create_profile_link(actor, profile_pk, name, cr_type, link):
    """Link a compute resource to a profile (stored: no compute resource signs in as a profile here)."""
    if cr_type not in CR_TYPES:
        raise InvalidInput({"cr_type": [f"Must be one of {', '.join(CR_TYPES)}."]})
    if not isinstance(link, dict) or set(link) - set(LINK_FIELDS):
        raise InvalidInput({"link": [f"An object of {', '.join(LINK_FIELDS)}."]})
    errors = _text_problems({f: link.get(f) for f in LINK_FIELDS}, LINK_FIELDS)
    errors.update(_text_problems({"name": name}, {"name": 255}))
    if not link.get("crn"):
        errors["link.crn"] = ["The compute resource's CRN is required."]
    if errors:
        raise InvalidInput(errors)
    profile = lock_row(TrustedProfile, profile_pk, label="trusted profile")
    return ProfileLink.objects.create(profile=profile, name=name or "", cr_type=cr_type, crn=link["crn"],
                                      namespace=link.get("namespace") or "", link_name=link.get("name") or "",
                                      component_type=link.get("component_type") or "",
                                      component_name=link.get("component_name") or "")


@transaction.atomic
def delete_profile_links(actor, profile_pk, link_pk=None, **match):
    """Delete one link of the profile, or (``match``: type, crn, namespace, name, component_type,
    component_name) every link matching all the given fields. NotFound when none is."""
    lock_row(TrustedProfile, profile_pk, label="trusted profile")
    links = ProfileLink.objects.filter(profile_id=profile_pk)
    if link_pk is not None:
        links = links.filter(pk=link_pk)
    else:
        fields = {"type": "cr_type", "crn": "crn", "namespace": "namespace", "name": "link_name",
                  "component_type": "component_type", "component_name": "component_name"}
        links = links.filter(**{fields[k]: v for k, v in match.items() if v is not None})
    found = list(links.select_for_update())
    if not found:
        raise NotFound("No such link.")
    for link in found:
        link.delete()


IDENTITY_KINDS = ("user", "serviceid", "crn")


def _clean_identity(entry, field):
    if not isinstance(entry, dict) or set(entry) - {"identifier", "type", "accounts", "description", "iam_id"}:
        raise InvalidInput({field: ["Each identity is {identifier, type, accounts, description}."]})
    kind, identifier = entry.get("type"), entry.get("identifier")
    if kind not in IDENTITY_KINDS:
        raise InvalidInput({f"{field}.type": [f"Must be one of {', '.join(IDENTITY_KINDS)}."]})
    if not isinstance(identifier, str) or not 1 <= len(identifier) <= 1000:
        raise InvalidInput({f"{field}.identifier": ["Required: an iam_id (user, serviceid) or a CRN."]})
    iam_id = identifier
    if kind != "crn":
        identity = find_identity(identifier)
        if identity is None or (identity.identity_type == "principal") != (kind == "user"):
            raise InvalidInput({f"{field}.identifier": [f"No {kind} has this iam_id."]})
    accounts = entry.get("accounts") or []
    if not isinstance(accounts, list) or len(accounts) > 10:
        raise InvalidInput({f"{field}.accounts": ["A list of account ids."]})
    for index, value in enumerate(accounts):
        ensure_account_id(value, f"{field}.accounts[{index}]")
    description = entry.get("description") or ""
    if not isinstance(description, str) or len(description) > 2000:
        raise InvalidInput({f"{field}.description": ["At most 2000 characters."]})
    return {"type": kind, "identifier": identifier, "iam_id": iam_id, "accounts": accounts,
            "description": description}


@transaction.atomic
def set_profile_identities(actor, profile_pk, version, identities):
    """Replace the identities that may take on the profile, under If-Match ``version`` (the profile's).
    Stored: nothing takes on a profile here, and a profile holds no binding."""
    if not isinstance(identities, list) or len(identities) > 100:
        raise InvalidInput({"identities": ["A list of at most 100 identities."]})
    cleaned = [_clean_identity(entry, f"identities[{i}]") for i, entry in enumerate(identities)]
    if len({(c["type"], c["identifier"]) for c in cleaned}) != len(cleaned):
        raise InvalidInput({"identities": ["An identity is listed twice."]})
    profile = lock_row(TrustedProfile, profile_pk, version, label="trusted profile")
    for old in profile.identities.select_for_update():
        old.delete()
    for entry in cleaned:
        ProfileIdentity.objects.create(profile=profile, **entry)
    profile.save()  # a new entity_tag for the profile's identities
    return profile


@transaction.atomic
def set_profile_identity(actor, profile_pk, identity_type, entry):
    """Add (or change) one identity that may take on the profile."""
    if identity_type not in IDENTITY_KINDS:
        raise NotFound(f"No identity type {identity_type}.")
    cleaned = _clean_identity(dict(entry, type=entry.get("type") or identity_type), "identity")
    if cleaned["type"] != identity_type:
        raise InvalidInput({"type": [f"Must be {identity_type}, as in the path."]})
    profile = lock_row(TrustedProfile, profile_pk, label="trusted profile")
    existing = profile.identities.select_for_update().filter(type=identity_type,
                                                             identifier=cleaned["identifier"]).first()
    if existing is not None:
        existing.delete()
    found = ProfileIdentity.objects.create(profile=profile, **cleaned)
    profile.save()
    return found


@transaction.atomic
def delete_profile_identity(actor, profile_pk, identity_type, identifier):
    profile = lock_row(TrustedProfile, profile_pk, label="trusted profile")
    found = profile.identities.select_for_update().filter(type=identity_type, identifier=identifier).first()
    if found is None:
        raise NotFound("No such identity of this profile.")
    found.delete()
    profile.save()


# --- preferences --------------------------------------------------------------------------------------------

PREFERENCE_PART = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def clean_preference_path(service, preference_id, iam_id):
    errors = {name: ["1-100 letters, digits or ._-"] for name, value in (("service", service),
                                                                         ("preference_id", preference_id))
              if not PREFERENCE_PART.match(value or "")}
    if not IAM_ID.match(iam_id or ""):
        errors["iam_id"] = ["1-64 letters, digits or ._:@- ."]
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def put_preference(actor, iam_id, service, preference_id, value_string=None, value_list_of_strings=None):
    """Set one preference of ``iam_id`` (exactly one of a string or a list of strings)."""
    clean_preference_path(service, preference_id, iam_id)
    if (value_string is None) == (value_list_of_strings is None):
        raise InvalidInput({"value_string": ["Give value_string or value_list_of_strings (one of them)."]})
    if value_string is not None and (not isinstance(value_string, str) or len(value_string) > 2000):
        raise InvalidInput({"value_string": ["A string of at most 2000 characters."]})
    if value_list_of_strings is not None and (
            not isinstance(value_list_of_strings, list) or len(value_list_of_strings) > 100
            or not all(isinstance(v, str) and len(v) <= 255 for v in value_list_of_strings)):
        raise InvalidInput({"value_list_of_strings": ["At most 100 strings of at most 255 characters."]})
    preference = Preference.objects.select_for_update().filter(
        iam_id=iam_id, service=service, preference_id=preference_id).first() or Preference(
        iam_id=iam_id, service=service, preference_id=preference_id)
    preference.value_string = value_string or ""
    preference.value_list_of_strings = value_list_of_strings
    preference.save()
    return preference


@transaction.atomic
def delete_preference(actor, iam_id, service, preference_id):
    found = Preference.objects.select_for_update().filter(iam_id=iam_id, service=service,
                                                          preference_id=preference_id).first()
    if found is None:
        raise NotFound("No such preference.")
    found.delete()


# --- activity reports (Celery tasks over the audit trail) ----------------------------------------------------

REPORT_TYPES = ("inactive",)


@transaction.atomic
def create_activity_report(actor, type="inactive", duration="720"):
    """Ask for an inactivity report over the last ``duration`` hours (1-2160, IBM's default 720): a
    ``pending`` row now, built by the Celery task ``ibmcloud.tasks.build_activity_report`` (through the
    outbox, so it exists exactly when the request was committed). Returns the report."""
    if type not in REPORT_TYPES:
        raise InvalidInput({"type": ["Must be inactive."]})
    if not isinstance(duration, str) or not NUMBER.match(duration) or not 1 <= int(duration) <= 2160:
        raise InvalidInput({"duration": ["A number of hours from 1 to 2160."]})
    report = ActivityReport.objects.create(reference=secrets.token_hex(16), type=type, duration_hours=int(duration),
                                           created_by=actor_iam_id(actor))
    outbox.enqueue("ibmcloud.tasks.build_activity_report", args=[report.reference])
    return report


def build_activity_report(reference, now=None):
    """Build a pending report (idempotent: a built one is left alone). Who has not authenticated within the
    window, read from the audit trail (``token.issued``, ``login.succeeded``) and the keys' last use:
    principals (``users``), service IDs, API keys and trusted profiles (which never sign in here). Writes the
    report; returns it, or None when there is none to build."""
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    from audit.models import AuditEvent
    from clients.models import ApiKey

    with transaction.atomic():
        report = ActivityReport.objects.select_for_update().filter(reference=reference).first()
        if report is None or report.status != "pending":
            return None
        now = now or timezone.now()
        start = now - timedelta(hours=report.duration_hours)
        active = set(AuditEvent.objects.filter(at__gte=start, action__in=("token.issued", "login.succeeded"))
                     .values_list("actor", flat=True).distinct())

        def stamp(value):
            return value.isoformat().replace("+00:00", "Z") if value else None

        users = [{"iam_id": p.iam_id, "name": p.email, "username": p.email, "email": p.email,
                  "last_authn": stamp(p.last_login)}
                 for p in get_user_model().objects.exclude(iam_id__in=active).order_by("email")]
        serviceids = [{"id": f"ServiceId-{c.pk}", "name": c.name, "last_authn": None}
                      for c in get_application_model().objects.filter(is_system=False).exclude(iam_id__in=active)
                      .order_by("name")]
        apikeys = [{"id": f"ApiKey-{k.pk}", "name": k.name, "type": "user" if k.principal_id else "serviceid",
                    "serviceid": {"id": f"ServiceId-{k.client_id}", "name": ""} if k.client_id else None,
                    "user": {"iam_id": k.iam_id, "name": "", "username": "", "email": ""} if k.principal_id else None,
                    "last_authn": stamp(k.last_used_at)}
                   for k in ApiKey.objects.exclude(last_used_at__gte=start).order_by("created_at")]
        profiles = [{"id": f"Profile-{p.pk}", "name": p.name, "last_authn": None}
                    for p in TrustedProfile.objects.all()]
        report.result = {"report_start_time": stamp(start), "report_end_time": stamp(now), "users": users,
                         "apikeys": [{k: v for k, v in key.items() if v is not None} for key in apikeys],
                         "serviceids": serviceids, "profiles": profiles}
        report.status, report.started_at, report.finished_at = "complete", now, timezone.now()
        report.save()
        return report
