"""Regression tests of the security review of issue 12's third performance round (reads made ahead, the
one-query secret lookup, the introspection caller cache): each one failed against the round as merged."""

import threading

import pytest
from django.db import connection

from iam_project import authcache
from iam_project.cache import request_scope
from roles import engine
from roles.models import RoleBinding
from tests.conftest import make_principal


@pytest.mark.django_db(transaction=True)
def test_a_binding_removed_by_another_thread_is_not_honoured_from_grants_read_ahead():
    """gthread runs several requests per process: a removal committed by one thread must reach a request that
    another thread is serving at its next decision, as it did when every decision read the cache — not up to
    READ_AHEAD_SECONDS later because that request read the grants ahead."""
    subject = make_principal(permissions=["orders/items:read"])
    assert engine.decide(subject, "orders/items:read").allowed  # its grants are cached
    authcache.cached_identity(subject.iam_id)  # and its snapshot

    def remove_in_another_thread():
        try:
            RoleBinding.objects.filter(principal=subject).delete()  # the engine invalidates its grants
        finally:
            connection.close()

    with request_scope():  # one request being served
        found = authcache.cached_identity(subject.iam_id)  # reads the subject's grants ahead
        other = threading.Thread(target=remove_in_another_thread)
        other.start()
        other.join()
        assert not RoleBinding.objects.filter(principal=subject).exists()
        assert engine.decide(found, "orders/items:read").allowed is False
