"""Escalation and take-over attempts by principals holding one narrow permission (issue: hardening).

What one may *manage* counts everything the target can obtain; what one may *grant* counts only what
one holds standing; nobody changes their own bindings; eligibility by a held role respects its scope.
"""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.utils import timezone

from clients import services as client_services
from clients.models import ApiKey
from jit import services as jit_services
from jit.models import Eligibility
from roles.models import RoleBinding
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = pytest.mark.django_db
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"


@pytest.fixture
def db_admin(db):
    return make_role(["prod/db:read", "prod/db:write"], key="ops:db-admin")


def eligible(identity=None, role=None, held_role=None, scope="", approval=False):
    return jit_services.save_eligibility(None, Eligibility(
        principal=identity, held_role=held_role, role=role, scope=scope, max_duration=timedelta(hours=1),
        approval_required=approval, justification_required=False))


def jit_grant(identity, role, minutes=30):
    now = timezone.now()
    return RoleBinding.objects.create(principal=identity, role=role, source="jit", starts_at=now,
                                      expires_at=now + timedelta(minutes=minutes))


# --- 1. take-over of an identity that holds nothing but can obtain a role just in time ------------------

@pytest.mark.parametrize("by_held_role", [False, True], ids=["eligible-by-identity", "eligible-by-held-role"])
def test_api_key_for_a_jit_eligible_victim_is_refused(api_as, db_admin, by_held_role):
    victim = make_principal(email="victim@example.com")
    if by_held_role:
        badge = make_role(["docs/wiki:read"], key="staff:badge")
        RoleBinding.objects.create(principal=victim, role=badge)
        eligible(held_role=badge, role=db_admin)
        attacker = api_as("iam/apikeys:write", "iam/apikeys:read", "docs/wiki:read")
    else:
        eligible(identity=victim, role=db_admin)
        attacker = api_as("iam/apikeys:write", "iam/apikeys:read")
    response = attacker.post("/v1/apikeys", {"name": "mine now", "iam_id": victim.iam_id}, format="json")
    assert response.status_code == 403, response.content
    assert "prod/db:write" in response.json()["errors"][0]["message"]  # names what the victim can obtain
    assert not ApiKey.objects.filter(iam_id=victim.iam_id).exists()
    # The whole chain of the finding: no key, so no token, so no request in the victim's name.
    assert not RoleBinding.objects.filter(principal=victim, role=db_admin).exists()


def test_api_key_for_a_victim_is_allowed_to_one_who_holds_what_it_can_obtain(api_as, db_admin):
    victim = make_principal(email="victim@example.com")
    eligible(identity=victim, role=db_admin)
    manager = api_as("iam/apikeys:write", "iam/apikeys:read", "prod/db:read", "prod/db:write")
    response = manager.post("/v1/apikeys", {"name": "ops key", "iam_id": victim.iam_id}, format="json")
    assert response.status_code == 201, response.content


def test_email_of_a_jit_eligible_victim_cannot_be_changed_by_a_narrow_writer(api_as, db_admin):
    victim = make_principal(email="victim@example.com")
    eligible(identity=victim, role=db_admin)
    attacker = api_as("iam/principals:write", "iam/principals:read")
    response = attacker.patch(f"/resources/iam/principals/{victim.pk}", {"email": "attacker@evil.test"},
                              format="json")
    assert response.status_code == 403
    for action in ("/password/reset", "/suspend"):
        assert attacker.post(f"/resources/iam/principals/{victim.pk}{action}").status_code == 403
    victim.refresh_from_db()
    assert victim.email == "victim@example.com" and not victim.suspended
    assert mail.outbox == []


def test_an_email_change_by_someone_else_ends_sessions_voids_resets_and_tells_the_old_address(
        api_as, django_capture_on_commit_callbacks):
    victim = make_principal(email="victim@example.com", permissions=["iam/roles:read"])
    session = api_client_for(victim)
    assert session.get("/resources/me").status_code == 200
    manager = api_as("iam/principals:write", "iam/principals:read", "iam/roles:read")
    with django_capture_on_commit_callbacks() as pending_reset:
        assert manager.post(f"/resources/iam/principals/{victim.pk}/password/reset").status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.patch(f"/resources/iam/principals/{victim.pk}", {"email": "new@example.com"},
                                 format="json")
    assert response.status_code == 200
    for callback in pending_reset:  # the reset's task runs only now, after the email changed
        callback()
    assert [m.to for m in mail.outbox] == [["victim@example.com"]]  # the notice, to the old address
    assert "new@example.com" in mail.outbox[0].body and "password" not in mail.outbox[0].subject.lower()
    victim.refresh_from_db()
    assert not victim.must_change_password  # the voided reset set no password
    assert session.get("/resources/me").status_code in (401, 403)  # the old session is over


