"""Client operations: create, replace, update, delete, roles, suspension, and secrets.

Called alike by the API, the console and the commands; ``actor`` is the acting identity or None
for the platform. Each function is one transaction. System clients cannot be changed or deleted
by anyone. Managing a client (its roles, its secrets, deleting it) needs holding everything the
client holds: a secret is the client's power.
"""

import logging
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from iam_project.errors import Conflict, Forbidden, InvalidInput, NotFound
from iam_project.locking import lock_row
from iam_project.stepup import require_step_up
from roles import engine
from roles.authority import ensure_can_manage, ensure_holds_entries, ensure_not_self, is_full_owner
from roles.models import RoleBinding
from roles.services import actor_iam_id, ensure_owner_remains, release_bindings_of, replace_roles, resolve_roles

from .models import APIKEY_PREFIX, SECRET_PREFIX, ApiKey, ClientSecret
from .revocation import revoke_api_key_tokens, revoke_tokens

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


EVERYTHING = ({"resource": "*", "permission": "*"},)


def delegated_power(identity):
    """What a client can obtain through the people who sign in to it (registered with roles.authority):
    whoever could re-point it (redirect URIs, scopes) or hold its secret receives their codes. A
    first-party client acts for everyone without asking them — owners included — so it counts as
    everything; a client that asks consent, as every permission its allowed scopes cover."""
    if identity.identity_type != "client":
        return
    if identity.skip_authorization:
        yield EVERYTHING, ""
    elif "authorization_code" in (identity.grant_types or []):
        entries = []
        for scope in identity.scopes or []:
            resource, _, action = scope.rpartition(":")
            if resource and action:
                entries.append({"resource": resource, "permission": action})
        if entries:
            yield entries, ""


def ensure_may_mark_first_party(actor, client, props):
    """Skipping consent lets the client act for anyone who signs in, without asking them: only a
    full owner may turn it on."""
    if not props.get("firstParty") or client.skip_authorization or actor is None:
        return
    if not is_full_owner(actor):
        raise Forbidden("Only an owner (holding every permission) may mark a client first-party (no consent).")


def _check_lists(props):
    """List properties are lists of strings (the console's JSON fields can hold anything)."""
    errors = {f"properties.{name}": ["Must be a list of strings."] for name in ("redirectUris", "grantTypes", "scopes")
              if name in props and (not isinstance(props[name], (list, tuple))
                                    or not all(isinstance(item, str) for item in props[name]))}
    if errors:
        raise InvalidInput(errors)


def _apply(client, props, actor=None):
    """Set the given properties on the (unsaved) client; returns True if anything changed."""
    _check_lists(props)
    ensure_may_mark_first_party(actor, client, props)
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
    after = properties_of(client)
    if actor is not None and (after["scopes"] != before["scopes"] or after["grantTypes"] != before["grantTypes"]):
        # The people who sign in to the client lend it up to its scopes: nobody gives a client scopes
        # reaching further than they hold themselves (a first-party client needs a full owner anyway).
        for entries, scope in delegated_power(client):
            ensure_holds_entries(actor, entries, scope, what="give a client scopes reaching")
    return after != before


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
    _apply(client, props, actor)
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
        try:
            with transaction.atomic():
                return create_client(actor, props, roles, pk=pk), True
        except IntegrityError:
            raise Conflict("The client was created by another request at the same time; read it and retry.") from None
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_not_locked(client)
    ensure_can_manage(actor, client)
    resolve_roles(roles)
    full = {"description": "", "redirectUris": [], "grantTypes": [], "scopes": [], "clientType": "confidential",
            "firstParty": False, **props}
    changed = _apply(client, full, actor)
    changed |= replace_roles(actor, client, roles)
    if changed:
        _save(client)
    return client, False


@transaction.atomic
def update_client(actor, pk, version=None, properties=None, roles=None):
    """PATCH: change only the properties given (and the roles, if given)."""
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_not_locked(client)
    ensure_can_manage(actor, client)
    if roles is not None:
        resolve_roles(roles)
    changed = _apply(client, properties or {}, actor)
    if roles is not None:
        changed |= replace_roles(actor, client, roles)
    if changed:
        _save(client)
    return client


@transaction.atomic
def set_client_roles(actor, pk, roles, version=None):
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_not_locked(client)
    ensure_can_manage(actor, client)
    if replace_roles(actor, client, roles):
        client.save(update_fields=["updated"])  # a new version: the roles are part of the ETag
    return client


@transaction.atomic
def delete_client(actor, pk, version=None):
    """Delete a client with its secrets, bindings and tokens: its tokens stop working at once. Never
    oneself, never the last owner."""
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_not_locked(client)
    ensure_not_self(actor, client, "delete yourself")
    ensure_can_manage(actor, client)
    ensure_owner_remains(removing=list(RoleBinding.objects.filter(client=client)))
    release_bindings_of(actor, client)  # its policies and grants end through their owners
    revoke_tokens(client, "client.deleted")
    client.delete()


@transaction.atomic
def _set_client_flag(actor, pk, flag, value, version=None):
    client = lock_client(pk, version)
    ensure_not_system(client)
    ensure_can_manage(actor, client)
    if flag == "suspended" and value:
        ensure_not_self(actor, client, "suspend yourself")
        if not client.suspended:
            ensure_owner_remains(suspending=client)
    if getattr(client, flag) != value:
        setattr(client, flag, value)
        client.save(update_fields=[flag, "updated"])
    return client


