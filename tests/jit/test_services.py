"""jit.services called directly: eligibility rules, the request lifecycle and its binding."""

from datetime import timedelta

import pytest
import time_machine

from audit.models import AuditEvent
from iam_project.errors import Conflict, Forbidden, InvalidInput
from jit import services
from jit.models import AccessRequest
from roles import engine, services as role_services
from roles.models import RoleBinding
from tests.factories import BindingFactory, EligibilityFactory, PrincipalFactory, RoleFactory, holder_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def role(db):
    return RoleFactory(key="ops:db", acl=["prod/db:write"])


def approver_for(role):
    approver = holder_of("jit/requests:approve")
    BindingFactory(principal=approver, role=role)
    return approver


def test_an_eligibility_needs_holding_its_role_and_never_makes_owner_requestable(role):
    with pytest.raises(Forbidden):
        services.save_eligibility(holder_of("jit/eligibilities:write"), EligibilityFactory.build(role=role,
                                                                                              principal=PrincipalFactory()))
    from roles.models import Role

    with pytest.raises(InvalidInput):
        services.save_eligibility(None, EligibilityFactory.build(role=Role.objects.get(key="system:owner"),
                                                                 principal=PrincipalFactory()))


def test_a_request_beyond_the_maximum_or_without_a_required_justification_is_refused(role):
    eligibility = EligibilityFactory(role=role, justification_required=True)
    with pytest.raises(InvalidInput) as too_long:
        services.request_access(eligibility.principal, role, timedelta(hours=2), "why")
    assert "duration" in too_long.value.errors
    with pytest.raises(InvalidInput) as unjustified:
        services.request_access(eligibility.principal, role, timedelta(minutes=5))
    assert "justification" in unjustified.value.errors
    assert not AccessRequest.objects.exists()


def test_one_open_request_per_role(role):
    eligibility = EligibilityFactory(role=role)
    services.request_access(eligibility.principal, role, timedelta(minutes=5))
    with pytest.raises(Conflict):
        services.request_access(eligibility.principal, role, timedelta(minutes=5))


def test_approval_activates_a_time_boxed_binding_that_the_engine_ends_to_the_second(role):
    eligibility = EligibilityFactory(role=role)
    requester = eligibility.principal
    request = services.request_access(requester, role, timedelta(minutes=10))
    with pytest.raises(Forbidden):
        services.approve(requester, request.pk)
    services.approve(approver_for(role), request.pk)
    request.refresh_from_db()
    assert request.status == "active" and request.binding.source == "jit"
    assert engine.decide(requester, "prod/db:write").allowed
    with time_machine.travel(request.expires_at, tick=False):
        assert not engine.decide(requester, "prod/db:write").allowed
        assert services.expire(request.pk) is True
    request.refresh_from_db()
    assert request.status == "expired" and not RoleBinding.objects.filter(principal=requester).exists()
    assert [e.action for e in AuditEvent.objects.filter(target_id=str(request.pk)).order_by("seq")] == [
        "jit.requested", "jit.approved", "jit.activated", "jit.expired"]


def test_an_approver_must_hold_the_role_standing_not_just_in_time(role):
    eligibility = EligibilityFactory(role=role)
    request = services.request_access(eligibility.principal, role, timedelta(minutes=10))
    temporary = holder_of("jit/requests:approve")
    BindingFactory(principal=temporary, role=role, source="jit",
                   expires_at=request.created_at + timedelta(hours=1))
    with pytest.raises(Forbidden):
        services.approve(temporary, request.pk)


def test_removing_the_binding_anywhere_revokes_the_request(role):
    eligibility = EligibilityFactory(role=role, approval_required=False)
    request = services.request_access(eligibility.principal, role, timedelta(minutes=10))
    role_services.remove_binding(None, request.binding)
    request.refresh_from_db()
    assert request.status == "revoked" and request.binding is None


def test_obtainable_roles_names_what_an_identity_could_request(role):
    person = PrincipalFactory()
    badge = RoleFactory()
    BindingFactory(principal=person, role=badge)
    EligibilityFactory(principal=None, held_role=badge, role=role, scope="prod/db/reporting")
    other = RoleFactory()
    EligibilityFactory(principal=person, role=other)
    assert set(services.obtainable_roles(person)) == {(role, "prod/db/reporting"), (other, "")}


def test_token_lifetime_is_capped_by_the_earliest_active_grant(role):
    eligibility = EligibilityFactory(role=role, approval_required=False)
    services.request_access(eligibility.principal, role, timedelta(minutes=2))
    assert 110 <= services.token_lifetime_cap(eligibility.principal, 900) <= 120
    assert services.token_lifetime_cap(PrincipalFactory(), 900) == 900
