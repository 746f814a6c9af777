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


def scope_covers(scope, resource):
    """A binding's resource scope covers a resource equal to it or beneath it (or matching its pattern)."""
    if not scope:
        return True
    if resource is None:
        return False
    if resource == scope or resource.startswith(scope.rstrip("/") + "/"):
        return True
    return "*" in scope and fnmatchcase(resource, scope)


def scope_within(inner, outer):
    """Is everything the scope ``inner`` covers also covered by ``outer``? (Granting over ``inner`` needs
    holding the role over an ``outer`` like that.) A concrete ``inner`` is judged as a resource; a
    pattern only by an ``outer`` without wildcards that it lies beneath, or by the same pattern."""
    if not outer:
        return True
    if not inner:
        return False
    if "*" not in inner:
        return scope_covers(outer, inner)
    if "*" not in outer:
        return inner == outer or inner.startswith(outer.rstrip("/") + "/")
    return inner == outer
