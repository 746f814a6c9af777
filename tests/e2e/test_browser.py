"""The pages in a real browser: Debian's Chromium, driven by Playwright, against the live server.

Each test fails on a console error, an uncaught script error or a Content-Security-Policy
violation (see tests/e2e/browser.py), so a page that works only for `requests` fails here.
"""

import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from clients import services
from tests.conftest import make_principal
from tests.e2e.browser import TIMEOUT_MS, browser_page, chromium, relying_party  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PASSWORD = "Browser-passphrase-2026"
NEW_PASSWORD = "Chosen-in-browser-2027"


def expect(page):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(page)


def sign_in(page, email, password):
    """Fill the sign-in form by its labels, as a person would, and submit it."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()


def oauth_client(redirect_uri, **props):
    client = services.create_client(None, {
        "name": "Browser app", "grantTypes": ["authorization_code", "refresh_token"], "redirectUris": [redirect_uri],
        "scopes": ["openid", "email", "profile", "iam/principals:read"], **props,
    })
    _, secret = services.create_secret(None, client.pk)
    return client, secret


def start_authorization(base, client, secret):
    """An Authlib relying party: the authorization URL (PKCE S256, nonce) and what it needs afterwards."""
    config = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    session = OAuth2Session(client.client_id, secret, scope="openid email profile iam/principals:read",
                            redirect_uri=client.redirect_uris.split()[0], code_challenge_method="S256")
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, state = session.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier,
                                                  nonce=nonce)
    return {"config": config, "session": session, "verifier": verifier, "nonce": nonce, "state": state, "url": url}


def finish_authorization(flow, callback, client, principal):
    """Exchange the code from the browser's callback and check the ID token as a strict RP would."""
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == [flow["state"]] and query["code"], callback
    config = flow["config"]
    token = flow["session"].fetch_token(config["token_endpoint"], authorization_response=callback,
                                        code_verifier=flow["verifier"])
    jwks = KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
    id_token = jwt.decode(token["id_token"], jwks, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": config["issuer"]}, aud={"essential": True, "value": client.client_id},
        nonce={"essential": True, "value": flow["nonce"]}, sub={"essential": True, "value": str(principal.pk)},
        exp={"essential": True},
    ).validate(id_token.claims)
    assert id_token.claims["email"] == principal.email
    return token


def consent(page, client):
    """Read the consent page and allow; the browser lands on the client's callback."""
    expect(page).to_have_url(re.compile(r"/oauth/authorize/"))
    expect(page.get_by_role("heading", name=f"Allow {client.name} to act for you?")).to_be_visible()
    expect(page.get_by_text("iam/principals:read")).to_be_visible()
    with page.expect_navigation(url=re.compile(re.escape(client.redirect_uris.split()[0]))):
        page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Back at the client")).to_be_visible()


# --- OAuth sign-in -----------------------------------------------------------------------------------


def test_oauth_sign_in_consent_code_and_token(browser_page, live_server, relying_party):
    page = browser_page
    principal = make_principal(email="ana@example.com", password=PASSWORD, permissions=["iam/principals:read"])
    client, secret = oauth_client(relying_party.url)
    flow = start_authorization(live_server.url, client, secret)

    page.goto(flow["url"])
    expect(page).to_have_url(re.compile(r"/oauth/login/\?next="))
    sign_in(page, principal.email, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("correct")
    expect(page).to_have_url(re.compile(r"/oauth/login/\?next="))
    sign_in(page, principal.email, PASSWORD)
    consent(page, client)

    assert len(relying_party.seen) == 1
    token = finish_authorization(flow, relying_party.seen[0], client, principal)
    me = requests.get(f"{live_server.url}/resources/iam/principals",
                      headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert me.status_code == 200 and principal.email in me.text


# --- Console -----------------------------------------------------------------------------------------


def console_sign_in(page, email, password):
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.get_by_label(re.compile(r"email", re.I)).fill(email)
    page.get_by_label(re.compile(r"^password:?$", re.I)).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"log in|sign in", re.I)).click()


