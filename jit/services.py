"""Just-in-time access: eligibilities, requests, approvals, activation, revocation and expiry.

Called alike by the API, the console, the commands and the Celery tasks; ``actor`` is the acting
identity (None for the platform). Every state change locks the request row first, so two approvers
at once, or an approval racing the expiry sweep, change it once. Every step is an audit event
(``jit.requested``, ``jit.approved``, ``jit.denied``, ``jit.activated``, ``jit.expired``,
``jit.revoked``, ``jit.cancelled``); mail and the expiry task go to Celery through the outbox, written
in the same transaction.
"""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

import audit
from iam_project import outbox
from iam_project.errors import Conflict, Forbidden, InvalidInput, NotFound
from iam_project.locking import lock_row
from iam_project.stepup import require_step_up
from roles import engine
from roles.choices import BindingSourceChoices
from roles.models import OWNER_ROLE, RoleBinding
from roles.permissions import scope_covers
from roles.authority import ensure_can_grant, ensure_token_covers, holds_standing, is_full_owner, is_same_identity
from roles.services import actor_iam_id, create_binding, end_owned_binding

from .choices import RequestStatusChoices as Status
from .durations import format_duration
from .models import AccessRequest, Approval, Eligibility

logger = logging.getLogger(__name__)

APPROVE_PERMISSION = ("jit/requests", "approve")
REMINDER_BEFORE = timedelta(minutes=5)


def _identity_field(identity):
    return {identity.identity_type: identity}


def _standing_bindings(identity, at=None):
    """(role key, scope) of the bindings held now *not* through a JIT grant: eligibility never chains
    off a temporary grant."""
    return set(
        RoleBinding.objects.for_identity(identity).current(at).exclude(source=BindingSourceChoices.JIT)
        .values_list("role__key", "scope")
    )


def _holds_role_over(bindings, role_key, scope):
    """Does one of ``bindings`` give ``role_key`` over ``scope``? A role held only over an unrelated
    scope does not count for a wider or different one."""
    return any(key == role_key and scope_covers(bound_scope, scope or None) for key, bound_scope in bindings)


def _holds_role(identity, role, scope=""):
    """Holds every entry of ``role`` standing over ``scope`` (what approving it takes)."""
    return all(holds_standing(identity, e["resource"], e["permission"], scope=scope) for e in role.acl_entries)


def obtainable_roles(identity):
    """(role, scope) pairs the identity could request just in time."""
    held = {key for key, _ in _standing_bindings(identity)}
    subject = Q(**_identity_field(identity)) | Q(held_role__key__in=held)
    for eligibility in Eligibility.objects.filter(subject).select_related("role"):
        yield eligibility.role, eligibility.scope


def obtainable_entries(identity):
    """What the identity could request just in time, as (ACL entries, scope): registered with
    roles.authority, so that managing an identity counts what it can obtain, not only what it holds."""
    for role, scope in obtainable_roles(identity):
        yield role.acl_entries, scope


def _details(request, **extra):
    """What every jit.* event carries."""
    return {
        "requester": request.requester_iam_id, "role": request.role.key, "scope": request.scope,
        "duration": format_duration(request.duration), "justification": request.justification,
        "status": request.status, **extra,
    }


def _record(action, request, **extra):
    audit.record(action, target_type="jitRequest", target_id=str(request.pk),
                 target_repr=f"{request.role.key} for {request.requester_iam_id}", details=_details(request, **extra))


def _notify(kind, request):
    outbox.enqueue("jit.tasks.send_jit_mail", args=[kind, str(request.pk)])


# --- eligibilities -----------------------------------------------------------------------------------

# Model field -> the API's name for it, so a refusal names the field the caller sent.
_API_NAMES = {"max_duration": "maxDuration", "approvals_required": "approvalsRequired", "held_role": "heldRole",
              "approver_role": "approverRole", "principal": "iamId", "client": "iamId", "__all__": "iamId"}


