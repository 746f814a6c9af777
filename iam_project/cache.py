"""The shared cache made to survive Redis: Django's Redis backend behind a circuit breaker, falling back to misses.

Redis is a cache here (and the broker): losing it must cost speed, not answers. ``ResilientRedisCache``
is Django's ``RedisCache`` whose operations go through one circuit breaker per Redis location and
process:

* **closed** — operations go to Redis, with short socket timeouts (a dead or black-holed Redis costs
  at most that, once);
* a connection error or time-out **opens** it for ``BREAKER_SECONDS``: operations answer at once
  without touching the network — a read is a miss, a write does nothing — so callers compile from
  the database as on a cold cache;
* then **half-open**: the next caller alone probes (PING); on success the recovery hooks run
  (before anyone reads Redis again) and the breaker closes; on failure it opens again.

Keys under ``LOCAL_FALLBACK_PREFIXES`` (the rate limits' counters and blocks) are not dropped while
open but kept in a per-process local memory, so that a count still counts: each web process limits
on its own until Redis returns.

Invalidations (``delete``, ``delete_many``, ``clear``) are tried against Redis even while the breaker
is open — a dropped one could leave a stale entry behind when Redis returns — and one that fails
marks the breaker *dirty*: the recovery hooks must run once Redis answers again, and a background
timer probes for that even if this process serves nothing more. The engine registers a hook that
bumps its permission generation: every entry compiled before the outage is then ignored.

The degradation is logged once when it starts, then at most once per ``LOG_INTERVAL`` while it lasts,
and once when it ends (key=value, never a value read or written).
"""

import contextlib
import contextvars
import itertools
import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from . import metrics

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
PROBE = "probe"


class ThrottledLog:
    """A message logged at most once per ``interval`` seconds (per process), with how many times it was
    suppressed meanwhile: a dependency that is down must not write one line per request."""

    def __init__(self, log, interval, clock=time.time):
        self.log = log
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last = None
        self._suppressed = 0

    def __call__(self, level, message, *args):
        with self._lock:
            now = self.clock()
            if self._last is not None and now - self._last < self.interval:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        self.log.log(level, message + " suppressed=%s", *args, suppressed)
        return True

    def reset(self):
        with self._lock:
            self._last = None
            self._suppressed = 0


class CircuitBreaker:
    """Closed → (a failure) → open for ``reset_seconds`` → half-open, where one caller probes → closed or
    open again. Thread-safe; the clock is ``time.time`` so that tests can move it (time-machine)."""

    def __init__(self, name, reset_seconds=5.0, log_interval=60.0, clock=time.time):
        self.name = name
        self.reset_seconds = reset_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self.state = CLOSED
        self.opened_at = None  # when it last opened (a failed probe re-opens it)
        self.down_since = None  # when the current outage began
        self.fallbacks = 0  # operations answered without Redis during the current outage
        self.dirty = False  # an invalidation was dropped (a background probe makes it good)
        self.timer = None  # that background probe
        self._log = ThrottledLog(logger, log_interval, clock)

    def allow(self):
        """True: go ahead; PROBE: go ahead, you are the one probe; False: answer without the dependency."""
        with self._lock:
            if self.state == CLOSED:
                return True
            if self.state == OPEN and self.clock() - self.opened_at >= self.reset_seconds:
                self.state = HALF_OPEN
                return PROBE
            return False

    def failure(self, error, dirty=False):
        """The dependency failed (a call, the probe, or an invalidation when ``dirty``): open for another period."""
        with self._lock:
            now = self.clock()
            first = self.down_since is None
            self.state, self.opened_at = OPEN, now
            if first:
                self.down_since, self.fallbacks = now, 0
            self.dirty = self.dirty or dirty
            down_for, fallbacks = now - self.down_since, self.fallbacks
        metrics.cache_breaker_open(self.name, True)
        if first:
            self._log.reset()
        self._log(logging.WARNING, "cache.degraded cache=%s error=%s open_seconds=%s down_seconds=%d fallbacks=%d",
                  self.name, error, self.reset_seconds, down_for, fallbacks)

    def success(self):
        """The probe got through: closed again."""
        with self._lock:
            was_down = self.down_since is not None
            down_for = self.clock() - self.down_since if was_down else 0
            fallbacks = self.fallbacks
            self.state, self.opened_at, self.down_since, self.fallbacks, self.dirty = CLOSED, None, None, 0, False
        metrics.cache_breaker_open(self.name, False)
        if was_down:
            logger.warning("cache.recovered cache=%s down_seconds=%d fallbacks=%d", self.name, down_for, fallbacks)

    def release_probe(self):
        """The probe was not made after all (no exception, no answer): let the next caller probe."""
        with self._lock:
            if self.state == HALF_OPEN:
                self.state = OPEN

    def count_fallback(self, operation):
        with self._lock:
            self.fallbacks += 1
        metrics.cache_fallback(self.name, operation)


