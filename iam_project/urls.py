"""The URL map: console, /resources/ API, OAuth server, OpenAPI schema and docs."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from clients.oauth_urls import account_urlpatterns as account_urls
from clients.views import ConnectDiscoveryInfoView, OAuthServerMetadataView
from iam_project.health import ReadinessView, liveness
from iam_project.metrics import metrics_view

# Every error in its face's shape (problem+json, IBM's, a plain page) with the request id, never a traceback.
handler400 = "iam_project.exceptions.bad_request"
handler403 = "iam_project.exceptions.permission_denied"
handler404 = "iam_project.exceptions.page_not_found"
handler500 = "iam_project.exceptions.server_error"


resources = [
    path("", include("principals.api.urls")),
    path("", include("clients.api.urls")),
    path("", include("roles.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("jit.api.urls")),
    path("", include("mfa.api.urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # The console's access answers (roles/console.py) and sessions (principals/sessions), before the admin's catch-all.
    path("admin/access/", include("roles.console")),
    path("admin/sessions/", include("principals.sessions.console")),
    path("admin/history/", include("console.views")),  # a principal's history (console app)
    path("admin/jit/", include("jit.console")),  # an access request's page and the approver's inbox
    path("admin/", admin.site.urls),
    path("resources/", include(resources)),
    path("", include("ibmcloud.api.urls")),
    path("oauth/", include("clients.oauth_urls", namespace="oauth2_provider")),
    path("oauth/", include(account_urls)),
    path("", include("mfa.urls")),  # second factors: sign-in step, enrolment, self-service, passkeys
    path("", include("portal.urls")),  # self-service: /account/ (profile, password, access, JIT, keys, sessions)
    # Discovery at the site root too: OpenID Connect's and RFC 8414's (path-inserted) form for
    # the issuer <site>/oauth — one issuer everywhere.
    re_path(r"^\.well-known/openid-configuration/?$", ConnectDiscoveryInfoView.as_view()),
    re_path(r"^\.well-known/oauth-authorization-server/oauth/?$", OAuthServerMetadataView.as_view()),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page runs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    # ReDoc styles itself with generated <style> elements and runs its search in a blob: worker.
    path("api/redoc/", csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
        SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    # Liveness (the process answers), readiness (each dependency: 503 when a required one is down) and the
    # Prometheus metrics (allowed scrapers only): iam_project.health, iam_project.metrics.
    path("healthz", liveness, name="health"),
    path("readyz", ReadinessView.as_view(), name="readiness"),
    path("metrics", metrics_view, name="metrics"),
]
