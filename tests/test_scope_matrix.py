"""One access context: a token carrying scope X can do exactly what X allows — through the API, the
IBM face and the services behind them — and an IP-conditioned binding holds inside its range only,
for the API and the console alike."""

import base64
import uuid
from datetime import timedelta

import pytest
from django.test import Client as HttpClient

from audit.models import AuditEvent
from clients import services as client_services
from clients.models import ApiKey, ClientSecret
from ibmcloud import services as ibm_services
from ibmcloud.models import AccountSettings
from jit import services as jit_services
from jit.models import Eligibility
from roles.models import Role, RoleBinding
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db
OTHER_SCOPE = "iam/authorize:read"  # a scope the almighty client may ask for that permits no write
# The permissions of the roles the operations grant or the targets can obtain (docs:reader): a token
# needs them too, since it grants and manages no more than its scopes.
ROLE_SCOPE = "docs/wiki:*"


@pytest.fixture
def almighty(owner):
    """A client holding system:owner (standing): whatever its token cannot do, its scopes forbid."""
    return client_services.create_client(None, {"name": "automation", "grantTypes": ["client_credentials"],
                                                "scopes": ["*:*"]}, roles=["system:owner"])


def principal_token_api(scope):
    """A token of an owner *principal* (authorization code flow) carrying ``scope``: approvals are a
    person's decision, so those rows act as one."""
    from tests.clients.oidc_helpers import code_flow, make_app, signed_in

    app, secret = make_app(scopes=("openid", "*:*"))
    http, _ = signed_in(roles=["system:owner"])
    token = code_flow(http, app, secret, scope=f"openid {scope}")["access_token"]
    return HttpClient(HTTP_AUTHORIZATION=f"Bearer {token}")


def api_for(almighty, name, scope):
    return principal_token_api(scope) if name in PERSON_ROWS else token_api(almighty, scope)


PERSON_ROWS = {"approve request", "deny request"}


