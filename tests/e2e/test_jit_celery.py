"""A real Celery worker with its beat, on Redis, expires a 5-second grant through the ETA task.

Runs where PostgreSQL and Redis are configured (the second pass of .ci/run); the worker is a
separate process using the same test database, so the test commits (transaction=True).
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from iam_project.celery import app as celery_app
from jit import services
from jit.models import AccessRequest, Eligibility
from roles import engine
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]


def _database_url():
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("needs PostgreSQL and Redis (the second pass of .ci/run)")
    log = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": _database_url(), "IAM_VAR_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "iam_project.settings", "DATABASE_CONN_MAX_AGE": "0"}
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "iam_project", "worker", "--beat", "--loglevel=INFO",
             "--concurrency=1", "--pool=solo", "--without-gossip", "--without-mingle",
             "-s", str(tmp_path / "beat-schedule")],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    celery_app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=1):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker did not start:\n" + log.read_text()[-3000:]
        yield tmp_path, log
    finally:
        celery_app.conf.task_always_eager = True
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_five_second_grant_expires_through_the_eta_task(worker):
    tmp_path, log = worker
    role = make_role(["prod/db:write"], key="ops:db-admin")
    requester = make_principal(email="dev@example.com")
    services.save_eligibility(None, Eligibility(principal=requester, role=role, max_duration=timedelta(minutes=5),
                                                approval_required=False, justification_required=False))
    request = services.request_access(requester, role, timedelta(seconds=5))
    assert request.status == "active" and engine.decide(requester, "prod/db:write").allowed

    deadline = time.monotonic() + 25  # the beat sweep is 30 s apart: expiry before that is the ETA task's
    while AccessRequest.objects.get(pk=request.pk).status != "expired":
        assert time.monotonic() < deadline, "the grant did not expire:\n" + log.read_text()[-3000:]
        time.sleep(0.25)
    request.refresh_from_db()
    assert request.expires_at <= request.ended_at < request.expires_at + timedelta(seconds=5)
    assert not RoleBinding.objects.filter(principal=requester, source="jit").exists()
    assert not engine.decide(requester, "prod/db:write").allowed
    assert f"jit.expired request={request.pk} by=eta" in log.read_text()

    deadline = time.monotonic() + 10
    mail_dir = tmp_path / "var" / "mail"
    while not (mail_dir.exists() and any("has ended" in f.read_text() for f in mail_dir.iterdir())):
        assert time.monotonic() < deadline, "no expiry mail"
        time.sleep(0.25)
