"""IBM's own Python SDK (ibm-platform-services, ibm-cloud-sdk-core) against the live server."""

import pytest
import requests
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1

from clients import services as client_services
from ibmcloud.models import AccountSettings
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def sdk(live_server):
    owner = make_principal(email="owner@example.com", roles=["system:owner"])
    _, value = client_services.create_api_key(None, owner, "sdk key")
    authenticator = IAMAuthenticator(value, url=live_server.url)
    identity = IamIdentityV1(authenticator=authenticator)
    identity.set_service_url(live_server.url)
    policies = IamPolicyManagementV1(authenticator=authenticator)
    policies.set_service_url(live_server.url)
    return identity, policies, owner, AccountSettings.current().account_id, live_server.url


def expect_error(status, call, *args, **kwargs):
    with pytest.raises(ApiException) as error:
        call(*args, **kwargs)
    assert error.value.status_code == status, error.value.message
    return error.value


def test_api_keys_full_lifecycle(sdk):
    identity, _, owner, account_id, base = sdk
    created = identity.create_api_key(name="ci key", iam_id=owner.iam_id, account_id=account_id,
                                      description="for CI").get_result()
    assert created["apikey"].startswith("pak_") and created["iam_id"] == owner.iam_id
    assert created["account_id"] == account_id and created["crn"] and created["locked"] is False
    key_id = created["id"]
    listed = identity.list_api_keys(account_id=account_id, iam_id=owner.iam_id, pagesize=1).get_result()
    assert len(listed["apikeys"]) == 1 and "next" in listed
    second_page = identity.list_api_keys(account_id=account_id, iam_id=owner.iam_id, pagesize=1,
                                         pagetoken=listed["next"]).get_result()
    assert {listed["apikeys"][0]["id"], second_page["apikeys"][0]["id"]} >= {key_id} or len(second_page["apikeys"]) == 1
    got = identity.get_api_key(id=key_id, include_history=True)
    assert got.get_result()["apikey"] == "" and got.get_result()["name"] == "ci key"
    etag = got.get_headers()["ETag"]
    updated = identity.update_api_key(id=key_id, if_match=etag, name="renamed").get_result()
    assert updated["name"] == "renamed"
    trail = identity.get_api_key(id=key_id, include_history=True).get_result()["history"]
    assert [h["action"] for h in trail] == ["create", "update"] and "name" in trail[1]["params"]
    expect_error(409, identity.update_api_key, id=key_id, if_match=etag, name="stale")
    details = identity.get_api_keys_details(iam_api_key=created["apikey"]).get_result()
    assert details["id"] == key_id and details["apikey"] == ""

    identity.lock_api_key(id=key_id)
    etag = identity.get_api_key(id=key_id).get_headers()["ETag"]
    assert expect_error(409, identity.update_api_key, id=key_id, if_match=etag, name="x").message
    expect_error(409, identity.delete_api_key, id=key_id)
    identity.unlock_api_key(id=key_id)

    token = requests.post(f"{base}/identity/token", data={
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": created["apikey"]})
    assert token.status_code == 200 and token.json()["refresh_token"]
    identity.disable_api_key(id=key_id)
    refused = requests.post(f"{base}/identity/token", data={
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": created["apikey"]})
    assert refused.status_code == 400 and refused.json()["errors"][0]["message"]
    assert created["apikey"] not in refused.text
    expect_error(400, IamIdentityV1(authenticator=IAMAuthenticator(created["apikey"], url=base)).get_api_key, id=key_id)
    identity.enable_api_key(id=key_id)
    assert requests.post(f"{base}/identity/token", data={
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": created["apikey"]}).status_code == 200
    identity.delete_api_key(id=key_id)
    expect_error(404, identity.get_api_key, id=key_id)


def test_refresh_token_grant_and_replay(sdk):
    _, _, owner, _, base = sdk
    _, value = client_services.create_api_key(None, owner, "refresh key")
    first = requests.post(f"{base}/identity/token", data={
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": value, "response_type": "cloud_iam"}).json()
    assert isinstance(first["expiration"], int) and first["token_type"] == "Bearer"
    second = requests.post(f"{base}/identity/token", data={"grant_type": "refresh_token",
                                                            "refresh_token": first["refresh_token"]}).json()
    assert second["access_token"] != first["access_token"]
    me = requests.get(f"{base}/resources/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert me.status_code == 200 and me.json()["iamId"] == owner.iam_id
    replay = requests.post(f"{base}/identity/token", data={"grant_type": "refresh_token",
                                                            "refresh_token": first["refresh_token"]})
    assert replay.status_code == 400
    family = requests.post(f"{base}/identity/token", data={"grant_type": "refresh_token",
                                                            "refresh_token": second["refresh_token"]})
    assert family.status_code == 400  # the replay revoked the whole family


def test_service_ids_full_lifecycle(sdk):
    identity, _, _, account_id, base = sdk
    created = identity.create_service_id(account_id=account_id, name="billing-job", description="nightly",
                                         apikey={"name": "billing key"})
    body = created.get_result()
    assert body["iam_id"].startswith("iam-ServiceId-") and body["apikey"]["apikey"].startswith("pak_")
    assert created.get_headers()["ETag"] == body["entity_tag"]
    sid = body["id"]
    names = [s["name"] for s in identity.list_service_ids(account_id=account_id).get_result()["serviceids"]]
    assert "billing-job" in names
    assert identity.list_service_ids(account_id="f" * 32).get_result()["serviceids"] == []
    etag = identity.get_service_id(id=sid).get_headers()["ETag"]
    updated = identity.update_service_id(id=sid, if_match=etag, name="billing", description="renamed").get_result()
    assert updated["name"] == "billing" and updated["description"] == "renamed"
    expect_error(409, identity.update_service_id, id=sid, if_match=etag, name="stale")
    identity.lock_service_id(id=sid)
    assert identity.get_service_id(id=sid).get_result()["locked"] is True
    expect_error(409, identity.delete_service_id, id=sid)
    identity.unlock_service_id(id=sid)
    # the service ID's key authenticates as the service ID
    token = requests.post(f"{base}/identity/token", data={
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": body["apikey"]["apikey"]}).json()
    me = requests.get(f"{base}/resources/me", headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert me["iamId"] == body["iam_id"]
    identity.delete_service_id(id=sid)
    expect_error(404, identity.get_service_id, id=sid)
    expect_error(403, identity.create_service_id, account_id="f" * 32, name="x")


def test_trusted_profiles_and_claim_rules(sdk):
    identity, _, _, account_id, _ = sdk
    profile = identity.create_profile(name="federated admins", account_id=account_id,
                                      description="from the corporate IdP").get_result()
    pid = profile["id"]
    assert profile["iam_id"].startswith("iam-Profile-")
    assert [p["id"] for p in identity.list_profiles(account_id=account_id).get_result()["profiles"]] == [pid]
    etag = identity.get_profile(profile_id=pid).get_headers()["ETag"]
    assert identity.update_profile(profile_id=pid, if_match=etag, name="idp admins").get_result()["name"] == "idp admins"
    expect_error(409, identity.update_profile, profile_id=pid, if_match=etag, name="stale")
    conditions = [{"claim": "groups", "operator": "EQUALS", "value": "\"admins\""}]
    rule = identity.create_claim_rule(profile_id=pid, type="Profile-SAML", realm_name="https://idp.example.com",
                                      expiration=3600, conditions=conditions, name="admins").get_result()
    rid = rule["id"]
    assert rule["conditions"][0]["claim"] == "groups" and rule["expiration"] == 3600
    assert [r["id"] for r in identity.list_claim_rules(profile_id=pid).get_result()["rules"]] == [rid]
    etag = identity.get_claim_rule(profile_id=pid, rule_id=rid).get_headers()["ETag"]
    updated = identity.update_claim_rule(profile_id=pid, rule_id=rid, if_match=etag, type="Profile-SAML",
                                         conditions=[{"claim": "groups", "operator": "CONTAINS", "value": "adm"}],
                                         expiration=7200).get_result()
    assert updated["expiration"] == 7200
    expect_error(400, identity.create_claim_rule, profile_id=pid, type="Profile-SAML",
                 conditions=[{"claim": "groups", "operator": "LIKE", "value": "x"}])
    identity.delete_claim_rule(profile_id=pid, rule_id=rid)
    expect_error(404, identity.get_claim_rule, profile_id=pid, rule_id=rid)
    identity.delete_profile(profile_id=pid)
    expect_error(404, identity.get_profile, profile_id=pid)


def test_policies_change_the_authorize_answer_and_roles_list(sdk):
    identity, policies, owner, account_id, base = sdk
    make_role(["billing/invoices:read"], key="billing:reader")
    target = make_principal(email="reader@example.com")
    token = requests.post(f"{base}/identity/token", data={
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey",
        "apikey": client_services.create_api_key(None, owner, "authz")[1]}).json()["access_token"]

    def authorized():
        response = requests.post(f"{base}/resources/iam/authorize", headers={"Authorization": f"Bearer {token}"},
                                 json={"iamId": target.iam_id, "permission": "billing/invoices:read",
                                       "resource": "billing/invoices/2026"})
        assert response.status_code == 200, response.text
        return response.json()["allowed"]

    assert authorized() is False
    subjects = [{"attributes": [{"name": "iam_id", "value": target.iam_id}]}]
    resources = [{"attributes": [{"name": "accountId", "value": account_id},
                                 {"name": "serviceName", "value": "billing"}]}]
    created = policies.create_policy(type="access", subjects=subjects,
                                     roles=[{"role_id": "billing:reader"}], resources=resources)
    policy = created.get_result()
    assert policy["state"] == "active" and policy["roles"][0]["display_name"] == "billing:reader"
    assert authorized() is True
    assert RoleBinding.objects.filter(principal=target, source="policy", scope="billing").exists()
    listed = policies.list_policies(account_id=account_id, iam_id=target.iam_id).get_result()["policies"]
    assert [p["id"] for p in listed] == [policy["id"]]
    assert policies.list_policies(account_id="e" * 32).get_result()["policies"] == []
    etag = policies.get_policy(policy_id=policy["id"]).get_headers()["ETag"]
    narrower = [{"attributes": resources[0]["attributes"] + [{"name": "resourceType", "value": "invoices"},
                                                             {"name": "resource", "value": "2025"}]}]
    replaced = policies.replace_policy(policy_id=policy["id"], if_match=etag, type="access", subjects=subjects,
                                       roles=[{"role_id": "billing:reader"}], resources=narrower)
    assert authorized() is False  # now only billing/invoices/2025
    expect_error(409, policies.replace_policy, policy_id=policy["id"], if_match=etag, type="access",
                 subjects=subjects, roles=[{"role_id": "billing:reader"}], resources=resources)
    etag = replaced.get_headers()["ETag"]
    policies.replace_policy(policy_id=policy["id"], if_match=etag, type="access", subjects=subjects,
                            roles=[{"role_id": "billing:reader"}], resources=resources)
    etag = policies.get_policy(policy_id=policy["id"]).get_headers()["ETag"]
    deleted = policies.update_policy_state(policy_id=policy["id"], if_match=etag, state="deleted").get_result()
    assert deleted["state"] == "deleted" and authorized() is False  # a deleted policy grants nothing
    etag = policies.get_policy(policy_id=policy["id"]).get_headers()["ETag"]
    policies.update_policy_state(policy_id=policy["id"], if_match=etag, state="active")
    assert authorized() is True
    policies.delete_policy(policy_id=policy["id"])
    assert authorized() is False
    expect_error(404, policies.get_policy, policy_id=policy["id"])

    roles = policies.list_roles(account_id=account_id).get_result()
    assert "billing:reader" in [r["name"] for r in roles["custom_roles"]]
    assert "system:owner" in [r["display_name"] for r in roles["system_roles"]]
    assert "crn:v1:bluemix:public:iam::::role:Viewer" in [r["crn"] for r in roles["system_roles"]]
    assert {"crn:v1:bluemix:public:iam::::serviceRole:Reader",
            "crn:v1:bluemix:public:iam-identity::::serviceRole:ServiceIdCreator"} <= {
        r["crn"] for r in roles["service_roles"]}


def test_no_escalation_through_policies(sdk, live_server):
    _, _, _, account_id, base = sdk
    make_role(["billing/invoices:read"], key="billing:reader")
    weak = make_principal(email="weak@example.com", permissions=["iam/policies:write", "iam/policies:read"])
    _, value = client_services.create_api_key(None, weak, "weak key")
    weak_policies = IamPolicyManagementV1(authenticator=IAMAuthenticator(value, url=base))
    weak_policies.set_service_url(base)
    other = make_principal(email="other@example.com")
    resources = [{"attributes": [{"name": "accountId", "value": account_id}]}]
    for subject in (other, weak):
        subjects = [{"attributes": [{"name": "iam_id", "value": subject.iam_id}]}]
        for role in ("billing:reader", "system:owner"):
            error = expect_error(403, weak_policies.create_policy, type="access", subjects=subjects,
                                 roles=[{"role_id": role}], resources=resources)
            assert ("own role bindings" if subject == weak else "do not hold") in error.message
    assert not RoleBinding.objects.filter(source="policy").exists()


def test_account_settings(sdk):
    identity, _, _, account_id, _ = sdk
    got = identity.get_account_settings(account_id=account_id)
    assert got.get_result()["account_id"] == account_id
    etag = got.get_headers()["ETag"]
    updated = identity.update_account_settings(if_match=etag, account_id=account_id,
                                               restrict_create_platform_apikey="RESTRICTED", mfa="TOTP").get_result()
    assert updated["restrict_create_platform_apikey"] == "RESTRICTED" and updated["mfa"] == "TOTP"
    expect_error(409, identity.update_account_settings, if_match=etag, account_id=account_id, mfa="NONE")
    expect_error(403, identity.get_account_settings, account_id="0" * 32)
