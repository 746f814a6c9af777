"""clients.services called directly: clients, their flags, secrets and API keys."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from clients import services
from clients.models import ApiKey, ClientSecret
from iam_project.errors import Conflict, Forbidden, InvalidInput
from tests.factories import ClientFactory, PrincipalFactory, RoleFactory, holder_of, owner

pytestmark = pytest.mark.django_db


def test_create_client_validates_its_grant_combination_and_writes_nothing_on_refusal():
    with pytest.raises(InvalidInput) as missing_uri:
        services.create_client(None, {"name": "web", "grantTypes": ["authorization_code"]})
    assert "properties.redirectUris" in missing_uri.value.errors
    with pytest.raises(InvalidInput) as public_cc:
        services.create_client(None, {"name": "cli", "clientType": "public", "grantTypes": ["client_credentials"]})
    assert "properties.clientType" in public_cc.value.errors
    assert not services._client_model().objects.filter(name__in=["web", "cli"]).exists()


def test_only_a_full_owner_marks_a_client_first_party():
    almost = holder_of("iam/*:*")
    with pytest.raises(Forbidden):
        services.create_client(almost, {"name": "sso", "firstParty": True, "grantTypes": ["client_credentials"]})
    client = services.create_client(owner(), {"name": "sso", "firstParty": True, "grantTypes": ["client_credentials"]})
    assert client.skip_authorization


def test_secrets_are_shown_once_stored_as_digests_and_authenticate_until_revoked():
    client = ClientFactory()
    secret, value = services.create_secret(None, client.pk)
    assert value.startswith("pcs_") and secret.digest != value and value not in str(secret.__dict__)
    assert services.authenticate_secret(client, value)
    assert not services.authenticate_secret(client, value + "x") and not services.authenticate_secret(client, "")
    services.revoke_secret(None, client.pk, secret.pk)
    assert not services.authenticate_secret(client, value)
    assert not any(value in str(e.changes) + str(e.details) for e in AuditEvent.objects.all())


def test_rotate_secret_expires_the_others_at_the_given_time():
    client = ClientFactory()
    _, old = services.create_secret(None, client.pk)
    later = timezone.now() + timedelta(hours=1)
    new_secret, new = services.rotate_secret(None, client.pk, old_expire_at=later)
    assert services.authenticate_secret(client, old) and services.authenticate_secret(client, new)
    assert ClientSecret.objects.exclude(pk=new_secret.pk).get(client=client).expires_at == later


def test_a_locked_client_cannot_be_changed_or_deleted_and_a_system_one_not_at_all():
    client = ClientFactory(locked=True)
    with pytest.raises(Conflict):
        services.update_client(None, client.pk, properties={"name": "renamed"})
    with pytest.raises(Conflict):
        services.delete_client(None, client.pk)
    system = ClientFactory(is_system=True)
    with pytest.raises(Forbidden):
        services.create_secret(None, system.pk)


def test_client_suspension_refuses_itself_and_the_last_owner():
    robot = services.create_client(None, {"name": "robot", "grantTypes": ["client_credentials"]},
                                   roles=["system:owner"])
    with pytest.raises(Forbidden):
        services.set_client_suspended(robot, robot.pk, True)
    with pytest.raises(Conflict):
        services.set_client_suspended(None, robot.pk, True)
    owner()
    assert services.set_client_suspended(None, robot.pk, True).suspended


def test_api_keys_for_others_need_the_permission_and_holding_what_the_owner_can_obtain():
    target = holder_of("prod/db:write")
    narrow = holder_of("iam/apikeys:write")
    with pytest.raises(Forbidden):
        services.create_api_key(narrow, target, "k")
    wide = holder_of("iam/apikeys:write", "prod/db:write")
    key, value = services.create_api_key(wide, target, "k")
    assert value.startswith("pak_") and key.iam_id == target.iam_id
    assert services.authenticate_api_key(value).pk == key.pk


def test_api_keys_stop_authenticating_when_disabled_expired_or_their_owner_is_suspended():
    person = PrincipalFactory()
    key, value = services.create_api_key(None, person, "k")
    services.set_api_key_flag(None, key.pk, "disabled", True)
    assert services.authenticate_api_key(value) is None
    services.set_api_key_flag(None, key.pk, "disabled", False)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.authenticate_api_key(value) is None
    ApiKey.objects.filter(pk=key.pk).update(expires_at=None)
    type(person).objects.filter(pk=person.pk).update(suspended=True)
    assert services.authenticate_api_key(value) is None


def test_restricted_accounts_need_the_permission_even_for_ones_own_key():
    person = PrincipalFactory()
    with pytest.raises(Forbidden):
        services.create_api_key(person, person, "mine", restricted=True)
    assert services.create_api_key(person, person, "mine")[0].iam_id == person.iam_id


def test_a_locked_key_cannot_be_deleted():
    key, _ = services.create_api_key(None, PrincipalFactory(), "k")
    services.set_api_key_flag(None, key.pk, "locked", True)
    with pytest.raises(Conflict):
        services.delete_api_key(None, key.pk)
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_replacing_a_clients_roles_needs_holding_them():
    role = RoleFactory(acl=["prod/db:write"])
    client = ClientFactory()
    with pytest.raises(Forbidden):
        services.set_client_roles(holder_of("iam/clients:write"), client.pk, [role.key])
    services.set_client_roles(holder_of("iam/clients:write", "prod/db:write"), client.pk, [role.key])
    assert list(client.bindings.values_list("role__key", flat=True)) == [role.key]
