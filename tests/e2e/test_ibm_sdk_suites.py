"""The contract of IBM's own integration suites, through IBM's SDK against the live server: IBM's standard
roles by CRN, subjects that are no known identity, custom roles, v2 policies with time-based rules, the
account's settings, service ID groups, profile links and identities, preferences, limits, reports and the
template lists (these are this project's tests of the same calls, not IBM's files)."""

import pytest
from ibm_platform_services.iam_identity_v1 import ProfileIdentityRequest
from ibm_platform_services.iam_policy_management_v1 import (Control, Grant, Policy, PolicyResource, PolicyRole,
                                                            PolicySubject, ResourceAttribute, ResourceTag,
                                                            RuleAttribute, SubjectAttribute, V2Policy,
                                                            V2PolicyResource, V2PolicyResourceAttribute,
                                                            V2PolicyResourceTag,
                                                            V2PolicyRuleRuleWithNestedConditions,
                                                            V2PolicySubject, V2PolicySubjectAttribute)

from clients import services as client_services
from ibmcloud.models import Policy as PolicyRow
from roles.models import RoleBinding
from tests.conftest import make_principal
from tests.e2e.test_ibm_sdk import expect_error, sdk  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
VIEWER = "crn:v1:bluemix:public:iam::::role:Viewer"
EDITOR = "crn:v1:bluemix:public:iam::::role:Editor"
SERVICE_ID_CREATOR = "crn:v1:bluemix:public:iam-identity::::serviceRole:ServiceIdCreator"


def test_v1_policies_with_ibm_roles_for_a_subject_that_is_no_known_identity(sdk):  # noqa: F811
    _, policies, _, account_id, _ = sdk
    subject = PolicySubject(attributes=[SubjectAttribute(name="iam_id", value="IBMid-Py4242")])
    resources = PolicyResource(attributes=[
        ResourceAttribute(name="accountId", value=account_id, operator="stringEquals"),
        ResourceAttribute(name="serviceType", value="service", operator="stringEquals")],
        tags=[ResourceTag(name="project", value="prototype", operator="stringEquals")])
    bindings = RoleBinding.objects.count()
    created = policies.create_policy(type="access", subjects=[subject], roles=[PolicyRole(role_id=VIEWER)],
                                     resources=[resources])
    assert created.get_status_code() == 201
    policy = Policy.from_dict(created.get_result())
    assert policy.subjects[0] == subject and policy.resources[0] == resources and policy.roles[0].role_id == VIEWER
    assert RoleBinding.objects.count() == bindings  # no known identity: no binding, no power to anyone
    got = policies.get_policy(policy_id=policy.id)
    assert got.get_result()["state"] == "active"
    replaced = policies.replace_policy(policy_id=policy.id, if_match=got.get_headers()["ETag"], type="access",
                                       subjects=[subject], roles=[PolicyRole(role_id=EDITOR)], resources=[resources])
    assert Policy.from_dict(replaced.get_result()).roles[0].role_id == EDITOR
    listed = policies.list_policies(account_id=account_id, iam_id="IBMid-Py4242").get_result()["policies"]
    assert [p["id"] for p in listed] == [policy.id]
    state = policies.update_policy_state(policy_id=policy.id, if_match=replaced.get_headers()["ETag"], state="active")
    assert state.get_result()["state"] == "active"


def test_custom_roles_and_the_role_list(sdk):  # noqa: F811
    _, policies, _, account_id, _ = sdk
    created = policies.create_role(name="DocsReader", account_id=account_id, service_name="docs",
                                   display_name="Docs reader", description="reads docs ",
                                   actions=["docs.wiki.read"]).get_result()
    assert created["name"] == "DocsReader" and created["description"] == "reads docs "
    assert created["actions"] == ["docs.wiki.read"] and created["account_id"] == account_id
    got = policies.get_role(role_id=created["id"])
    replaced = policies.replace_role(role_id=created["id"], if_match=got.get_headers()["ETag"],
                                     display_name="Updated", description="Updated", actions=["docs.wiki.read"])
    assert replaced.get_result()["display_name"] == "Updated"
    expect_error(409, policies.replace_role, role_id=created["id"], if_match=got.get_headers()["ETag"],
                 display_name="stale", actions=["docs.wiki.read"])
    mine = policies.list_roles(account_id=account_id, service_name="docs").get_result()["custom_roles"]
    assert [r["id"] for r in mine] == [created["id"]]
    everything = policies.list_roles(account_id=account_id, service_group_id="IAM").get_result()
    assert VIEWER in [r["crn"] for r in everything["system_roles"]]
    assert SERVICE_ID_CREATOR in [r["crn"] for r in everything["service_roles"]]
    policies.delete_role(role_id=created["id"])
    expect_error(404, policies.get_role, role_id=created["id"])


