"""Operator commands: bootstrap (idempotent), createprincipal, suspendprincipal, bindrole."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from roles.models import RoleBinding
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
Principal = get_user_model()


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_bootstrap_is_idempotent_and_prints_the_password_once():
    first = run("bootstrap")
    assert "shown only this once" in first
    password = first.strip().splitlines()[-1].strip()
    owner = Principal.objects.get(email="owner@localhost")
    assert owner.check_password(password)
    assert RoleBinding.objects.filter(principal=owner, role__key="system:owner").count() == 1
    second = run("bootstrap")
    assert "nothing to do" in second and password not in second
    assert RoleBinding.objects.filter(role__key="system:owner").count() == 1


def test_bootstrap_takes_email_and_password_from_options_and_environment(monkeypatch, settings):
    run("bootstrap", "--email", "Boss@Example.com", "--password", "A-long-passphrase-1")
    assert Principal.objects.get(email="boss@example.com").check_password("A-long-passphrase-1")
    settings.IAM = {**settings.IAM, "BOOTSTRAP_EMAIL": "env@example.com", "BOOTSTRAP_PASSWORD": "Env-passphrase-22"}
    out = run("bootstrap")
    assert "env@example.com" in out and "Env-passphrase-22" not in out
    assert Principal.objects.get(email="env@example.com").check_password("Env-passphrase-22")


def test_createprincipal_with_roles_and_generated_password():
    out = run("createprincipal", "new@example.com", "--role", "system:portal:full", "--name", "New")
    principal = Principal.objects.get(email="new@example.com")
    assert principal.must_change_password and principal.properties == {"name": "New"}
    assert principal.check_password(out.strip().splitlines()[-1].strip())
    assert RoleBinding.objects.filter(principal=principal, role__key="system:portal:full").exists()


def test_createprincipal_refuses_bad_input_and_writes_nothing():
    with pytest.raises(CommandError, match="roles"):
        run("createprincipal", "x@example.com", "--role", "no:such")
    make_principal(email="dup@example.com")
    with pytest.raises(CommandError, match="email"):
        run("createprincipal", "DUP@example.com")
    assert not Principal.objects.filter(email="x@example.com").exists()


def test_actor_cannot_grant_what_it_lacks():
    make_principal(email="op@example.com", permissions=["iam/principals:*"])
    with pytest.raises(CommandError, match="do not hold"):
        run("createprincipal", "y@example.com", "--role", "system:owner", "--actor", "op@example.com")
    assert not Principal.objects.filter(email="y@example.com").exists()


def test_suspendprincipal_and_last_owner_rule():
    target = make_principal(email="t@example.com")
    run("suspendprincipal", "t@example.com")
    target.refresh_from_db()
    assert target.suspended
    run("suspendprincipal", "t@example.com", "--unsuspend")
    target.refresh_from_db()
    assert not target.suspended
    make_principal(email="only-owner@example.com", roles=["system:owner"])
    with pytest.raises(CommandError, match="last active system:owner"):
        run("suspendprincipal", "only-owner@example.com")
    with pytest.raises(CommandError, match="No principal"):
        run("suspendprincipal", "ghost@example.com")


def test_bindrole_binds_scoped_expiring_and_removes():
    target = make_principal(email="b@example.com")
    run("bindrole", "b@example.com", "system:portal:full", "--expires-at", "2099-01-01T00:00:00+00:00")
    binding = RoleBinding.objects.get(principal=target)
    assert binding.expires_at.year == 2099 and binding.created_by == "system"
    run("bindrole", target.iam_id, "system:portal:full", "--remove")
    assert not RoleBinding.objects.filter(principal=target).exists()
    with pytest.raises(CommandError, match="UTC offset"):
        run("bindrole", "b@example.com", "system:portal:full", "--expires-at", "tomorrow")
    with pytest.raises(CommandError, match="No role"):
        run("bindrole", "b@example.com", "no:role")
