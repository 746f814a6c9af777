"""Principal operations: create, replace, update, delete, suspend, passwords.

Called alike by the API, the console and the commands. ``actor`` is the acting identity, or
``None`` for the platform itself. Every function runs in one transaction: nothing is
half-written. Writes that must not race lock the row and compare its version (If-Match).
"""

import logging
import secrets

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from iam_project import outbox
from iam_project.errors import Conflict, Forbidden, InvalidInput, NotFound
from iam_project.hooks import invalidate_credentials
from iam_project.locking import lock_row
from iam_project.validators import validate_email_address
from roles.models import RoleBinding
from roles.authority import ensure_can_manage, ensure_not_self, is_same_identity
from roles.services import ensure_owner_remains, release_bindings_of, replace_roles, resolve_roles

logger = logging.getLogger(__name__)


def _principal_model():
    return get_user_model()


def lock_principal(pk, version=None):
    """Lock the principal's row for the rest of the transaction, checking If-Match atomically."""
    return lock_row(_principal_model(), pk, version, label="principal")


def _check_email(email, exclude_pk=None):
    Principal = _principal_model()
    email = (email or "").strip().lower()
    try:
        validate_email_address(email)
    except ValidationError as exc:
        raise InvalidInput({"email": list(exc.messages)}) from None
    clash = Principal.objects.filter(email=email)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise InvalidInput({"email": ["A principal with this email already exists."]})
    return email


def _check_password(password, principal, field="password"):
    try:
        password_validation.validate_password(password, principal)
    except ValidationError as exc:
        raise InvalidInput({field: list(exc.messages)}) from None


def _save(principal):
    try:
        principal.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput(exc.message_dict) from None
    try:
        with transaction.atomic():
            principal.save()
    except IntegrityError:
        raise InvalidInput({"email": ["A principal with this email already exists."]}) from None


def _change_email(actor, principal, new_email):
    """Set the (unsaved) principal's email. When someone else changes it, everything issued to the
    old address stops working — signed-in sessions and pending password resets (the security stamp
    changes), and every token — and the old address is told, so an email change is never a quiet path to the account."""
    old_email = principal.email
    if new_email == old_email:
        return
    principal.email = new_email
    if principal.properties.get("emailVerified"):
        # Nobody verified the new address: relying parties must not be told otherwise.
        principal.properties = {k: v for k, v in principal.properties.items() if k != "emailVerified"}
    if is_same_identity(actor, principal):
        return
    principal.renew_security_stamp()
    invalidate_credentials(principal, "principal.email_changed")
    outbox.enqueue("principals.tasks.send_email_changed_notice",
                   args=[str(principal.pk), old_email, actor.iam_id if actor is not None else "system"])


@transaction.atomic
def create_principal(actor, email, properties=None, roles=(), password=None, pk=None,
                     must_change_password=False):
    """Create a principal with the given roles (each one the actor must hold). Writes the principal
    and its bindings."""
    Principal = _principal_model()
    resolve_roles(roles)  # fail on unknown roles before writing anything
    principal = Principal(email=_check_email(email), properties=properties or {},
                          must_change_password=must_change_password)
    if pk is not None:
        principal.id = pk
    if password:
        _check_password(password, principal)
        principal.set_password(password)
    else:
        principal.set_unusable_password()
    _save(principal)
    if roles:
        replace_roles(actor, principal, roles)
    logger.info("principal.created iam_id=%s", principal.iam_id)
    return principal


@transaction.atomic
def put_principal(actor, pk, email, properties, roles, password=None, version=None):
    """PUT semantics: create the principal with this id, or replace its email, properties and roles.

    Returns (principal, created). Idempotent: the same body twice leaves the same state.
    """
    Principal = _principal_model()
    exists = Principal.objects.filter(pk=pk).exists()
    if not exists:
        if version is not None:
            raise NotFound("No such principal, so If-Match cannot match.")
        return create_principal(actor, email, properties, roles, password=password, pk=pk), True
    if password:
        raise InvalidInput({"password": ["A password can only be given when creating; use password reset."]})
    principal = lock_principal(pk, version)
    ensure_can_manage(actor, principal)
    resolve_roles(roles)
    changed = False
    new_email = _check_email(email, exclude_pk=pk)
    if new_email != principal.email or properties != principal.properties:
        _change_email(actor, principal, new_email)
        principal.properties = properties
        changed = True
    if replace_roles(actor, principal, roles):
        changed = True  # the roles are part of the principal's representation, so of its ETag
    if changed:
        _save(principal)
    return principal, False