def test_v2_policies_with_a_time_based_rule(sdk):  # noqa: F811
    _, policies, _, account_id, _ = sdk
    worker = make_principal()
    subject = V2PolicySubject(attributes=[V2PolicySubjectAttribute(key="iam_id", value=worker.iam_id,
                                                                   operator="stringEquals")])
    resource = V2PolicyResource(attributes=[
        V2PolicyResourceAttribute(key="accountId", value=account_id, operator="stringEquals"),
        V2PolicyResourceAttribute(key="serviceType", value="service", operator="stringEquals")],
        tags=[V2PolicyResourceTag(key="project", value="prototype", operator="stringEquals")])
    rule = V2PolicyRuleRuleWithNestedConditions(operator="and", conditions=[
        RuleAttribute(key="{{environment.attributes.day_of_week}}", operator="dayOfWeekAnyOf",
                      value=["1+00:00", "2+00:00", "3+00:00", "4+00:00", "5+00:00"]),
        RuleAttribute(key="{{environment.attributes.current_time}}", operator="timeGreaterThanOrEquals",
                      value="09:00:00+00:00"),
        RuleAttribute(key="{{environment.attributes.current_time}}", operator="timeLessThanOrEquals",
                      value="17:00:00+00:00")])
    control = Control(grant=Grant(roles=[PolicyRole(role_id=VIEWER)]))
    created = policies.create_v2_policy(type="access", subject=subject, control=control, resource=resource,
                                        pattern="time-based-conditions:weekly:custom-hours", rule=rule)
    assert created.get_status_code() == 201
    policy = V2Policy.from_dict(created.get_result())
    assert policy.subject == subject and policy.resource == resource
    assert Control.from_dict(policy.control).grant.roles[0].role_id == VIEWER
    binding = PolicyRow.objects.get(pk=policy.id).binding
    assert binding.conditions["timeWindow"]["days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert binding.scope == ";serviceType=service;tag:project=prototype"
    got = policies.get_v2_policy(id=policy.id)
    assert got.get_result()["state"] == "active"
    control.grant.roles[0].role_id = EDITOR
    replaced = policies.replace_v2_policy(id=policy.id, if_match=got.get_headers()["ETag"], type="access",
                                          subject=subject, control=control, resource=resource,
                                          pattern="time-based-conditions:weekly:custom-hours", rule=rule)
    assert Control.from_dict(replaced.get_result()["control"]).grant.roles[0].role_id == EDITOR
    listed = policies.list_v2_policies(account_id=account_id, iam_id=worker.iam_id).get_result()["policies"]
    assert [p["id"] for p in listed] == [policy.id]
    policies.delete_v2_policy(id=policy.id)
    assert not RoleBinding.objects.filter(principal=worker).exists()


def test_access_management_settings(sdk):  # noqa: F811
    _, policies, _, account_id, _ = sdk
    got = policies.get_settings(account_id=account_id, accept_language="default")
    assert got.get_result()["external_account_identity_interaction"]["identity_types"]["service_id"]
    monitor = {"state": "monitor", "external_allowed_accounts": []}
    changed = policies.update_settings(account_id=account_id, accept_language="default",
                                       if_match=got.get_headers()["ETag"],
                                       external_account_identity_interaction={"identity_types": {
                                           "user": monitor, "service_id": monitor, "service": monitor}})
    types = changed.get_result()["external_account_identity_interaction"]["identity_types"]
    assert {kind: value["state"] for kind, value in types.items()} == {
        "user": "monitor", "service_id": "monitor", "service": "monitor"}


def test_identity_extras(sdk):  # noqa: F811
    identity, _, owner, account_id, _ = sdk
    # set-up of IBM's identity suite: the template lists exist and are empty in an account of its own
    assert identity.list_profile_templates(account_id=account_id).get_result()["profile_templates"] == []
    assert identity.list_account_settings_templates(account_id=account_id).get_result()[
        "account_settings_templates"] == []
    expect_error(400, identity.create_profile, name="p", account_id="invalid")

    group = identity.create_service_id_group(account_id=account_id, name="jobs", description="d").get_result()
    got = identity.get_service_id_group(id=group["id"])
    updated = identity.update_service_id_group(id=group["id"], if_match=got.get_headers()["ETag"], name="jobs",
                                               description="changed").get_result()
    assert updated["description"] == "changed"
    assert identity.list_service_id_group(account_id=account_id).get_result()["serviceid_groups"]
    identity.delete_service_id_group(id=group["id"])
    expect_error(404, identity.get_service_id_group, id=group["id"])

    profile = identity.create_profile(name="workers", account_id=account_id).get_result()
    link = identity.create_link(profile_id=profile["id"], name="nice link", cr_type="ROKS_SA", link={
        "crn": f"crn:v1:staging:public:iam-identity::a/{account_id}::computeresource:Fake",
        "namespace": "default", "name": "nice name"}).get_result()
    assert identity.get_link(profile_id=profile["id"], link_id=link["id"]).get_result()["cr_type"] == "ROKS_SA"
    assert [x["id"] for x in identity.list_links(profile_id=profile["id"]).get_result()["links"]] == [link["id"]]
    identity.delete_link(profile_id=profile["id"], link_id=link["id"])
    expect_error(404, identity.get_link, profile_id=profile["id"], link_id=link["id"])
    identity.create_link(profile_id=profile["id"], name="ce", cr_type="CE",
                         link={"crn": "crn:v1:x", "component_name": "n", "component_type": "t"})
    assert identity.delete_link_by_parameters(profile_id=profile["id"], type="CE", crn="crn:v1:x",
                                              component_name="n", component_type="t").get_status_code() == 204

    request = ProfileIdentityRequest(identifier=owner.iam_id, accounts=[account_id], type="user", description="d")
    identities = identity.set_profile_identities(profile_id=profile["id"], if_match="*", identities=[request])
    assert [i["iam_id"] for i in identities.get_result()["identities"]] == [owner.iam_id]
    assert identity.get_profile_identity(profile_id=profile["id"], identity_type="user",
                                         identifier_id=owner.iam_id).get_result()["type"] == "user"
    identity.delete_profile_identity(profile_id=profile["id"], identity_type="user", identifier_id=owner.iam_id)
    assert identity.get_profile_identities(profile_id=profile["id"]).get_result()["identities"] == []

    preference = identity.update_preference_on_scope_account(
        iam_id=profile["iam_id"], account_id=account_id, service="console", preference_id="landing_page",
        value_string="/billing").get_result()
    assert preference["value_string"] == "/billing"
    assert identity.get_all_preferences_on_scope_account(account_id=account_id, iam_id=profile["iam_id"]
                                                         ).get_result()["preferences"]
    assert identity.delete_preferences_on_scope_account(
        iam_id=profile["iam_id"], account_id=account_id, service="console",
        preference_id="landing_page").get_status_code() == 204
    assert identity.get_account_limits(account_id=account_id).get_result()["profiles"]["count"] == 1

    report = identity.create_report(account_id=account_id, type="inactive", duration="120")
    assert report.get_status_code() == 202
    built = identity.get_report(account_id=account_id, reference=report.get_result()["reference"])
    assert built.get_status_code() in (200, 204)  # built by the worker (here: eagerly, after commit)
    if built.get_status_code() == 200:
        assert built.get_result()["report_duration"] == "120"
    expect_error(404, identity.get_report, account_id=account_id, reference="test123")


def test_account_settings_every_field_and_effective(sdk):  # noqa: F811
    identity, _, owner, account_id, _ = sdk
    got = identity.get_account_settings(account_id=account_id, include_history=True)
    assert got.get_result()["user_mfa"] == [] and got.get_result()["history"][0]["action"] == "create"
    updated = identity.update_account_settings(
        if_match=got.get_headers()["ETag"], account_id=account_id, restrict_create_service_id="NOT_RESTRICTED",
        restrict_create_platform_apikey="NOT_RESTRICTED", restrict_user_list_visibility="NOT_RESTRICTED",
        restrict_user_domains=[{"realm_id": "IBMid", "restrict_invitation": False,
                                "invitation_email_allow_patterns": ["*.*@company.com"]}],
        mfa="NONE", user_mfa=[{"iam_id": owner.iam_id, "mfa": "NONE"}], session_expiration_in_seconds="86400",
        session_invalidation_in_seconds="7200", max_sessions_per_identity="10",
        system_access_token_expiration_in_seconds="3600", system_refresh_token_expiration_in_seconds="259200",
    ).get_result()
    assert updated["max_sessions_per_identity"] == "10" and updated["user_mfa"][0]["iam_id"] == owner.iam_id
    assert updated["restrict_user_domains"][0]["realm_id"] == "IBMid"
    effective = identity.get_effective_account_settings(account_id=account_id, include_history=False).get_result()
    assert effective["effective"]["session_expiration_in_seconds"] == "86400"
    assert effective["account"]["account_id"] == account_id


def test_an_api_key_made_by_the_platform_is_created_by_its_owner(sdk):  # noqa: F811
    identity, _, owner, _, _ = sdk
    _, value = client_services.create_api_key(None, owner, "bootstrap")
    details = identity.get_api_keys_details(iam_api_key=value).get_result()
    assert details["created_by"] == owner.iam_id == details["iam_id"]
