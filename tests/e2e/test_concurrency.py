"""Two writers holding the same ETag: exactly one wins, the other gets 409, on PostgreSQL."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from iam_project.errors import Conflict
from principals import services
from tests.conftest import make_principal

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent writers are exercised on PostgreSQL")


def test_second_writer_with_the_same_etag_gets_409():
    principal = make_principal(properties={"name": "before"})
    version = principal.version
    first_holds_lock = threading.Event()
    outcome = {}

    def first():
        try:
            with transaction.atomic():
                services.lock_principal(principal.pk, version)
                first_holds_lock.set()
                time.sleep(0.5)  # the second writer is now blocked on the row lock
                locked = services.lock_principal(principal.pk)
                locked.properties = {"name": "first"}
                locked.save()
            outcome["first"] = "ok"
        finally:
            connections.close_all()

    def second():
        first_holds_lock.wait(5)
        try:
            services.update_principal(None, principal.pk, version=version, properties={"name": "second"})
            outcome["second"] = "ok"
        except Conflict:
            outcome["second"] = "conflict"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcome == {"first": "ok", "second": "conflict"}
    principal.refresh_from_db()
    assert principal.properties == {"name": "first"}
    assert principal.version == version + 1


def test_racing_writers_over_http_exactly_one_wins(live_server, owner):
    import requests

    session = requests.Session()
    target = make_principal(properties={"n": 0})
    # Log in through the console so both racers share a real session.
    from django.test import Client

    django_client = Client()
    django_client.force_login(owner)
    cookie = django_client.cookies["sessionid"].value
    url = f"{live_server.url}/resources/iam/principals/{target.pk}"
    etag = session.get(url, cookies={"sessionid": cookie}).headers["ETag"]
    barrier = threading.Barrier(4)
    statuses = []

    def racer(n):
        barrier.wait(5)
        csrf = "x" * 32
        response = requests.patch(
            url, json={"properties": {"n": n}}, headers={"If-Match": etag, "X-CSRFToken": csrf,
                                                         "Referer": live_server.url},
            cookies={"sessionid": cookie, "csrftoken": csrf},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert sorted(statuses) == [200, 409, 409, 409]
