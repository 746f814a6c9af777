"""Access answers in the console: the pages answer as the API does, ask for the same permissions, never 500."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from roles.models import RoleBinding
from tests.conftest import make_principal, make_role
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
PASSWORD = "Console-passphrase-42"


def console(principal):
    client = Client()
    client.force_login(principal)
    return client


@pytest.fixture
def subject():
    principal = make_principal(email="subject@example.com", permissions=["orders/items:read"])
    RoleBinding.objects.create(principal=principal, role=make_role(["orders/items:write"], key="shop:office"),
                               conditions={"ipRanges": ["10.0.0.0/8"]})
    RoleBinding.objects.create(principal=principal, role=make_role(["orders/items:delete"], key="shop:jit"),
                               source="jit", expires_at=timezone.now() + timedelta(minutes=42))
    return principal


def test_check_access_page_shows_the_decision_and_its_reason(subject):
    owner = make_principal(roles=["system:owner"])
    page = console(owner).get("/admin/access/check/", {"identity": "SUBJECT@example.com",
                                                      "permission": "orders/items:write", "ip": "192.0.2.7"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Denied" in text and "allowed IP range" in text
    allowed = console(owner).get("/admin/access/check/", {"identity": subject.iam_id,
                                                         "permission": "orders/items:write", "ip": "10.9.9.9"})
    assert "Allowed" in allowed.content.decode() and "granted by role shop:office" in allowed.content.decode()


def test_check_access_page_refuses_bad_input_with_a_message(subject):
    owner = make_principal(roles=["system:owner"])
    page = console(owner).get("/admin/access/check/", {"identity": "nobody@example.com", "permission": "no-colon",
                                                      "ip": "not-an-ip"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "No principal or client" in text and "resource:action" in text and "IP" in text
    assert "Reason:" not in text


def test_effective_access_page_of_a_principal_and_a_client(subject):
    owner = make_principal(roles=["system:owner"])
    client = console(owner)
    change = client.get(f"/admin/principals/principal/{subject.pk}/change/")
    assert f"/admin/access/principals/{subject.pk}/" in change.content.decode()
    page = client.get(f"/admin/access/principals/{subject.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "shop:office" in text and "IP 10.0.0.0/8" in text and "just in time" in text and "minutes left" in text.replace("\xa0", " ")
    app = ClientFactory(name="reporter")
    RoleBinding.objects.create(client=app, role=make_role(["reports/daily:read"]))
    assert f"/admin/access/clients/{app.pk}/" in client.get(f"/admin/clients/client/{app.pk}/change/").content.decode()
    assert "reports/daily:read" in client.get(f"/admin/access/clients/{app.pk}/").content.decode()
    assert client.get("/admin/access/clients/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_holders_page_lists_only_readable_identities(subject):
    other = make_principal(email="other@example.com", permissions=["orders/items:read"])
    viewer = make_principal(roles=["system:portal:full"], permissions=["iam/authorize:read"])
    RoleBinding.objects.create(principal=viewer, role=make_role(["iam/principals:read"]),
                               scope=f"iam/principals/{other.pk}")
    text = console(viewer).get("/admin/access/holders/", {"permission": "orders/items:read"}).content.decode()
    assert "other@example.com" in text and "subject@example.com" not in text


def test_pages_ask_for_the_api_permissions(subject):
    portal_only = console(make_principal(roles=["system:portal:full"]))
    assert portal_only.get("/admin/access/check/").status_code == 403
    assert portal_only.get("/admin/access/holders/").status_code == 403
    assert portal_only.get(f"/admin/access/principals/{subject.pk}/").status_code == 403
    reads_itself = make_principal(roles=["system:portal:full"], permissions=["iam/roles:read", "iam/authorize:read"])
    RoleBinding.objects.create(principal=reads_itself, role=make_role(["iam/principals:read"]),
                               scope=f"iam/principals/{reads_itself.pk}")
    client = console(reads_itself)
    assert client.get(f"/admin/access/principals/{reads_itself.pk}/").status_code == 200
    assert client.get(f"/admin/access/principals/{subject.pk}/").status_code == 403
    refused = client.get("/admin/access/check/", {"identity": subject.email, "permission": "orders/items:read"})
    assert "You may not read this identity" in refused.content.decode() and "Reason:" not in refused.content.decode()
    assert Client().get("/admin/access/check/").status_code == 302  # signed out: to the sign-in page


def test_index_links_the_access_pages():
    text = console(make_principal(roles=["system:owner"])).get("/admin/").content.decode()
    assert "/admin/access/check/" in text and "/admin/access/holders/" in text


@pytest.mark.parametrize("role", ["system:owner", "reader"])
def test_crawl_access_pages_never_500(subject, role):
    """Every page of the access answers and sessions, and the Graph search, as an owner and as a read-only user."""
    if role == "reader":
        viewer = make_principal(roles=["system:portal:full"], permissions=["iam/principals:read", "iam/clients:read"])
    else:
        viewer = make_principal(roles=[role])
    app = ClientFactory()
    client = console(viewer)
    urls = [
        "/admin/", "/admin/access/check/", "/admin/access/holders/",
        f"/admin/access/principals/{subject.pk}/", f"/admin/access/clients/{app.pk}/",
        "/admin/access/check/?identity=x&permission=a:b&time=garbage",
        f"/admin/access/check/?identity={subject.email}&permission=orders/items:read&resource=orders/items/1",
        "/admin/access/holders/?permission=*:*&ip=::1",
        "/admin/access/holders/?permission=a/b:read&time=9999-12-31 23:59",
        f"/admin/principals/principal/{subject.pk}/change/", f"/admin/clients/client/{app.pk}/change/",
        f"/admin/sessions/principals/{subject.pk}/", f"/admin/sessions/principals/{viewer.pk}/",
        "/admin/principals/principal/?q=roles%3Dsystem:owner", "/admin/principals/principal/?q=colour%3Dblue",
        "/admin/clients/client/?q=properties.tier%3E1",
    ]
    for url in urls:
        status = client.get(url).status_code
        assert status in (200, 403), (url, status)
