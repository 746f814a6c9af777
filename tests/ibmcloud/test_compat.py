"""IBM compatibility as IBM's own suites define it, without the SDK: IBM's standard roles and resource
attributes as the engine enforces them, subjects that are no known identity, custom roles, v2 policies with
time-based rules, account and access-management settings, service ID groups, profile links and identities,
preferences, limits, activity reports, template lists and IBM 404s."""

from datetime import datetime, timezone as tz

import pytest
from django.test import Client as HttpClient

from clients import services as client_services
from ibmcloud import services
from ibmcloud.models import AccountSettings, ActivityReport, Policy, ProfileIdentity, TrustedProfile
from roles.engine import decide
from roles.models import Role, RoleBinding
from roles.permissions import scope_covers, scope_within
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
VIEWER = "crn:v1:bluemix:public:iam::::role:Viewer"
EDITOR = "crn:v1:bluemix:public:iam::::role:Editor"
ADMINISTRATOR = "crn:v1:bluemix:public:iam::::role:Administrator"


def bearer_of(identity):
    _, value = client_services.create_api_key(None, identity, "k")
    token = HttpClient().post("/identity/token", {"grant_type": APIKEY_GRANT, "apikey": value}).json()["access_token"]
    return HttpClient(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def boss(db):
    return bearer_of(make_principal(roles=["system:owner"]))


@pytest.fixture
def account():
    return AccountSettings.current().account_id


def v1_policy(iam_id, role_id, account_id, *attributes, tags=()):
    return {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": iam_id}]}],
            "roles": [{"role_id": role_id}],
            "resources": [{"attributes": [{"name": "accountId", "value": account_id, "operator": "stringEquals"},
                                          *[{"name": n, "value": v, "operator": "stringEquals"}
                                            for n, v in attributes]],
                           **({"tags": [{"name": n, "value": v, "operator": "stringEquals"} for n, v in tags]}
                              if tags else {})}]}


# --- the engine's scope: IBM's resource attributes are enforced, never accepted and ignored -------------------


def test_service_type_qualifier_separates_the_platform_from_other_services():
    assert scope_covers(";serviceType=service", "billing/invoices/1")
    assert not scope_covers(";serviceType=service", "iam/principals/1")
    assert scope_covers(";serviceType=platform_service", "iam/principals/1")
    assert not scope_covers(";serviceType=platform_service", "billing/invoices/1")
    assert not scope_covers(";serviceType=service", None)


def test_attribute_qualifiers_need_the_resource_to_carry_them():
    scope = "billing;resourceGroupId=rg1;tag:project=prototype"
    assert not scope_covers(scope, "billing/invoices/1")
    assert not scope_covers(scope, "billing/invoices/1", {"resourceGroupId": "rg1"})
    assert scope_covers(scope, "billing/invoices/1", {"resourceGroupId": "rg1", "tag:project": "prototype"})
    assert not scope_covers(scope, "billing/invoices/1", {"resourceGroupId": "rg2", "tag:project": "prototype"})
    assert not scope_covers(scope, "shop/orders/1", {"resourceGroupId": "rg1", "tag:project": "prototype"})


def test_a_qualified_scope_is_within_only_a_scope_with_the_same_qualifiers():
    assert scope_within("billing;serviceType=service", "")
    assert scope_within("billing;serviceType=service", "billing")
    assert scope_within("billing/x;serviceType=service", "billing;serviceType=service")
    assert not scope_within("billing", "billing;serviceType=service")  # granting wider than one holds
    assert not scope_within("billing;tag:a=b", "billing;tag:a=c")


def test_an_ibm_viewer_policy_over_service_type_service_reads_services_not_the_platform(boss, account):
    reader = make_principal()
    response = boss.post("/v1/policies", v1_policy(reader.iam_id, VIEWER, account, ("serviceType", "service")),
                         content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["roles"][0]["role_id"] == VIEWER and body["roles"][0]["display_name"] == "Viewer"
    assert decide(reader, "billing/invoices:read", "billing/invoices/7", scopes=None).allowed
    assert not decide(reader, "billing/invoices:write", "billing/invoices/7", scopes=None).allowed
    assert not decide(reader, "iam/principals:read", "iam/principals/1", scopes=None).allowed
    assert not decide(reader, "iam/principals:read", scopes=None).allowed


def test_access_tags_of_a_policy_are_enforced(boss, account):
    reader = make_principal()
    response = boss.post("/v1/policies", v1_policy(reader.iam_id, VIEWER, account, ("serviceName", "billing"),
                                                   tags=[("project", "prototype")]),
                         content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["resources"][0]["tags"] == [{"name": "project", "value": "prototype",
                                                        "operator": "stringEquals"}]
    assert not decide(reader, "billing/invoices:read", "billing/invoices/7", scopes=None).allowed
    assert decide(reader, "billing/invoices:read", "billing/invoices/7",
                  {"attributes": {"tag:project": "prototype"}}, scopes=None).allowed


def test_the_check_api_takes_the_resources_attributes(boss, account):
    reader = make_principal()
    boss.post("/v1/policies", v1_policy(reader.iam_id, VIEWER, account, ("serviceName", "billing"),
                                        ("resourceGroupId", "rg1")), content_type="application/json")
    ask = {"iamId": reader.iam_id, "permission": "billing/invoices:read", "resource": "billing/invoices/1"}
    checker = bearer_of(make_principal(permissions=["iam/authorize:read"]))
    no = checker.post("/resources/iam/authorize", ask, content_type="application/json")
    yes = checker.post("/resources/iam/authorize", {**ask, "context": {"attributes": {"resourceGroupId": "rg1"}}},
                       content_type="application/json")
    assert no.status_code == yes.status_code == 200
    assert no.json()["allowed"] is False and yes.json()["allowed"] is True
    bad = checker.post("/resources/iam/authorize", {**ask, "context": {"attributes": ["rg1"]}},
                       content_type="application/json")
    assert bad.status_code == 400 and "attributes" in bad.content.decode()


# --- subjects that are no known identity ------------------------------------------------------------------


def test_a_subject_that_is_no_known_identity_is_kept_and_grants_nothing(boss, account):
    bindings = RoleBinding.objects.count()
    response = boss.post("/v1/policies", v1_policy("IBMid-Py12345", ADMINISTRATOR, account),
                         content_type="application/json")
    assert response.status_code == 201, response.content
    policy = Policy.objects.get(pk=response.json()["id"])
    assert policy.subject_iam_id == "IBMid-Py12345" and policy.binding is None
    assert RoleBinding.objects.count() == bindings
    etag = boss.get(f"/v1/policies/{policy.pk}").json()["entity_tag"]
    patched = boss.patch(f"/v1/policies/{policy.pk}", {"state": "active"}, content_type="application/json",
                         HTTP_IF_MATCH=etag)
    assert patched.status_code == 200 and RoleBinding.objects.count() == bindings
    listed = boss.get("/v1/policies", {"account_id": account, "iam_id": "IBMid-Py12345"}).json()["policies"]
    assert [p["id"] for p in listed] == [str(policy.pk)]


def test_nobody_grants_an_unknown_subject_what_they_do_not_hold(account):
    """A policy for an unknown subject gives no binding, yet its creator must hold what it says it grants:
    no laundering of power through a subject that might be someone's later."""
    narrow = bearer_of(make_principal(permissions=["iam/policies:write", "iam/policies:read"]))
    response = narrow.post("/v1/policies", v1_policy("IBMid-Someone", ADMINISTRATOR, account),
                           content_type="application/json")
    assert response.status_code == 403
    assert not Policy.objects.exists()


def test_a_narrow_policy_writer_cannot_grant_editor_over_more_than_they_hold(account):
    writer = make_principal(permissions=["iam/policies:write", "billing/invoices:read"])
    target = make_principal()
    http = bearer_of(writer)
    refused = http.post("/v1/policies", v1_policy(target.iam_id, EDITOR, account, ("serviceName", "billing")),
                        content_type="application/json")
    assert refused.status_code == 403 and not RoleBinding.objects.filter(principal=target).exists()


# --- custom roles on /v2/roles ------------------------------------------------------------------------------


def test_custom_roles_are_the_platforms_roles(boss, account):
    created = boss.post("/v2/roles", {"name": "InvoiceReader", "display_name": "Invoice reader",
                                      "description": "reads invoices", "account_id": account,
                                      "service_name": "billing", "actions": ["billing.invoices.read"]},
                        content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "InvoiceReader" and body["actions"] == ["billing.invoices.read"]
    assert body["service_name"] == "billing" and body["account_id"] == account
    role = Role.objects.get(pk=body["id"])
    assert role.key == "billing:invoicereader"
    assert role.acl_entries == [{"resource": "billing/invoices", "permission": "read"}]
    got = boss.get(f"/v2/roles/{role.pk}")
    assert got.status_code == 200 and got["ETag"] == str(role.version)
    replaced = boss.put(f"/v2/roles/{role.pk}", {"display_name": "Invoices", "description": "changed",
                                                 "actions": ["billing.invoices.read", "billing.invoices.write"]},
                        content_type="application/json", HTTP_IF_MATCH=got["ETag"])
    assert replaced.status_code == 200 and replaced.json()["display_name"] == "Invoices"
    role.refresh_from_db()
    assert {"resource": "billing/invoices", "permission": "write"} in role.acl_entries
    stale = boss.put(f"/v2/roles/{role.pk}", {"display_name": "x", "actions": ["billing.invoices.read"]},
                     content_type="application/json", HTTP_IF_MATCH=got["ETag"])
    assert stale.status_code == 409
    listed = boss.get("/v2/roles", {"account_id": account, "service_name": "billing"}).json()
    assert [r["id"] for r in listed["custom_roles"]] == [str(role.pk)]
    assert boss.delete(f"/v2/roles/{role.pk}").status_code == 204
    assert not Role.objects.filter(pk=role.pk).exists()


def test_system_roles_cannot_be_read_changed_or_deleted_as_custom_roles(boss):
    viewer = Role.objects.get(key="system:ibm:viewer")
    assert boss.get(f"/v2/roles/{viewer.pk}").status_code == 404
    assert boss.delete(f"/v2/roles/{viewer.pk}").status_code == 404
    assert Role.objects.filter(pk=viewer.pk).exists()


def test_a_custom_role_needs_holding_its_actions(account):
    http = bearer_of(make_principal(permissions=["iam/roles:write", "billing/invoices:read"]))
    body = {"name": "Sneaky", "display_name": "s", "account_id": account, "service_name": "iam",
            "actions": ["iam.principals.write"]}
    assert http.post("/v2/roles", body, content_type="application/json").status_code == 403
    assert not Role.objects.filter(key="iam:sneaky").exists()


@pytest.mark.parametrize("change, field", [
    ({"name": "lower"}, "name"), ({"actions": ["no-dots"]}, "actions"), ({"service_name": "system"}, "service_name"),
    ({"display_name": ""}, "display_name"), ({"account_id": "invalid"}, "account_id"),
])
def test_custom_role_input_errors_name_the_field(boss, account, change, field):
    body = {"name": "Reader", "display_name": "r", "account_id": account, "service_name": "billing",
            "actions": ["billing.invoices.read"], **change}
    response = boss.post("/v2/roles", body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()["errors"][0]["message"]


# --- v2 policies ----------------------------------------------------------------------------------------------


def v2_policy(iam_id, role_id, account_id, rule=None, pattern=None):
    body = {"type": "access", "subject": {"attributes": [{"key": "iam_id", "operator": "stringEquals",
                                                          "value": iam_id}]},
            "control": {"grant": {"roles": [{"role_id": role_id}]}},
            "resource": {"attributes": [{"key": "accountId", "operator": "stringEquals", "value": account_id},
                                        {"key": "serviceType", "operator": "stringEquals", "value": "service"}]}}
    if rule is not None:
        body["rule"] = rule
    if pattern is not None:
        body["pattern"] = pattern
    return body


WEEKDAYS_NINE_TO_FIVE = {"operator": "and", "conditions": [
    {"key": "{{environment.attributes.day_of_week}}", "operator": "dayOfWeekAnyOf",
     "value": ["1+00:00", "2+00:00", "3+00:00", "4+00:00", "5+00:00"]},
    {"key": "{{environment.attributes.current_time}}", "operator": "timeGreaterThanOrEquals", "value": "09:00:00+00:00"},
    {"key": "{{environment.attributes.current_time}}", "operator": "timeLessThanOrEquals", "value": "17:00:00+00:00"}]}


def test_a_v2_rule_becomes_the_bindings_time_window(boss, account):
    worker = make_principal()
    response = boss.post("/v2/policies", v2_policy(worker.iam_id, VIEWER, account, WEEKDAYS_NINE_TO_FIVE,
                                                   "time-based-conditions:weekly:custom-hours"),
                         content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["control"]["grant"]["roles"][0]["role_id"] == VIEWER and body["state"] == "active"
    assert body["rule"] == WEEKDAYS_NINE_TO_FIVE
    binding = Policy.objects.get(pk=body["id"]).binding
    assert binding.conditions["timeWindow"] == {"start": "09:00", "end": "17:00", "timezone": "UTC",
                                                "days": ["mon", "tue", "wed", "thu", "fri"]}
    tuesday_noon = datetime(2026, 11, 24, 12, 0, tzinfo=tz.utc)
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=tz.utc)
    tuesday_night = datetime(2026, 11, 24, 22, 0, tzinfo=tz.utc)
    assert decide(worker, "billing/invoices:read", "billing/invoices/1", {"time": tuesday_noon}, scopes=None).allowed
    assert not decide(worker, "billing/invoices:read", "billing/invoices/1", {"time": saturday_noon},
                      scopes=None).allowed
    assert not decide(worker, "billing/invoices:read", "billing/invoices/1", {"time": tuesday_night},
                      scopes=None).allowed
    # v1 and v2 are separate views of their policies
    assert boss.get(f"/v1/policies/{body['id']}").status_code == 404
    listed = boss.get("/v2/policies", {"account_id": account, "iam_id": worker.iam_id}).json()["policies"]
    assert [p["id"] for p in listed] == [body["id"]]


def test_replacing_a_v2_policy_changes_its_binding(boss, account):
    worker = make_principal()
    created = boss.post("/v2/policies", v2_policy(worker.iam_id, VIEWER, account), content_type="application/json")
    policy_id, etag = created.json()["id"], created["ETag"]
    replaced = boss.put(f"/v2/policies/{policy_id}", v2_policy(worker.iam_id, EDITOR, account),
                        content_type="application/json", HTTP_IF_MATCH=etag)
    assert replaced.status_code == 200 and replaced.json()["control"]["grant"]["roles"][0]["role_id"] == EDITOR
    assert decide(worker, "billing/invoices:write", "billing/invoices/1", scopes=None).allowed
    assert boss.delete(f"/v2/policies/{policy_id}").status_code == 204
    assert not decide(worker, "billing/invoices:read", "billing/invoices/1", scopes=None).allowed


@pytest.mark.parametrize("rule, fragment", [
    ({"key": "{{environment.attributes.ip}}", "operator": "ipEquals", "value": "10.0.0.1"}, "Unsupported"),
    ({"operator": "or", "conditions": []}, "and"),
    ({"operator": "and", "conditions": [
        {"key": "{{environment.attributes.current_time}}", "operator": "timeGreaterThanOrEquals",
         "value": "09:30:00+05:30"}]}, "whole hours"),
    ({"operator": "and", "conditions": [
        {"key": "{{environment.attributes.current_time}}", "operator": "timeGreaterThanOrEquals",
         "value": "18:00:00+00:00"},
        {"key": "{{environment.attributes.current_time}}", "operator": "timeLessThanOrEquals",
         "value": "08:00:00+00:00"}]}, "empty"),
])
def test_a_rule_the_engine_cannot_enforce_is_refused(boss, account, rule, fragment):
    worker = make_principal()
    response = boss.post("/v2/policies", v2_policy(worker.iam_id, VIEWER, account, rule),
                         content_type="application/json")
    assert response.status_code == 400 and fragment in response.json()["errors"][0]["message"]
    assert not Policy.objects.exists()


def test_a_v2_rule_for_an_unknown_subject_is_still_checked(boss, account):
    response = boss.post("/v2/policies", v2_policy("IBMid-x", VIEWER, account, {"operator": "or", "conditions": []}),
                         content_type="application/json")
    assert response.status_code == 400


# --- account settings ----------------------------------------------------------------------------------------


def test_account_settings_round_trip_every_field_and_effective(boss, account):
    got = boss.get(f"/v1/accounts/{account}/settings/identity", {"include_history": "true"})
    assert got.status_code == 200
    change = {"restrict_create_service_id": "NOT_RESTRICTED", "restrict_create_platform_apikey": "NOT_RESTRICTED",
              "restrict_user_list_visibility": "RESTRICTED",
              "restrict_user_domains": [{"realm_id": "IBMid", "restrict_invitation": False,
                                         "invitation_email_allow_patterns": ["*.*@company.com"]}],
              "mfa": "NONE", "user_mfa": [{"iam_id": "IBMid-1", "mfa": "TOTP"}],
              "session_expiration_in_seconds": "86400", "session_invalidation_in_seconds": "7200",
              "max_sessions_per_identity": "10", "system_access_token_expiration_in_seconds": "1800",
              "system_refresh_token_expiration_in_seconds": "259200"}
    put = boss.put(f"/v1/accounts/{account}/settings/identity", change, content_type="application/json",
                   HTTP_IF_MATCH=got["ETag"])
    assert put.status_code == 200, put.content
    body = put.json()
    assert {k: body[k] for k in change} == change and body["entity_tag"] != got["ETag"]
    assert services.account_mfa_level() == ("NONE", {"IBMid-1": "TOTP"})
    history = boss.get(f"/v1/accounts/{account}/settings/identity", {"include_history": "true"}).json()["history"]
    assert history[-1]["action"] == "update"
    effective = boss.get(f"/v1/accounts/{account}/effective_settings/identity").json()
    assert effective["account"]["system_access_token_expiration_in_seconds"] == "1800"
    assert effective["effective"]["system_access_token_expiration_in_seconds"] == "1800"
    assert effective["effective"]["allowed_ip_addresses"] == ""


@pytest.mark.parametrize("field, value", [
    ("system_access_token_expiration_in_seconds", "99999"), ("mfa", "SOMETIMES"), ("user_mfa", [{"iam_id": 1}]),
    ("restrict_user_domains", "IBMid"), ("allowed_ip_addresses", "not-an-ip"),
    ("restrict_user_list_visibility", "NOT_SET"), ("session_expiration_in_seconds", "9000²"),
    ("max_sessions_per_identity", "٣"),
])
def test_bad_account_settings_are_refused_naming_the_field(boss, account, field, value):
    etag = boss.get(f"/v1/accounts/{account}/settings/identity")["ETag"]
    response = boss.put(f"/v1/accounts/{account}/settings/identity", {field: value}, content_type="application/json",
                        HTTP_IF_MATCH=etag)
    assert response.status_code == 400 and field in response.json()["errors"][0]["message"]


def test_allowed_ip_addresses_keep_other_addresses_out_of_the_ibm_face(boss, account):
    owner = make_principal(roles=["system:owner"])
    _, value = client_services.create_api_key(None, owner, "k")
    etag = boss.get(f"/v1/accounts/{account}/settings/identity")["ETag"]
    # a change that would shut out the address it comes from is refused, naming the field
    locked_out = boss.put(f"/v1/accounts/{account}/settings/identity", {"allowed_ip_addresses": "10.0.0.0/8"},
                          content_type="application/json", HTTP_IF_MATCH=etag)
    assert locked_out.status_code == 400 and "allowed_ip_addresses" in locked_out.json()["errors"][0]["message"]
    services.update_account_settings(None, None, {"allowed_ip_addresses": "10.0.0.0/8"})
    # the test client comes from 127.0.0.1
    assert boss.get(f"/v1/accounts/{account}/settings/identity").status_code == 403
    refused = HttpClient().post("/identity/token", {"grant_type": APIKEY_GRANT, "apikey": value})
    assert refused.status_code == 403 and value not in refused.content.decode()
    inside = HttpClient(REMOTE_ADDR="10.1.2.3").post("/identity/token", {"grant_type": APIKEY_GRANT, "apikey": value})
    assert inside.status_code == 200


def test_access_management_settings_round_trip(boss, account):
    got = boss.get(f"/v1/accounts/{account}/settings/access_management")
    assert got.status_code == 200
    types = got.json()["external_account_identity_interaction"]["identity_types"]
    assert set(types) == {"user", "service_id", "service"} and types["user"]["state"] == "enabled"
    patch = {"external_account_identity_interaction": {"identity_types": {
        kind: {"state": "monitor", "external_allowed_accounts": []} for kind in ("user", "service_id", "service")}}}
    changed = boss.patch(f"/v1/accounts/{account}/settings/access_management", patch,
                         content_type="application/json", HTTP_IF_MATCH=got["ETag"])
    assert changed.status_code == 200, changed.content
    assert changed.json()["external_account_identity_interaction"]["identity_types"]["service"]["state"] == "monitor"
    stale = boss.patch(f"/v1/accounts/{account}/settings/access_management", patch,
                       content_type="application/json", HTTP_IF_MATCH=got["ETag"])
    assert stale.status_code == 409
    bad = boss.patch(f"/v1/accounts/{account}/settings/access_management", {
        "external_account_identity_interaction": {"identity_types": {"user": {"state": "open"}}}},
        content_type="application/json", HTTP_IF_MATCH=changed["ETag"])
    assert bad.status_code == 400 and "identity_types.user.state" in bad.json()["errors"][0]["message"]


# --- service ID groups, links, identities, preferences, limits, reports ----------------------------------------


def test_service_id_groups_lifecycle(boss, account):
    created = boss.post("/v1/serviceid_groups", {"account_id": account, "name": "batch", "description": "jobs"},
                        content_type="application/json")
    assert created.status_code == 201 and created.json()["id"].startswith("ServiceIdGroup-")
    group_id = created.json()["id"]
    got = boss.get(f"/v1/serviceid_groups/{group_id}")
    assert got.json()["name"] == "batch"
    updated = boss.put(f"/v1/serviceid_groups/{group_id}", {"name": "batch", "description": "changed"},
                       content_type="application/json", HTTP_IF_MATCH=got["ETag"])
    assert updated.status_code == 200 and updated.json()["description"] == "changed"
    assert [g["id"] for g in boss.get("/v1/serviceid_groups", {"account_id": account}).json()["serviceid_groups"]] \
        == [group_id]
    assert boss.delete(f"/v1/serviceid_groups/{group_id}").status_code == 204
    assert boss.get(f"/v1/serviceid_groups/{group_id}").status_code == 404


def test_profile_links_and_identities(boss, account):
    me = make_principal()
    profile = TrustedProfile.objects.create(name="workers")
    base = f"/v1/profiles/Profile-{profile.pk}"
    link = boss.post(f"{base}/links", {"name": "nice link", "cr_type": "ROKS_SA", "link": {
        "crn": f"crn:v1:staging:public:iam-identity::a/{account}::computeresource:Fake", "namespace": "default",
        "name": "nice name"}}, content_type="application/json")
    assert link.status_code == 201, link.content
    link_id = link.json()["id"]
    assert boss.get(f"{base}/links/{link_id}").json()["link"]["namespace"] == "default"
    assert [x["id"] for x in boss.get(f"{base}/links").json()["links"]] == [link_id]
    assert boss.delete(f"{base}/links/{link_id}").status_code == 204
    assert boss.get(f"{base}/links/{link_id}").status_code == 404
    boss.post(f"{base}/links", {"name": "ce", "cr_type": "CE", "link": {"crn": "crn:x", "component_name": "c"}},
              content_type="application/json")
    assert boss.delete(f"{base}/links?type=CE&crn=crn:x&component_name=c").status_code == 204
    assert boss.delete(f"{base}/links?type=CE&crn=crn:x").status_code == 404
    assert boss.post(f"{base}/links", {"cr_type": "MAINFRAME", "link": {"crn": "c"}},
                     content_type="application/json").status_code == 400

    identities = boss.put(f"{base}/identities", {"identities": [
        {"identifier": me.iam_id, "type": "user", "accounts": [account], "description": "me"}]},
        content_type="application/json", HTTP_IF_MATCH="*")
    assert identities.status_code == 200 and identities.json()["identities"][0]["iam_id"] == me.iam_id
    assert boss.get(f"{base}/identities/user/{me.iam_id}").status_code == 200
    assert boss.delete(f"{base}/identities/user/{me.iam_id}").status_code == 204
    one = boss.post(f"{base}/identities/user", {"identifier": me.iam_id, "type": "user", "accounts": [account]},
                    content_type="application/json")
    assert one.status_code == 200 and ProfileIdentity.objects.filter(profile=profile).count() == 1
    unknown = boss.post(f"{base}/identities/user", {"identifier": "iam-nobody", "type": "user"},
                        content_type="application/json")
    assert unknown.status_code == 400 and "identifier" in unknown.json()["errors"][0]["message"]
    # stored only: taking on a profile grants nothing here
    assert not RoleBinding.objects.filter(principal=me).exists()


def test_preferences_of_oneself_and_of_others():
    me = make_principal()
    http = bearer_of(me)
    account = AccountSettings.current().account_id
    mine = f"/v1/preferences/accounts/{account}/identities/{me.iam_id}"
    put = http.put(f"{mine}/console/landing_page", {"value_string": "/billing"}, content_type="application/json")
    assert put.status_code == 200 and put.json()["value_string"] == "/billing"
    assert http.get(f"{mine}/console/landing_page").json()["value_string"] == "/billing"
    assert len(http.get(mine).json()["preferences"]) == 1
    assert http.delete(f"{mine}/console/landing_page").status_code == 204
    assert http.get(f"{mine}/console/landing_page").status_code == 404
    other = make_principal()
    theirs = f"/v1/preferences/accounts/{account}/identities/{other.iam_id}/console/landing_page"
    assert http.put(theirs, {"value_string": "/x"}, content_type="application/json").status_code == 403
    both = http.put(f"{mine}/console/landing_page", {"value_string": "a", "value_list_of_strings": ["b"]},
                    content_type="application/json")
    assert both.status_code == 400
    owner = bearer_of(make_principal(roles=["system:owner"]))
    long_id = f"/v1/preferences/accounts/{account}/identities/{'x' * 65}/console/landing_page"
    refused = owner.put(long_id, {"value_string": "/x"}, content_type="application/json")
    assert refused.status_code == 400 and "iam_id" in refused.json()["errors"][0]["message"]


def test_limits_and_template_lists_and_unknown_paths(boss, account):
    limits = boss.get(f"/v1/accounts/{account}/limits/identity")
    assert limits.status_code == 200 and limits.json()["profiles"] == {"limit": 2000, "count": 0}
    assert boss.post(f"/v1/accounts/{account}/limits/identity", {}, content_type="application/json").status_code == 200
    assert boss.get("/v1/profile_templates", {"account_id": account}).json()["profile_templates"] == []
    assert boss.get("/v1/account_settings_templates").json()["account_settings_templates"] == []
    # templates are not implemented: a write is never a fake success
    assert boss.post("/v1/profile_templates", {"name": "t"}, content_type="application/json").status_code == 405
    for path in ("/v1/profile_templates/ProfileTemplate-1", "/v1/policy_templates", "/v2/no/such/thing"):
        response = boss.get(path)
        assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not_found", path


def test_activity_reports_are_built_by_a_task(boss, account):
    from ibmcloud.tasks import build_activity_report

    # The task is published after commit (the outbox); this test's transaction never commits, so the report
    # stays pending until the task is run by hand below, as a busy worker would leave it.
    created = boss.post(f"/v1/activity/accounts/{account}/report?type=inactive&duration=120")
    assert created.status_code == 202, created.content
    reference = created.json()["reference"]
    assert ActivityReport.objects.get(reference=reference).status == "pending"
    assert boss.get(f"/v1/activity/accounts/{account}/report/{reference}").status_code == 204
    build_activity_report(reference)
    done = boss.get(f"/v1/activity/accounts/{account}/report/{reference}")
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["reference"] == reference and body["report_duration"] == "120"
    assert body["report_start_time"] and body["report_end_time"] and isinstance(body["users"], list)
    assert boss.get(f"/v1/activity/accounts/{account}/report/test123").status_code == 404
    assert boss.post(f"/v1/activity/accounts/{account}/report?duration=0").status_code == 400
    assert boss.post(f"/v1/activity/accounts/{account}/report?duration=1²").status_code == 400


def test_the_same_custom_role_name_in_two_services(boss, account):
    for service in ("billing", "shop"):
        response = boss.post("/v2/roles", {"name": "Reader", "display_name": "r", "account_id": account,
                                           "service_name": service, "actions": [f"{service}.items.read"]},
                             content_type="application/json")
        assert response.status_code == 201, response.content
    again = boss.post("/v2/roles", {"name": "READER", "display_name": "r", "account_id": account,
                                    "service_name": "shop", "actions": ["shop.items.read"]},
                      content_type="application/json")
    assert again.status_code == 409


def test_the_accounts_access_token_lifetime_shortens_every_token(boss, account, monkeypatch):
    from iam_project import settings as platform_settings

    monkeypatch.setattr(platform_settings, "_ACCESS_TOKEN_SECONDS", 3600)  # an installation's longer default
    owner = make_principal(roles=["system:owner"])
    _, value = client_services.create_api_key(None, owner, "k")
    before = HttpClient().post("/identity/token", {"grant_type": APIKEY_GRANT, "apikey": value}).json()
    assert before["expires_in"] == 3600
    etag = boss.get(f"/v1/accounts/{account}/settings/identity")["ETag"]
    assert boss.put(f"/v1/accounts/{account}/settings/identity",
                    {"system_access_token_expiration_in_seconds": "900"}, content_type="application/json",
                    HTTP_IF_MATCH=etag).status_code == 200
    after = HttpClient().post("/identity/token", {"grant_type": APIKEY_GRANT, "apikey": value}).json()
    assert after["expires_in"] == 900 and after["expiration"] - before["expiration"] < 0
    app = client_services.create_client(None, {"name": "m2m", "grantTypes": ["client_credentials"]})
    _, secret = client_services.create_secret(None, app.pk)
    oauth = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials", "client_id": app.client_id,
                                                "client_secret": secret})
    assert oauth.status_code == 200 and oauth.json()["expires_in"] == 900
