"""Role and binding operations: every grant and every role change goes through here.

These functions enforce least privilege — nobody grants, changes or removes a permission they do
not hold themselves — and the last-owner rule. ``actor`` is the identity acting, or ``None`` for
the platform itself (migrations, bootstrap, Celery tasks, operator commands run as system).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone

import audit
from iam_project.errors import Conflict, Forbidden, InvalidInput, NotFound
from iam_project.stepup import require_step_up

from .authority import ensure_can_grant, ensure_holds_entries, ensure_not_self
from .choices import BindingSourceChoices
from .models import OWNER_ROLE, SYSTEM_NAMESPACE, Role, RoleBinding, validate_role_key
from .permissions import validate_acl_entries


def actor_iam_id(actor):
    return actor.iam_id if actor is not None else "system"


# --- least privilege (the rules live in roles.authority) --------------------------------------------

def _active_owner_bindings():
    now = timezone.now()
    return (
        RoleBinding.objects.owners().current(now)
        .filter(scope="", conditions={}, expires_at__isnull=True)
        .filter(Q(principal__suspended=False) | Q(client__suspended=False))
    )


def ensure_owner_remains(removing=(), suspending=None):
    """Refuse a change that would leave no active, unconditional system:owner binding.

    ``removing`` are bindings about to go; ``suspending`` an identity about to lose its power.
    Locks the owner bindings so that two concurrent removals cannot both pass the count.
    """
    owners = list(_active_owner_bindings().select_for_update(of=("self",)))
    removed_ids = {b.pk for b in removing}
    remaining = [b for b in owners if b.pk not in removed_ids]
    if suspending is not None:
        field = "principal_id" if suspending.identity_type == "principal" else "client_id"
        remaining = [b for b in remaining if getattr(b, field) != suspending.pk]
    if owners and not remaining:
        raise Conflict("This would remove the last active system:owner; bind another owner first.")


# --- roles --------------------------------------------------------------------------------------------

def _validate_role_input(key, acl_entries):
    errors = {}
    try:
        validate_role_key(key)
    except Exception as exc:  # django ValidationError
        errors["key"] = list(getattr(exc, "messages", [str(exc)]))
    else:
        if key.split(":", 1)[0] == SYSTEM_NAMESPACE:
            errors["key"] = ["The 'system:' namespace is reserved for built-in roles."]
    try:
        validate_acl_entries(acl_entries)
    except Exception as exc:
        errors["acl"] = list(getattr(exc, "messages", [str(exc)]))
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def put_role(actor, key, description, acl_entries, expected_version=None):
    """Create or replace the custom role ``key``. Returns (role, created).

    Writes the role; invalidates every cached permission set (holders may change).
    """
    existing = Role.objects.select_for_update().filter(key=key).first()
    if existing is not None and existing.is_system:
        raise Forbidden(f"{key} is a system role and cannot be changed.")
    _validate_role_input(key, acl_entries)
    if existing is None:
        if expected_version is not None:
            raise NotFound(f"Role {key} does not exist, so it cannot match If-Match.")
        ensure_holds_entries(actor, acl_entries, what="create a role with")
        role = Role(key=key, description=description, acl_entries=acl_entries)
        role.full_clean()
        role.save()
        return role, True
    if existing.is_system:
        raise Forbidden(f"{key} is a system role and cannot be changed.")
    if expected_version is not None and existing.version != expected_version:
        raise Conflict("The role was changed since you read it (If-Match does not match).")
    # Changing a role changes the power of all its holders: hold both what it was and what it becomes.
    ensure_holds_entries(actor, list(existing.acl_entries) + list(acl_entries), what="change a role with")
    existing.description = description
    existing.acl_entries = acl_entries
    existing.save()
    return existing, False


@transaction.atomic
def delete_role(actor, role, expected_version=None):
    """Delete a custom role that nobody holds any more."""
    role = Role.objects.select_for_update().get(pk=role.pk)
    if role.is_system:
        raise Forbidden(f"{role.key} is a system role and cannot be deleted.")
    if expected_version is not None and role.version != expected_version:
        raise Conflict("The role was changed since you read it (If-Match does not match).")
    ensure_holds_entries(actor, role.acl_entries, what="delete a role with")
    held = role.bindings.count()
    if held:
        raise Conflict(f"{role.key} is still bound {held} time(s); remove those bindings first.")
    try:
        with transaction.atomic():
            role.delete()
    except ProtectedError as exc:
        users = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        raise Conflict(f"{role.key} is still used by {', '.join(users)}; remove or change those first.") from None


# --- bindings -----------------------------------------------------------------------------------------

def resolve_roles(keys, field="roles"):
    """Role keys -> Role rows, or InvalidInput naming every unknown key."""
    keys = list(dict.fromkeys(keys))
    found = {role.key: role for role in Role.objects.filter(key__in=keys)}
    unknown = [key for key in keys if key not in found]
    if unknown:
        raise InvalidInput({field: [f"Unknown role: {key}." for key in unknown]})
    return [found[key] for key in keys]


# --- the binding lifecycle: every binding is made by create_binding and ends by remove_binding ------

# source -> ender(actor, binding, check): the service of the object that owns bindings of that source
# (an access policy, a just-in-time access request). Registered by the owning app's AppConfig.ready().
_binding_owners = {}


def register_binding_owner(source, ender):
    """Make ``ender(actor, binding, check=True)`` the way bindings of ``source`` end: it ends its own
    object (the policy is deleted, the access request revoked) and then calls ``end_owned_binding``, so
    the owner never says "active" about a binding that is gone."""
    _binding_owners[source] = ender


def create_binding(actor, identity, role, *, scope="", conditions=None, starts_at=None, expires_at=None,
                   source=BindingSourceChoices.DIRECT, created_by=None, check=True):
    """The one way a binding is made (direct grants, role replacement, policies, just-in-time grants).

    With ``check`` (the default) the actor may not bind itself and must hold the role standing over
    the scope; an owning service that checked its own rules passes ``check=False`` (and may name who
    made the grant, ``created_by``, e.g. the approver of a just-in-time request). A second direct
    binding of the same role and scope is a Conflict. Writes one binding (audited) and invalidates the
    identity's permissions."""
    if check:
        ensure_not_self(actor, identity)
        ensure_can_grant(actor, role, scope)
        require_step_up(actor, "change role bindings")  # multi-factor step-up (iam_project.stepup)
    binding = RoleBinding(
        role=role, scope=scope or "", conditions=conditions or {}, starts_at=starts_at,
        expires_at=expires_at, source=source, created_by=created_by or actor_iam_id(actor),
        **{identity.identity_type: identity},
    )
    try:
        binding.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput(exc.message_dict) from None
    if source == BindingSourceChoices.DIRECT:
        duplicate = RoleBinding.objects.for_identity(identity).filter(
            role=role, scope=binding.scope, source=source
        )
        if duplicate.exists():
            raise Conflict(f"{identity} already holds {role.key}" + (f" on {scope}" if scope else "") + ".")
    binding.save()
    return binding


