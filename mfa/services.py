"""Second factors: enrolment, verification, removal, reset by an administrator, the policy and the report.

Called alike by the self-service pages, the sign-in pages, the API and the commands. ``actor`` is the
acting identity (None for the platform: an operator command). Every write is one transaction and leaves
its audit event — ``mfa.enrolled``, ``mfa.removed``, ``mfa.reset``, ``mfa.verified``, ``mfa.failed``,
``mfa.recovery_code_used`` — naming the factor's kind, id and name, never a secret or a code.
"""

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

import audit
from iam_project.errors import Conflict, Forbidden, InvalidInput, NotFound
from iam_project.hooks import invalidate_credentials
from iam_project.locking import lock_row
from iam_project.stepup import require_step_up
from roles.authority import ensure_can_manage, is_same_identity
from roles.services import resolve_roles, role_keys

from .models import MFA_LEVELS, MfaPolicy, MfaReport

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "Recovery codes"
MAX_NAME_LENGTH = 64  # django-otp's Device.name
# Factor ids name their kind: one id space over django-otp's device tables.
KIND_PREFIXES = {"totp": TOTPDevice, "passkey": WebAuthnCredential, "recovery": StaticDevice}


# --- the policy ------------------------------------------------------------------------------------------------

def policy():
    """The one multi-factor policy (its row is made on first use)."""
    return MfaPolicy.current()


@dataclass(frozen=True)
class Requirement:
    required: bool = False
    passkey_only: bool = False
    reason: str = ""


def requirement(principal, current=None):
    """Must ``principal`` sign in with a second factor, and which kind (one query for the roles)."""
    current = current or policy()
    if current.required_for_everyone:
        return Requirement(True, current.passkey_only, f"the account requires it ({current.level})")
    held = set(role_keys(principal)) & set(current.required_roles or [])
    if held:
        return Requirement(True, False, f"holders of {', '.join(sorted(held))} require it")
    return Requirement(False, False, "")


@transaction.atomic
def set_policy(actor, level=None, required_roles=None, version=None, field_names=None):
    """Change who must use a second factor (``level``: IBM's account value; ``required_roles``: role keys
    whose holders must, whatever the level). Needs a recent second factor. Writes the row (audited).
    ``field_names`` maps ``level``/``required_roles`` to the names the caller's face uses in errors."""
    names = {"level": "mfa", "required_roles": "requiredRoles", **(field_names or {})}
    require_step_up(actor, "change the multi-factor policy")
    row = lock_row(MfaPolicy, policy().pk, version, label="multi-factor policy")
    before_level, before_roles = row.level, list(row.required_roles or [])
    errors = {}
    if level is not None:
        if level not in MFA_LEVELS:
            errors[names["level"]] = [f"Must be one of {', '.join(MFA_LEVELS)}."]
        else:
            row.level = level
    if required_roles is not None:
        if not isinstance(required_roles, list) or not all(isinstance(k, str) for k in required_roles):
            errors[names["required_roles"]] = ["Must be a list of role keys."]
        else:
            resolve_roles(required_roles, field=names["required_roles"])
            row.required_roles = list(dict.fromkeys(required_roles))
    if errors:
        raise InvalidInput(errors)
    # Recorded here, not by a model receiver: the row's first making (on first read) changes nothing.
    changed = {name: {"before": before, "after": after} for name, before, after in (
        ("level", before_level, row.level), ("requiredRoles", before_roles, row.required_roles)) if before != after}
    row.save()
    audit.record("mfa.policy_changed", target_type="mfaPolicy", target_id=str(row.pk), target_repr=str(row),
                 details={"changes": changed})
    return row


# --- factors ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Factor:
    id: str
    kind: str        # totp | passkey | recovery
    name: str
    created_at: object
    last_used_at: object
    remaining: int | None = None  # recovery codes left
    device: object = None


def _factor(kind, device, remaining=None):
    return Factor(f"{kind}-{device.pk}", kind, device.name, device.created_at, device.last_used_at, remaining, device)


def factors(principal):
    """The principal's confirmed factors: authenticator apps, passkeys, and its recovery codes (if any left)."""
    found = [_factor("totp", d) for d in TOTPDevice.objects.filter(user=principal, confirmed=True).order_by("pk")]
    found += [_factor("passkey", d) for d in
              WebAuthnCredential.objects.filter(user=principal, confirmed=True).order_by("pk")]
    for device in StaticDevice.objects.filter(user=principal, confirmed=True).order_by("pk"):
        left = device.token_set.count()
        if left:
            found.append(_factor("recovery", device, remaining=left))
    return found


