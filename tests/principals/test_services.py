"""principals.services called directly: create, replace, update, suspend, delete, passwords."""

import uuid

import pytest
from django.core import mail
from oauth2_provider.models import get_access_token_model

from audit.models import AuditEvent
from iam_project.errors import Conflict, Forbidden, InvalidInput, NotFound
from principals import services
from roles.models import RoleBinding
from tests.factories import BindingFactory, PrincipalFactory, RoleFactory, holder_of, owner

pytestmark = pytest.mark.django_db


def test_create_principal_is_one_transaction_nothing_half_written():
    role = RoleFactory(acl=["prod/db:write"])
    actor = holder_of("iam/principals:write")
    with pytest.raises(Forbidden):
        services.create_principal(actor, "new@example.com", roles=[role.key])
    assert not type(actor).objects.filter(email="new@example.com").exists()
    with pytest.raises(InvalidInput) as weak:
        services.create_principal(None, "new@example.com", password="short")
    assert "password" in weak.value.errors
    with pytest.raises(InvalidInput) as long_local:
        services.create_principal(None, "x" * 65 + "@example.com")
    assert "email" in long_local.value.errors


def test_create_principal_lowercases_the_email_and_refuses_a_duplicate():
    created = services.create_principal(None, "Ada@Example.COM")
    assert created.email == "ada@example.com" and not created.has_usable_password()
    with pytest.raises(InvalidInput) as clash:
        services.create_principal(None, "ADA@example.com")
    assert clash.value.errors == {"email": ["A principal with this email already exists."]}


def test_put_principal_creates_then_replaces_and_honours_if_match():
    pk = uuid.uuid4()
    created, was_created = services.put_principal(None, pk, "p@example.com", {"name": "P"}, [])
    assert was_created and created.pk == pk
    same, was_created = services.put_principal(None, pk, "p@example.com", {"name": "P"}, [])
    assert not was_created and same.version == created.version  # nothing changed, no new version
    with pytest.raises(Conflict):
        services.put_principal(None, pk, "p@example.com", {"name": "Q"}, [], version=created.version + 5)
    with pytest.raises(NotFound):
        services.put_principal(None, uuid.uuid4(), "q@example.com", {}, [], version=1)


def test_update_principal_merges_properties_rfc7396():
    principal = services.create_principal(None, "m@example.com", properties={"a": 1, "b": {"c": 2}})
    updated = services.update_principal(None, principal.pk, properties={"a": None, "d": 4})
    assert updated.properties == {"b": {"c": 2}, "d": 4}


def test_suspend_revokes_every_token_at_once_and_unsuspend_restores_login_only():
    from oauth2_provider.models import get_application_model

    principal = PrincipalFactory()
    application = get_application_model().objects.create(name="app", client_type="confidential",
                                                          grant_types=["authorization_code"],
                                                          redirect_uris="https://app.example.com/cb")
    from datetime import timedelta

    from django.utils import timezone

    get_access_token_model().objects.create(user=principal, application=application, token="t1", scope="openid",
                                            expires=timezone.now() + timedelta(minutes=5))
    services.suspend_principal(owner(), principal.pk)
    principal.refresh_from_db()
    assert principal.suspended and not get_access_token_model().objects.filter(user=principal).exists()
    assert AuditEvent.objects.filter(action="token.revoked", target_id=str(principal.pk)).exists()
    services.unsuspend_principal(None, principal.pk)
    principal.refresh_from_db()
    assert not principal.suspended


def test_nobody_suspends_or_deletes_themselves_and_the_last_owner_stays():
    only = owner()
    with pytest.raises(Forbidden):
        services.suspend_principal(only, only.pk)
    with pytest.raises(Forbidden):
        services.delete_principal(only, only.pk)
    with pytest.raises(Conflict):
        services.suspend_principal(None, only.pk)
    with pytest.raises(Conflict):
        services.delete_principal(None, only.pk)


def test_set_roles_bumps_the_version_only_when_the_roles_change():
    role = RoleFactory()
    principal = PrincipalFactory()
    before = principal.version
    services.set_roles(None, principal.pk, [role.key])
    principal.refresh_from_db()
    assert principal.version == before + 1
    services.set_roles(None, principal.pk, [role.key])
    principal.refresh_from_db()
    assert principal.version == before + 1


def test_password_reset_is_refused_for_oneself_and_for_a_suspended_principal(django_capture_on_commit_callbacks):
    manager = owner()
    victim = PrincipalFactory(suspended=True)
    with pytest.raises(Conflict):
        services.request_password_reset(manager, victim.pk)
    with pytest.raises(Forbidden):
        services.request_password_reset(manager, manager.pk)
    assert mail.outbox == []


def test_issue_temporary_password_is_void_when_the_stamp_moved():
    principal = PrincipalFactory()
    stamp = principal.security_stamp
    principal.renew_security_stamp()
    principal.save()
    same, password = services.issue_temporary_password(principal.pk, stamp)
    assert password is None and same.check_password("a long and unusual passphrase 42")
    fresh, password = services.issue_temporary_password(principal.pk, principal.security_stamp)
    assert password and fresh.check_password(password) and fresh.must_change_password


def test_change_own_password_checks_the_current_one_and_clears_the_forced_change():
    principal = PrincipalFactory(must_change_password=True)
    with pytest.raises(InvalidInput) as wrong:
        services.change_own_password(principal, "not it", "another long passphrase 7")
    assert "currentPassword" in wrong.value.errors
    with pytest.raises(InvalidInput) as same:
        services.change_own_password(principal, "a long and unusual passphrase 42", "a long and unusual passphrase 42")
    assert "newPassword" in same.value.errors
    changed = services.change_own_password(principal, "a long and unusual passphrase 42", "another long passphrase 7")
    assert changed.check_password("another long passphrase 7") and not changed.must_change_password


def test_delete_principal_removes_its_bindings_and_records_each():
    principal = PrincipalFactory()
    binding = BindingFactory(principal=principal)
    services.delete_principal(None, principal.pk)
    assert not RoleBinding.objects.filter(pk=binding.pk).exists()
    assert AuditEvent.objects.filter(action="delete", target_type="roleBinding", target_id=str(binding.pk)).exists()