@transaction.atomic
def remove_binding(actor, binding, check=True):
    """The one way a binding ends. A binding owned by a policy or an access request is ended through
    its owner's service (which decides who may); a direct one here: never one's own, only by someone
    holding its role standing, never the last owner's. ``check=False`` is for the platform's own
    clean-ups (an identity being deleted, whose removal was authorized as a whole)."""
    bindings = RoleBinding.objects.select_related("role", "principal", "client")
    found = bindings.filter(pk=binding.pk).first()
    ender = _binding_owners.get(found.source) if found is not None else None
    if ender is not None:
        return ender(actor, found, check=check)  # the owner locks its own row first, then the binding
    binding = bindings.select_for_update(of=("self",)).filter(pk=binding.pk).first()
    if binding is None:
        raise NotFound("No such binding (it was removed meanwhile).")
    if check:
        ensure_not_self(actor, binding.identity)
        ensure_can_grant(actor, binding.role, binding.scope)
        require_step_up(actor, "change role bindings")  # multi-factor step-up (iam_project.stepup)
    if binding.role.key == OWNER_ROLE:
        ensure_owner_remains(removing=[binding])
    end_owned_binding(binding)


def end_owned_binding(binding):
    """Delete the binding row (audited; invalidates its holder's permissions). Only ``remove_binding``
    and the owners' enders call this, after their own checks."""
    binding.delete()


