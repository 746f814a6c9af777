"""Bearer tokens from django-oauth-toolkit authenticate /resources/ calls, capped by their scopes."""

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model
from rest_framework.test import APIClient

from tests.conftest import make_principal, make_role
from roles.models import RoleBinding

pytestmark = pytest.mark.django_db


def issue_token(user=None, application=None, scope="", lifetime=timedelta(minutes=5)):
    if application is None:
        application = get_application_model().objects.create(
            name="app", client_type="confidential", grant_types=["client_credentials"], scopes=["*:*"]
        )
    value = secrets.token_urlsafe(32)
    get_access_token_model().objects.create(
        user=user, application=application, token=value, scope=scope, expires=timezone.now() + lifetime
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
    return client


def test_token_with_the_scope_reads_principals():
    principal = make_principal(permissions=["iam/principals:read"])
    response = issue_token(principal, scope="iam/principals:read").get("/resources/iam/principals")
    assert response.status_code == 200
    assert principal.email in [p["email"] for p in response.json()["results"]]


def test_token_without_the_scope_is_refused_even_if_identity_has_the_permission():
    principal = make_principal(permissions=["iam/principals:read"])
    response = issue_token(principal, scope="openid email").get("/resources/iam/principals")
    assert response.status_code == 403
    assert "scopes" in response.json()["detail"]


def test_token_scope_does_not_add_permissions_the_identity_lacks():
    principal = make_principal(permissions=["iam/roles:read"])
    response = issue_token(principal, scope="*:*").get("/resources/iam/principals")
    assert response.status_code == 403


def test_suspending_the_principal_stops_its_token_at_once():
    owner = make_principal(roles=["system:owner"])
    principal = make_principal(permissions=["iam/principals:read"])
    api = issue_token(principal, scope="iam/principals:read")
    assert api.get("/resources/iam/principals").status_code == 200
    from principals.services import suspend_principal

    suspend_principal(owner, principal.pk)
    response = api.get("/resources/iam/principals")
    assert response.status_code == 401


def test_expired_token_is_refused():
    principal = make_principal(permissions=["iam/principals:read"])
    api = issue_token(principal, scope="iam/principals:read", lifetime=timedelta(seconds=-1))
    assert api.get("/resources/iam/principals").status_code == 401


def test_client_credentials_token_acts_as_the_client_with_its_roles():
    client_app = get_application_model().objects.create(
        name="backend job", client_type="confidential", grant_types=["client_credentials"], scopes=["iam/*:read"]
    )
    RoleBinding.objects.create(client=client_app, role=make_role(["iam/roles:read"]))
    api = issue_token(None, client_app, scope="iam/roles:read iam/principals:read")
    me = api.get("/resources/me")
    assert me.status_code == 200
    assert me.json()["iamId"] == client_app.iam_id
    assert me.json()["type"] == "client"
    assert api.get("/resources/iam/roles").status_code == 200
    assert api.get("/resources/iam/principals").status_code == 403  # scope yes, role no


def test_suspended_client_token_is_refused():
    client_app = get_application_model().objects.create(
        name="job", client_type="confidential", grant_types=["client_credentials"], scopes=["*:*"]
    )
    RoleBinding.objects.create(client=client_app, role=make_role(["iam/roles:read"]))
    api = issue_token(None, client_app, scope="iam/roles:read")
    assert api.get("/resources/iam/roles").status_code == 200
    client_app.suspended = True
    client_app.save()
    assert api.get("/resources/iam/roles").status_code == 401


def test_garbage_token_is_401_problem_json():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = api.get("/resources/iam/principals")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response["WWW-Authenticate"].startswith("Bearer")
