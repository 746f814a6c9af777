"""The authorization engine: the one place that decides whether an identity may do something.

An identity's bindings are compiled once into a flat list of grants and cached (Django's cache:
Redis in production); each decision then walks that list in memory. Everything that depends on
the moment — expiry, start, IP range, time window — is checked at decision time, never baked
into the cache, so a stale cache can only ever be missing a grant's *removal* until the
invalidation that every write sends (see ``invalidate``). While Redis is unreachable the cache
misses (iam_project.cache) and grants are compiled from the database on every call; when it
answers again, ``forget_all_after_outage`` voids what it held from before.
"""

import ipaddress
import logging
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from iam_project import metrics
from iam_project.cache import forget_reads, forget_request_reads, read_ahead, register_prefetch, register_recovery_hook
from iam_project.conf import iam_settings
from iam_project.context import get_context
from iam_project.resources import object_for_resource, resource_for_model_label, resources_for_app

from .permissions import entry_covers, pattern_matches, scope_covers, scope_within, split_permission

logger = logging.getLogger(__name__)

_GENERATION_KEY = "iam:perms:generation"
_ENTRY_KEY = "iam:perms:v2:{iam_id}"  # v2: grants carry their binding's source


@dataclass(frozen=True)
class Grant:
    """One ACL entry of one binding, flattened; plain data so that it pickles into any cache."""

    resource: str
    action: str
    binding_id: str
    role: str
    scope: str
    conditions: dict
    starts_at: float | None
    expires_at: float | None
    source: str = "direct"

    @property
    def standing(self):
        """Held for good: not just in time, not expiring, unconditional. Only standing grants count
        towards what an identity may grant to others (a temporary grant never becomes permanent)."""
        return self.source != "jit" and self.expires_at is None and not self.conditions


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    binding: str | None = None
    role: str | None = None

    def __bool__(self):
        return self.allowed


# --- compiling and caching ------------------------------------------------------------------------

def _timestamp(value):
    return value.timestamp() if value else None


def compile_grants(identity):
    """Read the identity's bindings (one query) and flatten them into grants."""
    from .models import RoleBinding

    bindings = RoleBinding.objects.for_identity(identity).select_related("role").only(
        "id", "scope", "conditions", "starts_at", "expires_at", "source", "role__key", "role__acl_entries"
    )
    now = timezone.now()
    grants = []
    for binding in bindings:
        if binding.is_expired(now):
            continue
        for entry in binding.role.acl_entries:
            grants.append(Grant(
                resource=entry["resource"], action=entry["permission"], binding_id=str(binding.id),
                role=binding.role.key, scope=binding.scope, conditions=binding.conditions or {},
                starts_at=_timestamp(binding.starts_at), expires_at=_timestamp(binding.expires_at),
                source=binding.source,
            ))
    return tuple(grants)


def _cache_keys(iam_id):
    return [_GENERATION_KEY, _ENTRY_KEY.format(iam_id=iam_id)]


# Read with the identity's own cache entry (the bearer token's identities, a check's subject): one round trip.
register_prefetch(_cache_keys)


def grants_for(identity):
    """The identity's compiled grants: from the cache when warm (no query), else compiled and stored."""
    key = _ENTRY_KEY.format(iam_id=identity.iam_id)
    cached = read_ahead([_GENERATION_KEY, key])
    if not cached or len(cached) < 2:  # not read ahead in this request, or a miss then: ask Redis now
        cached = cache.get_many([_GENERATION_KEY, key])
    generation = cached.get(_GENERATION_KEY)
    entry = cached.get(key)
    if generation is not None and entry is not None and entry[0] == generation:
        return entry[1]
    if generation is None:
        generation = uuid.uuid4().hex
        # add() so that two processes racing here agree on one generation.
        if not cache.add(_GENERATION_KEY, generation, timeout=None):
            generation = cache.get(_GENERATION_KEY) or generation
    grants = compile_grants(identity)
    cache.set(key, (generation, grants), timeout=iam_settings.PERMISSION_CACHE_TIMEOUT)
    forget_request_reads()  # compiled from the database: what the request read ahead before is read again
    return grants


