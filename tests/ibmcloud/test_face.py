"""The IBM-compatible face without the SDK: token errors, IBM's error shape, API-key abuse cases,
account boundaries, claim-rule evaluation, policy input."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from django.utils import timezone

from audit.models import AuditEvent
from clients import services as client_services
from clients.models import ApiKey
from ibmcloud.models import AccountSettings, ClaimRule, Policy, TrustedProfile
from ibmcloud.services import profile_matches
from roles.models import RoleBinding
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = pytest.mark.django_db
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"


def token_for(value):
    return HttpClient().post("/identity/token", {"grant_type": APIKEY_GRANT, "apikey": value,
                                                 "response_type": "cloud_iam"})


def bearer(value):
    token = token_for(value).json()["access_token"]
    return HttpClient(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_token_shape_and_jwt_claims():
    owner = make_principal(permissions=["iam/apikeys:read"])
    _, value = client_services.create_api_key(None, owner, "k")
    response = token_for(value)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "expiration", "scope"}
    assert body["token_type"] == "Bearer" and body["scope"] == "ibm openid" and body["refresh_token"]
    claims = jwt_claims(body["access_token"])
    assert claims["account"] == {"bss": AccountSettings.current().account_id} and claims["grant_type"] == APIKEY_GRANT
    assert body["expiration"] == claims["exp"] and claims["exp"] - claims["iat"] == body["expires_in"]


def test_a_service_ids_token_is_its_own_and_comes_without_a_refresh_token():
    client = client_services.create_client(None, {"name": "svc", "grantTypes": [APIKEY_GRANT]})
    _, value = client_services.create_api_key(None, client, "k")
    body = token_for(value).json()
    assert body["refresh_token"] == "not_supported"
    claims = jwt_claims(body["access_token"])
    assert claims["iam_id"] == client.iam_id and claims["sub"] == claims["client_id"] == client.client_id
    refused = HttpClient().post("/identity/token", {"grant_type": "refresh_token", "refresh_token": "not_supported"})
    assert refused.status_code == 400 and refused.json()["errorCode"] == "BXNIM0407E"


def jwt_claims(token):
    import base64
    import json

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_token_claims_are_numeric_and_the_jit_cap_applies():
    import base64
    import json

    from jit import services as jit_services
    from jit.models import Eligibility

    owner = make_principal()
    role = make_role(["prod/db:write"], key="ops:db")
    jit_services.save_eligibility(None, Eligibility(principal=owner, role=role, max_duration=timedelta(hours=1),
                                                    approval_required=False, justification_required=False))
    jit_services.request_access(owner, role, timedelta(minutes=2))
    _, value = client_services.create_api_key(None, owner, "k")
    body = token_for(value).json()
    payload = body["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(claims["exp"], int) and isinstance(claims["iat"], int) and claims["iam_id"] == owner.iam_id
    assert 110 <= body["expires_in"] <= 120  # no longer than the 2-minute grant


@pytest.mark.parametrize("case", ["unknown", "disabled", "expired", "suspended_owner", "suspended_client",
                                  "missing", "bad_grant"])
def test_token_refusals_in_ibm_shape(case):
    owner = make_principal()
    key, value = client_services.create_api_key(None, owner, "k")
    data = {"grant_type": APIKEY_GRANT, "apikey": value}
    if case == "unknown":
        data["apikey"] = "pak_" + "x" * 43
    elif case == "disabled":
        ApiKey.objects.filter(pk=key.pk).update(disabled=True)
    elif case == "expired":
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "suspended_owner":
        type(owner).objects.filter(pk=owner.pk).update(suspended=True)
    elif case == "suspended_client":
        client = client_services.create_client(None, {"name": "svc", "grantTypes": [APIKEY_GRANT]})
        _, data["apikey"] = client_services.create_api_key(None, client, "k")
        client_services.set_client_suspended(None, client.pk, True)
    elif case == "missing":
        data.pop("apikey")
    elif case == "bad_grant":
        data["grant_type"] = "password"
    response = HttpClient().post("/identity/token", data)
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["errorMessage"] and body["errors"][0]["message"] and value not in response.content.decode()
    code = "BXNIM0109E" if case == "bad_grant" else "BXNIM0415E"
    assert body["errorCode"] == body["errors"][0]["code"] == code and body["status_code"] == 400


def test_errors_are_in_ibms_shape():
    anonymous = HttpClient().get("/v1/apikeys")
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/json"
    assert anonymous.json()["errors"][0]["code"] == "unauthorized"
    owner = make_principal(roles=["system:owner"])
    _, value = client_services.create_api_key(None, owner, "k")
    http = bearer(value)
    missing = http.get("/v1/apikeys/ApiKey-00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "not_found"
    assert missing.json()["trace"] and missing.json()["status_code"] == 404
    bad = http.post("/v1/apikeys", {"name": "x"}, content_type="application/json")
    assert bad.status_code == 400 and "iam_id" in bad.json()["errors"][0]["message"]


def test_api_key_abuse_cases():
    alice = make_principal(email="alice@example.com")
    bob = make_principal(email="bob@example.com")
    boss = make_principal(email="boss@example.com", roles=["system:owner"])
    _, alice_value = client_services.create_api_key(None, alice, "alice key")
    bob_key, _ = client_services.create_api_key(None, bob, "bob key")
    http = bearer(alice_value)
    own = http.post("/v1/apikeys", {"name": "mine", "iam_id": alice.iam_id}, content_type="application/json")
    assert own.status_code == 201 and own.json()["apikey"].startswith("pak_")
    assert http.post("/v1/apikeys", {"name": "for bob", "iam_id": bob.iam_id},
                     content_type="application/json").status_code == 403
    assert http.get(f"/v1/apikeys/ApiKey-{bob_key.pk}").status_code == 403
    assert http.delete(f"/v1/apikeys/ApiKey-{bob_key.pk}").status_code == 403
    assert http.get("/v1/apikeys", {"iam_id": bob.iam_id}).status_code == 403
    assert [k["name"] for k in http.get("/v1/apikeys").json()["apikeys"]] == ["alice key", "mine"]
    # iam/apikeys:write does not let anyone mint a key for someone holding more than they do
    keymaster = make_principal(permissions=["iam/apikeys:write", "iam/apikeys:read"])
    _, km_value = client_services.create_api_key(None, keymaster, "km")
    refused = bearer(km_value).post("/v1/apikeys", {"name": "take over", "iam_id": boss.iam_id},
                                    content_type="application/json")
    assert refused.status_code == 403 and not ApiKey.objects.filter(name="take over").exists()
    assert AuditEvent.objects.filter(action="access.denied", actor=keymaster.iam_id).exists()


def test_restricted_account_allows_key_creation_only_with_the_permission():
    settings_row = AccountSettings.current()
    settings_row.restrict_create_platform_apikey = "RESTRICTED"
    settings_row.save()
    alice = make_principal()
    _, value = client_services.create_api_key(None, alice, "bootstrap key")
    response = bearer(value).post("/v1/apikeys", {"name": "another", "iam_id": alice.iam_id},
                                  content_type="application/json")
    assert response.status_code == 403 and "restricted" in response.json()["errors"][0]["message"]


def test_other_accounts_see_nothing():
    owner = make_principal(roles=["system:owner"])
    _, value = client_services.create_api_key(None, owner, "k")
    http = bearer(value)
    other = "0" * 32
    assert http.get("/v1/apikeys", {"account_id": other}).json()["apikeys"] == []
    assert http.post("/v1/apikeys", {"name": "x", "iam_id": owner.iam_id, "account_id": other},
                     content_type="application/json").status_code == 403
    assert http.get("/v1/policies", {"account_id": other}).json()["policies"] == []
    assert http.get("/v2/roles", {"account_id": other}).json()["custom_roles"] == []


def test_a_malformed_account_id_is_bad_input():
    owner = make_principal(roles=["system:owner"])
    _, value = client_services.create_api_key(None, owner, "k")
    http = bearer(value)
    for response in (http.get("/v1/apikeys", {"account_id": "not-ours"}),
                     http.post("/v1/profiles", {"name": "p", "account_id": "invalid"}, content_type="application/json"),
                     http.post("/v1/apikeys", {"name": "x", "iam_id": owner.iam_id, "account_id": "invalid"},
                               content_type="application/json")):
        assert response.status_code == 400, response.content
        assert "account_id" in response.json()["errors"][0]["message"]


def test_api_key_values_never_reach_the_audit_trail():
    owner = make_principal()
    _, value = client_services.create_api_key(None, owner, "k")
    token_for(value)
    events = AuditEvent.objects.filter(target_type="apiKey")
    assert events.filter(action="create").count() == 1
    from tests.audit.helpers import dump_trail

    trail = dump_trail()
    assert value not in trail and ApiKey.objects.get().digest not in trail


def test_createapikey_command_prints_the_key_once():
    owner = make_principal(email="ops@example.com")
    out = StringIO()
    call_command("createapikey", "ops@example.com", "--name", "ops", stdout=out)
    value = next(line.split()[-1] for line in out.getvalue().splitlines() if line.startswith("apikey:"))
    assert token_for(value).status_code == 200
    assert ApiKey.objects.get().iam_id == owner.iam_id


def test_a_key_the_platform_makes_is_created_by_its_owner():
    """``createapikey`` without --actor: IBM's getApiKeysDetails names the owner as the key's creator."""
    owner = make_principal(email="ops@example.com")
    out = StringIO()
    call_command("createapikey", "ops@example.com", "--name", "ops", stdout=out)
    value = next(line.split()[-1] for line in out.getvalue().splitlines() if line.startswith("apikey:"))
    assert ApiKey.objects.get().created_by == owner.iam_id
    details = bearer(value).get("/v1/apikeys/details", HTTP_IAM_APIKEY=value).json()
    assert details["created_by"] == owner.iam_id and details["iam_id"] == owner.iam_id


def test_claim_rules_decide_whether_claims_match_a_profile():
    profile = TrustedProfile.objects.create(name="admins")
    ClaimRule.objects.create(profile=profile, type="Profile-SAML", realm_name="https://idp.example.com",
                             conditions=[{"claim": "groups", "operator": "IN", "value": "\"admins\",\"ops\""},
                                         {"claim": "email", "operator": "CONTAINS", "value": "@example.com"}])
    rule = profile_matches(profile, {"groups": ["staff", "ops"], "email": "ana@example.com"},
                           realm_name="https://idp.example.com")
    assert rule is not None and rule.expiration == 43200
    assert profile_matches(profile, {"groups": ["staff"], "email": "ana@example.com"}) is None
    assert profile_matches(profile, {"groups": ["ops"], "email": "ana@evil.test"}) is None
    assert profile_matches(profile, {"groups": ["ops"], "email": "a@example.com"}, realm_name="https://other") is None
    assert profile_matches(profile, {"groups": ["ops"], "email": "a@example.com"}, rule_type="Profile-CR") is None
    ClaimRule.objects.create(profile=profile, type="Profile-SAML",
                             conditions=[{"claim": "dept", "operator": "EQUALS_IGNORE_CASE", "value": "SECURITY"},
                                         {"claim": "level", "operator": "NOT_EQUALS", "value": "intern"}])
    assert profile_matches(profile, {"dept": "security", "level": "senior"}) is not None
    assert profile_matches(profile, {"dept": "security", "level": "intern"}) is None


@pytest.mark.parametrize("change, fragment", [
    ({"roles": [{"role_id": "a"}, {"role_id": "b"}]}, "Exactly one role"),
    ({"roles": [{"role_id": "no:such"}]}, "No role"),
    ({"subjects": [{"attributes": [{"name": "iam_id", "value": "not an iam_id"}]}]}, "iam_id"),
    ({"resources": [{"attributes": [{"name": "accountId", "value": "ACCOUNT"},
                                    {"name": "region", "value": "eu"}]}]}, "Unsupported"),
    ({"resources": [{"attributes": [{"name": "serviceName", "value": "billing"}]}]}, "accountId"),
    ({"type": "authorization"}, "access"),
    # A policy must never read narrower than it grants: what the engine cannot enforce is refused.
    ({"resources": [{"attributes": [{"name": "accountId", "value": "ACCOUNT"}],
                     "tags": [{"name": "project", "value": "prototype", "operator": "stringMatch"}]}]},
     "stringEquals"),
    ({"resources": [{"attributes": [{"name": "accountId", "value": "ACCOUNT"},
                                    {"name": "serviceType", "value": "everything"}]}]}, "serviceType"),
    ({"resources": [{"attributes": [{"name": "accountId", "value": "ACCOUNT"},
                                    {"name": "serviceName", "value": "bill*", "operator": "stringMatch"}]}]},
     "stringEquals"),
    ({"subjects": [{"attributes": [{"name": "iam_id", "value": "SUBJECT"},
                                   {"name": "accessGroupId", "value": "AccessGroupId-1"}]}]}, "exactly one"),
    ({"subjects": [{"attributes": [{"name": "iam_id", "value": "SUBJECT", "operator": "stringMatch"}]}]},
     "stringEquals"),
    ({"rule": {"operator": "and", "conditions": []}}, "rule"),
    ({"pattern": "time-based-conditions:weekly"}, "pattern"),
])
def test_policy_input_errors_name_the_part(change, fragment):
    owner = make_principal(roles=["system:owner"])
    subject = make_principal()
    make_role(["billing/invoices:read"], key="billing:reader")
    account_id = AccountSettings.current().account_id
    _, value = client_services.create_api_key(None, owner, "k")
    body = {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": subject.iam_id}]}],
            "roles": [{"role_id": "billing:reader"}],
            "resources": [{"attributes": [{"name": "accountId", "value": account_id}]}], **change}
    import json

    body = json.loads(json.dumps(body).replace("ACCOUNT", account_id).replace("SUBJECT", subject.iam_id))
    response = bearer(value).post("/v1/policies", body, content_type="application/json")
    assert response.status_code == 400 and fragment in response.json()["errors"][0]["message"]
    assert not Policy.objects.exists()


def test_the_resources_face_shows_a_locked_service_id_and_refuses_changing_it(owner):
    client = client_services.create_client(None, {"name": "svc", "grantTypes": [APIKEY_GRANT]})
    client_services.set_client_locked(None, client.pk, True)
    api = api_client_for(owner)
    assert api.get(f"/resources/iam/clients/{client.pk}").json()["locked"] is True
    assert api.delete(f"/resources/iam/clients/{client.pk}").status_code == 409


def test_listing_api_keys_costs_the_same_queries_for_3_or_30_keys():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner = make_principal(roles=["system:owner"])
    _, value = client_services.create_api_key(None, owner, "k")
    http = bearer(value)
    counts = []
    for total in (3, 30):
        while ApiKey.objects.filter(iam_id=owner.iam_id).count() < total:
            client_services.create_api_key(None, owner, "more")
        http.get("/v1/apikeys", {"pagesize": 100})  # warm caches
        with CaptureQueriesContext(connection) as queries:
            response = http.get("/v1/apikeys", {"pagesize": 100})
        assert len(response.json()["apikeys"]) == total
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_refresh_token_of_the_oauth_server_is_refused_by_the_ibm_token_endpoint():
    from oauth2_provider.models import get_refresh_token_model, set_token_value

    principal = make_principal()
    app = client_services.create_client(None, {"name": "web", "grantTypes": ["authorization_code", "refresh_token"],
                                               "redirectUris": ["https://app.example.com/cb"], "scopes": ["openid"]})
    refresh = get_refresh_token_model()(user=principal, application=app)
    set_token_value(refresh, "narrow-scoped-refresh-token-value")
    refresh.save()
    response = HttpClient().post("/identity/token", {"grant_type": "refresh_token",
                                                     "refresh_token": "narrow-scoped-refresh-token-value"})
    assert response.status_code == 400  # never turned into an unscoped token
    assert response.json()["errorCode"] == "BXNIM0407E"


@pytest.mark.parametrize("path, method, body, field", [
    ("/v1/apikeys", "post", {"name": "x", "iam_id": 5}, "iam_id"),
    ("/v1/apikeys", "post", {"name": "x", "iam_id": "IAM", "expires_at": "2025-02-30T00:00:00Z"}, "expires_at"),
    ("/v1/apikeys", "post", {"name": ["x"], "iam_id": "IAM"}, "name"),
    ("/v1/policies", "post", {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": "IAM"}]}],
                              "roles": [{"role_id": 5}], "resources": []}, "roles"),
    ("/v1/policies", "post", {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": "IAM"}]}],
                              "roles": [{"role_id": "billing:reader"}],
                              "resources": [{"attributes": [{"name": "accountId"}]}]}, "resources"),
    ("/v1/policies", "post", {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": "IAM"}]}],
                              "roles": [{"role_id": "billing:reader"}],
                              "resources": [{"attributes": [{"name": "accountId", "value": "ACCOUNT"},
                                                            {"name": "resourceType", "value": "iam"}]}]},
     "serviceName"),
])
def test_malformed_bodies_are_400_not_500(path, method, body, field):
    import json

    owner = make_principal(roles=["system:owner"])
    make_role(["billing/invoices:read"], key="billing:reader")
    _, value = client_services.create_api_key(None, owner, "k")
    text = json.dumps(body).replace('"IAM"', json.dumps(owner.iam_id)).replace(
        '"ACCOUNT"', json.dumps(AccountSettings.current().account_id))
    response = getattr(bearer(value), method)(path, text, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"][0]["message"]


def test_claim_rule_expiration_and_account_settings_are_validated():
    owner = make_principal(roles=["system:owner"])
    _, value = client_services.create_api_key(None, owner, "k")
    http = bearer(value)
    profile = TrustedProfile.objects.create(name="p")
    conditions = [{"claim": "g", "operator": "EQUALS", "value": "a"}]
    for expiration in ("abc", [1], True):
        response = http.post(f"/v1/profiles/Profile-{profile.pk}/rules",
                             {"type": "Profile-SAML", "conditions": conditions, "expiration": expiration},
                             content_type="application/json")
        assert response.status_code == 400 and "expiration" in response.json()["errors"][0]["message"]
    account_id = AccountSettings.current().account_id
    url = f"/v1/accounts/{account_id}/settings/identity"
    for field, bad in (("session_expiration_in_seconds", "99999999999999999999"), ("mfa", "SMS"),
                       ("max_sessions_per_identity", "100"), ("allowed_ip_addresses", "10.0.0.0/8,not-an-ip"),
                       ("restrict_create_service_id", 5)):
        etag = http.get(url)["ETag"]
        response = http.put(url, {field: bad}, content_type="application/json", HTTP_IF_MATCH=etag)
        assert response.status_code == 400 and field in response.json()["errors"][0]["message"], response.content
    etag = http.get(url)["ETag"]
    # the list keeps the test client's own address in (a change may not shut out the one making it)
    ok = http.put(url, {"allowed_ip_addresses": "10.0.0.0/8, 192.0.2.1, 127.0.0.1",
                        "session_expiration_in_seconds": "3600"}, content_type="application/json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200 and ok.json()["session_expiration_in_seconds"] == "3600"


@pytest.mark.parametrize("what", ["apikey", "serviceid"])
def test_include_history_needs_the_audit_permission(what):
    reader = make_principal(permissions=["iam/apikeys:read", "iam/clients:read"])
    other = make_principal()
    client = client_services.create_client(None, {"name": "svc", "grantTypes": [APIKEY_GRANT]})
    key, _ = client_services.create_api_key(None, other, "theirs")
    _, value = client_services.create_api_key(None, reader, "mine")
    path = f"/v1/apikeys/ApiKey-{key.pk}" if what == "apikey" else f"/v1/serviceids/ServiceId-{client.pk}"
    api = bearer(value)
    assert api.get(path).status_code == 200
    refused = api.get(path, {"include_history": "true"})
    assert refused.status_code == 403 and "audit/events:read" in refused.json()["errors"][0]["message"]
    RoleBinding.objects.create(principal=reader, role=make_role(["audit/events:read"]))
    allowed = api.get(path, {"include_history": "true"})
    assert allowed.status_code == 200 and allowed.json()["history"]
