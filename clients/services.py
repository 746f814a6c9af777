"""Client operations: create, replace, update, delete, roles, suspension, and secrets.

Called alike by the API, the console and the commands; ``actor`` is the acting identity or None
for the platform. Each function is one transaction. System clients cannot be changed or deleted
by anyone. Managing a client (its roles, its secrets, deleting it) needs holding everything the
client holds: a secret is the client's power.
"""

import logging
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from iam_project.errors import Forbidden, InvalidInput, NotFound
from iam_project.locking import lock_row
from roles.services import actor_iam_id, ensure_can_manage, replace_roles, resolve_roles

from .models import SECRET_PREFIX, ClientSecret

logger = logging.getLogger(__name__)

# Fields of the API's ``properties`` and where they live on the model.
PROPERTY_FIELDS = ("name", "description", "redirectUris", "grantTypes", "scopes", "clientType", "firstParty")


def _client_model():
    return get_application_model()


def lock_client(pk, version=None):
    return lock_row(_client_model(), pk, version, label="client")


def ensure_not_system(client):
    if client.is_system:
        raise Forbidden("System clients cannot be changed or deleted.")


def properties_of(client):
    """The API's view of a client's settings."""
    return {
        "name": client.name,
        "description": client.properties.get("description", ""),
        "redirectUris": client.redirect_uris.split(),
        "grantTypes": list(client.grant_types),
        "scopes": list(client.scopes),
        "clientType": client.client_type,
        "firstParty": client.skip_authorization,
    }


def _apply(client, props):
    """Set the given properties on the (unsaved) client; returns True if anything changed."""
    before = properties_of(client)
    if "name" in props:
        client.name = props["name"]
    if "description" in props:
        client.properties = {**client.properties, "description": props["description"]}
    if "redirectUris" in props:
        client.redirect_uris = " ".join(props["redirectUris"])
    if "grantTypes" in props:
        client.grant_types = list(dict.fromkeys(props["grantTypes"]))
    if "scopes" in props:
        client.scopes = list(dict.fromkeys(props["scopes"]))
    if "clientType" in props:
        client.client_type = props["clientType"]
    if "firstParty" in props:
        client.skip_authorization = bool(props["firstParty"])
    _check_consistency(client)
    return properties_of(client) != before


def _check_consistency(client):
    errors = {}
    grants = set(client.grant_types)
    if "authorization_code" in grants and not client.redirect_uris.split():
        errors["properties.redirectUris"] = ["The authorization_code grant needs at least one redirect URI."]
    if "refresh_token" in grants and "authorization_code" not in grants:
        errors["properties.grantTypes"] = ["refresh_token comes with authorization_code."]
    if client.client_type == "public" and grants & {"client_credentials", "urn:ibm:params:oauth:grant-type:apikey"}:
        errors["properties.clientType"] = ["A public client has no secret, so it cannot use client_credentials."]
    if not client.name:
        errors["properties.name"] = ["A client needs a name."]
    if errors:
        raise InvalidInput(errors)


