"""Step-up before privilege: approving a just-in-time grant or making an API key needs a second factor verified
within IAM MFA_STEP_UP_MINUTES — a 401 with RFC 9470's challenge on the API (session or token), a redirect to
verify in the console — and a fresh verification lets the same action through."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from jit import services as jit_services
from jit.choices import RequestStatusChoices as Status
from jit.models import AccessRequest, Eligibility
from tests.clients.oidc_helpers import REDIRECT, basic, make_app, pkce_pair
from tests.conftest import make_principal, make_role

from .helpers import code, enrol_totp, sign_in

pytestmark = pytest.mark.django_db
CHALLENGE = 'error="insufficient_user_authentication"'


@pytest.fixture(autouse=True)
def _after_commit_now(monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


@pytest.fixture
def pending_request(db):
    role = make_role(["prod/db:read"], key="ops:db-reader")
    requester = make_principal(email="dev@example.com")
    jit_services.save_eligibility(None, Eligibility(principal=requester, role=role, max_duration=timedelta(hours=1),
                                                    approval_required=True, justification_required=False))
    return jit_services.request_access(requester, role, timedelta(minutes=30))


@pytest.fixture
def approver(db, pending_request):
    from .helpers import PASSWORD

    principal = make_principal(email="lead@example.com", password=PASSWORD, roles=["ops:db-reader"],
                               permissions=["jit/requests:approve", "jit/requests:read", "portal:access",
                                            "iam/apikeys:write"])
    return principal, enrol_totp(principal)


def signed_in_with_code(principal, device, page="/oauth/login/"):
    http, response = sign_in(page, principal.email)
    response = http.post("/account/mfa/verify/", {"code": code(device)})
    assert response.status_code == 302 and "_auth_user_id" in http.session
    return http


def approve(http, pending_request, **headers):
    return http.post(f"/resources/jit/requests/{pending_request.pk}/approve", {}, content_type="application/json",
                     **headers)


def test_an_approval_waits_for_a_recent_second_factor_then_goes_through(approver, pending_request, settings):
    principal, device = approver
    http = signed_in_with_code(principal, device)
    with time_machine.travel(timedelta(minutes=settings.IAM["MFA_STEP_UP_MINUTES"] + 1)):
        response = approve(http, pending_request)
        assert response.status_code == 401 and CHALLENGE in response["WWW-Authenticate"]
        assert response.json()["type"].endswith("insufficient-user-authentication")
        assert AccessRequest.objects.get(pk=pending_request.pk).status == Status.PENDING

        verified = http.post("/account/mfa/verify/", {"code": code(device), "next": "/account/mfa/"})
        assert verified.status_code == 302 and verified["Location"] == "/account/mfa/"
        assert approve(http, pending_request).status_code == 200
    assert AccessRequest.objects.get(pk=pending_request.pk).status == Status.ACTIVE


def test_a_session_that_never_verified_a_factor_cannot_approve(approver, pending_request):
    principal, _ = approver
    http = Client()
    http.force_login(principal)  # e.g. a session from before the principal enrolled
    response = approve(http, pending_request)
    assert response.status_code == 401 and CHALLENGE in response["WWW-Authenticate"]


def test_the_console_sends_the_approver_to_verify_and_back(approver, pending_request):
    principal, device = approver
    http = Client()
    http.force_login(principal)
    response = http.post("/admin/jit/accessrequest/", {"action": "approve_selected",
                                                       "_selected_action": [pending_request.pk]})
    assert response.status_code == 302
    assert response["Location"] == "/account/mfa/verify/?next=%2Fadmin%2Fjit%2Faccessrequest%2F"
    assert AccessRequest.objects.get(pk=pending_request.pk).status == Status.PENDING
    back = http.post(response["Location"], {"code": code(device), "next": "/admin/jit/accessrequest/"})
    assert back["Location"] == "/admin/jit/accessrequest/"
    http.post("/admin/jit/accessrequest/", {"action": "approve_selected", "_selected_action": [pending_request.pk]})
    assert AccessRequest.objects.get(pk=pending_request.pk).status == Status.ACTIVE


def token_after_sign_in(http, scope="jit/requests:approve jit/requests:read prod/db:read"):
    client, secret = make_app(scopes=("openid", *scope.split()))
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT,
              "scope": f"openid {scope}", "state": "s", "code_challenge": challenge,
              "code_challenge_method": "S256"}
    page = http.get("/oauth/authorize/", params)
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    location = http.post("/oauth/authorize/", {**form, "allow": "Authorize"})["Location"]
    from urllib.parse import parse_qs, urlsplit

    code_value = parse_qs(urlsplit(location).query)["code"][0]
    response = Client().post("/oauth/token/", {"grant_type": "authorization_code", "code": code_value,
                                               "redirect_uri": REDIRECT, "code_verifier": verifier},
                             HTTP_AUTHORIZATION=basic(client.client_id, secret))
    return response.json()["access_token"]


def test_an_old_token_cannot_step_over_the_window_but_a_fresh_one_can(approver, pending_request, settings):
    settings.IAM = {**settings.IAM, "MFA_STEP_UP_MINUTES": 2}
    principal, device = approver
    http = signed_in_with_code(principal, device)
    token = token_after_sign_in(http)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    with time_machine.travel(timedelta(minutes=5)):  # the token lives 15 minutes; its sign-in is 5 old
        response = approve(Client(), pending_request, **bearer)
        assert response.status_code == 401, response.content
        assert CHALLENGE in response["WWW-Authenticate"]
        assert 'acr_values="urn:portcullis:acr:mfa"' in response["WWW-Authenticate"]
    assert approve(Client(), pending_request, **bearer).status_code == 200  # within the window


def test_an_api_key_token_of_a_principal_with_a_factor_cannot_make_api_keys(approver):
    """An API key proves no second factor: its tokens never pass step-up (an attacker holding a leaked key
    cannot mint more keys with it)."""
    from clients import services as client_services

    principal, _ = approver
    _, value = client_services.create_api_key(None, principal, "ci")
    token = Client().post("/identity/token", {"grant_type": "urn:ibm:params:oauth:grant-type:apikey",
                                              "apikey": value}).json()["access_token"]
    response = Client().post("/v1/apikeys", {"name": "more", "iam_id": principal.iam_id},
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401, response.content and CHALLENGE in response["WWW-Authenticate"]


def test_changing_roles_needs_a_recent_second_factor(owner):
    from roles.models import RoleBinding

    device = enrol_totp(owner)
    target = make_principal(email="new-hire@example.com")
    make_role(["prod/db:read"], key="ops:reader")
    http = Client()
    http.force_login(owner)  # a session that never verified the owner's factor
    path = f"/resources/iam/principals/{target.pk}/roles"
    response = http.put(path, {"roles": ["ops:reader"]}, content_type="application/json")
    assert response.status_code == 401 and CHALLENGE in response["WWW-Authenticate"]
    assert not RoleBinding.objects.filter(principal=target).exists()
    assert http.post("/account/mfa/verify/", {"code": code(device)}).status_code == 302
    assert http.put(path, {"roles": ["ops:reader"]}, content_type="application/json").status_code == 200
    assert RoleBinding.objects.filter(principal=target, role__key="ops:reader").exists()


def test_activating_a_grant_without_approval_needs_a_recent_second_factor():
    role = make_role(["prod/logs:read"], key="ops:log-reader")
    requester = make_principal(email="oncall@example.com")
    device = enrol_totp(requester)
    jit_services.save_eligibility(None, Eligibility(principal=requester, role=role, max_duration=timedelta(hours=1),
                                                    approval_required=False, justification_required=False))
    http = Client()
    http.force_login(requester)
    ask = {"role": "ops:log-reader", "duration": "PT15M", "justification": "page"}
    response = http.post("/resources/jit/requests", ask, content_type="application/json")
    assert response.status_code == 401 and CHALLENGE in response["WWW-Authenticate"]
    assert not AccessRequest.objects.exists()
    http.post("/account/mfa/verify/", {"code": code(device)})
    response = http.post("/resources/jit/requests", ask, content_type="application/json")
    assert response.status_code == 201 and response.json()["status"] == "active"