def token_api(client, scope):
    _, secret = client_services.create_secret(None, client.pk)
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    response = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials", "scope": scope},
                                 HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return HttpClient(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")


@pytest.fixture
def world(db, almighty):
    """The objects the write operations act on."""
    reader = make_role(["docs/wiki:read"], key="docs:reader")
    target = make_principal(email="target@example.com")
    app = client_services.create_client(None, {"name": "app", "grantTypes": ["client_credentials"]})
    secret, _ = client_services.create_secret(None, app.pk)
    key, _ = client_services.create_api_key(None, target, "target key")
    eligibility = jit_services.save_eligibility(None, Eligibility(
        principal=target, role=reader, max_duration=timedelta(hours=1), approval_required=True,
        justification_required=False))
    request = jit_services.request_access(target, reader, timedelta(minutes=10))
    policy = ibm_services.create_policy(None, target, reader, "", [{"attributes": [
        {"name": "iam_id", "value": target.iam_id}]}], [{"attributes": [
            {"name": "accountId", "value": AccountSettings.current().account_id}]}])
    return {"role": reader, "target": target, "app": app, "secret": secret, "key": key,
            "eligibility": eligibility, "request": request, "policy": policy,
            "account": AccountSettings.current()}


# (name, scope it needs, method, path(world), body(world) or None, extra headers(world))
OPERATIONS = [
    ("create principal", "iam/principals:write", "put", lambda w: f"/resources/iam/principals/{uuid.uuid4()}",
     lambda w: {"email": "new@example.com", "properties": {}, "roles": []}),
    ("patch principal", "iam/principals:write", "patch", lambda w: f"/resources/iam/principals/{w['target'].pk}",
     lambda w: {"properties": {"team": "blue"}}),
    ("principal roles", "iam/principals:write", "put", lambda w: f"/resources/iam/principals/{w['target'].pk}/roles",
     lambda w: {"roles": ["docs:reader"]}),
    ("suspend principal", "iam/principals:write", "post",
     lambda w: f"/resources/iam/principals/{w['target'].pk}/suspend", None),
    ("reset password", "iam/principals:write", "post",
     lambda w: f"/resources/iam/principals/{w['target'].pk}/password/reset", None),
    ("delete principal", "iam/principals:delete", "delete", lambda w: f"/resources/iam/principals/{w['target'].pk}",
     None),
    ("create client", "iam/clients:write", "put", lambda w: f"/resources/iam/clients/{uuid.uuid4()}",
     lambda w: {"properties": {"name": "new", "grantTypes": ["client_credentials"]}, "roles": []}),
    ("patch client", "iam/clients:write", "patch", lambda w: f"/resources/iam/clients/{w['app'].pk}",
     lambda w: {"properties": {"description": "changed"}}),
    ("client roles", "iam/clients:write", "put", lambda w: f"/resources/iam/clients/{w['app'].pk}/roles",
     lambda w: {"roles": ["docs:reader"]}),
    ("suspend client", "iam/clients:write", "post", lambda w: f"/resources/iam/clients/{w['app'].pk}/suspend", None),
    ("new secret", "iam/clients:write", "post", lambda w: f"/resources/iam/clients/{w['app'].pk}/secrets",
     lambda w: {}),
    ("revoke secret", "iam/clients:write", "delete",
     lambda w: f"/resources/iam/clients/{w['app'].pk}/secrets/{w['secret'].pk}", None),
    ("delete client", "iam/clients:delete", "delete", lambda w: f"/resources/iam/clients/{w['app'].pk}", None),
    ("put role", "iam/roles:write", "put", lambda w: "/resources/iam/roles/docs:writer",
     lambda w: {"key": "docs:writer", "description": "", "acl": {"entries": [
         {"resource": "docs/wiki", "permission": "write"}]}}),
    ("delete role", "iam/roles:delete", "delete", lambda w: "/resources/iam/roles/docs:unused", None),
    ("create eligibility", "jit/eligibilities:write", "post", lambda w: "/resources/jit/eligibilities",
     lambda w: {"iamId": w["app"].iam_id, "role": "docs:reader", "maxDuration": "PT1H"}),
    ("delete eligibility", "jit/eligibilities:write", "delete",
     lambda w: f"/resources/jit/eligibilities/{w['eligibility'].pk}", None),
    ("approve request", "jit/requests:approve", "post",
     lambda w: f"/resources/jit/requests/{w['request'].pk}/approve", lambda w: {}),
    ("deny request", "jit/requests:approve", "post",
     lambda w: f"/resources/jit/requests/{w['request'].pk}/deny", lambda w: {}),
    ("IBM: create API key", "iam/apikeys:write", "post", lambda w: "/v1/apikeys",
     lambda w: {"name": "k", "iam_id": w["target"].iam_id}),
    ("IBM: lock API key", "iam/apikeys:write", "post", lambda w: f"/v1/apikeys/ApiKey-{w['key'].pk}/lock", None),
    ("IBM: delete API key", "iam/apikeys:delete", "delete", lambda w: f"/v1/apikeys/ApiKey-{w['key'].pk}", None),
    ("IBM: create service ID", "iam/clients:write", "post", lambda w: "/v1/serviceids/",
     lambda w: {"account_id": w["account"].account_id, "name": "svc"}),
    ("IBM: lock service ID", "iam/clients:write", "post", lambda w: f"/v1/serviceids/ServiceId-{w['app'].pk}/lock",
     None),
    ("IBM: create profile", "iam/profiles:write", "post", lambda w: "/v1/profiles",
     lambda w: {"account_id": w["account"].account_id, "name": "prof"}),
    ("IBM: create policy", "iam/policies:write", "post", lambda w: "/v1/policies",
     lambda w: {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": w["app"].iam_id}]}],
                "roles": [{"role_id": "docs:reader"}],
                "resources": [{"attributes": [{"name": "accountId", "value": w["account"].account_id}]}]}),
    ("IBM: delete policy", "iam/policies:delete", "delete", lambda w: f"/v1/policies/{w['policy'].pk}", None),
]


def _call(api, method, path, body):
    if body is None:
        return getattr(api, method)(path, content_type="application/json")
    return getattr(api, method)(path, body, content_type="application/json")


def _writes():
    return AuditEvent.objects.exclude(action__in=["access.denied", "token.issued", "client.auth_failed"]).count()


@pytest.mark.parametrize("name, scope, method, path, body", OPERATIONS, ids=[op[0] for op in OPERATIONS])
def test_a_token_with_the_operations_scope_may_do_it(almighty, world, name, scope, method, path, body):
    make_role(["docs/wiki:read"], key="docs:unused")
    response = _call(api_for(almighty, name, f"{scope} {ROLE_SCOPE}"), method, path(world), body(world) if body else None)
    assert response.status_code < 400, (name, response.status_code, response.content[:300])


@pytest.mark.parametrize("name, scope, method, path, body", OPERATIONS, ids=[op[0] for op in OPERATIONS])
def test_a_token_without_the_operations_scope_may_not(almighty, world, name, scope, method, path, body):
    make_role(["docs/wiki:read"], key="docs:unused")
    api = api_for(almighty, name, f"{OTHER_SCOPE} {ROLE_SCOPE}")
    before = _writes()
    response = _call(api, method, path(world), body(world) if body else None)
    assert response.status_code == 403, (name, response.status_code, response.content[:300])
    assert _writes() == before


# --- and nothing more: what the services grant or manage is capped by the token's scopes too -----------

def test_the_probe_a_principals_write_token_cannot_create_an_owner(almighty):
    api = token_api(almighty, "iam/principals:write")
    response = api.put(f"/resources/iam/principals/{uuid.uuid4()}",
                       {"email": "root2@example.com", "properties": {}, "roles": ["system:owner"]},
                       content_type="application/json")
    assert response.status_code == 403 and "system:owner" in response.json()["detail"]
    assert not RoleBinding.objects.filter(principal__email="root2@example.com").exists()


def test_a_principals_write_token_cannot_grant_a_role_beyond_its_scopes(almighty, world):
    ops = make_role(["prod/db:write"], key="ops:db")
    api = token_api(almighty, "iam/principals:write")
    response = api.put(f"/resources/iam/principals/{world['target'].pk}/roles", {"roles": [ops.key]},
                       content_type="application/json")
    assert response.status_code == 403
    # With the role's permission among its scopes, the same token may.
    api = token_api(almighty, f"iam/principals:write prod/db:write {ROLE_SCOPE}")
    assert api.put(f"/resources/iam/principals/{world['target'].pk}/roles", {"roles": [ops.key]},
                   content_type="application/json").status_code == 200


def test_a_clients_write_token_cannot_take_over_an_owner_client(almighty, world):
    api = token_api(make_scoped_writer(), "iam/clients:write")
    before = ClientSecret.objects.filter(client=almighty).count()
    response = api.post(f"/resources/iam/clients/{almighty.pk}/secrets", {}, content_type="application/json")
    assert response.status_code == 403
    assert ClientSecret.objects.filter(client=almighty).count() == before


def make_scoped_writer():
    return client_services.create_client(None, {"name": "writer", "grantTypes": ["client_credentials"],
                                                "scopes": ["*:*"]}, roles=["system:owner"])


def test_an_apikeys_write_token_cannot_make_a_key_for_an_owner(almighty, owner):
    api = token_api(almighty, "iam/apikeys:write")
    response = api.post("/v1/apikeys", {"name": "k", "iam_id": owner.iam_id}, content_type="application/json")
    assert response.status_code == 403
    assert not ApiKey.objects.filter(iam_id=owner.iam_id).exists()


def test_a_policies_write_token_cannot_grant_owner_through_a_policy(almighty, world):
    api = token_api(almighty, "iam/policies:write")
    body = {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": world["app"].iam_id}]}],
            "roles": [{"role_id": "system:owner"}],
            "resources": [{"attributes": [{"name": "accountId", "value": world["account"].account_id}]}]}
    assert api.post("/v1/policies", body, content_type="application/json").status_code == 403
    assert not RoleBinding.objects.filter(client=world["app"], role__key="system:owner").exists()


def test_a_roles_write_token_cannot_create_a_role_beyond_its_scopes(almighty):
    api = token_api(almighty, "iam/roles:write")
    body = {"key": "team:god", "description": "", "acl": {"entries": [{"resource": "*", "permission": "*"}]}}
    assert api.put("/resources/iam/roles/team:god", body, content_type="application/json").status_code == 403
    assert not Role.objects.filter(key="team:god").exists()


def test_an_eligibilities_write_token_cannot_make_a_role_beyond_its_scopes_requestable(almighty, world):
    ops = make_role(["prod/db:write"], key="ops:db")
    api = token_api(almighty, "jit/eligibilities:write")
    response = api.post("/resources/jit/eligibilities", {"iamId": world["app"].iam_id, "role": ops.key,
                                                         "maxDuration": "PT1H"}, content_type="application/json")
    assert response.status_code == 403


# --- IP-conditioned bindings, for the API and the console ------------------------------------------------

def conditioned(permissions, cidr="10.1.0.0/16", **fields):
    principal = make_principal(password="a long and unusual passphrase 42", **fields)
    RoleBinding.objects.create(principal=principal, role=make_role(permissions), conditions={"ipRanges": [cidr]})
    return principal


def test_an_ip_conditioned_binding_holds_on_the_api_inside_its_range_only():
    principal = conditioned(["iam/principals:read"])
    inside, outside = HttpClient(REMOTE_ADDR="10.1.2.3"), HttpClient(REMOTE_ADDR="10.2.0.1")
    for browser in (inside, outside):
        browser.force_login(principal)
    assert inside.get("/resources/iam/principals").status_code == 200
    assert outside.get("/resources/iam/principals").status_code == 403


def test_an_ip_conditioned_console_binding_signs_in_from_inside_its_range_only():
    principal = conditioned(["portal:*", "portal/*:*", "iam/principals:read"])
    form = {"username": principal.email, "password": "a long and unusual passphrase 42", "next": "/admin/"}
    inside = HttpClient(REMOTE_ADDR="10.1.2.3")
    response = inside.post("/admin/login/", form)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert inside.get("/admin/principals/principal/").status_code == 200
    outside = HttpClient(REMOTE_ADDR="10.2.0.1")
    response = outside.post("/admin/login/", form)
    assert response.status_code == 200 and b"correct email and password" in response.content
    # A session made inside does not carry the console outside the range.
    outside.cookies = inside.cookies
    assert outside.get("/admin/principals/principal/").status_code in (302, 403)


def test_a_scoped_token_cannot_mint_itself_an_api_key_worth_more_than_its_scopes(almighty):
    narrow = token_api(almighty, OTHER_SCOPE)
    response = narrow.post("/v1/apikeys", {"name": "escape", "iam_id": almighty.iam_id},
                           content_type="application/json")
    assert response.status_code == 403
    assert not ApiKey.objects.filter(iam_id=almighty.iam_id).exists()
    full = token_api(almighty, "*:*")
    assert full.post("/v1/apikeys", {"name": "ok", "iam_id": almighty.iam_id},
                     content_type="application/json").status_code == 201