# One breaker (and one local fallback store) per Redis location in a process: Django builds a cache
# object per thread, and they must all know that Redis is down.
_breakers = {}
_breakers_lock = threading.Lock()
_recovery_hooks = []


def register_recovery_hook(hook):
    """``hook(cache)`` runs when a Redis cache answers again after an outage, before any other operation
    reaches it (the engine bumps its permission generation there). Idempotent per hook."""
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)


def breaker_for(location, **options):
    with _breakers_lock:
        if location not in _breakers:
            _breakers[location] = CircuitBreaker(safe_location(location), **options)
        return _breakers[location]


def reset_breakers():
    """Forget every breaker (and stop their background probes): for tests, which point caches at dead ports."""
    with _breakers_lock:
        for breaker in _breakers.values():
            if breaker.timer is not None:
                breaker.timer.cancel()
        _breakers.clear()


def safe_location(location):
    """host:port/db of a Redis URL, for logs and metric labels: never its user name or password."""
    from urllib.parse import urlsplit

    parts = []
    for url in location.replace(";", ",").split(","):
        try:
            split = urlsplit(url.strip())
            port = f":{split.port}" if split.port else ""
            parts.append(f"{split.hostname or ''}{port}{split.path}" if split.hostname else "redis")
        except ValueError:
            parts.append("redis")
    return ",".join(parts)


def _redis_errors():
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return RedisConnectionError, RedisTimeoutError, OSError, ResponseError


# Answers by which a reachable Redis refuses to work — a replica left read-only by a failover, a failed save
# (stop-writes-on-bgsave-error), out of memory under noeviction, too few replicas, still loading — count as
# Redis being unavailable: the breaker opens (reads miss, so requests go to the database; a dropped invalidation
# marks it dirty) and its probe, whose recovery hooks write, closes it only once Redis takes writes again. Any
# other error answer (a bug of ours) is raised.
_REFUSALS = ("READONLY", "MISCONF", "OOM", "NOREPLICAS", "MASTERDOWN", "LOADING")


def _unavailable(exc):
    from redis.exceptions import BusyLoadingError, OutOfMemoryError, ReadOnlyError, ResponseError

    if not isinstance(exc, ResponseError):
        return True  # a connection error or time-out
    return (isinstance(exc, (ReadOnlyError, OutOfMemoryError, BusyLoadingError))
            or str(exc).split(" ", 1)[0] in _REFUSALS)