def _save(client):
    try:
        client.full_clean(exclude=["client_secret", "user", "client_id", "iam_id"], validate_unique=False,
                          validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput({f"properties.{k}": v for k, v in exc.message_dict.items()}) from None
    client.save()


@transaction.atomic
def create_client(actor, props, roles=(), pk=None):
    """Create a client with the given properties and roles (each one the actor must hold)."""
    resolve_roles(roles)
    client = _client_model()(client_type="confidential")
    if pk is not None:
        client.id = pk
    _apply(client, props)
    _save(client)
    if roles:
        replace_roles(actor, client, roles)
    logger.info("client.created iam_id=%s", client.iam_id)
    return client


@transaction.atomic
def put_client(actor, pk, props, roles, version=None):
    """PUT: create the client with this id, or replace its properties and roles. Returns (client, created)."""
    if not _client_model().objects.filter(pk=pk).exists():
        if version is not None:
            raise NotFound("No such client, so If-Match cannot match.")
        return create_client(actor, props, roles, pk=pk), True
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_can_manage(actor, client)
    resolve_roles(roles)
    full = {"description": "", "redirectUris": [], "grantTypes": [], "scopes": [], "clientType": "confidential",
            "firstParty": False, **props}
    changed = _apply(client, full)
    changed |= replace_roles(actor, client, roles)
    if changed:
        _save(client)
    return client, False


@transaction.atomic
def update_client(actor, pk, version=None, properties=None, roles=None):
    """PATCH: change only the properties given (and the roles, if given)."""
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_can_manage(actor, client)
    if roles is not None:
        resolve_roles(roles)
    changed = _apply(client, properties or {})
    if roles is not None:
        changed |= replace_roles(actor, client, roles)
    if changed:
        _save(client)
    return client


@transaction.atomic
def set_client_roles(actor, pk, roles, version=None):
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_can_manage(actor, client)
    if replace_roles(actor, client, roles):
        client.save(update_fields=["updated"])  # a new version: the roles are part of the ETag
    return client


@transaction.atomic
def delete_client(actor, pk, version=None):
    """Delete a client with its secrets, bindings and tokens: its tokens stop working at once."""
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_can_manage(actor, client)
    client.delete()


@transaction.atomic
def set_client_suspended(actor, pk, suspended, version=None):
    """Suspend (no token is issued, every token stops working) or restore a client. Idempotent."""
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_can_manage(actor, client)
    if client.suspended != suspended:
        client.suspended = suspended
        client.save(update_fields=["suspended", "updated"])
    return client


def generate_secret_value():
    """256 random bits, URL-safe, with a prefix that secret scanners can recognise."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def create_secret(actor, pk, expires_at=None):
    """Make a new secret for a confidential client. Returns (ClientSecret, value): the value is
    shown to the caller once and stored only as its SHA-256 digest."""
    client = lock_client(pk)
    ensure_not_system(client)
    ensure_can_manage(actor, client)
    if client.client_type != "confidential":
        raise InvalidInput({"clientType": ["Only confidential clients have secrets."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput({"expiresAt": ["Must be in the future."]})
    value = generate_secret_value()
    secret = ClientSecret.objects.create(
        client=client, prefix=value[:12], digest=ClientSecret.digest_of(value), expires_at=expires_at,
        created_by=actor_iam_id(actor),
    )
    return secret, value


@transaction.atomic
def revoke_secret(actor, pk, secret_id):
    """Delete one secret of the client: it stops authenticating at once (issued tokens stay valid)."""
    client = lock_client(pk)
    ensure_not_system(client)
    ensure_can_manage(actor, client)
    deleted, _ = ClientSecret.objects.filter(client=client, pk=secret_id).delete()
    if not deleted:
        raise NotFound("No such secret for this client.")


@transaction.atomic
def rotate_secret(actor, pk, old_expire_at=None):
    """A new secret, with every other live secret of the client set to expire at ``old_expire_at``
    (now, when not given). Returns (ClientSecret, value)."""
    secret, value = create_secret(actor, pk)
    expire_at = old_expire_at or timezone.now()
    for old in ClientSecret.objects.live().filter(client_id=pk).exclude(pk=secret.pk):
        if old.expires_at is None or old.expires_at > expire_at:
            old.expires_at = expire_at
            old.save(update_fields=["expires_at"])
    return secret, value


def authenticate_secret(client, value):
    """True if ``value`` is a live secret of ``client``. One query; digests compared in constant time.

    No password hasher is involved: a secret carries 256 random bits, so one SHA-256 suffices.
    ``last_used_at`` is refreshed at most every five minutes, to keep token requests read-only.
    """
    import hmac

    if not value or not value.startswith(SECRET_PREFIX) or client is None:
        return False
    digest = ClientSecret.digest_of(value)
    now = timezone.now()
    for secret_id, stored, last_used in (ClientSecret.objects.live(now).filter(client=client)
                                         .values_list("id", "digest", "last_used_at")):
        if hmac.compare_digest(stored, digest):
            if last_used is None or (now - last_used).total_seconds() > 300:
                ClientSecret.objects.filter(pk=secret_id).update(last_used_at=now)
            return True
    return False