def test_console_sign_in_walks_every_screen_under_the_policy(browser_page):
    page = browser_page
    owner = make_principal(email="owner@example.com", password=PASSWORD, roles=["system:owner"])
    console_sign_in(page, owner.email, "not-the-password")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.locator(".errornote")).to_contain_text("correct email and password")

    console_sign_in(page, owner.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", name="Identity and access")).to_be_visible()
    # Every changelist and add form the owner can open, each with its JavaScript running.
    links = sorted({href for href in page.eval_on_selector_all(
        "#content-main a[href^='/admin/']", "els => els.map(e => e.getAttribute('href'))")
        if re.fullmatch(r"/admin/\w+/\w+/(add/)?", href)})
    assert any("/admin/clients/client/" in link for link in links), links
    for link in links:
        response = page.goto(link)
        assert response.status == 200, (link, response.status)
        expect(page.locator("#content")).to_be_visible()
    # The sidebar filter and the changelist's select-all both run admin scripts.
    page.goto("/admin/principals/principal/")
    page.locator("#nav-filter").fill("client")
    expect(page.locator("#nav-sidebar tr.model-principal")).to_be_hidden()
    expect(page.locator("#nav-sidebar tr.model-client")).to_be_visible()
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")


def test_console_form_widgets_work_under_the_policy(browser_page):
    """Autocomplete (select2 over the admin's JSON view), the calendar and the date shortcuts are
    the admin's most script-heavy widgets: granting a role with them must work as before."""
    page = browser_page
    owner = make_principal(email="owner@example.com", password=PASSWORD, roles=["system:owner"])
    grantee = make_principal(email="grantee@example.com")
    console_sign_in(page, owner.email, PASSWORD)
    page.goto("/admin/roles/rolebinding/add/")
    for field, text, choice in (("principal", "grantee", grantee.email), ("role", "portal", "system:portal:full")):
        page.locator(f".field-{field} .select2-selection").click()
        page.locator(".select2-search__field").fill(text)
        page.locator(".select2-results__option", has_text=choice).click()
    # "Add another" opens a popup whose answer closes it and selects the new row in the opener.
    with page.expect_popup() as opened:
        page.locator("#add_id_principal").click()
    popup = opened.value
    popup.on("console", page.problems.console)
    popup.get_by_label(re.compile(r"^email:?$", re.I)).fill("popup@example.com")
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".field-principal .select2-selection")).to_contain_text("popup@example.com")
    page.locator(".field-principal .select2-selection").click()
    page.locator(".select2-search__field").fill("grantee")
    page.locator(".select2-results__option", has_text=grantee.email).click()
    page.locator(".field-expires_at .datetimeshortcuts a", has_text="Today").click()
    expect(page.locator("#id_expires_at_0")).not_to_have_value("")
    page.locator("#id_expires_at_0").fill("2099-01-31")
    page.locator("#calendarlink0").click()
    expect(page.locator("#calendarbox0")).to_be_visible()
    page.locator("#calendarbox0").get_by_role("link", name="Cancel").click()
    page.locator("#id_expires_at_1").fill("12:00:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    assert grantee.bindings.filter(role__key="system:portal:full").exists()


# --- Forced password change ------------------------------------------------------------------------


def test_console_forces_a_temporary_password_to_be_changed(browser_page):
    page = browser_page
    principal = make_principal(email="temp@example.com", password=PASSWORD, roles=["system:portal:full"],
                               must_change_password=True)
    console_sign_in(page, principal.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/password_change/"))
    page.goto("/admin/principals/principal/")  # nothing else opens until the password is changed
    expect(page).to_have_url(re.compile(r"/admin/password_change/"))
    page.get_by_label(re.compile(r"old password", re.I)).fill(PASSWORD)
    page.get_by_label(re.compile(r"^new password:?$", re.I)).fill(NEW_PASSWORD)
    page.get_by_label(re.compile(r"new password confirmation", re.I)).fill(NEW_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"change my password", re.I)).click()
    expect(page).to_have_url(re.compile(r"/admin/password_change/done/"))
    page.goto("/admin/")  # system:portal:full alone shows no console screen: its self-service pages
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    principal.refresh_from_db()
    assert not principal.must_change_password and principal.check_password(NEW_PASSWORD)


def test_oauth_sign_in_forces_a_temporary_password_to_be_changed(browser_page, live_server, relying_party):
    page = browser_page
    principal = make_principal(email="temp-rp@example.com", password=PASSWORD, permissions=["iam/principals:read"],
                               must_change_password=True)
    client, secret = oauth_client(relying_party.url)
    flow = start_authorization(live_server.url, client, secret)
    page.goto(flow["url"])
    sign_in(page, principal.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/oauth/password/\?next="))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("Current (temporary) password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Change password").click()
    consent(page, client)  # back on the authorization request, which goes on as before
    finish_authorization(flow, relying_party.seen[0], client, principal)
    principal.refresh_from_db()
    assert not principal.must_change_password


# --- Logout ----------------------------------------------------------------------------------------


def test_console_logout_ends_the_session(browser_page):
    page = browser_page
    owner = make_principal(email="owner@example.com", password=PASSWORD, roles=["system:owner"])
    console_sign_in(page, owner.email, PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name=re.compile(r"logged out", re.I))).to_be_visible()
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))