@transaction.atomic
def set_client_suspended(actor, pk, suspended, version=None):
    """Suspend (no token is issued, every token it holds is revoked) or restore a client. Idempotent."""
    client = _set_client_flag(actor, pk, "suspended", suspended, version)
    if suspended:
        revoke_tokens(client, "client.suspended")
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


def client_for_secret(client_id, value):
    """The usable client named ``client_id`` if ``value`` is one of its live secrets, else None — in one
    query: the secret's digest is unique (indexed), and the row brings its client. A miss says nothing
    of why; callers that must tell (the audit trail's reason) take the longer path then."""
    if not client_id or not value or not value.startswith(SECRET_PREFIX) or "\x00" in str(client_id):
        return None
    now = timezone.now()
    found = (ClientSecret.objects.live(now).select_related("client")
             .filter(digest=ClientSecret.digest_of(value)).first())
    if found is None or found.client.client_id != client_id or found.client.suspended:
        return None
    if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 300:
        ClientSecret.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.client


# --- API keys (the IBM face's credentials of principals and clients) ------------------------------

def ensure_not_locked(obj, what="client"):
    if getattr(obj, "locked", False):
        raise Conflict(f"The {what} is locked: unlock it before changing or deleting it.")


def generate_api_key_value():
    """256 random bits with a recognisable prefix."""
    return APIKEY_PREFIX + secrets.token_urlsafe(32)


def ensure_may_manage_keys_of(actor, owner, permission="write"):
    """Anyone manages their own keys; others' keys need iam/apikeys:<permission> and holding
    everything the owner holds (a key is the owner's whole power)."""
    if actor is None:
        return
    if actor.iam_id == owner.iam_id:
        ensure_can_manage(actor, owner)  # through a scoped token, only if it covers the key's power
        return
    if not engine.holds(actor, "iam/apikeys", permission):
        raise Forbidden(f"Managing another identity's API keys needs iam/apikeys:{permission}.")
    if permission != "read":
        ensure_can_manage(actor, owner)


@transaction.atomic
def create_api_key(actor, owner, name, description="", expires_at=None, restricted=False):
    """Make an API key for ``owner`` (a principal or a client). Returns (ApiKey, value): the value
    is shown once and stored as its SHA-256 digest. ``restricted``: the account allows only
    holders of iam/apikeys:write to create keys, even their own."""
    if owner is None or not owner.is_active:
        raise InvalidInput({"iam_id": ["No active principal or service ID has this iam_id."]})
    if restricted and actor is not None and not engine.holds(actor, "iam/apikeys", "write"):
        raise Forbidden("API key creation is restricted in this account (iam/apikeys:write is needed).")
    ensure_may_manage_keys_of(actor, owner)
    if getattr(owner, "is_system", False):
        raise Forbidden("System clients cannot be given API keys.")
    require_step_up(actor, "create an API key")  # a recent second factor (iam_project.stepup)
    value = generate_api_key_value()
    # Made by the platform itself (``manage.py createapikey`` without --actor): the key is its owner's, and
    # IBM's clients read ``created_by`` as the identity that made it for itself.
    created_by = actor_iam_id(actor) if actor is not None else owner.iam_id
    key = ApiKey.objects.create(
        name=name, description=description or "", iam_id=owner.iam_id, prefix=value[:12],
        digest=ApiKey.digest_of(value), expires_at=expires_at, created_by=created_by,
        **{owner.identity_type: owner},
    )
    return key, value


def lock_api_key(pk, version=None):
    return lock_row(ApiKey, pk, version, label="API key")


@transaction.atomic
def update_api_key(actor, pk, version, name=None, description=None, expires_at=None):
    key = lock_api_key(pk, version)
    ensure_may_manage_keys_of(actor, key.owner)
    ensure_not_locked(key, "API key")
    if name is not None:
        key.name = name
    if description is not None:
        key.description = description
    if expires_at is not None:
        key.expires_at = expires_at
    key.save()
    return key


@transaction.atomic
def delete_api_key(actor, pk):
    key = lock_api_key(pk)
    ensure_may_manage_keys_of(actor, key.owner, "delete" if actor is None or actor.iam_id != key.iam_id else "write")
    ensure_not_locked(key, "API key")
    revoke_api_key_tokens(key, "apikey.deleted")
    key.delete()


@transaction.atomic
def set_api_key_flag(actor, pk, flag, value):
    """Lock/unlock or disable/enable a key (``flag`` is ``locked`` or ``disabled``). Idempotent."""
    key = lock_api_key(pk)
    ensure_may_manage_keys_of(actor, key.owner)
    if getattr(key, flag) != value:
        setattr(key, flag, value)
        key.save(update_fields=[flag, "modified_at"])
    if flag == "disabled" and value:
        revoke_api_key_tokens(key, "apikey.disabled")
    return key


def authenticate_api_key(value):
    """The usable key with this value, or None (unknown, disabled, expired, owner suspended)."""
    if not value or not value.startswith(APIKEY_PREFIX):
        return None
    key = ApiKey.objects.select_related("principal", "client").filter(digest=ApiKey.digest_of(value)).first()
    if key is None or not key.is_usable():
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 300:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def set_client_locked(actor, pk, locked):
    """Lock (no change, no delete, on either API face) or unlock a client. Idempotent."""
    return _set_client_flag(actor, pk, "locked", locked)