def primary_factors(principal, passkey_only=False):
    """Factors that enrol a principal (recovery codes only back them up)."""
    kinds = {"passkey"} if passkey_only else {"totp", "passkey"}
    return [f for f in factors(principal) if f.kind in kinds]


def has_factor(principal):
    """Has the principal a confirmed authenticator app or passkey (the step-up check applies to it)?
    Two indexed queries, no row loaded."""
    if getattr(principal, "identity_type", None) != "principal":
        return False
    return (TOTPDevice.objects.filter(user=principal, confirmed=True).exists()
            or WebAuthnCredential.objects.filter(user=principal, confirmed=True).exists())


def is_enrolled(principal, passkey_only=False):
    return bool(primary_factors(principal, passkey_only))


def parse_factor_id(value, field="id"):
    kind, _, pk = str(value or "").partition("-")
    if kind not in KIND_PREFIXES or not pk.isdigit() or len(pk) > 18:
        raise NotFound("No such factor.")
    return kind, int(pk)


def _lock_factor(principal, factor_id):
    kind, pk = parse_factor_id(factor_id)
    device = KIND_PREFIXES[kind].objects.select_for_update().filter(pk=pk, user=principal).first()
    if device is None or not device.confirmed:
        raise NotFound("No such factor.")
    return kind, device


def _ensure_self(actor, principal, what):
    """Factors are enrolled and changed by their owner only: nobody adds a factor to someone else's
    account (an administrator resets them instead)."""
    if actor is not None and not is_same_identity(actor, principal):
        raise Forbidden(f"You can only {what} for yourself; an administrator may reset someone's factors.")


def _details(kind, device, **extra):
    return {"factor": kind, "factorId": f"{kind}-{device.pk}", "name": device.name, **extra}


def _lock_principal(principal):
    return lock_row(get_user_model(), principal.pk, label="principal")


@transaction.atomic
def begin_totp(actor, principal, name="Authenticator app"):
    """Start enrolling an authenticator app: a new, unconfirmed TOTP device (any earlier unconfirmed one
    is dropped). Returns the device; its secret (``device.config_url``) is shown once, then only the
    app holds it. Needs a recent second factor when the principal already has one."""
    _ensure_self(actor, principal, "add a second factor")
    principal = _lock_principal(principal)
    if factors(principal):
        require_step_up(actor, "add a second factor")
    name = _clean_name(name or "Authenticator app")
    TOTPDevice.objects.filter(user=principal, confirmed=False).delete()
    return TOTPDevice.objects.create(user=principal, name=name, confirmed=False)


def _clean_name(name, field="name"):
    name = str(name or "").strip()
    if not name:
        raise InvalidInput({field: ["A name is required."]})
    if len(name) > MAX_NAME_LENGTH or "\x00" in name:
        raise InvalidInput({field: [f"At most {MAX_NAME_LENGTH} characters."]})
    return name


def confirm_totp(actor, principal, device_pk, code):
    """Confirm an authenticator app with a code it shows: the factor is enrolled (``mfa.enrolled``).
    A wrong code leaves it unconfirmed (and counts toward the device's throttle); raises InvalidInput."""
    _ensure_self(actor, principal, "add a second factor")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(pk=device_pk, user=principal, confirmed=False).first()
        if device is None:
            raise NotFound("No authenticator app is waiting for confirmation; start again.")
        verified = _verify_code_format(code, digits=device.digits) and device.verify_token(_digits(code))
    # Outside the block above: a failure's throttle count must stay written.
    if not verified:
        raise InvalidInput({"code": ["The code is not correct; enter the current code your app shows."]})
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit.record("mfa.enrolled", principal, details=_details("totp", device))
    logger.info("mfa.enrolled iam_id=%s factor=totp id=%s", principal.iam_id, device.pk)
    return device


def _digits(code):
    return "".join(str(code or "").split())


def _verify_code_format(code, digits=6):
    value = _digits(code)
    return value.isdigit() and len(value) == digits


