"""Permission strings: parsing, validation and wildcard matching of `resource:action`."""

import re
from fnmatch import fnmatchcase

from django.core.exceptions import ValidationError

# A resource is a path of segments (letters, digits, . _ -) separated by "/", or "*" wildcards.
_RESOURCE = re.compile(r"^(\*|[A-Za-z0-9._\-]+)(/(\*|[A-Za-z0-9._\-]+))*$")
_ACTION = re.compile(r"^(\*|[A-Za-z0-9._\-]+)$")
ROLE_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]*(:[a-z0-9][a-z0-9_\-]*)+$")


def split_permission(permission):
    """'iam/principals:read' -> ('iam/principals', 'read'); raises ValueError when malformed."""
    if not isinstance(permission, str) or ":" not in permission:
        raise ValueError("A permission is 'resource:action'.")
    resource, _, action = permission.rpartition(":")
    if not _RESOURCE.match(resource) or not _ACTION.match(action):
        raise ValueError(f"'{permission}' is not a valid 'resource:action' permission.")
    return resource, action


def validate_permission(permission):
    try:
        split_permission(permission)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_permission") from exc


def validate_acl_entry(entry):
    if not isinstance(entry, dict) or set(entry) != {"resource", "permission"}:
        raise ValidationError("Each ACL entry is {'resource': ..., 'permission': ...}.", code="invalid")
    resource, action = entry["resource"], entry["permission"]
    if not isinstance(resource, str) or not _RESOURCE.match(resource):
        raise ValidationError(f"'{resource}' is not a valid resource.", code="invalid_resource")
    if not isinstance(action, str) or not _ACTION.match(action):
        raise ValidationError(f"'{action}' is not a valid permission.", code="invalid_permission")


def validate_acl_entries(value):
    if not isinstance(value, list):
        raise ValidationError("ACL entries must be a list.", code="invalid")
    for entry in value:
        validate_acl_entry(entry)


def pattern_matches(pattern, value):
    """'*' matches anything in its place: 'iam/*' matches 'iam/principals' and 'iam/roles/x'."""
    if pattern == "*" or pattern == value:
        return True
    return "*" in pattern and fnmatchcase(value, pattern)


def entry_covers(entry_resource, entry_action, resource, action):
    """Does an ACL entry (a grant) cover the permission resource:action (possibly itself a pattern)?"""
    return pattern_matches(entry_resource, resource) and pattern_matches(entry_action, action)


# A scope is a resource path (everything beneath it is covered; "" is everywhere), optionally followed by
# attribute qualifiers ";key=value" that the resource must also satisfy (IBM's resource attributes, mapped by
# the IBM face): ``serviceType`` is read from the resource path itself — ``platform_service`` for the
# platform's own services (``PLATFORM_SERVICES``), ``service`` for every other service asking
# /resources/iam/authorize; any other key (``resourceGroupId``, ``tag:<name>``) must be carried by the
# decision's context as ``attributes``: the platform's own resources carry none, so such a scope grants
# nothing on them. A qualifier only ever narrows a scope.
PLATFORM_SERVICES = frozenset({"iam", "audit", "jit", "portal", "oauth"})
SERVICE_TYPES = ("service", "platform_service")


def split_scope(scope):
    """'iam/principals;serviceType=platform_service' -> ('iam/principals', {'serviceType': 'platform_service'})."""
    path, *parts = (scope or "").split(";")
    return path, dict(part.partition("=")[::2] for part in parts)


def join_scope(path, qualifiers):
    """The inverse of ``split_scope`` (qualifiers in a stable order)."""
    return path + "".join(f";{key}={value}" for key, value in sorted(qualifiers.items()))


def qualifiers_hold(qualifiers, resource, attributes=None):
    """Does the resource satisfy every qualifier? ``attributes``: what the decision's context says the
    resource carries (resource group, access tags)."""
    attributes = attributes if isinstance(attributes, dict) else {}
    for key, value in qualifiers.items():
        if key == "serviceType":
            platform = resource.split("/", 1)[0] in PLATFORM_SERVICES
            if value not in SERVICE_TYPES or platform != (value == "platform_service"):
                return False
        elif attributes.get(key) != value:
            return False
    return True


def _path_covers(path, resource):
    if not path:
        return True
    if resource == path or resource.startswith(path.rstrip("/") + "/"):
        return True
    return "*" in path and fnmatchcase(resource, path)


def scope_covers(scope, resource, attributes=None):
    """A binding's resource scope covers a resource equal to it or beneath it (or matching its pattern),
    that satisfies the scope's qualifiers (see ``split_scope``)."""
    if not scope:
        return True
    if resource is None:
        return False
    path, qualifiers = split_scope(scope)
    return _path_covers(path, resource) and qualifiers_hold(qualifiers, resource, attributes)


def scope_within(inner, outer):
    """Is everything the scope ``inner`` covers also covered by ``outer``? (Granting over ``inner`` needs
    holding the role over an ``outer`` like that.) A concrete ``inner`` is judged as a resource; a
    pattern only by an ``outer`` without wildcards that it lies beneath, or by the same pattern. Every
    qualifier of ``outer`` must be one of ``inner``'s too (judged conservatively: an unqualified inner
    is never within a qualified outer)."""
    if not outer:
        return True
    if not inner:
        return False
    inner, inner_qualifiers = split_scope(inner)
    outer, outer_qualifiers = split_scope(outer)
    if any(inner_qualifiers.get(key) != value for key, value in outer_qualifiers.items()):
        return False
    if not outer:
        return True
    if not inner:
        return False
    if "*" not in inner:
        return _path_covers(outer, inner)
    if "*" not in outer:
        return inner == outer or inner.startswith(outer.rstrip("/") + "/")
    return inner == outer
