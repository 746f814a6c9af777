"""The warm path of a client's secret authentication: live secrets read from the cache.

A client authenticates with one of its secrets (HTTP Basic or body credentials) at the token endpoint (every
grant), at revocation and — a resource server, on every request — at introspection: the OAuth validator's
``authenticate_client``. Once the database has accepted one of its secrets, the next requests are answered from
the cache — no query — under iam_project.authcache's rules, whose helpers (generation, fill, tombstone)
this module uses rather than repeats:

* **secrets** — an entry per secret the database just accepted, keyed by the SHA-256 digest of the
  presented value (the digest ``ClientSecret`` stores): the row's id, its client's iam_id and
  client_id, its ``expires_at``. Written after the database path succeeded, never over a tombstone, for at most
  ``SECRET_TIMEOUT`` seconds (so the database path still refreshes ``last_used_at`` about every five
  minutes) and never past the secret's expiry. Every save or delete of a ``ClientSecret`` row —
  revocation, expiry change, rotation, its client's deletion (a cascade sends ``post_delete`` per row
  because a receiver is connected) — and ``credentials_invalidated`` of its client replace it with a
  tombstone, at once and again on commit.
* **the client** comes from authcache's identity snapshot (dropped on every save or delete of the
  client, so suspension and deletion reach it at once); it must be live and not suspended.

Anything else — a miss, a tombstone, another client_id, an expired secret, Redis unreachable — goes to
the database path unchanged (which audits and rate-limits failures): the warm path only ever answers
"authenticated".
"""

import time

from iam_project import authcache

from .models import SECRET_PREFIX, ClientSecret

_SECRET_KEY = "iam:auth:secret:{digest}"
# The database path writes last_used_at when it is older than five minutes (services.authenticate_secret):
# an entry never outlives that, so a secret in use is still seen used.
SECRET_TIMEOUT = 300
# A tombstone outlives any entry a request that read the row before the change could still write.
SECRET_TOMBSTONE_SECONDS = SECRET_TIMEOUT + 60
_MAX_SECRET_LENGTH = 512

# Which client a secret belongs to never changes (a changed row is tombstoned anyway): each process
# remembers it per digest so that the secret's entry and its client's snapshot are read in one round
# trip. Whether either is live is read from the shared cache on every request.
_identity_of = {}
_IDENTITY_KEYS_MAX = 10_000


def _secret_key(digest):
    return _SECRET_KEY.format(digest=digest)


def _identity_key(iam_id):
    return authcache._IDENTITY_KEY.format(iam_id=iam_id)


def _usable(value):
    return isinstance(value, str) and value.startswith(SECRET_PREFIX) and len(value) <= _MAX_SECRET_LENGTH


def cached_client(client_id, secret):
    """The client that ``secret`` authenticates as ``client_id``, from the cache — no query — or None to
    ask the database: not cached, tombstoned, another client's secret, expired, the client's snapshot
    missing, tombstoned or suspended."""
    if not authcache.enabled() or not client_id or not isinstance(client_id, str) or not _usable(secret):
        return None
    digest = ClientSecret.digest_of(secret)
    secret_key = _secret_key(digest)
    known_id = _identity_of.get(digest)
    known = _identity_key(known_id) if known_id else None
    # the secret, (when known) its client and the client's grants (the engine's next read): one round trip
    entries, _, _ = authcache._read([secret_key, known] if known else [secret_key], ahead=[known_id] if known_id else ())
    entry = entries.get(secret_key)
    if entry is None or entry == authcache.TOMBSTONE:
        return None
    if entry["client_id"] != client_id:
        return None  # another client's secret presented under this client_id: the database refuses it
    if entry["expires_at"] is not None and entry["expires_at"].timestamp() <= time.time():
        return None
    identity_key = _identity_key(entry["iam_id"])
    if identity_key == known:
        identities = entries
    else:
        identities, _, _ = authcache._read([identity_key], ahead=[entry["iam_id"]])
        if len(_identity_of) >= _IDENTITY_KEYS_MAX:
            _identity_of.clear()
        _identity_of[digest] = entry["iam_id"]
    snap = identities.get(identity_key)
    if snap is None or snap == authcache.TOMBSTONE or snap[0] != "client":
        return None
    client = authcache.rebuild(snap)
    if client.suspended or client.client_id != client_id or client.iam_id != entry["iam_id"]:
        return None
    return client


