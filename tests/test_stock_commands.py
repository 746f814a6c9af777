"""Stock commands that would bypass the services: createsuperuser goes through them, createapplication is refused."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_application_model

from audit.models import AuditEvent
from roles.models import RoleBinding

pytestmark = pytest.mark.django_db


def test_createsuperuser_makes_an_audited_owner_through_the_service(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long and unusual passphrase 42")
    out = StringIO()
    call_command("createsuperuser", "--email", "Root@Example.com", "--noinput", stdout=out)
    binding = RoleBinding.objects.get(principal__email="root@example.com", role__key="system:owner")
    events = AuditEvent.objects.filter(target_id__in=[str(binding.pk), str(binding.principal_id)])
    assert {e.action for e in events} >= {"create"} and {e.actor for e in events} == {"system"}
    assert len({e.request_id for e in events}) == 1  # one command, one context
    assert "passphrase" not in out.getvalue()
    assert binding.principal.check_password("a long and unusual passphrase 42")


def test_createsuperuser_refuses_a_weak_password_and_writes_nothing(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "short")
    with pytest.raises(CommandError, match="password"):
        call_command("createsuperuser", "--email", "root@example.com", "--noinput", stdout=StringIO())
    assert not RoleBinding.objects.filter(principal__email="root@example.com").exists()


def test_createsuperuser_without_a_password_prints_a_generated_one_once(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    out = StringIO()
    call_command("createsuperuser", "--email", "root@example.com", "--noinput", stdout=out)
    assert "shown only this once" in out.getvalue()
    assert RoleBinding.objects.get(principal__email="root@example.com").principal.must_change_password


def test_createapplication_is_refused():
    with pytest.raises(CommandError, match="createclient"):
        call_command("createapplication", "confidential", "client-credentials", stdout=StringIO())
    assert not get_application_model().objects.exists()