def test_changing_ones_own_email_keeps_the_session(api_as, django_capture_on_commit_callbacks):
    me = make_principal(email="me@example.com", permissions=["iam/principals:write", "iam/principals:read"])
    api = api_client_for(me)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.patch(f"/resources/iam/principals/{me.pk}", {"email": "me2@example.com"},
                         format="json").status_code == 200
    assert api.get("/resources/me").status_code == 200
    assert mail.outbox == []


# --- 2. a just-in-time grant is never made permanent; nobody changes their own bindings ----------------

def test_a_jit_grant_cannot_be_made_permanent_on_oneself(db_admin):
    me = make_principal(permissions=["iam/principals:write", "iam/principals:read"])
    jit_grant(me, db_admin)
    api = api_client_for(me)
    response = api.put(f"/resources/iam/principals/{me.pk}/roles", {"roles": [db_admin.key]}, format="json")
    assert response.status_code == 403
    assert not RoleBinding.objects.filter(principal=me, role=db_admin, source="direct").exists()


@pytest.mark.parametrize("how", ["jit", "expiring", "conditional", "scoped-elsewhere"])
def test_only_standing_unconditional_bindings_count_towards_granting(db_admin, how):
    actor = make_principal(permissions=["iam/principals:write", "iam/principals:read"])
    now = timezone.now()
    if how == "jit":
        jit_grant(actor, db_admin)
    elif how == "expiring":
        RoleBinding.objects.create(principal=actor, role=db_admin, expires_at=now + timedelta(days=1))
    elif how == "conditional":
        RoleBinding.objects.create(principal=actor, role=db_admin, conditions={"ipRanges": ["127.0.0.0/8"]})
    else:
        RoleBinding.objects.create(principal=actor, role=db_admin, scope="prod/db/reporting")
    other = make_principal()
    response = api_client_for(actor).put(f"/resources/iam/principals/{other.pk}/roles",
                                         {"roles": [db_admin.key]}, format="json")
    assert response.status_code == 403, response.content
    assert not RoleBinding.objects.filter(principal=other).exists()


def test_a_standing_holder_may_grant(db_admin):
    actor = make_principal(permissions=["iam/principals:write", "iam/principals:read"], roles=[db_admin.key])
    other = make_principal()
    response = api_client_for(actor).put(f"/resources/iam/principals/{other.pk}/roles",
                                         {"roles": [db_admin.key]}, format="json")
    assert response.status_code == 200
    assert RoleBinding.objects.filter(principal=other, role=db_admin).exists()


def test_nobody_changes_their_own_bindings_not_even_an_owner(owner, db_admin):
    api = api_client_for(owner)
    response = api.put(f"/resources/iam/principals/{owner.pk}/roles",
                       {"roles": ["system:owner", db_admin.key]}, format="json")
    assert response.status_code == 403 and "own role bindings" in response.json()["detail"]
    # The same roles again is no change, so it stays allowed (PUT is idempotent).
    assert api.put(f"/resources/iam/principals/{owner.pk}/roles", {"roles": ["system:owner"]},
                   format="json").status_code == 200


def test_a_client_cannot_change_its_own_roles_with_its_token(db_admin):
    client = client_services.create_client(None, {"name": "robot", "grantTypes": ["client_credentials"],
                                                  "scopes": ["*:*"]}, roles=[db_admin.key])
    RoleBinding.objects.create(client=client, role=make_role(["iam/clients:write", "iam/clients:read"]))
    _, secret = client_services.create_secret(None, client.pk)
    token = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials", "scope": "*:*"},
                              HTTP_AUTHORIZATION=_basic(client.client_id, secret)).json()["access_token"]
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.put(f"/resources/iam/clients/{client.pk}/roles", {"roles": []}, content_type="application/json")
    assert response.status_code == 403


def _basic(client_id, secret):
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- 3. eligibility by a held role respects the scope the role is held over ----------------------------

def test_held_role_over_an_unrelated_scope_does_not_qualify_for_an_unscoped_grant(db_admin):
    badge = make_role(["projects:read"], key="team:member")
    requester = make_principal()
    RoleBinding.objects.create(principal=requester, role=badge, scope="projects/alpha")
    eligible(held_role=badge, role=db_admin)
    with pytest.raises(Exception) as refused:
        jit_services.request_access(requester, db_admin, timedelta(minutes=10))
    assert getattr(refused.value, "status", None) == 403
    # Within the scope the role is held over, the eligibility applies.
    request = jit_services.request_access(requester, db_admin, timedelta(minutes=10), scope="projects/alpha/db")
    assert request.status == "active" and request.binding.scope == "projects/alpha/db"


def test_held_role_unscoped_qualifies_anywhere(db_admin):
    badge = make_role(["projects:read"], key="team:member")
    requester = make_principal(roles=[badge.key])
    eligible(held_role=badge, role=db_admin)
    assert jit_services.request_access(requester, db_admin, timedelta(minutes=10)).status == "active"


