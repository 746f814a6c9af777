"""Settings, driven by environment variables; with none set the platform runs embedded (SQLite, no Redis, mail to files)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from iam_project.signing import load_keys as load_signing_keys

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("IAM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Debug, signing key and host names ----------------------------------------------------------------
# DEBUG is off unless the operator turns it on: Django's debug pages show settings and the environment.
DEBUG = env_bool("DEBUG", default=False)

LOOPBACK_HOSTS = "localhost,127.0.0.1,[::1]"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", LOOPBACK_HOSTS)


def _is_loopback(host):
    import ipaddress

    name = host.strip().lower().lstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _secret_key():
    """SECRET_KEY may be left unset only while the server answers to loopback host names alone
    (the embedded default); then a key is generated once into var/secret_key."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    public = [host for host in ALLOWED_HOSTS if not _is_loopback(host)]
    if public:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set: ALLOWED_HOSTS names {', '.join(public)}, so this is a deployment and "
            "every process and machine must sign with the same explicit key."
        )
    # Local runs keep a generated key under var/ so sessions survive a restart. Written aside and
    # linked into place, so that two processes starting at once never read a half-written key.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        draft = VAR_DIR / f".secret_key.{os.getpid()}"
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(secrets.token_urlsafe(64))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# A deployment answers to a name beyond loopback (and so sits behind TLS); a local run serves plain http.
DEPLOYED = any(not _is_loopback(host) for host in ALLOWED_HOSTS)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "iam_project.apps.PlatformConfig",  # first: its commands replace stock ones that bypass the services
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",  # the same static serving (WhiteNoise) under runserver as in production
    "django.contrib.staticfiles",
    "iam_project.apps.ConsoleAdminConfig",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "oauth2_provider",
    "guardian",
    "principals",
    "clients",
    "roles",
    "audit",
    "jit",
    "ibmcloud",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "iam_project.middleware.RequestContextMiddleware",
    "iam_project.guards.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "principals.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "iam_project.urls"
WSGI_APPLICATION = "iam_project.wsgi.application"
ASGI_APPLICATION = "iam_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portcullis.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # Server-side parameters, and psycopg prepares a statement a connection has run twice: the hot
    # paths' queries are then planned once per connection instead of on every request (measured:
    # ~0.2 ms of PostgreSQL planning saved per query, docs/performance.md). Turn off behind a pooler
    # that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=2)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", False):
    # psycopg's connection pool, one per process, instead of a persistent connection per thread
    # (measured against it in docs/performance.md; off by default). Size: DATABASE_POOL_MAX_SIZE.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "4")), "timeout": 10}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers serialise instead of one failing
    # half-way with "database is locked"; the timeout lets the second one wait its turn.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (compiled permission sets) -------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "portcullis"),
        }
    }
else:
    # A file cache is shared by the web server, the worker and commands on one machine, so an
    # invalidation made by any of them is seen by all; local memory would not be.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Authentication -----------------------------------------------------------------------------