@transaction.atomic
def update_principal(actor, pk, version=None, email=None, properties=None, roles=None):
    """PATCH semantics: change only what is given. ``properties`` merge (RFC 7396: null removes a key)."""
    principal = lock_principal(pk, version)
    ensure_can_manage(actor, principal)
    if roles is not None:
        resolve_roles(roles)
    dirty = False
    if email is not None:
        new_email = _check_email(email, exclude_pk=pk)
        dirty |= new_email != principal.email
        _change_email(actor, principal, new_email)
    if properties is not None:
        merged = dict(principal.properties)
        for key, value in properties.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        dirty |= merged != principal.properties
        principal.properties = merged
    if roles is not None and replace_roles(actor, principal, roles):
        dirty = True
    if dirty:
        _save(principal)
    return principal


@transaction.atomic
def set_roles(actor, pk, roles, version=None):
    """Replace the principal's direct roles. Returns the principal."""
    principal = lock_principal(pk, version)
    ensure_can_manage(actor, principal)
    if replace_roles(actor, principal, roles):
        principal.save(update_fields=["updated_at"])  # a new version: the roles are part of the ETag
    return principal


@transaction.atomic
def delete_principal(actor, pk, version=None):
    """Delete a principal and its bindings; never the last owner, never oneself."""
    principal = lock_principal(pk, version)
    ensure_not_self(actor, principal, "delete yourself")
    ensure_can_manage(actor, principal)
    ensure_owner_remains(removing=list(RoleBinding.objects.filter(principal=principal)))
    release_bindings_of(actor, principal)  # its policies and grants end through their owners
    invalidate_credentials(principal, "principal.deleted")
    principal.delete()


@transaction.atomic
def suspend_principal(actor, pk, version=None):
    """Suspend: no login, and every token it holds stops working at once. Idempotent."""
    principal = lock_principal(pk, version)
    ensure_not_self(actor, principal, "suspend yourself")
    ensure_can_manage(actor, principal)
    if principal.suspended:
        return principal
    ensure_owner_remains(suspending=principal)
    principal.suspended = True
    principal.suspended_at = timezone.now()
    principal.renew_security_stamp()  # its sessions end for good, not only while suspended
    principal.save(update_fields=["suspended", "suspended_at", "security_stamp"])
    invalidate_credentials(principal, "principal.suspended")
    return principal


@transaction.atomic
def unsuspend_principal(actor, pk, version=None):
    principal = lock_principal(pk, version)
    ensure_can_manage(actor, principal)
    if not principal.suspended:
        return principal
    principal.suspended = False
    principal.suspended_at = None
    principal.save(update_fields=["suspended", "suspended_at"])
    return principal


@transaction.atomic
def request_password_reset(actor, pk):
    """Queue a temporary password for the principal, mailed by a Celery task.

    The temporary password is made inside the task and only ever leaves it by mail: it is not
    returned, logged, or put in the outbox or on the broker. The task is written to the outbox in
    this transaction, so a reset that commits is mailed even if the broker is down at that moment.
    """
    principal = lock_principal(pk)
    if actor is not None and actor.identity_type == "principal" and actor.pk == principal.pk:
        # A reset locks its target out until a new password is set: one's own is changed, not reset.
        raise Forbidden("You cannot reset your own password; change it with POST /resources/me/password.")
    ensure_can_manage(actor, principal)
    if principal.suspended:
        raise Conflict("The principal is suspended; unsuspend it before resetting its password.")
    # The stamp ties the reset to the principal as it is now: if its email changes before the task
    # runs, the reset is void and no password goes to the new address.
    outbox.enqueue("principals.tasks.send_temporary_password", args=[str(principal.pk), principal.security_stamp])
    return principal


def generate_temporary_password():
    return secrets.token_urlsafe(18)


@transaction.atomic
def issue_temporary_password(pk, stamp=None):
    """Set a new random password that must be changed at next login. Returns (principal, password),
    or (principal, None) when ``stamp`` no longer matches (the reset was voided by an email change)
    or the principal is suspended.

    Only the mail task calls this; the caller must not log the password.
    """
    principal = lock_principal(pk)
    if (stamp is not None and stamp != principal.security_stamp) or principal.suspended:
        return principal, None
    password = generate_temporary_password()
    principal.set_password(password)
    principal.must_change_password = True
    principal.save(update_fields=["password", "must_change_password"])
    invalidate_credentials(principal, "password.reset")
    return principal, password


@transaction.atomic
def change_own_password(principal, current_password, new_password):
    """The principal changes its own password (the current one is required)."""
    locked = lock_principal(principal.pk)
    if not locked.check_password(current_password):
        raise InvalidInput({"currentPassword": ["The current password is not correct."]})
    if current_password == new_password:
        raise InvalidInput({"newPassword": ["The new password must differ from the current one."]})
    _check_password(new_password, locked, field="newPassword")
    locked.set_password(new_password)
    locked.must_change_password = False
    locked.save(update_fields=["password", "must_change_password"])
    invalidate_credentials(locked, "password.changed")  # other sessions end with the old password hash
    return locked