def remember(client, secret):
    """After the database path authenticated ``client`` with ``secret``: remember the secret (its row read
    once more for its expiry, with its client's version and state — one query) and the client's snapshot.
    Never writes over a tombstone, and nothing at all when the client changed since the request read it."""
    if not authcache.enabled() or client is None or not _usable(secret):
        return
    digest = ClientSecret.digest_of(secret)
    # The row first, the cache after: a tombstone written between the two is then seen, and kept.
    row = (ClientSecret.objects.live().filter(client=client, digest=digest)
           .values_list("id", "expires_at", "last_used_at", "client__version", "client__suspended").first())
    if row is None:
        return
    secret_id, expires_at, last_used_at, version, suspended = row
    if version != client.version or suspended:
        # Saved (suspended, narrowed, …) since this request read the client: its snapshot would be stale, and a
        # request stalled past the drop's refill guard would otherwise put it back for every process.
        return
    secret_key, identity_key = _secret_key(digest), _identity_key(client.iam_id)
    entries, generation, found = authcache._read([secret_key, identity_key], expected=False, fresh=True)
    if identity_key not in entries:
        authcache._fill(identity_key, generation, authcache.snapshot(client), found.get(identity_key),
                        authcache._identity_timeout())
    if secret_key in entries:
        return
    now = time.time()
    timeout = SECRET_TIMEOUT
    if last_used_at is not None:  # expire when the database path would refresh last_used_at again
        timeout = min(timeout, int(last_used_at.timestamp() + SECRET_TIMEOUT - now) + 1)
    if expires_at is not None:
        timeout = min(timeout, int(expires_at.timestamp() - now))
    if timeout <= 0:
        return
    payload = {"id": secret_id, "iam_id": client.iam_id, "client_id": client.client_id, "expires_at": expires_at}
    authcache._fill(secret_key, generation, payload, found.get(secret_key), timeout)


def forget_secret(secret):
    """The secret's row changed or is going: tombstone its entry, now and again on commit."""
    if secret.digest:
        authcache._bury(_secret_key(secret.digest), SECRET_TOMBSTONE_SECONDS)


def forget_secrets_of(client):
    """Tombstone every secret of ``client`` (one query)."""
    for digest in ClientSecret.objects.filter(client_id=client.pk).values_list("digest", flat=True):
        authcache._bury(_secret_key(digest), SECRET_TOMBSTONE_SECONDS)


# --- receivers ---------------------------------------------------------------------------------------

def handle_secret_changed(sender, instance, created=False, **kwargs):
    if not created:  # a new secret: nothing of it can be cached yet
        forget_secret(instance)


def handle_credentials_invalidated(sender, identity, reason, **kwargs):
    if getattr(identity, "identity_type", None) == "client" and identity.pk is not None:
        forget_secrets_of(identity)


def connect():
    """Keep the secret entries in step with the rows (called from the clients app's ``ready``).
    Connecting a ``post_delete`` receiver also makes bulk and cascading deletes send it for every row."""
    from django.db.models.signals import post_delete, post_save

    from iam_project.hooks import credentials_invalidated

    post_save.connect(handle_secret_changed, sender=ClientSecret, dispatch_uid="clients.authcache.secret_saved")
    post_delete.connect(handle_secret_changed, sender=ClientSecret, dispatch_uid="clients.authcache.secret_deleted")
    credentials_invalidated.connect(handle_credentials_invalidated, dispatch_uid="clients.authcache.credentials")