AUTH_USER_MODEL = "principals.Principal"
AUTHENTICATION_BACKENDS = [
    "principals.backends.PrincipalBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("email",)}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"  # the sign-in page of the OAuth server; the console has its own
LOGIN_REDIRECT_URL = "admin:index"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Security headers, cookies and TLS ------------------------------------------------------------
# Cookies travel only over HTTPS on any deployment (ALLOWED_HOSTS beyond loopback). On the loopback
# default (`make run`, DEBUG off, plain http) they stay plain so that every client — browsers and
# command-line HTTP libraries alike — keeps its session; IAM_SECURE_COOKIES overrides either way.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("IAM_SECURE_COOKIES", DEPLOYED)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Same-origin: our own form posts carry their Origin and Referer (CSRF checks both), while no other
# site ever sees our URLs, whose query strings hold authorization requests (state, nonce, PKCE).
# "no-referrer" made Chromium send "Origin: null" and CSRF refused every sign-in.
SECURE_REFERRER_POLICY = "same-origin"
# HSTS is sent on HTTPS responses only (plain-HTTP development never sees it): a year by default.
SECURE_HSTS_SECONDS = int(os.environ.get("IAM_HSTS_SECONDS", "0" if DEBUG else str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("IAM_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = env_bool("IAM_SSL_REDIRECT", False)
# Behind a TLS-terminating proxy: IAM_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https" makes a
# request that the proxy marked count as HTTPS. Set it only if the proxy always sets or strips the
# header: a client could otherwise claim HTTPS itself.
_proxy_ssl_header = os.environ.get("IAM_SECURE_PROXY_SSL_HEADER", "").strip()
if _proxy_ssl_header:
    _name, _, _value = _proxy_ssl_header.partition(":")
    if not _name.strip() or not _value.strip():
        raise ImproperlyConfigured('IAM_SECURE_PROXY_SSL_HEADER must read "Header-Name: value", '
                                   'e.g. "X-Forwarded-Proto: https".')
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _name.strip().upper().replace("-", "_"), _value.strip())

# Content-Security-Policy (django-csp) on every response: scripts, styles, images and connections
# from this origin only (the API docs included: Swagger UI and ReDoc are served from the
# drf-spectacular-sidecar package); the pages' one inline stylesheet carries the request's nonce.
# A form may post only here, except where an authorization request sends the browser on to the
# client's registered redirect URI (iam_project.csp).
from csp.constants import NONCE, NONE, SELF  # noqa: E402

INSTALLED_APPS.append("csp")
# Before CommonMiddleware: it wraps every view and error page, and leaves the place right after
# SecurityMiddleware to a static-files middleware.
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.common.CommonMiddleware"), "iam_project.csp.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

ANONYMOUS_USER_NAME = None  # guardian: no anonymous principal row
GUARDIAN_RAISE_403 = True

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (WhiteNoise, DEBUG on or off) ------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # filled by `manage.py collectstatic` (see README, Production)
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies, no manifest: a template never fails on a file collectstatic has not seen yet.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Until collectstatic has run (a first `runserver`, the test servers), serve straight from the apps.
WHITENOISE_USE_FINDERS = DEBUG or not (STATIC_ROOT / "admin").is_dir()

# --- Errors ---------------------------------------------------------------------------------------------------
# Every error answer is in its face's shape with the request id, never a traceback (iam_project.exceptions).
IAM_ERROR_FACES = [
    (("/resources/", "/api/"), "iam_project.exceptions.render_problem"),
    (("/identity/", "/v1/", "/v2/"), "ibmcloud.api.errors.render_error"),
    (("/oauth/token/", "/oauth/revoke_token/", "/oauth/introspect/", "/oauth/userinfo/"),
     "iam_project.exceptions.render_oauth_error"),
]
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("IAM_MAX_BODY_BYTES", str(1024 * 1024)))

# --- Mail -----------------------------------------------------------------------------------------
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Portcullis <no-reply@localhost>")

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "iam_project.authentication.BearerTokenAuthentication",
        "iam_project.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["iam_project.permissions.HasIAMPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["iam_project.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "iam_project.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.AcceptHeaderVersioning",
    "DEFAULT_VERSION": "1",
    "ALLOWED_VERSIONS": ["1"],
    "EXCEPTION_HANDLER": "iam_project.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Portcullis IAM API",
    "DESCRIPTION": "Identities, roles, the authorization check, audit and just-in-time access.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/resources/",
    # Every operation also declares the errors it can answer, in its face's shape.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "iam_project.schema.add_error_responses"],
}

# --- API documentation pages ----------------------------------------------------------------------
# Swagger UI (/api/docs/) and ReDoc (/api/redoc/) are served from drf-spectacular-sidecar's static
# files, pinned in pyproject.toml: the pages work offline and load nothing from another origin.
INSTALLED_APPS.append("drf_spectacular_sidecar")
SPECTACULAR_SETTINGS.update({
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
})

# --- OAuth 2.0 (django-oauth-toolkit) -------------------------------------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "clients.Client"
_OIDC_KEY, _OIDC_PREVIOUS_KEYS = load_signing_keys(VAR_DIR)
_ACCESS_TOKEN_SECONDS = int(os.environ.get("IAM_ACCESS_TOKEN_SECONDS", "900"))
# What a token issued at the token service (the IBM face's /identity/token) carries besides the
# standard claims: the IBM account (clients.tokens; clients imports nothing from ibmcloud).
IAM_TOKEN_SERVICE_CLAIMS = "ibmcloud.api.token.account_claims"


def access_token_lifetime(request):
    """Seconds for an access token of any grant: the configured lifetime, cut short by the earliest
    active just-in-time grant of the token's identity (a token never outlives the access it came with)."""
    from jit.services import token_lifetime_cap

    identity = getattr(request, "user", None) or getattr(request, "client", None)
    seconds = token_lifetime_cap(identity, _ACCESS_TOKEN_SECONDS)
    # IBM face (issue 13): the account's system_access_token_expiration_in_seconds shortens it, never lengthens.
    from ibmcloud.services import access_token_seconds

    return access_token_seconds(seconds)

OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": access_token_lifetime,
    # Sliding: every refresh rotates the refresh token, and the new one lives this long again.
    "REFRESH_TOKEN_EXPIRE_SECONDS": int(os.environ.get("IAM_REFRESH_TOKEN_SECONDS", str(30 * 24 * 3600))),
    "ID_TOKEN_EXPIRE_SECONDS": int(os.environ.get("IAM_ID_TOKEN_SECONDS", "900")),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "PKCE_REQUIRED": True,
    "SCOPES_BACKEND_CLASS": "roles.scopes.PermissionScopes",
    "OAUTH2_VALIDATOR_CLASS": "clients.oauth.IAMOAuth2Validator",
    "ACCESS_TOKEN_GENERATOR": "clients.tokens.signed_access_token",
    # Opaque: without it oauthlib mints refresh tokens with the access-token generator (JWTs).
    "REFRESH_TOKEN_GENERATOR": "clients.tokens.opaque_refresh_token",
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,  # a replayed refresh token revokes its whole family
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "REQUEST_APPROVAL_PROMPT": "force",
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": os.environ.get("IAM_OIDC_ISSUER", ""),  # unset: derived from the request
    "OIDC_RSA_PRIVATE_KEY": _OIDC_KEY,
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": _OIDC_PREVIOUS_KEYS,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],  # http only on loopback: checked per client
    "ALLOW_LOCALHOST_LOOPBACK": True,  # RFC 8252: any port on a loopback redirect URI
    # RFC 9700 (OAuth 2.0 Security Best Current Practice), every gate enforced.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # tokens are stored by SHA-256 checksum only
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": False,  # http is allowed for loopback redirects
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}
# The server offers only what is listed in discovery (clients.oauth.IAMServer: no password,
# implicit, hybrid or device grant) and ends sessions by OpenID Connect RP-Initiated Logout at
# /oauth/logout/; the tokens the requesting client holds are revoked there by clients.views (audited).
OAUTH2_PROVIDER.update({
    "OIDC_SERVER_CLASS": "clients.oauth.IAMServer",
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
})

# --- Celery -------------------------------------------------------------------------------------
# Tasks published from a transaction go through the outbox (iam_project/outbox.py): written with the
# transaction, relayed after commit, relayed again by beat when the broker was down.
if REDIS_URL:
    # The broker may be a Redis of its own (CELERY_BROKER_URL); by default it is the cache's.
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL
    CELERY_RESULT_BACKEND = None
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # kombu's Redis transport, surviving the broker going away under a worker (see there).
        CELERY_BROKER_TRANSPORT = "iam_project.celery:RedisTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A just-in-time expiry is queued with an ETA up to 7 days ahead; Redis would hand an unacked
        # ETA task to another worker after this timeout, so it must outlast the longest grant. A task
        # held by a worker killed outright comes back only then: the outbox publishes it again long
        # before (IAM_OUTBOX_REDELIVER_SECONDS), and handlers drop the duplicate.
        "visibility_timeout": 8 * 24 * 3600,
        # A broker that is down or hangs fails a publication within seconds instead of holding the
        # request (or the worker) forever; the outbox keeps the message and tries again.
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
else:
    # Embedded transport: queues are folders under var/, shared by the web process and the worker.
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),  # kombu's default is ./control
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged when it has run, not when it is received: a worker stopped mid-task leaves
# it to another. The tasks that must run (mail, expiry) also ask for reject_on_worker_lost.
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True  # a worker started before Redis waits for it
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # and one that lost it waits as long as the outage lasts
# A task running when the broker goes away finishes: its work is claimed in its own transaction, and
# the copy Redis hands back after the visibility timeout is dropped as a duplicate.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
_OUTBOX_RELAY_SECONDS = float(os.environ.get("IAM_OUTBOX_RELAY_SECONDS", "10"))
CELERY_BEAT_SCHEDULE = {
    "purge-expired-bindings": {
        "task": "roles.tasks.purge_expired_bindings",
        "schedule": timedelta(minutes=5),
    },
    "sweep-jit-grants": {
        "task": "jit.tasks.sweep_grants",
        "schedule": timedelta(seconds=float(os.environ.get("IAM_JIT_SWEEP_SECONDS", "30"))),
    },
    "clear-expired-tokens": {
        "task": "clients.tasks.clear_expired_tokens",
        "schedule": timedelta(hours=1),
    },
    "relay-outbox": {
        "task": "iam_project.tasks.relay_outbox",
        "schedule": timedelta(seconds=_OUTBOX_RELAY_SECONDS),
        # A relay still queued when the next is due is dropped: one is enough.
        "options": {"expires": _OUTBOX_RELAY_SECONDS},
    },
    "purge-outbox": {
        "task": "iam_project.tasks.purge_outbox",
        "schedule": timedelta(hours=1),
    },
}

