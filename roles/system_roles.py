"""The built-in roles, shared by the seeding migration and `manage.py bootstrap`."""

SYSTEM_ROLES = {
    "system:owner": (
        "Full administrative access to every resource and operation.",
        [{"resource": "*", "permission": "*"}],
    ),
    "system:portal:full": (
        "Complete access to the console (portal) and portal-managed resources. What a holder sees "
        "of IAM objects in the console is what its other roles allow.",
        [{"resource": "portal", "permission": "*"}, {"resource": "portal/*", "permission": "*"}],
    ),
    "system:auditor": (
        "Read-only access to the audit trail and to every IAM object, for auditors and incident "
        "responders. Console access needs system:portal:full besides.",
        [{"resource": "audit/events", "permission": "read"}, {"resource": "iam/*", "permission": "read"}],
    ),
    "system:resource-server": (
        "For the clients of resource servers: introspect access tokens (RFC 7662). Who a token belongs "
        "to and what it may do are shown only for identities the client may also read "
        "(iam/principals:read, iam/clients:read) and for the client's own tokens.",
        [{"resource": "oauth/introspect", "permission": "read"}],
    ),
}
