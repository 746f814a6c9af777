"""The warm path of bearer-token authentication: live access tokens and identities read from the cache.

A request carrying a bearer token costs no query once its token and identity are cached:

* **tokens** — an entry per live access token, keyed by the SHA-256 of its value (as the database
  keys it), holding the row's few fields. It is written only after the database said the token is
  live (``cache.add``, never over what is there), and replaced by a *tombstone* the moment the row is
  deleted — revocation, logout, rotation, suspension and deletion all delete the rows (signal
  ``post_delete``), at once and again when the transaction commits. A tombstone is never
  overwritten by a fill, so a request that read the row just before the revocation cannot
  re-insert it. A JWT access token is also verified by its signature before the cache is asked.
* **identities** — a snapshot per principal or client (a few fields, never a password hash), keyed
  by iam_id, dropped on every save or delete of the row and on ``credentials_invalidated``; a short
  tombstone then keeps concurrent requests from re-filling it from rows read before the change.

Correctness comes first: the cache only ever *remembers what the database said was live*. A miss,
an unreachable Redis (``iam_project.cache``: reads are misses while its breaker is open) or a
tombstone sends the request to the database — never to "allow". An invalidation dropped while Redis
was down marks the breaker dirty; when Redis answers again the recovery hook moves this cache to a
new generation, so nothing written before the outage is believed.
"""

import hashlib
import json
import logging
import re
import time
import uuid
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from .cache import (count_ahead_key, expect_identities, expect_keys, expected_identities, expected_keys, forget_reads,
                    give_back_count, prefetch_keys, read_ahead, reads_epoch, register_recovery_hook, remember_count,
                    remember_reads)

logger = logging.getLogger(__name__)

GENERATION_KEY = "iam:auth:generation"
_TOKEN_KEY = "iam:auth:tok:{checksum}"
_IDENTITY_KEY = "iam:auth:id:{iam_id}"
TOMBSTONE = "revoked"

# Fields kept per identity: what authentication, the engine and the audit trail read on every request.
# Any other field is loaded from the database when first touched (a deferred field), never guessed.
PRINCIPAL_FIELDS = ("id", "iam_id", "email", "suspended", "must_change_password", "version")
CLIENT_FIELDS = ("id", "iam_id", "client_id", "name", "suspended", "is_system", "locked", "version", "client_type",
                 "grant_types", "scopes", "algorithm")
TOKEN_FIELDS = ("id", "user_id", "application_id", "scope", "expires", "created", "resource", "token_checksum")


def _conf(name, default):
    return getattr(settings, "IAM_AUTH_CACHE", {}).get(name, default)


def enabled():
    return _conf("ENABLED", True)


def checksum_of(value):
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --- generation -------------------------------------------------------------------------------------

def _current_generation(found):
    """The generation read with an entry, created when absent (``add``: racing processes agree)."""
    generation = found.get(GENERATION_KEY)
    if generation is None:
        generation = uuid.uuid4().hex
        if not cache.add(GENERATION_KEY, generation, timeout=None):
            generation = cache.get(GENERATION_KEY) or generation
    return generation


def forget_all_after_outage(backend):
    """Redis answers again after an outage: a tombstone dropped meanwhile would leave a revoked token's
    entry behind. A new generation voids every entry written before (see iam_project.cache)."""
    backend.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    logger.info("authcache.generation_bumped reason=cache_recovered")


register_recovery_hook(forget_all_after_outage)


def _read(keys, ahead=(), count=None, expected=True, fresh=False):
    """{key: payload} of the live entries among ``keys`` of the current generation; a tombstone reads
    as TOMBSTONE. Returns (entries, generation, everything read). ``ahead``: iam_ids whose other entries
    (the engine's grants) this request will read next — fetched in the same round trip and kept for the
    request, as are, when ``expected``, the entries the request said it will read (``expect_identities``,
    ``expect_keys``). ``count``: (key, timeout) of the request's rate-limit count, made in the same round trip
    when the cache can (otherwise, or when Redis refuses the count, the throttle counts on its own).

    What this request already read ahead is not read again, unless ``fresh``: a read that decides a fill
    (after the database was asked) must see a tombstone written meanwhile, so it always goes to Redis."""
    if count is None and not fresh:
        known = read_ahead([GENERATION_KEY, *keys])
        if known is not None:
            generation = _current_generation(known)
            return _live(keys, known, generation), generation, known
    expected = ([iam_id for iam_id in expected_identities() if _IDENTITY_KEY.format(iam_id=iam_id) not in keys]
                if expected else [])
    kept = [GENERATION_KEY, *(key for key in (expected_keys() if expected else ()) if key not in keys),
            *(_IDENTITY_KEY.format(iam_id=iam_id) for iam_id in expected), *prefetch_keys([*ahead, *expected])]
    epoch = reads_epoch()  # before the read: an invalidation while it travels voids what it brings
    found = None
    together = getattr(cache, "count_and_get_many", None) if count is not None else None
    if together is not None:
        key, timeout = count
        try:
            counted, found = together(key, 1, timeout, [*keys, *kept])
        except Exception:  # noqa: BLE001  (Redis refusing writes — read-only, out of memory: read without it)
            logger.warning("authcache.count_ahead_failed", exc_info=True)
        else:
            if counted is not None:
                remember_count(key, counted, timeout)
    if found is None:
        found = cache.get_many([*keys, *kept])
    remember_reads(kept, found, epoch)
    generation = _current_generation(found)
    return _live(keys, found, generation), generation, found