def recovery_digest(code):
    """How a recovery code is stored: the first 96 bits of its SHA-256, base64url (django-otp's token
    column holds 16 characters). Codes carry 80 random bits and are looked up by this digest only."""
    normalised = "".join(ch for ch in str(code or "").lower() if ch.isalnum())
    return base64.urlsafe_b64encode(hashlib.sha256(normalised.encode()).digest()[:12]).decode()


def _new_recovery_code():
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits, 16 characters
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


@transaction.atomic
def new_recovery_codes(actor, principal):
    """Replace the principal's recovery codes with ten new one-time codes. Returns them: shown once,
    stored only as digests. Needs an enrolled factor and a recent second factor."""
    _ensure_self(actor, principal, "make recovery codes")
    principal = _lock_principal(principal)
    if not is_enrolled(principal):
        raise Conflict("Recovery codes back up a second factor: add an authenticator app or a passkey first.")
    require_step_up(actor, "make new recovery codes")
    device, _ = StaticDevice.objects.get_or_create(user=principal, name=RECOVERY_DEVICE_NAME,
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=recovery_digest(c)) for c in codes)
    device.throttle_reset(commit=False)
    device.confirmed = True
    device.save()
    audit.record("mfa.enrolled", principal, details=_details("recovery", device, count=len(codes)))
    return codes


@transaction.atomic
def rename_factor(actor, principal, factor_id, name):
    _ensure_self(actor, principal, "rename a second factor")
    kind, device = _lock_factor(principal, factor_id)
    device.name = _clean_name(name)
    device.save(update_fields=["name"])
    return _factor(kind, device)


@transaction.atomic
def remove_factor(actor, principal, factor_id):
    """Remove one of one's own factors (``mfa.removed``). Refused for the last one where the policy
    requires a second factor; the recovery codes go with the last authenticator app or passkey."""
    _ensure_self(actor, principal, "remove a second factor")
    principal = _lock_principal(principal)
    kind, device = _lock_factor(principal, factor_id)
    require_step_up(actor, "remove a second factor")
    need = requirement(principal)
    remaining = [f for f in primary_factors(principal, need.passkey_only) if f.id != f"{kind}-{device.pk}"]
    if kind != "recovery" and not remaining and need.required:
        raise Conflict(f"This is your last second factor and {need.reason}: add another one before removing it.")
    details = _details(kind, device)
    device.delete()
    audit.record("mfa.removed", principal, details=details)
    if kind != "recovery" and not primary_factors(principal):
        for backup in StaticDevice.objects.filter(user=principal):
            audit.record("mfa.removed", principal, details=_details("recovery", backup, reason="last factor removed"))
            backup.delete()
    return details


@transaction.atomic
def reset_factors(actor, pk):
    """An administrator removes every factor of someone else (lost phone, lost key): one ``mfa.reset``
    event. Managing someone's factors is managing them (``ensure_can_manage``: everything they can
    obtain), and needs a recent second factor. Their sessions and tokens end (the security stamp
    changes): whoever held the lost factor is signed out too. They enrol again at their next sign-in
    where the policy requires a second factor."""
    Principal = get_user_model()
    principal = lock_row(Principal, pk, label="principal")
    if is_same_identity(actor, principal):
        raise Forbidden("You cannot reset your own second factors; remove them one by one from your account page.")
    ensure_can_manage(actor, principal)
    require_step_up(actor, "reset someone's second factors")
    removed = {
        "totp": TOTPDevice.objects.filter(user=principal).delete()[1].get("otp_totp.TOTPDevice", 0),
        "passkeys": WebAuthnCredential.objects.filter(user=principal).delete()[1].get(
            WebAuthnCredential._meta.label, 0),
        "recoveryCodes": StaticDevice.objects.filter(user=principal).delete()[1].get("otp_static.StaticToken", 0),
    }
    principal.renew_security_stamp()
    principal.save(update_fields=["security_stamp"])
    invalidate_credentials(principal, "mfa.reset")
    audit.record("mfa.reset", principal, details={"removed": removed})
    logger.info("mfa.reset iam_id=%s by=%s", principal.iam_id, getattr(actor, "iam_id", "system"))
    return principal, removed


# --- verification --------------------------------------------------------------------------------------------

PASSKEY_AMR_HARDWARE = "hwk"
PASSKEY_AMR_SOFTWARE = "swk"


def passkey_amr(device):
    """RFC 8176: a passkey that can be synced to other devices lives in software; one that cannot, in
    the authenticator's hardware."""
    return PASSKEY_AMR_SOFTWARE if device.backup_eligible else PASSKEY_AMR_HARDWARE


