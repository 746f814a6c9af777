"""Passwords are hashed with Argon2id at OWASP's parameters, and older hashes are upgraded at the next sign-in
through the real sign-in form."""

import argon2
import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
PASSWORD = "Correct-horse-battery-42"

PRODUCTION_HASHERS = ["principals.hashers.Argon2idPasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def _production_hashers(settings):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS  # the suite's fixture uses a fast one elsewhere


def parameters(encoded):
    params = argon2.extract_parameters(encoded.removeprefix("argon2"))
    return params.type, params.memory_cost, params.time_cost, params.parallelism


def test_a_new_password_is_hashed_with_argon2id_at_owasp_parameters():
    principal = make_principal(password=PASSWORD)
    assert principal.password.startswith("argon2$argon2id$")
    assert parameters(principal.password) == (argon2.Type.ID, 19456, 2, 1)


@pytest.mark.parametrize("old", ["django-default-argon2", "pbkdf2"])
def test_an_older_hash_is_upgraded_at_the_next_sign_in(old, settings):
    principal = make_principal(password=PASSWORD, roles=["system:portal:full"])  # may use the console
    if old == "pbkdf2":
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    else:  # what Django's own Argon2 hasher made before: m = 100 MiB, p = 8
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    principal.password = make_password(PASSWORD)
    principal.save(update_fields=["password"])
    before = principal.password
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS

    response = Client().post("/admin/login/", {"username": principal.email, "password": PASSWORD})
    assert response.status_code == 302  # signed in
    principal.refresh_from_db()
    assert principal.password != before
    assert parameters(principal.password) == (argon2.Type.ID, 19456, 2, 1)
    assert principal.check_password(PASSWORD)


def test_a_wrong_password_upgrades_nothing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    principal = make_principal(password=PASSWORD)
    before = principal.password
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    Client().post("/admin/login/", {"username": principal.email, "password": "Wrong-horse-battery-42"})
    principal.refresh_from_db()
    assert principal.password == before
