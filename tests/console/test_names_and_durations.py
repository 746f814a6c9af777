"""Human names, relative times and durations on the console's lists and forms."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jit.models import AccessRequest, Eligibility
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db


def console(principal):
    client = Client()
    client.force_login(principal)
    return client


def test_access_request_list_names_the_requester_and_shows_human_durations():
    owner = make_principal(roles=["system:owner"])
    requester = make_principal(email="req@example.com")
    AccessRequest.objects.create(principal=requester, requester_iam_id=requester.iam_id, status="active",
                                 role=make_role(["orders/items:delete"], key="shop:jit"), duration=timedelta(minutes=90),
                                 expires_at=timezone.now() + timedelta(minutes=42, seconds=30))
    text = console(owner).get("/admin/jit/accessrequest/").content.decode()
    assert f'title="{requester.iam_id}">req@example.com</a>' in text
    assert "1 h 30 min" in text and "42 min" in text and "PT1H30M" not in text and "01:30:00" not in text


def test_binding_list_shows_expiry_relative_with_the_absolute_time_on_hover():
    owner = make_principal(roles=["system:owner"])
    holder = make_principal(email="holder@example.com")
    from roles.models import RoleBinding

    RoleBinding.objects.create(principal=holder, role=make_role(["x/y:read"], key="shop:temp"),
                               expires_at=timezone.now() + timedelta(hours=3, minutes=5), created_by=owner.iam_id)
    text = console(owner).get("/admin/roles/rolebinding/").content.decode()
    assert ">in 3 h</time>" in text and " UTC\">in 3 h" in text
    assert f'title="{owner.iam_id}">{owner.email}</a>' in text


@pytest.mark.parametrize("typed,expected", [("1 h 30 min", timedelta(hours=1, minutes=30)),
                                            ("PT2H", timedelta(hours=2)), ("45min", timedelta(minutes=45))])
def test_eligibility_form_takes_durations_as_people_write_them(typed, expected):
    owner = make_principal(roles=["system:owner"])
    subject = make_principal(email="subject@example.com")
    role = make_role(["orders/items:delete"], key="shop:jit")
    response = console(owner).post("/admin/jit/eligibility/add/", {
        "principal": subject.pk, "role": role.pk, "max_duration": typed, "approvals_required": 1,
        "approval_required": "on", "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]
    eligibility = Eligibility.objects.get(principal=subject)
    assert eligibility.max_duration == expected
    page = console(owner).get(f"/admin/jit/eligibility/{eligibility.pk}/change/").content.decode()
    from iam_project.consoleformat import human_duration

    assert f'value="{human_duration(expected)}"' in page


def test_eligibility_form_names_a_bad_duration():
    owner = make_principal(roles=["system:owner"])
    subject = make_principal(email="subject@example.com")
    role = make_role(["orders/items:delete"], key="shop:jit")
    response = console(owner).post("/admin/jit/eligibility/add/", {
        "principal": subject.pk, "role": role.pk, "max_duration": "a while", "approvals_required": 1, "_save": "Save"})
    assert response.status_code == 200 and "1 h 30 min" in response.content.decode()
    assert not Eligibility.objects.exists()


def test_change_pages_name_who_created_a_binding_and_an_eligibility():
    owner = make_principal(roles=["system:owner"])
    holder = make_principal(email="holder@example.com")
    from roles.models import RoleBinding

    binding = RoleBinding.objects.create(principal=holder, role=make_role(["x/y:read"], key="shop:temp"),
                                         created_by=owner.iam_id)
    eligibility = Eligibility.objects.create(principal=holder, role=make_role(["x/y:write"], key="shop:jit"),
                                             max_duration=timedelta(hours=1), created_by=owner.iam_id)
    pages = [f"/admin/roles/rolebinding/{binding.pk}/change/", f"/admin/jit/eligibility/{eligibility.pk}/change/"]
    for url in pages:
        text = console(owner).get(url).content.decode()
        assert f'title="{owner.iam_id}">{owner.email}</a>' in text, url