# INCRBY only a key that exists (what Django's incr means), in one atomic step; nil when it does not.
# A count in a fixed window, in one round trip: the increment, and the expiry when the key has none (it was
# just created, or — written by anything else — would otherwise count for ever).
_COUNT_IN_WINDOW = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return value
"""

_INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""


_SET_UNLESS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one ``redis.Redis`` per connection pool instead of building one
    for every operation: redis-py fills ~150 response callbacks in each new client, a few milliseconds of
    CPU per request that makes several cache calls (profiled under load, issue 12). Clients are
    thread-safe; the pools, sockets and timeouts are Django's as before."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._scripts = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        """One round trip instead of Django's two (EXISTS, then INCRBY), and atomic: a counter that
        expires between the two would otherwise come back from INCRBY without its expiry, for ever."""
        client = self.get_client(key, write=True)
        script = self._scripts.get(id(client))
        if script is None:
            script = self._scripts[id(client)] = client.register_script(_INCR_EXISTING)
        value = script(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def count(self, key, delta, timeout):
        """Add ``delta`` to the counter ``key`` (created at 0, expiring in ``timeout`` seconds): the new count."""
        client = self.get_client(key, write=True)
        script = self._scripts.get((id(client), "count"))
        if script is None:
            script = self._scripts[(id(client), "count")] = client.register_script(_COUNT_IN_WINDOW)
        return int(script(keys=[key], args=[delta, max(1, int(timeout))]))

    def set_unless(self, key, value, timeout, unless):
        """Set ``key`` unless it holds ``unless`` right now (checked and written in one atomic script): True
        when it was set."""
        client = self.get_client(key, write=True)
        script = self._scripts.get((id(client), "set_unless"))
        if script is None:
            script = self._scripts[(id(client), "set_unless")] = client.register_script(_SET_UNLESS)
        dumps = self._serializer.dumps
        return bool(script(keys=[key], args=[dumps(unless), dumps(value), max(1, int(timeout))]))

    def count_and_get_many(self, key, delta, timeout, keys):
        """``count`` and ``get_many(keys)`` in one round trip (a pipeline of EVALSHA and MGET): the new count
        and {key: value} of the keys present. A Redis that lost the script (restarted) gets it loaded, once."""
        from redis.exceptions import NoScriptError

        client = self.get_client(key, write=True)
        script = self._scripts.get((id(client), "count"))
        if script is None:
            script = self._scripts[(id(client), "count")] = client.register_script(_COUNT_IN_WINDOW)
        pipe = client.pipeline(transaction=False)
        pipe.evalsha(script.sha, 1, key, delta, max(1, int(timeout)))
        pipe.mget(keys)
        counted, values = pipe.execute(raise_on_error=False)
        if isinstance(counted, NoScriptError):
            counted = script(keys=[key], args=[delta, max(1, int(timeout))])  # loads it, then counts
        elif isinstance(counted, Exception):
            raise counted
        if isinstance(values, Exception):
            raise values
        return int(counted), {k: self._serializer.loads(v) for k, v in zip(keys, values) if v is not None}


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, degrading to misses (or a local count, see the module docstring) while Redis is
    unreachable. OPTIONS besides redis-py's: ``BREAKER_SECONDS`` (how long it stays open, default 5),
    ``LOG_INTERVAL`` (default 60), ``LOCAL_FALLBACK_PREFIXES`` (default none). Socket timeouts default to
    half a second."""

    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        reset_seconds = float(options.pop("BREAKER_SECONDS", 5))
        log_interval = float(options.pop("LOG_INTERVAL", 60))
        self.local_prefixes = tuple(options.pop("LOCAL_FALLBACK_PREFIXES", ()))
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
        self.location = server if isinstance(server, str) else ",".join(server)
        self.breaker = breaker_for(self.location, reset_seconds=reset_seconds, log_interval=log_interval)
        # LocMemCache instances of one name share their store: every thread of the process counts together.
        self.local = LocMemCache(f"portcullis-fallback:{self.location}", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
        self._bypass = threading.local()
        self._errors = _redis_errors()

    # --- the breaker ------------------------------------------------------------------------------

    def _is_local(self, key):
        return bool(self.local_prefixes) and isinstance(key, str) and key.startswith(self.local_prefixes)

    def _probe(self):
        """PING, then the recovery hooks (straight to Redis), then closed; False when Redis is still down."""
        try:
            self._cache.get_client(write=True).ping()
            self._bypass.on = True
            try:
                for hook in list(_recovery_hooks):
                    hook(self)
            finally:
                self._bypass.on = False
        except self._errors as exc:
            if not _unavailable(exc):
                self.breaker.release_probe()
                raise
            self.breaker.failure(type(exc).__name__)
            return False
        except BaseException:
            self.breaker.release_probe()
            raise
        self.local.clear()  # the counts kept meanwhile were this process's only; Redis counts again
        self.breaker.success()
        return True

    def _available(self):
        if getattr(self._bypass, "on", False):
            return True
        allowed = self.breaker.allow()
        if allowed == PROBE:
            return self._probe()
        return allowed

    def _call(self, operation, primary, fallback, dirty=False, always=False):
        """``primary()`` against Redis when the breaker lets it through (``always``: even when open), else
        ``fallback()``; a connection failure opens the breaker and answers ``fallback()`` too."""
        if always or self._available():
            try:
                return primary()
            except self._errors as exc:
                if getattr(self._bypass, "on", False) or not _unavailable(exc):
                    raise
                self.breaker.failure(type(exc).__name__, dirty=dirty)
                if dirty:
                    self._schedule_recovery()
        self.breaker.count_fallback(operation)
        return fallback()

    def _schedule_recovery(self):
        """A dropped invalidation must be made good when Redis returns, even if this process serves nothing
        more: probe in the background until it does."""
        breaker = self.breaker
        with _breakers_lock:
            if getattr(breaker, "timer", None) is not None and breaker.timer.is_alive():
                return

            def retry():
                with _breakers_lock:
                    breaker.timer = None
                if breaker.state != CLOSED and self._available() is not True:
                    self._schedule_recovery()

            breaker.timer = threading.Timer(breaker.reset_seconds + 0.05, retry)
            breaker.timer.daemon = True
            breaker.timer.start()

    # --- reads: a miss while open (local keys: the local store) -----------------------------------

    def get(self, key, default=None, version=None):
        store = self.local if self._is_local(key) else None
        return self._call("get", lambda: super(ResilientRedisCache, self).get(key, default, version),
                          lambda: store.get(key, default, version) if store else default)

    def get_many(self, keys, version=None):
        keys = list(keys)
        local = [key for key in keys if self._is_local(key)]
        return self._call("get_many", lambda: super(ResilientRedisCache, self).get_many(keys, version),
                          lambda: self.local.get_many(local, version) if local else {})

    def has_key(self, key, version=None):
        store = self.local if self._is_local(key) else None
        return self._call("has_key", lambda: super(ResilientRedisCache, self).has_key(key, version),
                          lambda: store.has_key(key, version) if store else False)

    # --- writes that fill the cache: nothing while open (local keys: the local store) -------------

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        store = self.local if self._is_local(key) else None
        return self._call("set", lambda: super(ResilientRedisCache, self).set(key, value, timeout, version),
                          lambda: store.set(key, value, timeout, version) if store else None)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        store = self.local if self._is_local(key) else None
        return self._call("add", lambda: super(ResilientRedisCache, self).add(key, value, timeout, version),
                          lambda: store.add(key, value, timeout, version) if store else False)

    def set_unless(self, key, value, timeout, unless, version=None):
        """Set ``key`` (for ``timeout`` seconds) unless it holds ``unless`` — a tombstone — at that moment: one
        atomic script, so a tombstone written after the caller last read ``key`` is never overwritten."""
        made = self.make_and_validate_key(key, version=version)
        return self._call("set_unless", lambda: self._cache.set_unless(made, value, timeout, unless), lambda: False)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        local = {key: value for key, value in data.items() if self._is_local(key)}

        def fallback():
            self.local.set_many(local, timeout, version)
            return []

        return self._call("set_many", lambda: super(ResilientRedisCache, self).set_many(data, timeout, version),
                          fallback)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        store = self.local if self._is_local(key) else None
        return self._call("touch", lambda: super(ResilientRedisCache, self).touch(key, timeout, version),
                          lambda: store.touch(key, timeout, version) if store else False)

    def incr(self, key, delta=1, version=None):
        store = self.local if self._is_local(key) else None

        def fallback():
            if store is None:
                raise ValueError(f"Key '{key}' not found")  # what incr says of a missing key
            return store.incr(key, delta, version)

        return self._call("incr", lambda: super(ResilientRedisCache, self).incr(key, delta, version), fallback)

    def count(self, key, delta, timeout, version=None):
        """A rate-limit count in one round trip (see ``_COUNT_IN_WINDOW``): the count after adding ``delta``,
        or None when it could not be counted (Redis down and ``key`` not kept locally)."""
        made = self.make_and_validate_key(key, version=version)
        return self._call("count", lambda: self._cache.count(made, delta, timeout),
                          lambda: self._local_count(key, delta, timeout, version))

    def _local_count(self, key, delta, timeout, version):
        """The count kept in this process while Redis is away (local keys only; None for others)."""
        if not self._is_local(key):
            return None
        if self.local.add(key, delta, timeout, version):
            return delta
        try:
            return self.local.incr(key, delta, version)
        except ValueError:  # expired between the two
            self.local.set(key, delta, timeout, version)
            return delta

    def count_and_get_many(self, key, delta, timeout, keys, version=None):
        """``count`` and ``get_many`` together (one round trip): (the count or None, {key: value})."""
        keys = list(keys)

        def fallback():
            return (self._local_count(key, delta, timeout, version),
                    self.local.get_many([k for k in keys if self._is_local(k)], version))

        def primary():
            made = {self.make_and_validate_key(k, version=version): k for k in keys}
            counted, found = self._cache.count_and_get_many(self.make_and_validate_key(key, version=version),
                                                            delta, timeout, list(made))
            return counted, {made[k]: value for k, value in found.items()}

        return self._call("count_and_get_many", primary, fallback)

    # --- invalidations: always tried; a failure marks the breaker dirty -----------------------------

    def delete(self, key, version=None):
        self.local.delete(key, version)
        return self._call("delete", lambda: super(ResilientRedisCache, self).delete(key, version),
                          lambda: False, dirty=True, always=True)

    def delete_many(self, keys, version=None):
        keys = list(keys)
        self.local.delete_many(keys, version)
        return self._call("delete_many", lambda: super(ResilientRedisCache, self).delete_many(keys, version),
                          lambda: None, dirty=True, always=True)

    def clear(self):
        self.local.clear()
        return self._call("clear", lambda: super(ResilientRedisCache, self).clear(), lambda: False,
                          dirty=True, always=True)


# --- reads made ahead, within one request ------------------------------------------------------------------

# A request's first cache read (its bearer token's entry, or the subject of a check) can fetch what the
# same request will read next — an identity's compiled grants — in the same round trip. What was read is
# kept for the rest of that request only (``request_scope``, opened by the request-context middleware),
# and is not believed once anything in the process — any thread, not only this request's — has
# invalidated an entry since it was read (the invalidation epoch below), so a reader never sees less than
# it would have read from Redis a moment later. Outside a request (tasks, commands) nothing is kept.
_prefetchers = []
_memo = contextvars.ContextVar("iam_cache_memo", default=None)
_ABSENT = object()
READ_AHEAD_SECONDS = 1.0
# Moves on every invalidation in this process (gthread serves several requests at once, each in its own
# context): a read made ahead under an older epoch is not believed. Each value is fresh (never reused).
_invalidations = itertools.count(1)
_epoch = 0


def register_prefetch(keys_for):
    """``keys_for(iam_id)`` names the cache keys worth reading together with an identity's entry."""
    if keys_for not in _prefetchers:
        _prefetchers.append(keys_for)


def prefetch_keys(iam_ids):
    """The registered keys for these identities (none outside a request scope)."""
    if _memo.get() is None:
        return []
    return [key for iam_id in iam_ids for keys_for in _prefetchers for key in keys_for(iam_id)]


@contextlib.contextmanager
def request_scope():
    """Keep the reads made ahead for the duration of one request; at its end, give back any count made
    ahead that the request did not use (see ``count_ahead_key``)."""
    token = _memo.set({})
    scope = _scope.set(_Scope())
    try:
        yield
    finally:
        unused = _scope.get().counts
        _scope.reset(scope)
        _memo.reset(token)
        for key, (_, timeout) in unused.items():
            _give_back(key, timeout)


def reads_epoch():
    """The invalidation epoch, to be taken before the read that ``remember_reads`` keeps."""
    return _epoch


def remember_reads(keys, found, epoch):
    """Keep what ``get_many(keys)`` answered (``found``), absent keys included, for this request. ``epoch``:
    ``reads_epoch()`` taken before that read — an invalidation during it voids what it read."""
    memo = _memo.get()
    if memo is not None and keys:
        until = time.monotonic() + READ_AHEAD_SECONDS
        for key in keys:
            memo[key] = (until, epoch, found.get(key, _ABSENT))


def read_ahead(keys):
    """{key: value} of ``keys`` as read earlier in this request, or None unless every one of them was."""
    memo = _memo.get()
    if not memo or any(key not in memo for key in keys):
        return None
    now = time.monotonic()
    if any(memo[key][0] < now or memo[key][1] != _epoch for key in keys):
        return None
    return {key: memo[key][2] for key in keys if memo[key][2] is not _ABSENT}


def forget_request_reads():
    """This request did slow work (a database path) since its first read: what it read ahead is not believed
    any longer by this request — it reads again, as it would have without reading ahead."""
    memo = _memo.get()
    if memo:
        memo.clear()


def forget_reads():
    """Something was invalidated: nothing read ahead before, by any request of this process, is believed."""
    global _epoch
    _epoch = next(_invalidations)
    memo = _memo.get()
    if memo:
        memo.clear()


# --- what a request will read and count next, asked for with its first read ---------------------------------

# The first read of a request carrying a bearer token can also make the request's per-identity rate-limit
# count (the identity is known per token, see authcache) and read the entries of identities the request
# names (a check's subject), all in one round trip. A count made ahead for a token then not found live is
# given back at once; one the request did not take for another reason (refused before the throttle) when the
# request ends — so a request nobody was authenticated for never spends an identity's allowance.
class _Scope:
    __slots__ = ("counts", "expected", "expected_keys")

    def __init__(self):
        self.counts = {}  # counter key -> (counted value, timeout)
        self.expected = []  # iam_ids this request will look up
        self.expected_keys = []  # other entries it will read (a token it is asked about)


_scope = contextvars.ContextVar("iam_cache_scope", default=None)
_count_key_for = []


def register_count_ahead(key_for):
    """``key_for(iam_id)`` -> (counter key, timeout) of the count every request authenticated as ``iam_id``
    makes (the API's per-identity limit), or None when it makes none."""
    _count_key_for[:] = [key_for]


def count_ahead_key(iam_id):
    """(key, timeout) of the count to make ahead for ``iam_id`` (None outside a request or when none)."""
    if _scope.get() is None or not _count_key_for or not iam_id:
        return None
    return _count_key_for[0](iam_id)


def remember_count(key, count, timeout):
    """A count was made ahead for this request: ``count`` is the counter's value after it."""
    scope = _scope.get()
    if scope is not None:
        scope.counts[key] = (count, timeout)


def take_count(key):
    """The count made ahead on ``key`` for this request (once), or None: then the caller counts itself."""
    scope = _scope.get()
    if scope is None or key not in scope.counts:
        return None
    return scope.counts.pop(key)[0]


def give_back_count(key):
    """The count made ahead on ``key`` will not be used (its token was not found live): give it back now,
    not at the end of the request, so that it never stands against the identity meanwhile."""
    scope = _scope.get()
    if scope is not None and key in scope.counts:
        _, timeout = scope.counts.pop(key)
        _give_back(key, timeout)


def _give_back(key, timeout):
    from django.core.cache import cache

    counter = getattr(cache, "count", None)
    if counter is None:
        return
    try:
        counter(key, -1, timeout)
    except Exception:  # noqa: BLE001  (the count stands; it expires with its window)
        logger.warning("ratelimit.give_back_failed", exc_info=True)


def expect_identities(iam_ids):
    """This request will look these identities up (a check's subject): read them with its first read."""
    scope = _scope.get()
    if scope is not None:
        scope.expected.extend(iam_id for iam_id in iam_ids if iam_id and iam_id not in scope.expected)


def expected_identities():
    scope = _scope.get()
    return tuple(scope.expected) if scope is not None else ()


def expect_keys(keys):
    """This request will read these entries: read them with its first read."""
    scope = _scope.get()
    if scope is not None:
        scope.expected_keys.extend(key for key in keys if key not in scope.expected_keys)


def expected_keys():
    scope = _scope.get()
    return tuple(scope.expected_keys) if scope is not None else ()