def _check_eligibility(eligibility):
    from django.core.exceptions import ValidationError

    try:
        eligibility.full_clean(exclude=["created_by"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput({_API_NAMES.get(k, k): v for k, v in exc.message_dict.items()}) from None
    if eligibility.role.key == OWNER_ROLE:
        raise InvalidInput({"role": ["system:owner cannot be granted just in time."]})


@transaction.atomic
def save_eligibility(actor, eligibility, replacing=False, version=None):
    """Create or replace an eligibility. The actor must hold the role it makes requestable (and the
    approver role it names) — and, when replacing, what the stored one made requestable: nobody makes
    grantable, or takes away, what they could not grant themselves."""
    if replacing:
        stored = lock_eligibility(eligibility.pk, version)
        ensure_can_grant(actor, stored.role, stored.scope)
        if stored.approver_role is not None:
            ensure_can_grant(actor, stored.approver_role)
    _check_eligibility(eligibility)
    ensure_can_grant(actor, eligibility.role, eligibility.scope)
    if eligibility.approver_role is not None:
        ensure_can_grant(actor, eligibility.approver_role)
    if not eligibility.approval_required and _covers(eligibility, actor):
        # Otherwise it is a back door: a role one holds today, requestable by oneself alone tomorrow.
        raise Forbidden("You cannot make yourself eligible without someone else's approval.")
    if not eligibility.created_by or eligibility._state.adding:
        eligibility.created_by = actor_iam_id(actor)
    eligibility.save()
    return eligibility


def _covers(eligibility, identity):
    """Would ``eligibility`` let ``identity`` request its role?"""
    if identity is None:
        return False
    if eligibility.held_role_id is not None:
        return eligibility.held_role.key in {key for key, _ in _standing_bindings(identity)}
    return is_same_identity(eligibility.identity, identity)


def lock_eligibility(pk, version=None):
    return lock_row(Eligibility, pk, version, label="eligibility")


@transaction.atomic
def delete_eligibility(actor, pk, version=None):
    """Delete an eligibility. Requests already made keep their course."""
    eligibility = lock_eligibility(pk, version)
    ensure_can_grant(actor, eligibility.role, eligibility.scope)
    eligibility.delete()


def eligibilities_for(identity, role, scope=""):
    """The eligibilities that let ``identity`` request ``role`` on ``scope``: naming the identity, or
    naming a role it holds standing over that scope."""
    held = _standing_bindings(identity)
    subject = Q(**_identity_field(identity)) | Q(held_role__key__in={key for key, _ in held})
    candidates = Eligibility.objects.filter(subject, role=role).select_related("role", "approver_role", "held_role")
    return [
        e for e in candidates
        if scope_covers(e.scope, scope or None)
        and (e.held_role_id is None or _holds_role_over(held, e.held_role.key, scope))
    ]


# --- requests -------------------------------------------------------------------------------------

@transaction.atomic
def request_access(requester, role, duration, justification="", scope=""):
    """Ask for ``role`` for ``duration``. Refused without a matching eligibility, beyond its maximum,
    without a required justification, or while the same role is already pending or active. An
    eligibility that needs no approval activates the grant at once."""
    if requester is None:
        raise Forbidden("Only a principal or a client can request access.")
    ensure_token_covers(requester, role.acl_entries, f"a grant of {role.key}")
    justification = (justification or "").strip()
    scope = scope or ""
    eligible = eligibilities_for(requester, role, scope)
    if not eligible:
        raise Forbidden(f"You are not eligible to request {role.key}" + (f" on {scope}" if scope else "") + ".")
    fitting = [e for e in eligible if duration <= e.max_duration]
    if not fitting:
        longest = max(e.max_duration for e in eligible)
        raise InvalidInput({"duration": [f"At most {format_duration(longest)} may be requested for {role.key}."]})
    if not justification and all(e.justification_required for e in fitting):
        raise InvalidInput({"justification": ["A justification is required."]})
    fitting = [e for e in fitting if justification or not e.justification_required]
    # The least demanding eligibility that fits applies: no approval first, then fewest approvals.
    chosen = min(fitting, key=lambda e: (e.approval_required, e.approvals_required, str(e.pk)))
    if not chosen.approval_required:  # activating at once: a recent second factor (iam_project.stepup)
        require_step_up(requester, "activate a just-in-time grant")
    try:
        with transaction.atomic():  # the partial unique constraint settles a race between two requests
            request = AccessRequest.objects.create(
                requester_iam_id=requester.iam_id, eligibility=chosen, role=role, scope=scope, duration=duration,
                justification=justification, approvals_required=chosen.approvals_required,
                approver_role=chosen.approver_role, **_identity_field(requester),
            )
    except IntegrityError:
        raise Conflict(f"You already have a pending or active request for {role.key}.") from None
    _record("jit.requested", request, approvalRequired=chosen.approval_required)
    if chosen.approval_required:
        _notify("requested", request)
    else:
        _activate(request, approved_by=None)
    return request


def lock_request(pk):
    try:
        return (AccessRequest.objects.select_for_update(of=("self",))
                .select_related("role", "approver_role").get(pk=pk))
    except AccessRequest.DoesNotExist:
        raise NotFound("No such access request.") from None


def _ensure_can_decide(actor, request):
    """An approver is someone else, holding jit/requests:approve, the role being granted (over the
    scope) and — when the eligibility names one — the approver role."""
    if actor is None:
        return  # the platform itself (an operator command without --actor)
    if request.is_requester(actor):
        raise Forbidden("You cannot approve or deny your own request.")
    if actor.identity_type != "principal":
        # Approval is a person's decision: a program (perhaps made by an approver for the purpose)
        # must not supply the second approval of a two-person rule.
        raise Forbidden("Only a person (a principal) can approve or deny access requests.")
    if not engine.holds(actor, *APPROVE_PERMISSION):
        raise Forbidden("Deciding access requests needs the permission jit/requests:approve.")
    if not _holds_role(actor, request.role, request.scope):
        raise Forbidden(f"Only someone holding {request.role.key} may approve or deny it.")
    if request.approver_role is not None and not _holds_role_over(
            _standing_bindings(actor), request.approver_role.key, request.scope):
        raise Forbidden(f"Only holders of {request.approver_role.key} may decide this request.")


def _ensure_pending(request):
    if request.status != Status.PENDING:
        raise Conflict(f"The request is already {request.status}.")


@transaction.atomic
def approve(actor, pk, comment=""):
    """Add the actor's approval; the last one needed activates the grant."""
    request = lock_request(pk)
    _ensure_pending(request)
    _ensure_can_decide(actor, request)
    require_step_up(actor, "approve an access request")  # a recent second factor (iam_project.stepup)
    approver = actor_iam_id(actor)
    try:
        with transaction.atomic():
            Approval.objects.create(request=request, approver=approver, comment=comment or "")
    except IntegrityError:
        raise Conflict("You have already approved this request.") from None
    count = request.approvals.count()
    _record("jit.approved", request, approver=approver, comment=comment or "",
            approvals=count, approvalsRequired=request.approvals_required)
    if count >= request.approvals_required:
        _activate(request, approved_by=approver, comment=comment)
    return request


@transaction.atomic
def deny(actor, pk, comment=""):
    request = lock_request(pk)
    _ensure_pending(request)
    _ensure_can_decide(actor, request)
    request.status = Status.DENIED
    request.decided_by, request.decided_at, request.decision_comment = actor_iam_id(actor), timezone.now(), comment or ""
    request.save()
    _record("jit.denied", request, approver=request.decided_by, comment=request.decision_comment)
    _notify("denied", request)
    return request


@transaction.atomic
def cancel(actor, pk):
    """The requester withdraws a pending request."""
    request = lock_request(pk)
    if actor is not None and not request.is_requester(actor):
        raise Forbidden("Only the requester can cancel a request.")
    _ensure_pending(request)
    request.status = Status.CANCELLED
    request.ended_by, request.ended_at = actor_iam_id(actor), timezone.now()
    request.save()
    _record("jit.cancelled", request)
    return request


def _activate(request, approved_by, comment=""):
    """Create the time-boxed binding and schedule its expiry (ETA task; the beat sweep backs it up)."""
    now = timezone.now()
    request.starts_at, request.expires_at = now, now + request.duration
    # The eligibility and the approvals were the checks: the binding is made without the granting ones.
    request.binding = create_binding(None, request.requester, request.role, scope=request.scope,
                                     source=BindingSourceChoices.JIT, starts_at=now, expires_at=request.expires_at,
                                     created_by=approved_by or "system", check=False)
    request.status = Status.ACTIVE
    request.decided_by, request.decided_at = approved_by or "system", now
    request.decision_comment = comment or ""
    request.save()
    _record("jit.activated", request, approver=approved_by, startsAt=now.isoformat(),
            expiresAt=request.expires_at.isoformat(), bindingId=str(request.binding.pk))
    outbox.enqueue("jit.tasks.expire_grant", args=[str(request.pk)], eta=request.expires_at)
    _notify("approved", request)


def _end(request, status, ended_by, action, **extra):
    binding = request.binding
    request.status, request.ended_by, request.ended_at = status, ended_by, timezone.now()
    request.binding = None
    request.save()
    if binding is not None:
        end_owned_binding(binding)  # audited; invalidates the requester's permissions at once
    _record(action, request, **extra)


@transaction.atomic
def revoke(actor, pk, comment=""):
    """End an active grant early: by the requester, by someone who could approve it, or by an owner."""
    request = lock_request(pk)
    if request.status != Status.ACTIVE:
        raise Conflict(f"Only an active grant can be revoked; this request is {request.status}.")
    if actor is not None and not request.is_requester(actor) and not is_full_owner(actor):
        _ensure_can_decide(actor, request)
    _end(request, Status.REVOKED, actor_iam_id(actor), "jit.revoked", comment=comment or "")
    _notify("revoked", request)
    return request


def end_jit_binding(actor, binding, check=True):
    """The ender of just-in-time bindings (registered with roles.services): removing one anywhere
    revokes its access request, under the rules of ``revoke`` — so no request stays ``active`` over a
    binding that is gone."""
    request = AccessRequest.objects.select_for_update(of=("self",)).filter(binding=binding).first()
    if request is None:  # a grant whose request is gone: only someone who could revoke any grant
        if check and actor is not None and not is_full_owner(actor):
            raise Forbidden("Only a full owner may remove a just-in-time binding without its request.")
        end_owned_binding(binding)
        return
    if check:
        revoke(actor, request.pk, comment="removed through its binding")
        return
    _end(request, Status.REVOKED, actor_iam_id(actor), "jit.revoked", comment="its holder was deleted")


@transaction.atomic
def expire(pk, now=None):
    """Expire one grant if its time has come (idempotent: safe from the ETA task and the sweep alike).
    Returns True when it expired it now."""
    now = now or timezone.now()
    request = lock_request(pk)
    if request.status != Status.ACTIVE or request.expires_at is None or request.expires_at > now:
        return False
    _end(request, Status.EXPIRED, "system", "jit.expired")
    _notify("expired", request)
    return True


def sweep(now=None):
    """The backstop run every 30 s by beat (and by ``manage.py jit_expire``): expire every grant whose
    time has passed, and send the reminders of grants about to end. Returns (expired, reminded)."""
    now = now or timezone.now()
    expired = 0
    for pk in AccessRequest.objects.filter(status=Status.ACTIVE, expires_at__lte=now).values_list("pk", flat=True):
        expired += bool(expire(pk, now))
    reminded = 0
    due = AccessRequest.objects.filter(status=Status.ACTIVE, reminder_sent=False, expires_at__gt=now,
                                       expires_at__lte=now + REMINDER_BEFORE)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            claimed = AccessRequest.objects.filter(pk=pk, reminder_sent=False).update(reminder_sent=True)
            if claimed:
                _notify("expiring", AccessRequest(pk=pk))
                reminded += 1
    return expired, reminded


def token_lifetime_cap(identity, default_seconds, now=None):
    """Seconds an access token issued now to ``identity`` may live: no longer than its earliest
    active just-in-time grant (so a token never outlives the access it was issued under). Read from
    the engine's compiled grants — the same bindings, cached and invalidated with every change — so a
    token request costs no query for it once the identity's grants are warm."""
    if identity is None:
        return default_seconds
    at = (now or timezone.now()).timestamp()
    ends = [grant.expires_at for grant in engine.grants_for(identity)
            if grant.source == BindingSourceChoices.JIT and grant.expires_at is not None
            and grant.expires_at > at and (grant.starts_at is None or grant.starts_at <= at)]
    if not ends:
        return default_seconds
    return max(1, min(default_seconds, int(min(ends) - at)))