def _live(keys, found, generation):
    entries = {}
    for key in keys:
        value = found.get(key)
        if value == TOMBSTONE:
            entries[key] = TOMBSTONE
        elif isinstance(value, tuple) and len(value) == 2 and value[0] == generation:
            entries[key] = value[1]
    return entries


def _fill(key, generation, payload, existing, timeout):
    """Remember ``payload`` (read from the database just now) unless a tombstone got there first."""
    if existing == TOMBSTONE:
        return
    entry = (generation, payload)
    if isinstance(existing, tuple):  # an entry of an older generation: stale, replace it — but not a tombstone
        replace = getattr(cache, "set_unless", None)  # written since it was read (one atomic script on Redis)
        if replace is not None:
            replace(key, entry, timeout, TOMBSTONE)
        else:
            cache.set(key, entry, timeout=timeout)
    else:
        cache.add(key, entry, timeout=timeout)


def _bury(key, timeout):
    """Replace ``key`` by a tombstone, now and after the surrounding transaction commits. The delete goes
    first because the cache tries deletes even while its breaker is open, and a failed one marks it
    dirty — so a tombstone Redis never received still voids everything when Redis returns."""

    def write():
        forget_reads()
        cache.delete(key)
        cache.set(key, TOMBSTONE, timeout=timeout)

    write()
    transaction.on_commit(write)


# --- identities -------------------------------------------------------------------------------------

def _identity_models():
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    return {"principal": (get_user_model(), PRINCIPAL_FIELDS), "client": (get_application_model(), CLIENT_FIELDS)}


def snapshot(identity):
    """What is cached of ``identity``: its type and the listed fields (``attname``: values as stored)."""
    model, fields = _identity_models()[identity.identity_type]
    return identity.identity_type, {name: getattr(identity, model._meta.get_field(name).attname) for name in fields}


def rebuild(snap):
    """A model instance from a snapshot: the listed fields set, every other one deferred (loaded from the
    database if ever touched), as ``QuerySet.only()`` would make it."""
    identity_type, values = snap
    model, _ = _identity_models()[identity_type]
    return _from_fields(model, values)


def _from_fields(model, values):
    """An instance of ``model`` with the fields in ``values`` (by name or attname) and the rest deferred."""
    names = []
    row = []
    for field in model._meta.concrete_fields:  # from_db takes the values in the model's field order
        for name in (field.name, field.attname):
            if name in values:
                names.append(field.attname)
                row.append(values[name])
                break
    return model.from_db("default", names, row)


def _identity_timeout():
    return int(_conf("IDENTITY_TIMEOUT", 300))


def cached_identity(iam_id):
    """The principal or client with this iam_id, from the cache when known (no query), else from the
    database (one query) and remembered; None when there is none."""
    from .identity import find_identity

    if not enabled():
        return find_identity(iam_id)
    key = _IDENTITY_KEY.format(iam_id=iam_id)
    entries, generation, found = _read([key], ahead=[iam_id])
    payload = entries.get(key)
    if payload is not None and payload != TOMBSTONE:
        return rebuild(payload)
    identity = find_identity(iam_id)
    if identity is not None:
        _, generation, found = _read([key], expected=False, fresh=True)  # after the row: a tombstone wins
        _fill(key, generation, snapshot(identity), found.get(key), _identity_timeout())
    return identity


_NAMED_IAM_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}\Z")


def expect_identity_named_in(request, field):
    """A check names its subject in a small JSON body: have the request's first cache read (the caller's
    bearer token) fetch the subject and its grants too, one round trip for both. Only a hint — nothing in
    the body is trusted or refused here; the view parses and validates it as usual."""
    request = getattr(request, "_request", request)
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        if request.content_type != "application/json" or not 0 < size <= 4096:
            return
        iam_id = json.loads(request.body).get(field)
    except Exception:  # noqa: BLE001  (any unreadable body is the view's to refuse)
        return
    if isinstance(iam_id, str) and _NAMED_IAM_ID.match(iam_id):
        expect_identities([iam_id])


