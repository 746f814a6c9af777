"""The console's sessions page of a principal: listed and revoked under the API's rules, never a 500."""

import pytest
from django.test import Client as HttpClient

from audit.models import AuditEvent
from principals.sessions.models import SignInSession
from tests.clients.oidc_helpers import signed_in
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db


def console(principal):
    client = HttpClient()
    client.force_login(principal)
    return client


def test_an_owner_sees_and_revokes_a_principals_session():
    http, principal = signed_in(permissions=["orders/items:read"])
    owner = console(make_principal(roles=["system:owner"]))
    change = owner.get(f"/admin/principals/principal/{principal.pk}/change/").content.decode()
    assert f"/admin/sessions/principals/{principal.pk}/" in change
    page = owner.get(f"/admin/sessions/principals/{principal.pk}/")
    assert page.status_code == 200 and "sign-in" in page.content.decode() and "Revoke" in page.content.decode()
    record = SignInSession.objects.get(principal=principal)
    done = owner.post(f"/admin/sessions/principals/{principal.pk}/", {"session": str(record.pk)}, follow=True)
    assert "was revoked" in done.content.decode()
    assert http.get("/resources/me").status_code in (401, 403)
    assert AuditEvent.objects.filter(action="session.revoked").count() == 1


def test_the_page_asks_for_the_api_permissions_and_least_privilege():
    http, principal = signed_in(permissions=["orders/items:delete"])
    record = SignInSession.objects.get(principal=principal)
    url = f"/admin/sessions/principals/{principal.pk}/"
    assert console(make_principal(roles=["system:portal:full"])).get(url).status_code == 403
    reader = console(make_principal(roles=["system:portal:full"], permissions=["iam/principals:read"]))
    page = reader.get(url)
    assert page.status_code == 200 and "Revoke" not in page.content.decode()
    assert reader.post(url, {"session": str(record.pk)}).status_code == 403
    weaker = console(make_principal(roles=["system:portal:full"],
                                    permissions=["iam/principals:read", "iam/principals:write"]))
    refused = weaker.post(url, {"session": str(record.pk)}, follow=True).content.decode()
    assert "orders/items:delete" in refused
    assert http.get("/resources/me").status_code == 200
    garbage = console(make_principal(roles=["system:owner"])).post(url, {"session": "nonsense"}, follow=True)
    assert garbage.status_code == 200 and "No such session" in garbage.content.decode()
    assert console(make_principal(roles=["system:owner"])).get(
        "/admin/sessions/principals/00000000-0000-0000-0000-000000000000/").status_code == 404
