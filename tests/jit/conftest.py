"""Just-in-time fixtures: a requestable role, an eligible requester, an approver, an eligibility."""

from datetime import timedelta

import pytest

from jit import services
from jit.models import Eligibility
from tests.conftest import make_principal, make_role


@pytest.fixture
def db_admin_role(db):
    return make_role(["prod/db:read", "prod/db:write"], key="ops:db-admin")


@pytest.fixture
def requester(db):
    return make_principal(email="dev@example.com")


@pytest.fixture
def approver(db, db_admin_role):
    return make_principal(email="lead@example.com", permissions=["jit/requests:approve", "jit/requests:read"],
                          roles=[db_admin_role.key])


@pytest.fixture
def make_eligibility(db, db_admin_role, requester):
    def build(**fields):
        values = {"principal": requester, "role": db_admin_role, "max_duration": timedelta(hours=1),
                  "approval_required": True, "justification_required": True, **fields}
        return services.save_eligibility(None, Eligibility(**values))

    return build


@pytest.fixture(autouse=True)
def _after_commit_now(monkeypatch):
    """These tests run inside one transaction, which never commits; run what waits for the commit
    (mail, the expiry task) at once, as the commit would. Celery is eager here: the expiry task
    then runs before its time and must do nothing — which the tests rely on."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())
