"""Shared fixtures: identities holding exactly the permissions a test names, and API clients acting as them."""

import itertools

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from iam_project.celery import app as celery_app
from roles.models import Role, RoleBinding

_counter = itertools.count()


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    cache.clear()
    yield
    cache.clear()


def make_role(entries, key=None, description=""):
    """A custom role from 'resource:action' strings or {'resource', 'permission'} dicts."""
    acl = []
    for entry in entries:
        if isinstance(entry, str):
            resource, _, action = entry.rpartition(":")
            entry = {"resource": resource, "permission": action}
        acl.append(entry)
    return Role.objects.create(key=key or f"test:role{next(_counter)}", description=description, acl_entries=acl)


def make_principal(email=None, permissions=(), roles=(), password=None, **fields):
    """A principal bound to a fresh role holding exactly ``permissions`` plus the named ``roles``."""
    from django.contrib.auth import get_user_model

    Principal = get_user_model()
    principal = Principal(email=email or f"user{next(_counter)}@example.com", **fields)
    if password:
        principal.set_password(password)
    else:
        principal.set_unusable_password()
    principal.save()
    if permissions:
        RoleBinding.objects.create(principal=principal, role=make_role(permissions))
    for key in roles:
        RoleBinding.objects.create(principal=principal, role=Role.objects.get(key=key))
    return principal


def api_client_for(identity):
    client = APIClient()
    if identity is not None:
        client.force_login(identity)
    return client


@pytest.fixture
def owner(db):
    return make_principal(email="owner@example.com", roles=["system:owner"])


@pytest.fixture
def api_as(db):
    """api_as("iam/principals:read", ...) -> (APIClient logged in as a principal holding exactly those)."""

    def build(*permissions, **fields):
        principal = make_principal(permissions=permissions, **fields)
        client = api_client_for(principal)
        client.principal = principal
        return client

    return build


@pytest.fixture
def anonymous_api():
    return APIClient()


@pytest.fixture(autouse=True)
def _no_mfa_role_requirement(settings, monkeypatch):
    """Tests not about multi-factor sign-in sign owners in with a password alone; tests/mfa states its policy
    (and checks the shipped default: holders of system:owner must use a second factor). The environment
    variable reaches the servers some tests start in processes of their own."""
    settings.IAM = {**settings.IAM, "MFA_REQUIRED_ROLES": []}
    monkeypatch.setenv("IAM_MFA_REQUIRED_ROLES", "")
