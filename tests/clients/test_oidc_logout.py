"""OpenID Connect RP-Initiated Logout at /oauth/logout/, and the sign-in pages' and console's sign-out."""

from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from oauth2_provider.models import get_access_token_model

from tests.audit.helpers import events_since, mark

from .oidc_helpers import REDIRECT, code_flow, make_app, query_of, signed_in

pytestmark = pytest.mark.django_db


def confirm(http, page):
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    return http.post("/oauth/logout/", {**form, "allow": "Logout"})


def test_rp_initiated_logout_ends_the_session_revokes_the_clients_tokens_and_returns_with_state():
    client, secret = make_app()
    other, other_secret = make_app()
    http, principal = signed_in()
    token = code_flow(http, client, secret)
    kept = code_flow(http, other, other_secret)
    query = {"id_token_hint": token["id_token"], "post_logout_redirect_uri": REDIRECT, "state": "bye-1",
             "client_id": client.client_id}
    page = http.get(f"/oauth/logout/?{urlencode(query)}")
    assert page.status_code == 200 and b"Sign out of Web?" in page.content
    seq = mark()
    done = confirm(http, page)
    assert done.status_code == 302 and done["Location"].startswith(REDIRECT)
    assert query_of(done["Location"])["state"] == "bye-1"
    [event] = events_since(seq, action="token.revoked")
    assert event.details["reason"] == "logout" and event.details["clientId"] == client.client_id
    assert not get_access_token_model().objects.filter(user=principal, application=client).exists()
    assert get_access_token_model().objects.filter(user=principal, application=other).exists()
    assert kept["access_token"]
    after = http.get("/oauth/password/")
    assert after.status_code == 302 and after["Location"].startswith("/oauth/login/")  # signed out


def test_a_signed_out_user_is_returned_at_once_and_a_denied_logout_keeps_the_session():
    client, secret = make_app()
    http, _ = signed_in()
    token = code_flow(http, client, secret)
    query = {"id_token_hint": token["id_token"], "post_logout_redirect_uri": REDIRECT, "state": "s"}
    page = http.get(f"/oauth/logout/?{urlencode(query)}")
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    denied = http.post("/oauth/logout/", form)  # "Stay signed in"
    assert denied.status_code == 400 and http.get("/oauth/password/").status_code == 200
    anonymous = HttpClient().get(f"/oauth/logout/?{urlencode(query)}")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(REDIRECT)


@pytest.mark.parametrize("query", [
    {"client_id": "no-such-client"},
    {"client_id": "nul\x00byte"},
    {"id_token_hint": "not-a-jwt"},
    {"id_token_hint": "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"},
    {"id_token_hint": "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsxXX0.c2ln"},
    {"post_logout_redirect_uri": "https://evil.example.com/"},
])
def test_bad_logout_requests_are_400_pages_never_500_nor_a_redirect(query):
    client, _ = make_app()
    http, _ = signed_in()
    if "post_logout_redirect_uri" in query:
        query = {**query, "client_id": client.client_id}
    response = http.get(f"/oauth/logout/?{urlencode(query)}")
    assert response.status_code == 400 and "Location" not in response
    # A NUL byte is refused by the request guard before the view, in its own plain page.
    nul = any("\x00" in value for value in query.values())
    assert b"cannot be completed" in response.content or (nul and b"Request id" in response.content)


def test_a_suspended_client_cannot_ask_for_a_logout_redirect():
    from clients.services import set_client_suspended

    client, _ = make_app()
    set_client_suspended(None, client.pk, True)
    http, _ = signed_in()
    query = urlencode({"client_id": client.client_id, "post_logout_redirect_uri": REDIRECT})
    response = http.get(f"/oauth/logout/?{query}")
    assert response.status_code == 400


def test_the_sign_in_pages_sign_out_and_the_consoles_still_work():
    http, _ = signed_in(roles=["system:owner"])
    page = http.get("/oauth/logout/")
    assert page.status_code == 200 and b'name="allow"' in page.content
    done = confirm(http, page)
    assert done.status_code == 302 and done["Location"] == "/oauth/login/"
    assert http.get("/admin/").status_code == 302
    console, _ = signed_in(roles=["system:owner"])
    console.get("/admin/")
    assert console.post("/admin/logout/").status_code in (200, 302)
    assert console.get("/admin/").status_code == 302