def test_a_jit_held_role_never_qualifies_for_another_eligibility(db_admin):
    badge = make_role(["projects:read"], key="team:member")
    requester = make_principal()
    jit_grant(requester, badge)
    eligible(held_role=badge, role=db_admin)
    with pytest.raises(Exception) as refused:
        jit_services.request_access(requester, db_admin, timedelta(minutes=10))
    assert getattr(refused.value, "status", None) == 403


# --- 6. clients cannot suspend themselves, and the last owner stays ------------------------------------

def _client_token(client, scope="*:*"):
    _, secret = client_services.create_secret(None, client.pk)
    response = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials", "scope": scope},
                                 HTTP_AUTHORIZATION=_basic(client.client_id, secret))
    return HttpClient(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")


def test_an_owner_client_cannot_suspend_or_delete_itself(owner):
    robot = client_services.create_client(None, {"name": "robot", "grantTypes": ["client_credentials"],
                                                 "scopes": ["*:*"]}, roles=["system:owner"])
    api = _client_token(robot)
    assert api.post(f"/resources/iam/clients/{robot.pk}/suspend", content_type="application/json").status_code == 403
    assert api.delete(f"/resources/iam/clients/{robot.pk}").status_code == 403
    robot.refresh_from_db()
    assert not robot.suspended


def test_suspending_or_deleting_the_last_owner_client_is_refused(db):
    robot = client_services.create_client(None, {"name": "robot", "grantTypes": ["client_credentials"],
                                                 "scopes": ["*:*"]}, roles=["system:owner"])
    almighty = make_principal(permissions=["*:*"])  # every permission, but not a system:owner binding
    api = api_client_for(almighty)
    response = api.post(f"/resources/iam/clients/{robot.pk}/suspend", content_type="application/json")
    assert response.status_code == 409 and "last active system:owner" in response.json()["detail"]
    assert api.delete(f"/resources/iam/clients/{robot.pk}").status_code == 409
    robot.refresh_from_db()
    assert not robot.suspended
    # With a principal owner beside it, the client may go.
    make_principal(roles=["system:owner"])
    assert api.post(f"/resources/iam/clients/{robot.pk}/suspend", content_type="application/json").status_code == 200


def test_a_delegated_object_permission_counts_towards_what_a_target_can_obtain():
    from guardian.shortcuts import assign_perm

    robot = client_services.create_client(None, {"name": "robot", "grantTypes": ["client_credentials"]})
    delegate = make_principal(email="delegate@example.com")
    assign_perm("clients.change_client", delegate, robot)
    attacker = api_client_for(make_principal(permissions=["iam/principals:write", "iam/principals:read"]))
    response = attacker.patch(f"/resources/iam/principals/{delegate.pk}", {"email": "mine@evil.test"},
                              format="json")
    assert response.status_code == 403 and f"iam/clients/{robot.pk}" in response.json()["detail"]


def test_a_consent_client_cannot_be_re_pointed_by_one_who_lacks_the_power_its_scopes_reach():
    """Re-pointing a client that asks consent hands its users' codes — up to its scopes — to the new
    redirect URI: managing it needs holding what its scopes cover."""
    web = client_services.create_client(None, {
        "name": "HR app", "grantTypes": ["authorization_code"], "redirectUris": ["https://hr.example.com/cb"],
        "scopes": ["openid", "iam/principals:write"]})
    attacker = api_client_for(make_principal(permissions=["iam/clients:write", "iam/clients:read"]))
    response = attacker.patch(f"/resources/iam/clients/{web.pk}", {"properties": {
        "redirectUris": ["https://evil.example.net/cb"]}}, format="json")
    assert response.status_code == 403 and "iam/principals:write" in response.json()["detail"]
    web.refresh_from_db()
    assert web.redirect_uris == "https://hr.example.com/cb"
    holder = api_client_for(make_principal(permissions=["iam/clients:write", "iam/clients:read",
                                                        "iam/principals:write"]))
    assert holder.patch(f"/resources/iam/clients/{web.pk}", {"properties": {
        "redirectUris": ["https://hr2.example.com/cb"]}}, format="json").status_code == 200


def test_nobody_gives_a_client_scopes_reaching_further_than_they_hold():
    maker = api_client_for(make_principal(permissions=["iam/clients:write", "iam/clients:read"]))
    body = {"properties": {"name": "HR app", "grantTypes": ["authorization_code"],
                           "redirectUris": ["https://hr.example.com/cb"], "scopes": ["openid", "iam/principals:write"]},
            "roles": []}
    response = maker.put(f"/resources/iam/clients/{uuid.uuid4()}", body, format="json")
    assert response.status_code == 403 and "iam/principals:write" in response.json()["detail"]
    body["properties"]["scopes"] = ["openid", "profile"]
    assert maker.put(f"/resources/iam/clients/{uuid.uuid4()}", body, format="json").status_code == 201
