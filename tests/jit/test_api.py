"""/resources/jit/: eligibilities and requests over the API, and every abuse refused."""

from datetime import timedelta

import pytest

from jit import services
from jit.choices import RequestStatusChoices as Status
from jit.models import AccessRequest, Eligibility
from roles.models import RoleBinding
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = pytest.mark.django_db
ELIGIBILITIES = "/resources/jit/eligibilities"
REQUESTS = "/resources/jit/requests"


def ask(client, role="ops:db-admin", duration="PT15M", justification="incident 7", **extra):
    return client.post(REQUESTS, {"role": role, "duration": duration, "justification": justification, **extra},
                       format="json")


@pytest.fixture
def manager(api_as, db_admin_role):
    return api_as("jit/eligibilities:read", "jit/eligibilities:write", "prod/db:read", "prod/db:write")


def test_eligibility_crud(manager, requester, db_admin_role):
    body = {"iamId": requester.iam_id, "role": "ops:db-admin", "maxDuration": "PT1H", "approvalRequired": True,
            "approverRole": None, "approvalsRequired": 1, "justificationRequired": True}
    created = manager.post(ELIGIBILITIES, body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["iamId"] == requester.iam_id and data["heldRole"] is None and data["maxDuration"] == "PT1H"
    assert data["role"] == "ops:db-admin" and data["approvalsRequired"] == 1
    pk, etag = data["id"], created["ETag"]
    replaced = manager.put(f"{ELIGIBILITIES}/{pk}", {**body, "maxDuration": "PT2H30M"}, format="json",
                           HTTP_IF_MATCH=etag)
    assert replaced.status_code == 200 and replaced.json()["maxDuration"] == "PT2H30M"
    stale = manager.put(f"{ELIGIBILITIES}/{pk}", body, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 409
    assert [e["id"] for e in manager.get(ELIGIBILITIES).json()["results"]] == [pk]
    assert manager.delete(f"{ELIGIBILITIES}/{pk}").status_code == 204
    assert not Eligibility.objects.exists()


@pytest.mark.parametrize("change, field", [
    ({"maxDuration": "15 minutes"}, "maxDuration"),
    ({"maxDuration": "PT0S"}, "maxDuration"),
    ({"maxDuration": "P30D"}, "maxDuration"),
    ({"role": "no:such"}, "role"),
    ({"heldRole": "ops:db-admin"}, "iamId"),
    ({"iamId": None}, "iamId"),
    ({"iamId": "iam-Principal-00000000-0000-0000-0000-000000000000"}, "iamId"),
    ({"approvalsRequired": 0}, "approvalsRequired"),
    ({"role": "system:owner"}, "role"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_eligibility_input_is_400_naming_the_field(manager, requester, change, field):
    body = {"iamId": requester.iam_id, "role": "ops:db-admin", "maxDuration": "PT1H", **change}
    response = manager.post(ELIGIBILITIES, body, format="json")
    assert response.status_code in (400, 403) and not Eligibility.objects.exists()
    if response.status_code == 400:
        assert field in response.json()["errors"], response.json()


def test_no_one_makes_requestable_a_role_they_do_not_hold(api_as, requester, db_admin_role):
    manager = api_as("jit/eligibilities:write")
    response = manager.post(ELIGIBILITIES, {"iamId": requester.iam_id, "role": "ops:db-admin",
                                            "maxDuration": "PT1H"}, format="json")
    assert response.status_code == 403 and not Eligibility.objects.exists()
    assert api_as("jit/eligibilities:read").post(ELIGIBILITIES, {}, format="json").status_code == 403


def test_request_approve_and_the_shapes(requester, approver, make_eligibility):
    make_eligibility()
    mine = api_client_for(requester)
    created = ask(mine)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["status"] == "pending" and data["requester"] == requester.iam_id and data["duration"] == "PT15M"
    assert data["approvals"] == [] and data["startsAt"] is None and data["expiresAt"] is None
    lead = api_client_for(approver)
    assert [r["id"] for r in lead.get(REQUESTS, {"view": "approvable"}).json()["results"]] == [data["id"]]
    approved = lead.post(f"{REQUESTS}/{data['id']}/approve", {"comment": "ok"}, format="json").json()
    assert approved["status"] == "active" and approved["approvals"][0]["approver"] == approver.iam_id
    assert approved["approvals"][0]["comment"] == "ok" and approved["timeLeft"] in ("PT15M", "PT14M59S")
    assert [r["id"] for r in mine.get(REQUESTS).json()["results"]] == [data["id"]]
    assert mine.get(f"{REQUESTS}/{data['id']}").json()["status"] == "active"
    assert mine.get("/resources/me").json()  # and the grant is now in the requester's permissions
    assert "prod/db:write" in mine.get("/resources/me").json()["permissions"]


def test_abuse_self_approval(requester, db_admin_role, make_eligibility):
    from roles.services import bind_role
    from tests.conftest import make_role as role_of

    make_eligibility()
    bind_role(None, requester, role_of(["jit/requests:approve"]))
    mine = api_client_for(requester)
    pk = ask(mine).json()["id"]
    response = mine.post(f"{REQUESTS}/{pk}/approve", {}, format="json")
    assert response.status_code == 403 and "own request" in response.json()["detail"]
    assert AccessRequest.objects.get(pk=pk).status == Status.PENDING


def test_abuse_approving_a_role_you_do_not_hold(requester, make_eligibility):
    make_eligibility()
    pk = ask(api_client_for(requester)).json()["id"]
    outsider = api_client_for(make_principal(permissions=["jit/requests:approve"]))
    response = outsider.post(f"{REQUESTS}/{pk}/approve", {}, format="json")
    assert response.status_code == 403 and "ops:db-admin" in response.json()["detail"]
    no_permission = api_client_for(make_principal(permissions=["prod/db:read", "prod/db:write"]))
    assert no_permission.post(f"{REQUESTS}/{pk}/approve", {}, format="json").status_code == 403
    assert not RoleBinding.objects.filter(source="jit").exists()


def test_abuse_beyond_the_maximum_duration(requester, make_eligibility):
    make_eligibility(max_duration=timedelta(minutes=30))
    response = ask(api_client_for(requester), duration="PT31M")
    assert response.status_code == 400 and "duration" in response.json()["errors"]
    assert "PT30M" in response.json()["errors"]["duration"][0]
    bad = ask(api_client_for(requester), duration="half an hour")
    assert bad.status_code == 400 and "duration" in bad.json()["errors"]
    assert not AccessRequest.objects.exists()


def test_abuse_requesting_a_role_with_no_eligibility(requester, db_admin_role):
    make_role(["other:thing"], key="ops:other")
    mine = api_client_for(requester)
    assert ask(mine).status_code == 403
    assert ask(mine, role="ops:other").status_code == 403
    assert ask(mine, role="no:such").status_code == 400
    assert not AccessRequest.objects.exists()


def test_abuse_approving_an_already_decided_request(requester, approver, make_eligibility):
    make_eligibility()
    lead = api_client_for(approver)
    first = ask(api_client_for(requester)).json()["id"]
    assert lead.post(f"{REQUESTS}/{first}/deny", {"comment": "no"}, format="json").status_code == 200
    assert lead.post(f"{REQUESTS}/{first}/approve", {}, format="json").status_code == 409
    second = ask(api_client_for(requester), justification="again").json()["id"]
    assert lead.post(f"{REQUESTS}/{second}/approve", {}, format="json").status_code == 200
    assert lead.post(f"{REQUESTS}/{second}/approve", {}, format="json").status_code == 409
    assert lead.post(f"{REQUESTS}/{second}/deny", {}, format="json").status_code == 409
    assert RoleBinding.objects.filter(source="jit").count() == 1


def test_justification_and_duplicates(requester, make_eligibility):
    make_eligibility()
    mine = api_client_for(requester)
    missing = ask(mine, justification="  ")
    assert missing.status_code == 400 and "justification" in missing.json()["errors"]
    assert ask(mine).status_code == 201
    assert ask(mine).status_code == 409  # one open request per role at a time


def test_cancel_only_by_the_requester_and_revoke_by_approver(requester, approver, make_eligibility):
    make_eligibility()
    mine = api_client_for(requester)
    pk = ask(mine).json()["id"]
    other = api_client_for(make_principal())
    assert other.post(f"{REQUESTS}/{pk}/cancel").status_code == 403
    assert other.get(f"{REQUESTS}/{pk}").status_code == 403  # nor see it
    assert mine.post(f"{REQUESTS}/{pk}/cancel").json()["status"] == "cancelled"
    pk = ask(mine, justification="second").json()["id"]
    lead = api_client_for(approver)
    lead.post(f"{REQUESTS}/{pk}/approve", {}, format="json")
    assert other.post(f"{REQUESTS}/{pk}/revoke", {}, format="json").status_code == 403
    revoked = lead.post(f"{REQUESTS}/{pk}/revoke", {"comment": "done"}, format="json").json()
    assert revoked["status"] == "revoked" and revoked["endedBy"] == approver.iam_id
    assert "prod/db:write" not in mine.get("/resources/me").json()["permissions"]


def test_listing_everything_needs_the_read_permission(requester, approver, make_eligibility, api_as):
    make_eligibility()
    ask(api_client_for(requester))
    assert api_client_for(requester).get(REQUESTS, {"view": "all"}).status_code == 403
    assert api_client_for(requester).get(REQUESTS, {"view": "approvable"}).status_code == 403
    everything = api_client_for(approver).get(REQUESTS, {"view": "all", "status": "pending"}).json()["results"]
    assert len(everything) == 1
    assert api_client_for(approver).get(REQUESTS, {"view": "bogus"}).status_code == 400
    assert api_client_for(approver).get(REQUESTS, {"view": "all", "status": "bogus"}).status_code == 400


def test_holders_of_a_role_are_eligible_but_never_through_a_jit_grant(db_admin_role, approver):
    oncall = make_role(["pager:read"], key="team:oncall")
    member = make_principal(roles=["team:oncall"])
    outsider = make_principal()
    services.save_eligibility(None, Eligibility(held_role=oncall, role=db_admin_role,
                                                max_duration=timedelta(hours=1), approval_required=False,
                                                justification_required=False))
    assert ask(api_client_for(member), justification="").status_code == 201
    assert ask(api_client_for(outsider)).status_code == 403
    # A temporary grant of the held role does not make its holder eligible in turn.
    services.save_eligibility(None, Eligibility(principal=outsider, role=oncall, max_duration=timedelta(hours=1),
                                                approval_required=False, justification_required=False))
    assert ask(api_client_for(outsider), role="team:oncall", justification="").status_code == 201
    assert ask(api_client_for(outsider)).status_code == 403


def test_scoped_eligibility(requester, db_admin_role):
    services.save_eligibility(None, Eligibility(principal=requester, role=db_admin_role, scope="prod/db/eu",
                                                max_duration=timedelta(hours=1), approval_required=False,
                                                justification_required=False))
    mine = api_client_for(requester)
    assert ask(mine, justification="").status_code == 403  # unscoped: more than allowed
    granted = ask(mine, justification="", scope="prod/db/eu/orders")
    assert granted.status_code == 201 and granted.json()["scope"] == "prod/db/eu/orders"


def test_approver_role_restriction(requester, approver, db_admin_role, make_eligibility):
    dba = make_role(["dba:badge"], key="team:dba")
    make_eligibility(approver_role=dba)
    pk = ask(api_client_for(requester)).json()["id"]
    lead = api_client_for(approver)
    assert lead.post(f"{REQUESTS}/{pk}/approve", {}, format="json").status_code == 403
    from roles.services import bind_role

    bind_role(None, approver, dba)
    assert lead.post(f"{REQUESTS}/{pk}/approve", {}, format="json").status_code == 200


def test_an_owner_over_a_scope_only_cannot_revoke_others_grants(requester, approver, make_eligibility):
    from roles.services import bind_role
    from roles.models import Role

    make_eligibility()
    pk = ask(api_client_for(requester)).json()["id"]
    api_client_for(approver).post(f"{REQUESTS}/{pk}/approve", {}, format="json")
    scoped_owner = make_principal()
    bind_role(None, scoped_owner, Role.objects.get(key="system:owner"), scope="clients/x")
    assert api_client_for(scoped_owner).post(f"{REQUESTS}/{pk}/revoke", {}, format="json").status_code == 403
    full_owner = make_principal(roles=["system:owner"])
    assert api_client_for(full_owner).post(f"{REQUESTS}/{pk}/revoke", {}, format="json").status_code == 200


@pytest.mark.parametrize("duration", ["P9999999999D", "P999999999DT24H", "PT" + "9" * 40 + "S"])
def test_huge_durations_are_400_not_500(requester, make_eligibility, manager, duration):
    make_eligibility()
    response = ask(api_client_for(requester), duration=duration)
    assert response.status_code == 400 and "duration" in response.json()["errors"]
    response = manager.post(ELIGIBILITIES, {"iamId": requester.iam_id, "role": "ops:db-admin",
                                            "maxDuration": duration}, format="json")
    assert response.status_code == 400 and "maxDuration" in response.json()["errors"]


def test_replacing_an_eligibility_needs_holding_what_it_granted(api_as, requester, db_admin_role):
    other = make_role(["other/thing:read"], key="ops:other")
    eligibility = services.save_eligibility(None, Eligibility(principal=requester, role=db_admin_role,
                                                              max_duration=timedelta(hours=1)))
    holder_of_other_only = api_as("jit/eligibilities:write", "jit/eligibilities:read", "other/thing:read")
    response = holder_of_other_only.put(f"{ELIGIBILITIES}/{eligibility.pk}",
                                        {"iamId": requester.iam_id, "role": "ops:other", "maxDuration": "PT1H"},
                                        format="json")
    assert response.status_code == 403
    assert Eligibility.objects.get(pk=eligibility.pk).role == db_admin_role