def forget_identity(identity):
    """Drop ``identity``'s snapshot (it changed or is gone) and keep it from being re-filled for
    ``IDENTITY_TOMBSTONE_SECONDS`` (from rows a concurrent request read before the change)."""
    iam_id = getattr(identity, "iam_id", None)
    if iam_id:
        _bury(_IDENTITY_KEY.format(iam_id=iam_id), int(_conf("IDENTITY_TOMBSTONE_SECONDS", 30)))


# --- tokens -----------------------------------------------------------------------------------------

# JWTs whose signature this process has verified, by checksum: the signature of the same bytes under the
# same keys cannot change, so it is checked once per process (bounded); the expiry is checked every time.
_verified = {}
_VERIFIED_MAX = 10_000


def _verify_jwt(value, checksum):
    """False when ``value`` is a JWT of ours whose signature or time fails; True otherwise (an opaque
    token, or a valid JWT). The database or cache decides whether it is still live."""
    if value.count(".") != 2:
        return True

    from jwcrypto import jws, jwt
    from jwcrypto.common import JWException

    keys = _verification_keys()
    known = _verified.get(checksum)
    if known is not None and known[0] is keys:
        return known[1] > time.time()
    try:
        token = jwt.JWT(jwt=value, key=keys, expected_type="JWS", check_claims={"exp": None})
        valid_until = float(json.loads(token.claims)["exp"]) + token.leeway  # as jwcrypto allows it
    except (JWException, jws.InvalidJWSSignature, ValueError, TypeError, KeyError):
        return False
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[checksum] = (keys, valid_until)
    return True


def _verification_keys():
    from oauth2_provider.settings import oauth2_settings

    return _key_set(oauth2_settings.OIDC_RSA_PRIVATE_KEY, tuple(oauth2_settings.OIDC_RSA_PRIVATE_KEYS_INACTIVE or ()))


@lru_cache(maxsize=4)
def _key_set(current, previous):
    """The public halves of the signing keys (current and previous), by ``kid``."""
    from jwcrypto import jwk

    keys = jwk.JWKSet()
    for pem in (current, *previous):
        if pem:
            private = jwk.JWK.from_pem(pem.encode())
            public = dict(private.export_public(as_dict=True), kid=private.thumbprint())
            keys.add(jwk.JWK(**public))
    return keys


# Which identities a token belongs to never changes: this process remembers it per token checksum so the
# token's entry and its identities' can be read in one round trip. Only that fixed fact is kept here —
# whether the token and identities are live is read from the shared cache on every request.
_identity_ids_of = {}
_IDENTITY_KEYS_MAX = 10_000


def cached_token(value, count=False):
    """(identity, token) for a bearer token value from the cache — no query — or None to ask the
    database: not cached, revoked (tombstone), expired, audience-bound, identity unknown to the cache
    or suspended (the database path gives the precise answer). ``count``: the request is made with this
    token (not asking about it), so its per-identity rate-limit count goes in the same round trip when
    this process knows whose token it is (``iam_project.cache.count_ahead_key``)."""
    if not enabled() or not value or len(value) > 4096:
        return None
    checksum = checksum_of(value)
    if not _verify_jwt(value, checksum):
        return None  # a forged or expired JWT: the database path refuses it with the usual answer
    token_key = _TOKEN_KEY.format(checksum=checksum)
    known_ids = _identity_ids_of.get(checksum, ())
    known = tuple(_IDENTITY_KEY.format(iam_id=iam_id) for iam_id in known_ids)
    # token, (when known) its identities and their grants: one round trip
    counter = count_ahead_key(known_ids[0]) if count and known_ids else None  # the user's, else the client's
    # what the request will read next (a check's subject) only with a token this process has seen live
    entries, generation, _ = _read([token_key, *known], ahead=known_ids, count=counter, expected=bool(known_ids))
    found = _found_live(value, checksum, entries, token_key, known_ids)
    if found is None and counter is not None:
        give_back_count(counter[0])  # not this identity's request after all: never spend its allowance
    return found