def release_bindings_of(actor, identity):
    """Before an identity is deleted: end every binding that has an owner through it, so no policy or
    access request outlives its binding as "active". Direct bindings go with the identity."""
    owned = RoleBinding.objects.for_identity(identity).filter(source__in=list(_binding_owners))
    for binding in owned:
        remove_binding(actor, binding, check=False)


@transaction.atomic
def bind_role(actor, identity, role, scope="", conditions=None, starts_at=None, expires_at=None):
    """Grant ``role`` directly to ``identity`` (console, ``bindrole``): ``create_binding`` with its checks."""
    return create_binding(actor, identity, role, scope=scope, conditions=conditions, starts_at=starts_at,
                          expires_at=expires_at)


def unbind(actor, binding):
    """Remove one binding whatever its source (see ``remove_binding``)."""
    return remove_binding(actor, binding)


@transaction.atomic
def replace_roles(actor, identity, keys):
    """Make the identity's direct, unscoped roles exactly ``keys``.

    Writes the bindings (each one audited) and one ``roles.replace`` event naming the role sets.
    Scoped, policy and just-in-time bindings are left alone. Only roles the actor holds can be
    added or removed, and the last owner cannot be removed. Returns True when anything changed.
    """
    roles = resolve_roles(keys)
    current = list(
        RoleBinding.objects.for_identity(identity)
        .filter(source=BindingSourceChoices.DIRECT, scope="")
        .select_related("role").select_for_update()
    )
    wanted = {role.key: role for role in roles}
    held = {binding.role.key: binding for binding in current}
    removing = [binding for key, binding in held.items() if key not in wanted]
    adding = [role for key, role in wanted.items() if key not in held]
    if adding or removing:
        ensure_not_self(actor, identity)
        require_step_up(actor, "change role bindings")  # multi-factor step-up (iam_project.stepup)
    for role in adding:
        ensure_can_grant(actor, role)
    for binding in removing:
        ensure_can_grant(actor, binding.role)
    if any(b.role.key == OWNER_ROLE for b in removing):
        ensure_owner_remains(removing=removing)
    for binding in removing:
        end_owned_binding(binding)
    for role in adding:
        create_binding(actor, identity, role, check=False)  # checked above, as a whole
    if adding or removing:
        audit.record("roles.replace", identity, changes={"roles": [sorted(held), sorted(wanted)]})
    return bool(adding or removing)


def role_keys(identity, at=None):
    """Sorted keys of the roles the identity holds now (any source)."""
    return sorted(set(
        RoleBinding.objects.for_identity(identity).current(at).values_list("role__key", flat=True)
    ))


@transaction.atomic
def ensure_system_roles():
    """Create the built-in roles that are missing (bootstrap; the migrations seed them too)."""
    from .system_roles import SYSTEM_ROLES

    for key, (description, entries) in SYSTEM_ROLES.items():
        Role.objects.get_or_create(key=key, defaults={"description": description, "acl_entries": entries,
                                                      "is_system": True})


@transaction.atomic
def bind_system_owner(principal):
    """Bootstrap: make ``principal`` a system:owner (idempotent, acting as the platform)."""
    role = Role.objects.get(key=OWNER_ROLE)
    existing = RoleBinding.objects.filter(principal=principal, role=role, scope="",
                                          source=BindingSourceChoices.DIRECT).first()
    return existing or create_binding(None, principal, role, check=False)


def purge_expired_bindings(now=None):
    """Delete bindings whose expiry has passed (the engine already ignores them). Returns the count."""
    now = now or timezone.now()
    expired = RoleBinding.objects.filter(expires_at__lte=now).exclude(source=BindingSourceChoices.JIT)
    count = 0
    # One by one, so that each removal sends its signals (cache invalidation, audit).
    for binding in expired.select_related("principal", "client"):
        with transaction.atomic():
            end_owned_binding(binding)
        count += 1
    return count