def invalidate(identity=None):
    """Forget the compiled grants of one identity (or iam_id), or of everyone (``None``: a role changed).

    Done at once and again after the surrounding transaction commits, so that a reader who
    compiled from the old rows in between does not keep them.
    """

    def forget():
        forget_reads()
        if identity is None:
            cache.set(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        else:
            cache.delete(_ENTRY_KEY.format(iam_id=iam_id))

    iam_id = identity if isinstance(identity, str) else getattr(identity, "iam_id", None)
    forget()
    transaction.on_commit(forget)


def forget_all_after_outage(backend):
    """Redis answers again after an outage (iam_project.cache calls this before anything else reaches it):
    an invalidation dropped meanwhile — a binding removed while Redis was down — would otherwise leave
    the entry compiled before it in Redis, granting until it expires. A new generation voids them all."""
    backend.set(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    logger.info("engine.cache_generation_bumped reason=cache_recovered")


register_recovery_hook(forget_all_after_outage)


# --- deciding -------------------------------------------------------------------------------------

_AMBIENT = object()


def _ambient(identity, context, scopes):
    """Fill what the caller left out from the access context: the request's address and moment when
    no ``context`` is given, and — only for the identity the context acts as — its token's scopes."""
    current = get_context()
    if context is None:
        context = current.conditions()
    if scopes is _AMBIENT:
        scopes = current.scopes_for(identity)
    return context, scopes


def _context_time(context):
    value = (context or {}).get("time")
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt_timezone.utc)
    return timezone.now()


def _ip_allowed(ranges, ip):
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for cidr in ranges:
        network = ipaddress.ip_network(cidr, strict=False)
        if address.version == network.version and address in network:
            return True
    return False


def _minutes(hhmm):
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _in_window(window, at):
    try:
        local = at.astimezone(zoneinfo.ZoneInfo(window.get("timezone", "UTC")))
    except (OverflowError, ValueError):
        return False  # a moment no calendar can place (year 1 or 9999 at an offset) is in no window
    days = window.get("days")
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    if days and day not in days:
        return False
    now = local.hour * 60 + local.minute
    start, end = _minutes(window["start"]), _minutes(window["end"])
    if start <= end:
        return start <= now < end
    return now >= start or now < end  # a window across midnight, e.g. 22:00-06:00


def _conditions_failure(conditions, context, at):
    """None when the conditions hold, else the reason they do not."""
    ranges = conditions.get("ipRanges")
    if ranges and not _ip_allowed(ranges, (context or {}).get("ip")):
        return "the request does not come from an allowed IP range"
    window = conditions.get("timeWindow")
    if window and not _in_window(window, at):
        return "outside the allowed time window"
    return None


def _not_in_force(grant, at, context):
    """None when the grant is in force at ``at`` in ``context``, else why not."""
    moment = at.timestamp()
    if grant.expires_at is not None and grant.expires_at <= moment:
        return f"the binding of role {grant.role} expired"
    if grant.starts_at is not None and grant.starts_at > moment:
        return f"the binding of role {grant.role} has not started"
    failure = _conditions_failure(grant.conditions, context, at)
    if failure:
        return f"role {grant.role}: {failure}"
    return None


def scopes_cover(scopes, resource, action):
    """A token's scopes allow resource:action when one permission-shaped scope covers it."""
    for scope in scopes:
        if ":" not in scope:
            continue
        scope_resource, _, scope_action = scope.rpartition(":")
        if entry_covers(scope_resource, scope_action, resource, action):
            return True
    return False


def decide(identity, permission, resource=None, context=None, scopes=_AMBIENT):
    """Decide whether ``identity`` may use ``permission`` ('resource:action', '*' wildcards).

    ``resource`` names the object acted on (e.g. 'iam/principals/<id>'); a scoped binding only
    applies to resources inside its scope. ``context`` may carry ``ip`` and ``time`` (default: the
    access context's). ``scopes`` caps the decision to what an access token was granted (default:
    the access context's token, when ``identity`` is the one acting; ``None``: no cap).
    Counts the outcome (metrics); otherwise read-only; costs no query when the identity's grants are cached.
    """
    decision = _decide(identity, permission, resource, context, scopes)
    metrics.decision(decision.allowed)
    return decision


def _decide(identity, permission, resource=None, context=None, scopes=_AMBIENT):
    """``decide`` without its count."""
    context, scopes = _ambient(identity, context, scopes)
    try:
        perm_resource, perm_action = split_permission(permission)
    except ValueError as exc:
        return Decision(False, str(exc))
    if identity is None or not getattr(identity, "pk", None):
        return Decision(False, "not authenticated")
    if getattr(identity, "suspended", False):
        return Decision(False, f"{identity.identity_type} is suspended")
    if scopes is not None and not scopes_cover(scopes, perm_resource, perm_action):
        return Decision(False, f"the access token's scopes do not include {permission}")

    at = _context_time(context)
    refusal = None
    for grant in grants_for(identity):
        if not entry_covers(grant.resource, grant.action, perm_resource, perm_action):
            continue
        if not scope_covers(grant.scope, resource, (context or {}).get("attributes")):
            refusal = refusal or f"role {grant.role} is limited to {grant.scope}"
            continue
        failure = _not_in_force(grant, at, context)
        if failure:
            refusal = failure
            continue
        return Decision(True, f"granted by role {grant.role}", binding=grant.binding_id, role=grant.role)

    delegated = _delegated(identity, perm_resource, perm_action, resource)
    if delegated:
        return delegated
    return Decision(False, refusal or f"no role grants {permission}")


def permissions_of(identity, context=None):
    """The sorted 'resource:action' entries the identity holds right now (for /me); ``context`` as for
    ``decide``. Not capped by any token: see ``token_permissions``."""
    context, _ = _ambient(identity, context, None)
    if getattr(identity, "suspended", False):
        return []
    at = _context_time(context)
    held = set()
    for grant in grants_for(identity):
        if _not_in_force(grant, at, context):
            continue
        entry = f"{grant.resource}:{grant.action}"
        held.add(f"{entry}@{grant.scope}" if grant.scope else entry)
    return sorted(held)


def token_permissions(identity, scopes, context=None):
    """What a token can exercise right now: the identity's permissions its scopes cover. Changes
    the moment a grant ends (a just-in-time expiry) or the identity is suspended."""
    held = []
    for entry in permissions_of(identity, context):
        permission = entry.split("@", 1)[0]
        resource, _, action = permission.rpartition(":")
        if scopes_cover(scopes, resource, action):
            held.append(entry)
    return held


def holds(identity, resource, action, scope="", context=None, standing=False, scopes=_AMBIENT):
    """Does the identity hold a grant that covers the ACL entry resource:action (patterns included)
    over ``scope`` (or everywhere, when empty)? ``standing`` counts only grants held for good (see
    ``Grant.standing``): what one may grant or manage is measured that way. ``context`` and
    ``scopes`` as for ``decide``: acting through a token, one holds only what its scopes cover."""
    if identity is None or getattr(identity, "suspended", False):
        return False
    context, scopes = _ambient(identity, context, scopes)
    if scopes is not None and not scopes_cover(scopes, resource, action):
        return False
    at = _context_time(context)
    for grant in grants_for(identity):
        if not (pattern_matches(grant.resource, resource) and pattern_matches(grant.action, action)):
            continue
        if not scope_within(scope, grant.scope):
            continue
        if standing and not grant.standing:
            continue
        if _not_in_force(grant, at, context):
            continue
        return True
    return False


# --- Django permission strings and guardian delegation ---------------------------------------------

_DJANGO_ACTIONS = {"view": "read", "add": "write", "change": "write", "delete": "delete"}


def _delegated(identity, resource, action, target):
    """Object-level delegation: a principal granted a Django object permission through guardian
    on exactly the object named by ``target`` ('iam/clients/<id>')."""
    if identity.identity_type != "principal" or not target:
        return None
    found = object_for_resource(resource, target)
    if found is None:
        return None
    model, obj_pk = found
    codename = {"read": "view", "write": "change", "delete": "delete"}.get(action)
    if codename is None:
        return None
    from guardian.models import UserObjectPermission

    exists = UserObjectPermission.objects.filter(
        user=identity, permission__codename=f"{codename}_{model._meta.model_name}",
        content_type__app_label=model._meta.app_label, content_type__model=model._meta.model_name,
        object_pk=str(obj_pk),
    ).exists()
    if exists:
        return Decision(True, f"delegated {codename} on {target}")
    return None


def decide_django_perm(identity, perm, obj=None):
    """Map Django's 'app_label.codename' (admin, guardian) onto the engine."""
    try:
        app_label, codename = perm.split(".", 1)
        django_action, model_name = codename.split("_", 1)
    except ValueError:
        return False
    resource = resource_for_model_label(f"{app_label}.{model_name}")
    action = _DJANGO_ACTIONS.get(django_action)
    if resource is None or action is None:
        return False
    target = f"{resource}/{obj.pk}" if obj is not None and getattr(obj, "pk", None) else None
    return decide(identity, f"{resource}:{action}", resource=target).allowed


def decide_app_access(identity, app_label):
    """Whether the console shows an app: the identity can read at least one of its models."""
    return any(decide(identity, f"{resource}:read").allowed for resource in resources_for_app(app_label))