def _found_live(value, checksum, entries, token_key, known_ids):
    """(user, token) from the entries read for a token, or None when the cache cannot vouch for it."""
    fields = entries.get(token_key)
    if fields is None or fields == TOMBSTONE:
        return None
    if fields["expires"].timestamp() <= time.time():
        return None
    iam_ids = tuple(fields[name] for name in ("user_iam_id", "application_iam_id") if fields[name])
    keys = tuple(_IDENTITY_KEY.format(iam_id=iam_id) for iam_id in iam_ids)
    if iam_ids == known_ids:
        identities = entries
    else:
        identities, _, _ = _read(keys, ahead=iam_ids)
        if len(_identity_ids_of) >= _IDENTITY_KEYS_MAX:
            _identity_ids_of.clear()
        _identity_ids_of[checksum] = iam_ids
    if any(identities.get(key) in (None, TOMBSTONE) for key in keys):
        return None
    from oauth2_provider.models import get_access_token_model

    user = rebuild(identities[keys[0]]) if fields["user_iam_id"] else None
    application = rebuild(identities[keys[-1]]) if fields["application_iam_id"] else None
    if (user is not None and user.suspended) or (application is not None and application.suspended):
        return None
    # The value itself as the row holds it (never cached): whoever reads the token's claims from it
    # (the access context) does so without a query.
    token = _from_fields(get_access_token_model(), {**fields, "token": value})
    token.user = user
    token.application = application
    return user, token


def expect_token(value):
    """This request will ask about the token ``value`` (introspection): read its entry, its identities and
    their grants with the request's first read (the caller's), one round trip for both."""
    if not enabled() or not isinstance(value, str) or not value or len(value) > 4096:
        return
    checksum = checksum_of(value)
    expect_keys([_TOKEN_KEY.format(checksum=checksum)])
    expect_identities(_identity_ids_of.get(checksum, ()))


def remember_token(value, token):
    """After the database found ``token`` (with its user and application) live for ``value``: remember
    it and its identities. Tokens bound to a resource (RFC 8707) are left to the database path, which
    checks their audience."""
    if not enabled() or getattr(token, "resource", None):
        return
    token_key = _TOKEN_KEY.format(checksum=checksum_of(value))
    user, application = token.user, token.application
    identity_keys = {}
    for identity in (user, application):
        if identity is not None:
            identity_keys[_IDENTITY_KEY.format(iam_id=identity.iam_id)] = identity
    entries, generation, found = _read([token_key, *identity_keys], expected=False, fresh=True)
    lifetime = int(token.expires.timestamp() - time.time())
    if lifetime <= 0:
        return
    payload = {name: getattr(token, name) for name in TOKEN_FIELDS}
    payload["user_iam_id"] = user.iam_id if user is not None else None
    payload["application_iam_id"] = application.iam_id if application is not None else None
    for key, identity in identity_keys.items():
        if key not in entries:
            _fill(key, generation, snapshot(identity), found.get(key), _identity_timeout())
    if token_key not in entries:
        _fill(token_key, generation, payload, found.get(token_key), min(lifetime, 86400))


def forget_token(token):
    """The access token's row is going: tombstone its entry until the token would have expired."""
    checksum = getattr(token, "token_checksum", None)
    if not checksum:
        return
    expires = getattr(token, "expires", None)
    remaining = int(expires.timestamp() - time.time()) if expires else 3600
    _bury(_TOKEN_KEY.format(checksum=checksum), max(remaining, 0) + 60)


# --- receivers ---------------------------------------------------------------------------------------

def handle_token_deleted(sender, instance, **kwargs):
    forget_token(instance)


def handle_identity_changed(sender, instance, created=False, **kwargs):
    if not created:  # a new row: nothing of it can be cached yet
        forget_identity(instance)


def handle_credentials_invalidated(sender, identity, reason, **kwargs):
    forget_identity(identity)


def connect():
    """Keep the cache in step with the rows (called from the platform app's ``ready``). Connecting a
    ``post_delete`` receiver also makes bulk deletes of tokens send it for every row."""
    from django.conf import settings as django_settings
    from django.db.models.signals import post_delete, post_save

    from .hooks import credentials_invalidated

    from oauth2_provider.settings import oauth2_settings

    post_delete.connect(handle_token_deleted, sender=oauth2_settings.ACCESS_TOKEN_MODEL,
                        dispatch_uid="authcache.token_deleted")
    for model in (django_settings.AUTH_USER_MODEL, django_settings.OAUTH2_PROVIDER_APPLICATION_MODEL):
        post_save.connect(handle_identity_changed, sender=model, dispatch_uid=f"authcache.saved.{model}")
        post_delete.connect(handle_identity_changed, sender=model, dispatch_uid=f"authcache.deleted.{model}")
    credentials_invalidated.connect(handle_credentials_invalidated, dispatch_uid="authcache.credentials")
