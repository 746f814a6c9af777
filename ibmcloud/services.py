"""The IBM face's operations: the account, API keys and service IDs as IBM makes them, trusted profiles
and claim rules, access policies.

Called alike by the IBM API, the console and the commands; ``actor`` is the acting identity or None for
the platform. Each write is one transaction and audited by the audit app's receivers. A policy is one
role binding: it is made and ended through ``roles.services`` (``create_binding``, ``end_owned_binding``)
under the same least-privilege rules as any binding.
"""

import fnmatch
import ipaddress

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from clients import services as client_services
from clients.choices import GrantTypeChoices
from iam_project.errors import Conflict, InvalidInput, NotFound
from iam_project.identity import find_identity
from iam_project.locking import lock_row
from iam_project.validators import validate_email_address
from roles.authority import ensure_can_grant, ensure_not_self
from roles.choices import BindingSourceChoices
from roles.models import OWNER_ROLE
from roles.services import actor_iam_id, create_binding, end_owned_binding, ensure_owner_remains

from .models import AccountSettings, ClaimRule, Policy, TrustedProfile


# --- the account --------------------------------------------------------------------------------------------

ACCOUNT_ID_CACHE_KEY = "iam:account_id"
SETTINGS_FIELDS = ("restrict_create_service_id", "restrict_create_platform_apikey", "mfa",
                   "session_expiration_in_seconds", "session_invalidation_in_seconds", "max_sessions_per_identity",
                   "allowed_ip_addresses")
RESTRICT_VALUES = ("RESTRICTED", "NOT_RESTRICTED", "NOT_SET")
MFA_VALUES = ("NONE", "NONE_NO_ROPC", "TOTP", "TOTP4ALL", "LEVEL1", "LEVEL2", "LEVEL3")


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


def setting_problem(field, value):
    """Why ``value`` is not acceptable for the account setting ``field``, or None."""
    if not isinstance(value, str):
        return "Must be a string."
    if field.startswith("restrict_"):
        return None if value in RESTRICT_VALUES else f"Must be one of {', '.join(RESTRICT_VALUES)}."
    if field == "mfa":
        return None if value in MFA_VALUES else f"Must be one of {', '.join(MFA_VALUES)}."
    if field.endswith("_seconds"):
        if value == "NOT_SET" or (value.isdigit() and 900 <= int(value) <= 86400 * 30):
            return None
        return "Must be NOT_SET or a number of seconds between 900 and 2592000."
    if field == "max_sessions_per_identity":
        return None if value == "NOT_SET" or (value.isdigit() and 1 <= int(value) <= 10) else \
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


@transaction.atomic
def update_account_settings(actor, version, changes):
    """Change the account's identity settings (``changes``: field -> value; None values are left alone),
    under If-Match ``version``. Every value is checked first: nothing changes unless all are right."""
    row = lock_row(AccountSettings, account().pk, version, label="account settings")
    errors = {}
    for field in SETTINGS_FIELDS:
        value = changes.get(field)
        if value is None:
            continue
        problem = setting_problem(field, value)
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


def _policy_binding(actor, policy, identity):
    return create_binding(actor, identity, policy.role, scope=policy.scope, source=BindingSourceChoices.POLICY)


@transaction.atomic
def create_policy(actor, identity, role, scope, subjects, resources, type="access", description=""):
    """A policy = a binding of ``role`` to ``identity`` over ``scope``, under the same no-escalation
    rule as any binding; the IBM-shaped subjects and resources are kept as given. Writes the policy and
    its binding (both audited) and invalidates the identity's permissions."""
    policy = Policy(type=type, description=description or "", subject_iam_id=identity.iam_id, role=role,
                    subjects=subjects, resources=resources, scope=scope or "", created_by=actor_iam_id(actor),
                    last_modified_by=actor_iam_id(actor))
    policy.binding = _policy_binding(actor, policy, identity)
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
def replace_policy(actor, pk, version, identity, role, scope, subjects, resources, type="access", description=""):
    """Replace a policy under If-Match ``version``: the actor must hold both what it granted and what it
    will grant. Its binding is ended and, for an active policy, made again."""
    policy = lock_policy(pk, version)
    ensure_can_grant(actor, policy.role, policy.scope)
    active = policy.state == "active"
    _drop_binding(actor, policy)
    policy.type, policy.description, policy.subject_iam_id = type, description or "", identity.iam_id
    policy.role, policy.scope, policy.subjects, policy.resources = role, scope or "", subjects, resources
    policy.last_modified_by = actor_iam_id(actor)
    if active:
        policy.binding = _policy_binding(actor, policy, identity)
    policy.save()
    return policy


@transaction.atomic
def set_policy_state(actor, pk, version, state):
    """``deleted`` removes the binding (the policy grants nothing); ``active`` restores it to the
    subject, who must still exist."""
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
        if identity is None:
            raise Conflict("The policy's subject no longer exists.")
        policy.binding = _policy_binding(actor, policy, identity)
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