def verify_code(principal, code, passkey_only=False):
    """Check a code typed at sign-in or step-up: an authenticator app's current code, or one of the
    recovery codes (used up by this). Returns (kind, device) or (None, None). Each device throttles its
    own failures (django-otp); the caller counts failures toward the sign-in lock-out. Each check locks
    the device row, so one code is accepted once even by two requests at once."""
    value = _digits(code)
    if value.isdigit() and len(value) in (6, 8) and not passkey_only:
        for pk in TOTPDevice.objects.filter(user=principal, confirmed=True).values_list("pk", flat=True):
            with transaction.atomic():
                device = TOTPDevice.objects.select_for_update().get(pk=pk)
                if device.verify_token(value):
                    return "totp", device
        return None, None
    digest = recovery_digest(code)
    if len(str(code or "")) > 64:
        return None, None
    for pk in StaticDevice.objects.filter(user=principal, confirmed=True).values_list("pk", flat=True):
        with transaction.atomic():
            device = StaticDevice.objects.select_for_update().get(pk=pk)
            if device.verify_token(digest):
                return "recovery", device
    return None, None


def record_verified(principal, kind, device, purpose):
    """``mfa.verified`` (and ``mfa.recovery_code_used`` for a recovery code, with how many are left)."""
    details = _details(kind, device, purpose=purpose)
    audit.record("mfa.verified", principal, actor=principal.iam_id, actor_type="principal", details=details)
    if kind == "recovery":
        left = device.token_set.count()
        audit.record("mfa.recovery_code_used", principal, actor=principal.iam_id, actor_type="principal",
                     details={**details, "remaining": left})
    logger.info("mfa.verified iam_id=%s factor=%s purpose=%s", principal.iam_id, kind, purpose)


def record_failed(principal, purpose, reason="wrong_code"):
    audit.record("mfa.failed", principal, actor=principal.iam_id, actor_type="principal",
                 details={"purpose": purpose, "reason": reason})
    logger.info("mfa.failed iam_id=%s purpose=%s reason=%s", principal.iam_id, purpose, reason)


def amr_for(kind, device=None):
    """The RFC 8176 methods a factor adds to a password."""
    if kind == "passkey":
        return [passkey_amr(device), "mfa"]
    return ["otp", "mfa"]


# --- reading: status and the report ----------------------------------------------------------------------

def status(principal, current=None):
    """What a principal has enrolled and whether it meets the policy (no secret, no code)."""
    need = requirement(principal, current)
    found = factors(principal)
    kinds = {f.kind for f in found}
    enrolled = is_enrolled(principal, need.passkey_only) if found else False
    return {
        "level": (current or policy()).level,
        "required": need.required,
        "passkeyOnly": need.passkey_only,
        "reason": need.reason,
        "enrolled": bool(kinds & {"totp", "passkey"}),
        "complies": enrolled or not need.required,
        "totp": "totp" in kinds,
        "passkeys": sum(1 for f in found if f.kind == "passkey"),
        "recoveryCodesLeft": sum(f.remaining or 0 for f in found if f.kind == "recovery"),
        "factors": found,
    }


REPORT_RETENTION = timedelta(days=1)


@transaction.atomic
def create_report(actor):
    """Snapshot every principal's enrolment (IBM's MFA report); reports older than a day are dropped."""
    current = policy()
    users = []
    for principal in get_user_model().objects.order_by("email"):
        state = status(principal, current)
        users.append({"iam_id": principal.iam_id, "email": principal.email, "name": principal.display_name,
                      "level": current.level, **{k: v for k, v in state.items() if k != "factors"}})
    MfaReport.objects.filter(created_at__lt=timezone.now() - REPORT_RETENTION).delete()
    report = MfaReport.objects.create(created_by=getattr(actor, "iam_id", "system"), users=users)
    audit.record("mfa.report_created", target_type="mfaReport", target_id=report.reference,
                 details={"users": len(users)})
    return report


def find_report(reference):
    if reference == "latest":
        report = MfaReport.objects.first()
    elif "\x00" in str(reference):  # names no report (and PostgreSQL cannot even compare it)
        report = None
    else:
        report = MfaReport.objects.filter(reference=str(reference)[:36]).first()
    if report is None:
        raise NotFound("No such report.")
    return report