def test_oauth_logout_ends_the_session(browser_page, live_server, relying_party):
    page = browser_page
    principal = make_principal(email="out@example.com", password=PASSWORD, permissions=["iam/principals:read"])
    client, secret = oauth_client(relying_party.url)
    flow = start_authorization(live_server.url, client, secret)
    page.goto(flow["url"])
    sign_in(page, principal.email, PASSWORD)
    consent(page, client)
    token = finish_authorization(flow, relying_party.seen[0], client, principal)

    end_session = flow["config"].get("end_session_endpoint")
    if end_session:  # OpenID Connect RP-initiated logout 1.0: a confirmation page may be shown
        page.goto(f"{end_session}?{urlencode({'id_token_hint': token['id_token'], 'client_id': client.client_id})}")
        confirm = page.get_by_role("button", name=re.compile(r"sign out|log ?out", re.I))
        if confirm.count():
            with page.expect_navigation():
                confirm.click()
    else:  # Django's logout view: a form post from one of the server's own pages, CSRF token included
        page.goto("/oauth/login/")
        with page.expect_navigation():
            page.evaluate("""() => {
              const form = Object.assign(document.createElement("form"), {method: "post", action: "/oauth/logout/"});
              form.append(document.querySelector("input[name=csrfmiddlewaretoken]").cloneNode());
              document.body.append(form);
              form.submit();
            }""")
        expect(page).to_have_url(re.compile(r"/oauth/login/"))

    # The browser's session is over: the same authorization request asks for a sign-in again.
    page.goto(start_authorization(live_server.url, client, secret)["url"])
    expect(page).to_have_url(re.compile(r"/oauth/login/\?next="))


# --- API documentation -----------------------------------------------------------------------------


def test_swagger_ui_renders_the_operations_with_no_network(browser_page):
    page = browser_page  # every request off the live server is refused by the fixture
    response = page.goto("/api/docs/")
    assert response.status == 200
    expect(page.locator(".opblock").first).to_be_visible()
    # Swagger UI renders a long list of operations virtually (only what is near the viewport): scroll to it.
    principals = page.locator(".opblock-summary-path", has_text="/resources/iam/principals")
    for _ in range(60):
        if principals.count():
            break
        page.mouse.wheel(0, 1200)
        page.wait_for_timeout(100)
    expect(principals.first).to_be_visible()


def test_redoc_renders_the_operations_with_no_network(browser_page):
    page = browser_page
    # ReDoc's bundle always tries to show Redocly's logo from its CDN: the policy blocks it (as it
    # should) and the image hides itself. Nothing else may be fetched from elsewhere.
    page.problems.expect(r"cdn\.redoc\.ly/redoc/logo-mini\.svg")
    response = page.goto("/api/redoc/")
    assert response.status == 200
    # ReDoc parses and lays out the whole document (some 190 operations) before it shows any: on a busy
    # two-core machine that alone has taken over 15 s, so it gets a minute.
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached(timeout=60_000)
    expect(page.get_by_text("/resources/iam/principals").first).to_be_attached()


# --- Production security settings on a loopback address (`make run` with DEBUG off) ----------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_secure_cookies_still_sign_in_over_plain_http_on_loopback(browser_page, live_server, settings, host):
    """With DEBUG off the session and CSRF cookies are Secure; Chromium treats loopback as a secure
    context and keeps them over plain HTTP, so `make run` on http://127.0.0.1:8000 signs in."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 3600
    page = browser_page
    base = live_server.url.replace("localhost", host)
    page.allow_origin(base)
    owner = make_principal(email="owner@example.com", password=PASSWORD, roles=["system:owner"])
    response = page.goto(f"{base}/admin/login/")
    assert "strict-transport-security" not in response.headers  # never on plain HTTP
    page.get_by_label(re.compile(r"email", re.I)).fill(owner.email)
    page.get_by_label(re.compile(r"^password:?$", re.I)).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"log in", re.I)).click()
    expect(page.get_by_role("heading", name="Identity and access")).to_be_visible()
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies(base)}
    assert cookies["sessionid"]["secure"] and cookies["sessionid"]["httpOnly"]
    assert cookies["csrftoken"]["secure"]


# --- The one-time secret page ------------------------------------------------------------------------


def test_new_client_secret_is_shown_once_and_a_reload_mints_nothing(browser_page):
    from clients.models import ClientSecret
    from oauth2_provider.models import get_application_model

    page = browser_page
    owner = make_principal(email="owner@example.com", password=PASSWORD, roles=["system:owner"])
    console_sign_in(page, owner.email, PASSWORD)
    page.goto("/admin/clients/client/add/")
    page.get_by_label(re.compile(r"^name:?$", re.I)).fill("Browser job")
    page.get_by_label(re.compile(r"client type", re.I)).select_option("confidential")
    page.get_by_label("Client credentials").check()  # grant types are checkboxes (clients.forms)
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/clients/client/new-secrets/\?"))
    client = get_application_model().objects.get(name="Browser job")
    expect(page.locator("code.client-id")).to_have_text(client.client_id)
    value = page.locator("code.client-secret").inner_text()
    assert services.authenticate_secret(client, value)

    page.reload()
    expect(page.get_by_text("no secret to show")).to_be_visible()
    expect(page.locator("code.client-secret")).to_have_count(0)
    assert ClientSecret.objects.filter(client=client).count() == 1
