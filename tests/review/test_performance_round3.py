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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # commits: another thread reads it
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


@pytest.mark.django_db
def test_introspection_takes_no_client_credentials_from_the_url(settings):
    """RFC 6749 §2.3.1: client credentials never in the request URI — they would be written to access logs, and
    the lock-out counts a failed secret against the client id it reads from the Authorization header or the
    body only, so secrets guessed in the URL were never counted against the client (nor ever blocked)."""
    from urllib.parse import urlencode

    from django.test import Client as HttpClient

    from tests.clients.test_introspection_caller_cache import resource_server
    from tests.perf.test_query_budgets import client_token

    settings.IAM_RATE_LIMITS = {"CREDENTIAL_FAILURES_PER_CREDENTIAL": "3/5m", "CREDENTIAL_FAILURES_PER_IP": "100/5m"}
    _, token = client_token()
    caller, secret = resource_server()

    def introspect(client_secret, address="198.51.100.1"):
        query = urlencode({"client_id": caller.client_id, "client_secret": client_secret})
        return HttpClient(REMOTE_ADDR=address).post(f"/oauth/introspect/?{query}", {"token": token})

    refused = introspect(secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.content
    for attempt in range(4):  # guesses in the URL from several addresses
        assert introspect("pcs_wrong", f"198.51.100.{10 + attempt}").status_code == 401
    # the right secret where it belongs still works (the URL's guesses named no credential)
    answer = HttpClient().post("/oauth/introspect/", {"token": token, "client_id": caller.client_id,
                                                       "client_secret": secret})
    assert answer.status_code == 200 and answer.json()["active"] is True
