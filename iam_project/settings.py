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


DEBUG = env_bool("DEBUG", default=True)


def _secret_key():
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Local runs keep a generated key under var/ so sessions survive a restart.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
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
    "iam_project.middleware.RequestContextMiddleware",
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
# Cookies travel only over HTTPS when DEBUG is off. Chromium and Firefox treat http://127.0.0.1
# and http://localhost as secure, so `make run` still signs in there; IAM_SECURE_COOKIES=0 turns
# the flag off for a browser that does not (and never belongs on a public address).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("IAM_SECURE_COOKIES", not DEBUG)
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

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

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
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
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
IAM_ACCESS_TOKEN_DEFAULT_SECONDS = _ACCESS_TOKEN_SECONDS


def access_token_lifetime(request):
    """Seconds for an access token: the configured lifetime, cut short by the earliest active
    just-in-time grant of the token's identity (a token never outlives the access it came with)."""
    from jit.services import token_lifetime_cap

    identity = getattr(request, "user", None) or getattr(request, "client", None)
    return token_lifetime_cap(identity, _ACCESS_TOKEN_SECONDS)

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

# --- Celery -------------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = None
    # A just-in-time expiry is queued with an ETA up to 7 days ahead; Redis would hand an unacked
    # ETA task to another worker after this timeout, so it must outlast the longest grant.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 8 * 24 * 3600}
else:
    # Embedded transport: queues are folders under var/, shared by the web process and the worker.
    CELERY_BROKER_URL = "filesystem://"
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
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "purge-expired-bindings": {
        "task": "roles.tasks.purge_expired_bindings",
        "schedule": timedelta(minutes=5),
    },
    "sweep-jit-grants": {
        "task": "jit.tasks.sweep_grants",
        "schedule": timedelta(seconds=30),
    },
    "clear-expired-tokens": {
        "task": "clients.tasks.clear_expired_tokens",
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
