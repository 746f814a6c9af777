"""Content-Security-Policy: django-csp's middleware, widened only where an OAuth page's form sends the
browser on to a client's registered redirect URI."""

import re
from urllib.parse import parse_qs, urlsplit

from csp.middleware import CSPMiddleware as BaseCSPMiddleware

# A source expression must not carry anything that could end it or start another directive.
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def _source_of(uri):
    """The CSP source expression matching a redirect URI: its origin, or its scheme for a native
    app's private-use scheme (RFC 8252 §7.1); None when the URI has no usable form."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not _SCHEME.match(scheme):
        return None
    if not parts.netloc:
        return f"{scheme}:"
    if "@" in parts.netloc or not _HOST_PORT.match(parts.netloc):
        return None
    return f"{scheme}://{parts.netloc}"


def _oauth_queries(request):
    """The query of this request and, for the sign-in and password pages, of the authorization
    request carried in their ``next``: where the form's answer may lead."""
    queries = [request.GET]
    nexts = [request.GET.get("next")]
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        nexts.append(request.POST.get("next"))
    for target in filter(None, nexts):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/oauth/"):
            queries.append({key: values[0] for key, values in parse_qs(parts.query).items()})
    return queries


def registered_redirect_sources(request):
    """Sources of the redirect URIs this page's form may lead to: the authorization request's
    ``redirect_uri`` (or the client's only one) and a logout request's ``post_logout_redirect_uri``,
    each only if the client has it registered. Never anything the request alone could name."""
    from oauth2_provider.models import get_application_model

    Client = get_application_model()
    sources = set()
    for query in _oauth_queries(request):
        client_id = query.get("client_id")
        client = Client.objects.filter(client_id=client_id).first() if client_id else None
        redirect_uri = query.get("redirect_uri")
        if client is not None:
            if redirect_uri and client.redirect_uri_allowed(redirect_uri):
                sources.add(_source_of(redirect_uri))
            elif not redirect_uri and client.redirect_uris.split():
                sources.add(_source_of(client.default_redirect_uri))
        logout_uri = query.get("post_logout_redirect_uri")
        if logout_uri:
            # RP-initiated logout may name its client only through the ID token hint: any client that
            # registered this exact URI makes it a legitimate destination.
            candidates = [client] if client is not None else Client.objects.filter(
                post_logout_redirect_uris__contains=logout_uri)
            if any(candidate.post_logout_redirect_uri_allowed(logout_uri) for candidate in candidates):
                sources.add(_source_of(logout_uri))
    sources.discard(None)
    return sorted(sources)


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware. On the OAuth server's HTML pages, ``form-action`` also allows the
    client's registered redirect URI: Chromium applies ``form-action`` to every redirect that
    follows a form post, so consent, sign-in (for a first-party client) and logout confirmation
    would otherwise be blocked on their way back to the client."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if (request.path_info.startswith("/oauth/")
                and response.get("Content-Type", "").startswith("text/html")):
            sources = registered_redirect_sources(request)
            if sources:
                parts.update = {**(parts.update or {}), "form-action": sources}
        return parts
