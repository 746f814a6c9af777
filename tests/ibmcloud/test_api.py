"""The IBM face's HTTP contract beyond the SDK: keyset paging and its tokens, the cost of a page, deletes
under If-Match, and the OpenAPI document describing every request and answer."""

import json

import pytest
from django.core import signing
from django.test import Client as HttpClient

from audit.models import AuditEvent
from clients import services as client_services
from clients.models import ApiKey
from ibmcloud import services as ibm_services
from ibmcloud.models import AccountSettings, ClaimRule, Policy, TrustedProfile
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
CONDITIONS = [{"claim": "groups", "operator": "EQUALS", "value": "admins"}]


def bearer(identity):
    _, value = client_services.create_api_key(None, identity, "session key")
    token = HttpClient().post("/identity/token", {"grant_type": APIKEY_GRANT, "apikey": value}).json()
    return HttpClient(HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")


@pytest.fixture
def boss():
    return make_principal(email="boss@example.com", roles=["system:owner"])


def walk(http, path, params, key, size_param="pagesize", token_param="pagetoken", between=None):
    """Every page of a list, following ``next``; ``between(page_number)`` runs after each page."""
    items, page, number = [], http.get(path, params), 0
    while True:
        assert page.status_code == 200, page.content
        body = page.json()
        assert body["offset"] == len(items) and body["limit"] == params[size_param]
        items += body[key]
        if between:
            between(number)
        number += 1
        if "next" not in body:
            return items
        token = body["next"]["start"] if isinstance(body["next"], dict) else body["next"]
        page = http.get(path, {**params, token_param: token})


@pytest.mark.parametrize("sort, order", [("name", "asc"), ("name", "desc"), ("created_at", "desc"),
                                         ("modified_at", "asc")])
def test_api_keys_page_by_keyset_in_every_order(boss, sort, order):
    http = bearer(boss)
    for name in ["b", "a", "c", "b", "a", "d", "b"]:  # ties on the sort key: the id breaks them
        client_services.create_api_key(None, boss, name)
    expected = list(ApiKey.objects.filter(iam_id=boss.iam_id).order_by(
        *([f"-{sort}", "-id"] if order == "desc" else [sort, "id"])).values_list("pk", flat=True))
    listed = walk(http, "/v1/apikeys", {"pagesize": 3, "sort": sort, "order": order}, "apikeys")
    assert [item["id"] for item in listed] == [f"ApiKey-{pk}" for pk in expected]


def test_a_row_added_or_removed_between_pages_neither_repeats_nor_skips_the_others(boss):
    http = bearer(boss)
    for name in "abcdefg":
        client_services.create_api_key(None, boss, name)
    gone = ApiKey.objects.get(name="f")

    def meanwhile(page_number):
        if page_number == 0:  # behind the reader (sorts first) and ahead of it
            client_services.create_api_key(None, boss, "0 early")
            client_services.delete_api_key(None, gone.pk)

    names = [item["name"] for item in walk(http, "/v1/apikeys", {"pagesize": 3, "sort": "name"}, "apikeys",
                                           between=meanwhile)]
    assert names == ["a", "b", "c", "d", "e", "g", "session key"]  # offsets would repeat "c" and skip one


@pytest.mark.parametrize("token", [
    "not-a-token", "MTA=",  # the old offset tokens ("10") are not accepted any more
    signing.dumps({"q": "apikeys:created_at,id", "o": 0, "k": ["x", "y"]}, salt="someone else's"),
])
def test_a_forged_page_token_is_a_400_naming_it(boss, token):
    response = bearer(boss).get("/v1/apikeys", {"pagetoken": token})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status_code"] == 400 and body["errors"][0]["message"].startswith("pagetoken:")


def test_a_page_token_is_valid_only_for_its_list_and_order(boss):
    http = bearer(boss)
    for name in "abc":
        client_services.create_api_key(None, boss, name)
        client_services.create_client(None, {"name": f"svc {name}", "grantTypes": [APIKEY_GRANT]})
    key_token = http.get("/v1/apikeys", {"pagesize": 1, "sort": "name"}).json()["next"]
    assert http.get("/v1/apikeys", {"pagesize": 1, "sort": "name", "pagetoken": key_token}).status_code == 200
    assert http.get("/v1/apikeys", {"pagesize": 1, "pagetoken": key_token}).status_code == 400  # other order
    refused = http.get("/v1/serviceids/", {"pagesize": 1, "pagetoken": key_token})
    assert refused.status_code == 400 and "pagetoken" in refused.json()["errors"][0]["message"]
    tampered = key_token[:-3] + ("AAA" if not key_token.endswith("AAA") else "BBB")
    assert http.get("/v1/apikeys", {"pagesize": 1, "sort": "name", "pagetoken": tampered}).status_code == 400


def test_a_page_of_50_keys_costs_one_query_whatever_the_table_holds(boss, django_assert_num_queries):
    http = bearer(boss)
    for index in range(120):
        client_services.create_api_key(None, boss, f"key {index:03}")
    first = http.get("/v1/apikeys", {"pagesize": 50})  # warms the account id and the permission cache
    # the page itself (the bearer token and its identity come from the cache): 51 rows at most, never the
    # whole table
    with django_assert_num_queries(1) as queries:
        first = http.get("/v1/apikeys", {"pagesize": 50})
    assert "LIMIT 51" in queries.captured_queries[-1]["sql"]
    with django_assert_num_queries(1) as queries:
        second = http.get("/v1/apikeys", {"pagesize": 50, "pagetoken": first.json()["next"]})
    assert "LIMIT 51" in queries.captured_queries[-1]["sql"]
    assert len(first.json()["apikeys"]) == len(second.json()["apikeys"]) == 50
    assert second.json()["offset"] == 50


def test_service_ids_profiles_and_policies_page_by_keyset(boss):
    http = bearer(boss)
    account_id = AccountSettings.current().account_id
    for name in "cab":
        client_services.create_client(None, {"name": f"svc {name}", "grantTypes": [APIKEY_GRANT]})
        ibm_services.create_profile(None, f"profile {name}")
    role = make_role(["docs/wiki:read"], key="docs:reader")
    subjects = [make_principal() for _ in range(5)]
    for subject in subjects:
        ibm_services.create_policy(None, subject, role, "", [], [])
    services_listed = walk(http, "/v1/serviceids/", {"pagesize": 2, "sort": "name", "order": "desc"}, "serviceids")
    assert [s["name"] for s in services_listed] == ["svc c", "svc b", "svc a"]
    profiles = walk(http, "/v1/profiles", {"pagesize": 2, "account_id": account_id}, "profiles")
    assert [p["name"] for p in profiles] == ["profile a", "profile b", "profile c"]
    policies = walk(http, "/v1/policies", {"limit": 2, "account_id": account_id}, "policies", size_param="limit",
                    token_param="start")
    assert [p["subjects"] for p in policies] == [[]] * 5
    assert [p["id"] for p in policies] == [str(pk) for pk in Policy.objects.order_by("created_at", "id")
                                           .values_list("pk", flat=True)]


def test_deleting_a_profile_or_a_claim_rule_honours_if_match(boss):
    http = bearer(boss)
    profile = ibm_services.create_profile(None, "admins")
    rule = ibm_services.create_claim_rule(None, profile.pk, type="Profile-SAML", conditions=CONDITIONS)
    rule_path = f"/v1/profiles/Profile-{profile.pk}/rules/ClaimRule-{rule.pk}"
    stale = http.delete(rule_path, HTTP_IF_MATCH=str(rule.version + 1))
    assert stale.status_code == 409 and ClaimRule.objects.filter(pk=rule.pk).exists()
    assert http.delete(rule_path, HTTP_IF_MATCH=str(rule.version)).status_code == 204
    assert not ClaimRule.objects.filter(pk=rule.pk).exists()
    ibm_services.update_profile(None, profile.pk, name="renamed")  # version 2
    path = f"/v1/profiles/Profile-{profile.pk}"
    assert http.delete(path, HTTP_IF_MATCH="1").status_code == 409 and TrustedProfile.objects.exists()
    assert http.delete(path).status_code == 204  # IBM's SDK sends none: any version
    assert not TrustedProfile.objects.exists()
    deleted = AuditEvent.objects.filter(action="delete", target_type__in=["trustedProfile", "claimRule"])
    assert sorted(deleted.values_list("target_type", flat=True)) == ["claimRule", "trustedProfile"]


def test_a_claim_rule_is_found_only_under_its_own_profile(boss):
    http = bearer(boss)
    mine, other = ibm_services.create_profile(None, "mine"), ibm_services.create_profile(None, "other")
    rule = ibm_services.create_claim_rule(None, other.pk, type="Profile-SAML", conditions=CONDITIONS)
    assert http.delete(f"/v1/profiles/Profile-{mine.pk}/rules/ClaimRule-{rule.pk}").status_code == 404
    assert ClaimRule.objects.filter(pk=rule.pk).exists()


def test_a_new_service_ids_first_key_follows_the_key_rules_in_the_same_transaction():
    maker = make_principal(permissions=["iam/clients:write", "iam/clients:read"])
    body = {"account_id": AccountSettings.current().account_id, "name": "job", "apikey": {"name": "job key"}}
    refused = bearer(maker).post("/v1/serviceids/", body, content_type="application/json")
    assert refused.status_code == 403 and "iam/apikeys:write" in refused.json()["errors"][0]["message"]
    assert not ApiKey.objects.filter(name="job key").exists()
    assert not client_services._client_model().objects.filter(name="job").exists()


def test_a_policy_attribute_that_is_not_a_string_is_a_400_not_a_500(boss):
    make_role(["docs/wiki:read"], key="docs:reader")
    subject = make_principal()
    account_id = AccountSettings.current().account_id
    body = {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": subject.iam_id}]}],
            "roles": [{"role_id": "docs:reader"}],
            "resources": [{"attributes": [{"name": "accountId", "value": account_id},
                                          {"name": 5, "value": "x"}]}]}
    response = bearer(boss).post("/v1/policies", json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and "resources" in response.json()["errors"][0]["message"]
    assert not Policy.objects.exists()


def test_the_openapi_document_describes_every_ibm_request_and_answer():
    schema = HttpClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    operations = [(path, method, operation) for path, item in schema["paths"].items()
                  if path.startswith(("/v1/", "/v2/")) for method, operation in item.items()]
    assert len(operations) == 76  # 73, and the MFA report (create, get) and status (ibmcloud/api/mfa.py)
    for path, method, operation in operations:
        successes = {status: answer for status, answer in operation["responses"].items() if status.startswith("2")}
        if operation["operationId"] == "getReport":  # 204 while the report is being built, as IBM
            assert "content" not in successes.pop("204")
        assert len(successes) == 1, (path, method)
        [(status, answer)] = successes.items()
        if status == "204":
            assert "content" not in answer, (path, method)
            continue
        ref = answer["content"]["application/json"]["schema"]["$ref"]
        assert components[ref.rsplit("/", 1)[1]]["properties"], (path, method)
        bodiless = ("createReport", "bulkListAccountEntityConsumption")  # their parameters are in the query
        if method in ("post", "put", "patch") and not any(word in path for word in ("lock", "disable", "/mfa/")) \
                and operation["operationId"] not in bodiless:
            body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert components[body.rsplit("/", 1)[1]]["properties"], (path, method)
    api_key = components["ApiKey"]
    assert {"id", "entity_tag", "crn", "iam_id", "account_id", "apikey", "created_at"} <= set(api_key["required"])


@pytest.mark.parametrize("part", ["subjects", "resources"])
def test_a_policy_part_with_a_key_it_does_not_know_is_refused_not_ignored(boss, part):
    make_role(["docs/wiki:read"], key="docs:reader")
    subject = make_principal()
    body = {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": subject.iam_id}]}],
            "roles": [{"role_id": "docs:reader"}],
            "resources": [{"attributes": [{"name": "accountId", "value": AccountSettings.current().account_id}]}]}
    body[part][0]["conditions"] = [{"key": "ip", "value": "10.0.0.0/8"}]
    response = bearer(boss).post("/v1/policies", body, content_type="application/json")
    assert response.status_code == 400 and f"{part}[0].conditions" in response.json()["errors"][0]["message"]
    assert not Policy.objects.exists()
