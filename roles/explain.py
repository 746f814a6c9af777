"""Access answers: an identity's effective access, a checked decision with its reason, and who holds a permission.

Read-only. Every yes/no here is the engine's (``engine.decide``); this module only gathers where a
permission comes from — the role, the binding, its scope, conditions, expiry and source (direct,
policy, just in time) — so that a console page or an API answer can show it. The caller decides who
may ask (see roles/api/access.py): these functions answer about any identity.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.utils import timezone
from oauth2_provider.models import get_application_model

from iam_project.context import acting_as

from . import engine
from .authority import _delegations
from .models import Role, RoleBinding
from .permissions import entry_covers, scope_covers, split_permission

logger = logging.getLogger(__name__)


@dataclass
class Source:
    """One way an identity holds one ACL entry: a binding of a role (or an object delegation)."""

    permission: str
    role: str | None
    binding: str | None
    source: str
    scope: str = ""
    conditions: dict = field(default_factory=dict)
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    in_force: bool = True
    reason: str | None = None  # why it is not in force right now (None when it is)


def _binding_state(binding, at, context):
    """(in force?, why not) for a binding at ``at``, judged as the engine judges a grant."""
    grant = engine.Grant(
        resource="", action="", binding_id=str(binding.id), role=binding.role.key, scope=binding.scope,
        conditions=binding.conditions or {}, starts_at=binding.starts_at.timestamp() if binding.starts_at else None,
        expires_at=binding.expires_at.timestamp() if binding.expires_at else None, source=binding.source,
    )
    failure = engine._not_in_force(grant, at, context)
    return failure is None, failure


def effective_access(identity, context=None):
    """Every ACL entry ``identity`` holds through its bindings — expired and conditional ones too, marked
    not in force with the engine's reason — and its object delegations. ``context``: {"ip", "time"}
    for judging conditions (default: now, no address). One query for the bindings, one for delegations."""
    context = context or {}
    at = engine._context_time(context)
    suspended = bool(getattr(identity, "suspended", False))
    sources = []
    bindings = RoleBinding.objects.for_identity(identity).select_related("role").order_by("created_at", "id")
    for binding in bindings:
        in_force, reason = _binding_state(binding, at, context)
        if suspended:
            in_force, reason = False, f"{identity.identity_type} is suspended"
        for entry in binding.role.acl_entries:
            sources.append(Source(
                permission=f"{entry['resource']}:{entry['permission']}", role=binding.role.key,
                binding=str(binding.id), source=binding.source, scope=binding.scope,
                conditions=binding.conditions or {}, starts_at=binding.starts_at, expires_at=binding.expires_at,
                in_force=in_force, reason=reason,
            ))
    for resource, action, scope in sorted(_delegations(identity)):
        sources.append(Source(permission=f"{resource}:{action}", role=None, binding=None, source="delegation",
                              scope=scope, in_force=not suspended,
                              reason=f"{identity.identity_type} is suspended" if suspended else None))
    sources.sort(key=lambda s: (s.permission, s.scope, s.role or ""))
    return sources


def check(identity, permission, resource=None, ip=None, at=None):
    """The engine's decision for ``identity`` as if it were acting itself (a session: no token cap),
    from ``ip`` at ``at`` (default: now). Raises ValueError on a malformed permission. The access
    context is rebuilt for the identity checked for the duration of the decision, so nothing of the
    asker's (its address, its token's scopes) leaks into the answer."""
    split_permission(permission)
    with acting_as(identity, ip=ip, at=at) as checked:
        return engine.decide(identity, permission, resource=resource, context=checked.conditions(), scopes=None)


@dataclass
class Holder:
    identity: object
    via: list
    decision: engine.Decision


def _covering_roles(perm_resource, perm_action):
    """Roles with an ACL entry covering the permission (roles are few: read them all, match in memory)."""
    return [role for role in Role.objects.only("id", "key", "acl_entries")
            if any(entry_covers(e["resource"], e["permission"], perm_resource, perm_action) for e in role.acl_entries)]


def holders(permission, resource=None, ip=None, at=None, readable=None, limit=100):
    """Every identity that holds ``permission`` (over ``resource``) through a binding that has not expired,
    or through an object delegation on ``resource``, with the bindings it comes through and the engine's
    decision for it from ``ip`` at ``at``. ``readable(identity)`` filters out identities the asker may not
    see. Returns (holders, truncated) with at most ``limit`` holders, principals first (by id), then clients.
    The bindings are read in identity order and the walk stops once ``limit`` holders are found, so a role
    bound to a million identities costs a page, not a million rows in memory."""
    perm_resource, perm_action = split_permission(permission)
    now = at or timezone.now()
    roles = _covering_roles(perm_resource, perm_action)
    rows = (RoleBinding.objects.filter(role__in=roles).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .select_related("role", "principal", "client")
            .order_by(F("principal_id").asc(nulls_last=True), F("client_id").asc(nulls_last=True), "created_at"))

    def groups():
        key, identity, via = None, None, []
        for binding in rows.iterator(chunk_size=500):
            if not scope_covers(binding.scope, resource):
                continue
            this = (binding.principal_id, binding.client_id)
            if this != key:
                if via:
                    yield identity, via
                key, identity, via = this, binding.identity, []
            in_force, reason = _binding_state(binding, now, {"ip": ip, "time": now})
            via.append(Source(
                permission=permission, role=binding.role.key, binding=str(binding.id), source=binding.source,
                scope=binding.scope, conditions=binding.conditions or {}, starts_at=binding.starts_at,
                expires_at=binding.expires_at, in_force=in_force, reason=reason,
            ))
        if via:
            yield identity, via

    found, truncated = [], False
    delegated = _delegated_holders(perm_resource, perm_action, resource)
    delegated_by_key = {(i.identity_type, i.pk): (i, via) for i, via in delegated}
    for identity, via in groups():
        key = (identity.identity_type, identity.pk)
        extra = delegated_by_key.pop(key, None)
        if extra:
            via = via + extra[1]
        if readable is not None and not readable(identity):
            continue
        if len(found) >= limit:
            truncated = True
            break
        found.append(Holder(identity, via, check(identity, permission, resource, ip=ip, at=at)))
    if not truncated:
        for identity, via in delegated_by_key.values():
            if readable is not None and not readable(identity):
                continue
            if len(found) >= limit:
                truncated = True
                break
            found.append(Holder(identity, via, check(identity, permission, resource, ip=ip, at=at)))
    return found, truncated


def _delegated_holders(perm_resource, perm_action, resource):
    """Principals delegated the permission on exactly ``resource`` (django-guardian object permissions)."""
    if not resource:
        return []
    from guardian.models import UserObjectPermission

    from iam_project.resources import object_for_resource

    found = object_for_resource(perm_resource, resource)
    codename = {"read": "view", "write": "change", "delete": "delete"}.get(perm_action)
    if found is None or codename is None:
        return []
    model, obj_pk = found
    rows = UserObjectPermission.objects.filter(
        permission__codename=f"{codename}_{model._meta.model_name}", content_type__app_label=model._meta.app_label,
        content_type__model=model._meta.model_name, object_pk=str(obj_pk),
    ).select_related("user")
    return [(row.user, [Source(permission=f"{perm_resource}:{perm_action}", role=None, binding=None,
                               source="delegation", scope=resource)]) for row in rows]


def find(identity_type, pk):
    """The principal or client with this primary key, or None."""
    model = get_user_model() if identity_type == "principal" else get_application_model()
    return model.objects.filter(pk=pk).first()
