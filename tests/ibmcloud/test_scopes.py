"""The IBM face's new write paths under narrow tokens: a token carrying the operation's scope may do it, one
without it may not and writes nothing (as tests/test_scope_matrix.py does for the older paths)."""

import pytest

from ibmcloud import services as ibm_services
from ibmcloud.models import AccountSettings, ServiceIdGroup, TrustedProfile
from tests.conftest import make_principal, make_role
from tests.test_scope_matrix import OTHER_SCOPE, ROLE_SCOPE, _call, _writes, almighty, token_api  # noqa: F401

pytestmark = pytest.mark.django_db
VIEWER = "crn:v1:bluemix:public:iam::::role:Viewer"


@pytest.fixture
def world(db, almighty):  # noqa: F811
    reader = make_role(["docs/wiki:read"], key="docs:reader")
    target = make_principal(email="target@example.com")
    account = AccountSettings.current()
    profile = TrustedProfile.objects.create(name="prof")
    group = ServiceIdGroup.objects.create(name="group")
    custom = ibm_services.create_custom_role(None, "WikiReader", "wiki", ["docs.wiki.read"], "docs")
    v2 = ibm_services.create_policy(None, target, reader, "", [{"attributes": [
        {"key": "iam_id", "operator": "stringEquals", "value": target.iam_id}]}], [{"attributes": [
            {"key": "accountId", "operator": "stringEquals", "value": account.account_id}]}], v2=True)
    link = ibm_services.create_profile_link(None, profile.pk, "l", "CE", {"crn": "crn:y"})
    ibm_services.set_profile_identity(None, profile.pk, "user", {"identifier": target.iam_id, "type": "user"})
    return {"reader": reader, "target": target, "account": account, "profile": profile, "group": group,
            "custom": custom, "v2": v2, "link": link}


def v2_body(w, role_id="docs:reader"):
    return {"type": "access", "subject": {"attributes": [{"key": "iam_id", "value": w["target"].iam_id}]},
            "control": {"grant": {"roles": [{"role_id": role_id}]}},
            "resource": {"attributes": [{"key": "accountId", "value": w["account"].account_id},
                                        {"key": "serviceName", "value": "docs"}]}}


def account_path(w, tail):
    return f"/v1/accounts/{w['account'].account_id}/{tail}"