# --- Portcullis -----------------------------------------------------------------------------------
IAM = {
    "PERMISSION_CACHE_TIMEOUT": int(os.environ.get("IAM_PERMISSION_CACHE_TIMEOUT", "300")),
    "MAX_PROPERTIES_BYTES": 16 * 1024,
    "BOOTSTRAP_EMAIL": os.environ.get("IAM_BOOTSTRAP_EMAIL", ""),
    "BOOTSTRAP_PASSWORD": os.environ.get("IAM_BOOTSTRAP_PASSWORD", ""),
    "TRUSTED_PROXY_COUNT": int(os.environ.get("IAM_TRUSTED_PROXY_COUNT", "0")),
    "CONSOLE_PERMISSION": "portal:access",
    # Independent hash chains of the audit trail: concurrent writers append to different ones.
    "AUDIT_CHAIN_LANES": int(os.environ.get("IAM_AUDIT_CHAIN_LANES", "8")),
    # The outbox (iam_project/outbox.py): a failed publication is tried again after RETRY seconds,
    # doubling up to RETRY_MAX; a message published but not handled within REDELIVER seconds of its
    # due time is published again; handled messages are kept RETENTION days (longer than the broker's
    # visibility timeout, so a late duplicate is still recognised).
    "OUTBOX_RETRY_SECONDS": float(os.environ.get("IAM_OUTBOX_RETRY_SECONDS", "5")),
    "OUTBOX_RETRY_MAX_SECONDS": float(os.environ.get("IAM_OUTBOX_RETRY_MAX_SECONDS", "300")),
    "OUTBOX_REDELIVER_SECONDS": float(os.environ.get("IAM_OUTBOX_REDELIVER_SECONDS", "1800")),
    "OUTBOX_RETENTION_DAYS": int(os.environ.get("IAM_OUTBOX_RETENTION_DAYS", "10")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"kv": {"format": "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "kv"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
IAM_SITE_URL = os.environ.get("IAM_SITE_URL", "http://127.0.0.1:8000")

# --- Brute force: sign-in lock-out (django-axes) and rate limits (iam_project/ratelimit.py) ---------
# Added as a block of its own: the lists above keep their order.
INSTALLED_APPS += ["axes"]
# The rate limiter needs the session's principal (after AuthenticationMiddleware); axes' middleware
# only turns a lock-out flagged during the request into the lock-out page, and goes last.
MIDDLEWARE += ["iam_project.ratelimit.CredentialRateLimitMiddleware", "axes.middleware.AxesMiddleware"]
# axes first: a locked-out username or IP is refused before any password is checked.
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")

# Lock-out counts failures in the database (it keeps working without Redis), per username and,
# separately, per IP: either one reaching the limit locks — one IP spraying many usernames, or
# many IPs guessing one username. Combined (username, IP) pairs would let both through.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = int(os.environ.get("IAM_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("IAM_LOGIN_COOLOFF_MINUTES", "15")))
# A fixed cool-off: attempts during a lock-out are refused unchecked and do not extend it, so the
# owner can sign in when the page says; a success does not wipe the IP's count (an attacker signing
# in to their own account between guesses would otherwise never be locked).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "iam_project.lockout.username_of"
AXES_CLIENT_IP_CALLABLE = "iam_project.middleware.client_ip"
AXES_LOCKOUT_CALLABLE = "iam_project.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit trail already
AXES_ENABLE_ADMIN = False  # the console shows IAM objects only; operators use manage.py axes_*


def _rate_setting(name, default):
    """A limit as "count/period" (django-ratelimit's form: 10/5m, 60000/m, 100/s); 'off' or 0 turns it off."""
    import re

    value = os.environ.get(name, default).strip()
    if value.lower() in {"off", "0", "none", ""}:
        return None
    if not re.fullmatch(r"[1-9]\d*/\d*[smhd]?", value):
        raise ImproperlyConfigured(f"{name} must look like 10/5m or 60000/m (or 'off'), not {value!r}.")
    return value


IAM_RATE_LIMITS = {
    # failed credential attempts (wrong secret, key or current password; bad code or refresh token)
    "CREDENTIAL_FAILURES_PER_IP": _rate_setting("IAM_RATELIMIT_FAILURES_PER_IP", "10/5m"),
    "CREDENTIAL_FAILURES_PER_CREDENTIAL": _rate_setting("IAM_RATELIMIT_FAILURES_PER_CREDENTIAL", "10/5m"),
    # every request to a credential endpoint: a flood limit, far above a busy machine client
    "CREDENTIAL_REQUESTS_PER_IP": _rate_setting("IAM_RATELIMIT_CREDENTIAL_REQUESTS_PER_IP", "60000/m"),
    # /resources/ and the IBM face, per authenticated identity
    "API_REQUESTS_PER_IDENTITY": _rate_setting("IAM_RATELIMIT_API_PER_IDENTITY", "12000/m"),
}
RATELIMIT_ENABLE = env_bool("IAM_RATELIMIT_ENABLED", True)
RATELIMIT_USE_CACHE = "default"  # Redis when REDIS_URL is set: one count for every web process
RATELIMIT_CACHE_PREFIX = os.environ.get("IAM_RATELIMIT_CACHE_PREFIX", "rl:")
# django_ratelimit is used as a library, not installed as an app: its system check refuses the
# embedded file cache, whose increments are not atomic — close enough for one machine's processes.
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["iam_project.ratelimit.IdentityRateThrottle"]

# --- Resilience: the cache's circuit breaker, database outages, readiness and metrics ---------------------------
# Added as a block of its own (iam_project/cache.py, health.py, metrics.py, exceptions.py).
# Redis behind a circuit breaker: while it is unreachable the permission cache misses (decisions compile
# from the database), and the rate-limit keys count in each process's memory. Short socket timeouts: a
# dead Redis costs at most this, and then nothing until the breaker's next probe.
if REDIS_URL:
    CACHES["default"]["BACKEND"] = "iam_project.cache.ResilientRedisCache"
    CACHES["default"]["OPTIONS"] = {
        "socket_connect_timeout": float(os.environ.get("IAM_CACHE_SOCKET_TIMEOUT", "0.5")),
        "socket_timeout": float(os.environ.get("IAM_CACHE_SOCKET_TIMEOUT", "0.5")),
        "BREAKER_SECONDS": float(os.environ.get("IAM_CACHE_BREAKER_SECONDS", "5")),
        "LOG_INTERVAL": 60,
        "LOCAL_FALLBACK_PREFIXES": [RATELIMIT_CACHE_PREFIX],
    }
# A request that cannot reach the database is answered 503 with this Retry-After, in its face's shape.
IAM_DATABASE_RETRY_AFTER = int(os.environ.get("IAM_DATABASE_RETRY_AFTER", "5"))
MIDDLEWARE += ["iam_project.exceptions.DatabaseUnavailableMiddleware"]

# /readyz: components that may be down without taking the instance out of service (e.g. "redis,broker"
# where the load balancer acts on readiness: every instance shares the one Redis).
IAM_READINESS_OPTIONAL = env_list("IAM_READINESS_OPTIONAL")
IAM_READINESS_AUDIT_MODEL = "audit.ChainHead"
# django-health-check logs every failed check with its traceback, at every probe; iam_project.health
# logs which components are down (and why, by error class) once a minute instead.
LOGGING["loggers"]["health_check"] = {"level": "ERROR"}

# Prometheus (django-prometheus: request latency per route; iam_project.metrics: the platform's own).
# /metrics answers loopback (or IAM_METRICS_ALLOWED_IPS, CIDRs) and bearers of IAM_METRICS_TOKEN only.
INSTALLED_APPS += ["django_prometheus"]
MIDDLEWARE.insert(0, "django_prometheus.middleware.PrometheusBeforeMiddleware")
MIDDLEWARE += ["django_prometheus.middleware.PrometheusAfterMiddleware"]
IAM_METRICS_ALLOWED_IPS = env_list("IAM_METRICS_ALLOWED_IPS", "127.0.0.0/8,::1/128")
IAM_METRICS_TOKEN = os.environ.get("IAM_METRICS_TOKEN", "")

# --- Multi-factor sign-in (mfa app: django-otp for authenticator apps and recovery codes, django-otp-webauthn
# for passkeys and security keys). Who must use a second factor is the platform's policy (mfa.MfaPolicy, the
# IBM face's account setting ``mfa``); privileged operations need one verified in the last
# IAM_MFA_STEP_UP_MINUTES (0 or "off": step-up off). Added as a block of its own.
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static",
                   "django_otp_webauthn", "mfa"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "django_otp.middleware.OTPMiddleware")
MIDDLEWARE += ["iam_project.stepup.StepUpRedirectMiddleware"]  # console pages: verify, then back
_step_up = os.environ.get("IAM_MFA_STEP_UP_MINUTES", "10").strip().lower()
IAM["MFA_STEP_UP_MINUTES"] = None if _step_up in {"0", "off", "none", ""} else float(_step_up)
IAM["MFA_PENDING_SECONDS"] = int(os.environ.get("IAM_MFA_PENDING_SECONDS", "300"))
# The policy's first value for the roles whose holders must use a second factor (later: the API, the console).
IAM["MFA_REQUIRED_ROLES"] = env_list("IAM_MFA_REQUIRED_ROLES", "system:owner")
OTP_TOTP_ISSUER = os.environ.get("IAM_MFA_ISSUER", "Portcullis")
OTP_WEBAUTHN_HELPER_CLASS = "mfa.webauthn.PasskeyHelper"
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = True
# The WebAuthn relying party: by default the host the browser asked for (ALLOWED_HOSTS vets it) and its origin.
IAM_WEBAUTHN_RP_ID = os.environ.get("IAM_WEBAUTHN_RP_ID", "")
IAM_WEBAUTHN_RP_NAME = os.environ.get("IAM_WEBAUTHN_RP_NAME", "Portcullis")
IAM_WEBAUTHN_ORIGINS = env_list("IAM_WEBAUTHN_ORIGINS")
# django-otp-webauthn's own settings, for its system checks: the ceremonies ask mfa.webauthn.PasskeyHelper,
# which uses IAM_WEBAUTHN_ORIGINS or the request's own origin. (Browsers run WebAuthn on https or localhost.)
OTP_WEBAUTHN_RP_ID_CALLABLE = "mfa.webauthn.relying_party_id"
OTP_WEBAUTHN_RP_NAME = IAM_WEBAUTHN_RP_NAME
OTP_WEBAUTHN_ALLOWED_ORIGINS = IAM_WEBAUTHN_ORIGINS or [
    IAM_SITE_URL.rstrip("/") if IAM_SITE_URL.startswith(("https://", "http://localhost")) else "http://localhost"]

# --- Performance at load (issue 12): password hashing, the bearer-token cache -----------------------------------
# Argon2id at OWASP's parameters (principals/hashers.py); hashes made with other parameters (Django's
# m=100 MiB, p=8) or with PBKDF2 are re-hashed at the next successful sign-in.
PASSWORD_HASHERS = ["principals.hashers.Argon2idPasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
IAM_ARGON2 = {
    "TIME_COST": int(os.environ.get("IAM_ARGON2_TIME_COST", "2")),
    "MEMORY_KIB": int(os.environ.get("IAM_ARGON2_MEMORY_KIB", "19456")),
    "PARALLELISM": int(os.environ.get("IAM_ARGON2_PARALLELISM", "1")),
}
# Live access tokens and identity snapshots in the cache (iam_project/authcache.py): a warm bearer request
# costs no query; revocation, suspension and deletion replace the entries at once.
IAM_AUTH_CACHE = {
    "ENABLED": env_bool("IAM_AUTH_CACHE", True),
    "IDENTITY_TIMEOUT": int(os.environ.get("IAM_AUTH_CACHE_IDENTITY_SECONDS", "300")),
    "IDENTITY_TOMBSTONE_SECONDS": 30,
}
# rolePrefix on the principals list (principals/filtersets.py): up to this many holders the page starts
# from their bindings; beyond it, principals are read in email order and checked one by one.
IAM_ROLE_PREFIX_BINDINGS_FIRST_MAX = int(os.environ.get("IAM_ROLE_PREFIX_BINDINGS_FIRST_MAX", "1000"))

# --- The console's look and dashboard (issue 14) ----------------------------------------------------
# Django's own admin, grouped by task (iam_project.console.NAVIGATION), branded by
# templates/admin/base_site.html + iam_project/static/console/ (no inline script or style: the CSP
# above stays as it is), light/dark/auto theme from the admin's own toggle. The dashboard's panels
# come from the console app, which reads across every app.
INSTALLED_APPS += ["console"]
IAM_CONSOLE_DASHBOARD = "console.dashboard.dashboard_context"

# --- Self-service (portal app: /account/ pages for any signed-in principal) ---------------------------------------
INSTALLED_APPS += ["portal"]
