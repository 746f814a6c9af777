"""Sign-in lock-out (django-axes) on the console and the OAuth sign-in page: per username and per IP,
a 429 page, a fixed cool-off, login.locked in the audit trail and no password anywhere."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
PASSWORD = "Right-passphrase-4242"
WRONG = "Wrong-guess-0000-secret"
LIMIT = 3
PAGES = ["/admin/login/", "/oauth/login/"]


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def sign_in(page, email, password, ip="127.0.0.1", http=None):
    http = http or Client(REMOTE_ADDR=ip)
    response = http.post(page, {"username": email, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)
    return http, response


def signed_in(http):
    return "_auth_user_id" in http.session


def owner(email="victim@example.com"):
    return make_principal(email=email, roles=["system:owner"], password=PASSWORD)


@pytest.mark.parametrize("page", PAGES)
def test_the_limit_locks_with_a_429_page_and_the_right_password_then_waits(page):
    victim = owner()
    for _ in range(LIMIT - 1):
        _, response = sign_in(page, victim.email, WRONG)
        assert response.status_code == 200  # the form again, with its error
    _, response = sign_in(page, victim.email, WRONG)
    assert response.status_code == 429 and response["Content-Type"].startswith("text/html")
    assert b"Sign-in paused" in response.content and WRONG.encode() not in response.content
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    http, response = sign_in(page, victim.email, PASSWORD)
    assert response.status_code == 429 and not signed_in(http)
    locked = AuditEvent.objects.filter(action="login.locked")
    assert locked.count() == 1  # one event when the lock begins, not one per refused attempt
    event = locked.get()
    assert event.target_id == str(victim.pk) and event.details["username"] == victim.email
    assert event.details["failures"] == LIMIT and event.details["ip"] == "127.0.0.1"
    failed = list(AuditEvent.objects.filter(action="login.failed"))
    assert len(failed) == LIMIT + 1
    assert [e.details.get("lockedOut", False) for e in failed].count(True) == 1  # never checked
    trail = " ".join(str(e.details) + str(e.changes) for e in AuditEvent.objects.all())
    assert WRONG not in trail and PASSWORD not in trail


@pytest.mark.parametrize("page", PAGES)
def test_many_addresses_guessing_one_username_lock_it_whatever_its_case(page):
    victim = owner()
    spellings = ["victim@example.com", "VICTIM@example.com", " Victim@Example.COM "]
    for index, spelling in enumerate(spellings):
        sign_in(page, spelling, WRONG, ip=f"198.51.100.{index + 1}")
    http, response = sign_in(page, victim.email, PASSWORD, ip="203.0.113.9")
    assert response.status_code == 429 and not signed_in(http)
    other = owner("bystander@example.com")
    http, response = sign_in(page, other.email, PASSWORD, ip="203.0.113.9")
    assert response.status_code == 302 and signed_in(http)  # the address itself is not locked


@pytest.mark.parametrize("page", PAGES)
def test_one_address_spraying_usernames_is_locked_for_every_username(page):
    bystander = owner("bystander@example.com")
    for index in range(LIMIT):
        sign_in(page, f"guess{index}@example.com", WRONG, ip="198.51.100.7")
    http, response = sign_in(page, bystander.email, PASSWORD, ip="198.51.100.7")
    assert response.status_code == 429 and not signed_in(http)
    http, response = sign_in(page, bystander.email, PASSWORD, ip="198.51.100.8")
    assert response.status_code == 302 and signed_in(http)


def test_signing_in_to_ones_own_account_does_not_reset_the_address_count():
    attacker = owner("attacker@example.com")
    make_principal(email="target@example.com", password=PASSWORD)
    page = "/oauth/login/"
    for _ in range(LIMIT - 1):
        sign_in(page, "target@example.com", WRONG, ip="198.51.100.20")
        _, response = sign_in(page, attacker.email, PASSWORD, ip="198.51.100.20")
        assert response.status_code == 302
    _, response = sign_in(page, "target@example.com", WRONG, ip="198.51.100.20")
    assert response.status_code == 429


def test_sign_in_works_after_the_cool_off_and_refused_attempts_do_not_extend_it():
    victim = owner()
    page = "/admin/login/"
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(LIMIT):
            sign_in(page, victim.email, WRONG)
        clock.shift(timedelta(minutes=10))
        _, response = sign_in(page, victim.email, WRONG)  # the attacker keeps trying during the lock
        assert response.status_code == 429 and int(response["Retry-After"]) <= 5 * 60
        clock.shift(timedelta(minutes=5, seconds=1))
        http, response = sign_in(page, victim.email, PASSWORD)
        assert response.status_code == 302 and response["Location"] == "/admin/" and signed_in(http)
        assert http.get("/admin/").status_code == 200


def test_the_lock_is_kept_in_the_database_not_the_cache():
    victim = owner()
    for _ in range(LIMIT):
        sign_in("/oauth/login/", victim.email, WRONG)
    cache.clear()  # a Redis restart, or no Redis at all
    _, response = sign_in("/oauth/login/", victim.email, PASSWORD)
    assert response.status_code == 429
    attempts = AccessAttempt.objects.all()
    assert attempts and all(WRONG not in a.post_data and PASSWORD not in a.post_data for a in attempts)


def test_an_operator_lifts_a_lock_with_axes_reset_username():
    victim = owner()
    for _ in range(LIMIT):
        sign_in("/admin/login/", victim.email, WRONG, ip="198.51.100.30")
    call_command("axes_reset_username", victim.email, stdout=StringIO())
    call_command("axes_reset_ip", "198.51.100.30", stdout=StringIO())
    http, response = sign_in("/admin/login/", victim.email, PASSWORD, ip="198.51.100.30")
    assert response.status_code == 302 and signed_in(http)


def test_a_locked_page_is_never_a_500_even_for_odd_input():
    for username in ["", "x" * 5000, "nul\x00byte@example.com", "ünïcødé@example.com"]:
        for _ in range(LIMIT + 1):
            _, response = sign_in("/oauth/login/", username, WRONG, ip="198.51.100.40")
            assert response.status_code in (200, 429) or ("\x00" in username and response.status_code == 400)