# (name, scope it needs, method, path(world), body(world) or None, If-Match(world) or None)
OPERATIONS = [
    ("create custom role", "iam/roles:write", "post", lambda w: "/v2/roles",
     lambda w: {"name": "WikiWriter", "display_name": "w", "account_id": w["account"].account_id,
                "service_name": "docs", "actions": ["docs.wiki.read"]}, None),
    ("replace custom role", "iam/roles:write", "put", lambda w: f"/v2/roles/{w['custom'].pk}",
     lambda w: {"display_name": "w", "actions": ["docs.wiki.read"]}, lambda w: "*"),
    ("delete custom role", "iam/roles:delete", "delete", lambda w: f"/v2/roles/{w['custom'].pk}", None, None),
    ("create v2 policy", "iam/policies:write", "post", lambda w: "/v2/policies", v2_body, None),
    ("replace v2 policy", "iam/policies:write", "put", lambda w: f"/v2/policies/{w['v2'].pk}", v2_body,
     lambda w: "*"),
    ("delete v2 policy", "iam/policies:delete", "delete", lambda w: f"/v2/policies/{w['v2'].pk}", None, None),
    ("account settings", "iam/account:write", "put", lambda w: account_path(w, "settings/identity"),
     lambda w: {"mfa": "NONE"}, lambda w: "*"),
    ("access management", "iam/account:write", "patch", lambda w: account_path(w, "settings/access_management"),
     lambda w: {"external_account_identity_interaction": {"identity_types": {"user": {"state": "monitor"}}}},
     lambda w: "*"),
    ("create service ID group", "iam/clients:write", "post", lambda w: "/v1/serviceid_groups",
     lambda w: {"account_id": w["account"].account_id, "name": "g"}, None),
    ("update service ID group", "iam/clients:write", "put", lambda w: f"/v1/serviceid_groups/{w['group'].pk}",
     lambda w: {"name": "g2"}, lambda w: "*"),
    ("delete service ID group", "iam/clients:delete", "delete",
     lambda w: f"/v1/serviceid_groups/{w['group'].pk}", None, None),
    ("create profile link", "iam/profiles:write", "post", lambda w: f"/v1/profiles/{w['profile'].pk}/links",
     lambda w: {"cr_type": "CE", "link": {"crn": "crn:x"}}, None),
    ("delete profile link", "iam/profiles:delete", "delete",
     lambda w: f"/v1/profiles/{w['profile'].pk}/links/{w['link'].pk}", None, None),
    ("delete profile identity", "iam/profiles:delete", "delete",
     lambda w: f"/v1/profiles/{w['profile'].pk}/identities/user/{w['target'].iam_id}", None, None),
    ("set profile identities", "iam/profiles:write", "put",
     lambda w: f"/v1/profiles/{w['profile'].pk}/identities",
     lambda w: {"identities": [{"identifier": w["target"].iam_id, "type": "user"}]}, lambda w: "*"),
    ("set profile identity", "iam/profiles:write", "post",
     lambda w: f"/v1/profiles/{w['profile'].pk}/identities/user",
     lambda w: {"identifier": w["target"].iam_id, "type": "user"}, None),
    ("another's preference", "iam/preferences:write", "put",
     lambda w: f"/v1/preferences/accounts/{w['account'].account_id}/identities/{w['target'].iam_id}/console/p",
     lambda w: {"value_string": "x"}, None),
    ("create report", "audit/events:read", "post",
     lambda w: f"/v1/activity/accounts/{w['account'].account_id}/report", None, None),
]
IDS = [op[0] for op in OPERATIONS]


def call(api, method, path, body, if_match):
    headers = {"HTTP_IF_MATCH": if_match} if if_match else {}
    if body is None:
        return getattr(api, method)(path, content_type="application/json", **headers)
    return getattr(api, method)(path, body, content_type="application/json", **headers)


@pytest.mark.parametrize("name, scope, method, path, body, if_match", OPERATIONS, ids=IDS)
def test_a_token_with_the_operations_scope_may_do_it(almighty, world, name, scope, method, path, body,  # noqa: F811
                                                     if_match):
    api = token_api(almighty, f"{scope} {ROLE_SCOPE}")
    response = call(api, method, path(world), body(world) if body else None, if_match(world) if if_match else None)
    assert response.status_code < 400, (name, response.status_code, response.content[:300])


@pytest.mark.parametrize("name, scope, method, path, body, if_match", OPERATIONS, ids=IDS)
def test_a_token_without_the_operations_scope_may_not(almighty, world, name, scope, method, path, body,  # noqa: F811
                                                      if_match):
    api = token_api(almighty, f"{OTHER_SCOPE} {ROLE_SCOPE}")
    before = _writes()
    response = call(api, method, path(world), body(world) if body else None, if_match(world) if if_match else None)
    assert response.status_code == 403, (name, response.status_code, response.content[:300])
    assert _writes() == before


def test_a_policy_writers_token_cannot_grant_an_ibm_role_beyond_its_scopes(almighty, world):  # noqa: F811
    """Viewer reads everything: a token scoped to iam/policies:write and docs/wiki:* holds no read on the
    rest, so it cannot grant Viewer account-wide, to a known subject or to one that is no known identity."""
    api = token_api(almighty, f"iam/policies:write {ROLE_SCOPE}")
    for iam_id in (world["target"].iam_id, "IBMid-unknown"):
        body = v2_body(world, VIEWER)
        body["subject"]["attributes"][0]["value"] = iam_id
        body["resource"]["attributes"] = body["resource"]["attributes"][:1]
        response = api.post("/v2/policies", body, content_type="application/json")
        assert response.status_code == 403, (iam_id, response.content)
