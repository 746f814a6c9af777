"""`make run`'s supervisor: mail links follow where it serves, and SIGTERM or Ctrl-C stops the web
server and the Celery worker cleanly, together."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from iam_project.run import child_environment, site_url

ROOT = Path(__file__).resolve().parent.parent


def test_mail_links_point_where_the_server_listens_unless_iam_site_url_is_set():
    assert child_environment("127.0.0.1", "8123", {})["IAM_SITE_URL"] == "http://127.0.0.1:8123"
    assert child_environment("localhost", "9000", {"IAM_SITE_URL": ""})["IAM_SITE_URL"] == "http://localhost:9000"
    production = {"IAM_SITE_URL": "https://iam.example.com"}
    assert child_environment("0.0.0.0", "8000", production)["IAM_SITE_URL"] == "https://iam.example.com"
    assert site_url("0.0.0.0", "8000") == "http://127.0.0.1:8000"
    assert site_url("::1", "8000") == "http://[::1]:8000"


@pytest.mark.django_db
def test_the_temporary_password_mail_links_to_the_configured_site(settings, mailoutbox):
    from principals.tasks import send_temporary_password
    from tests.conftest import make_principal

    settings.IAM_SITE_URL = "http://127.0.0.1:8123"
    principal = make_principal(email="mail@example.com")
    send_temporary_password.delay(str(principal.pk))
    [mail] = mailoutbox
    assert "Sign in at http://127.0.0.1:8123 " in mail.body and ":8000" not in mail.body


def test_settings_take_the_site_url_from_the_environment(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("IAM_", "DJANGO_"))}
    env.update({"IAM_VAR_DIR": str(tmp_path), "IAM_SITE_URL": "http://127.0.0.1:8123"})
    done = subprocess.run([sys.executable, "-c", "import iam_project.settings as s; print(s.IAM_SITE_URL)"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "http://127.0.0.1:8123", done.stderr


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid):
    """Running, or stopped but not yet collected by its parent (a zombie has exited: not alive)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _descendants(pid):
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        children = Path(f"/proc/{current}/task/{current}/children")
        kids = [int(kid) for kid in children.read_text().split()] if children.exists() else []
        found.extend(kids)
        queue.extend(kids)
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from Linux's /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_web_server_and_the_worker_cleanly(tmp_path, signum):
    port = _free_port()
    # The embedded default (SQLite, file-system queue) in a directory of its own, whatever the suite runs on.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("IAM_", "DJANGO_")) and key not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"IAM_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"})
    log = tmp_path / "run.log"
    with log.open("w") as out:
        supervisor = subprocess.Popen([sys.executable, "-m", "iam_project.run", "--host", "127.0.0.1",
                                       "--port", str(port), "--concurrency", "1"],
                                      cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text() or not _serving(port):
            assert supervisor.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        started = re.search(r"run\.started web_pid=(\d+) worker_pid=(\d+) site_url=(\S+)", log.read_text())
        web, worker = int(started.group(1)), int(started.group(2))
        assert started.group(3) == f"http://127.0.0.1:{port}"
        environ = Path(f"/proc/{web}/environ").read_bytes().split(b"\0")
        assert f"IAM_SITE_URL=http://127.0.0.1:{port}".encode() in environ  # what the mail tasks read
        processes = [web, worker, *_descendants(web), *_descendants(worker)]
        assert len(processes) >= 4  # runserver's reloader and server; the worker, its pool and beat

        supervisor.send_signal(signum)
        assert supervisor.wait(timeout=30) == 0
        stopped_after = time.monotonic()
        while any(_alive(pid) for pid in processes) and time.monotonic() - stopped_after < 5:
            time.sleep(0.1)
        assert not [pid for pid in processes if _alive(pid)]
        text = log.read_text()
        assert "Traceback" not in text and "Segmentation fault" not in text and "Cold shutdown" not in text
        assert "Warm shutdown" in text and "run.stopped web_exit=0 worker_exit=0" in text
        assert (tmp_path / "var" / "celery" / "control").is_dir()  # the queue's state stays under var/
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()


def _serving(port):
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


RESET_SCRIPT = """
from django.contrib.auth import get_user_model
from principals import services
principal = get_user_model()(email="busy@example.com")
principal.set_unusable_password()
principal.save()
services.request_password_reset(None, principal.pk)
"""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from Linux's /proc")
def test_a_task_in_progress_completes_when_the_run_is_stopped(tmp_path):
    """SIGTERM reaches the worker as a warm shutdown: the mail it is sending goes out, and its outbox
    message is marked handled, before the run ends."""
    import sqlite3

    port = _free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("IAM_", "DJANGO_")) and key not in ("DATABASE_URL", "REDIS_URL")}
    marker = tmp_path / "sending"
    env.update({"IAM_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1",
                "EMAIL_BACKEND": "tests.e2e.slowmail.EmailBackend", "SLOW_MAIL_MARKER": str(marker),
                "SLOW_MAIL_SECONDS": "4"})
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        supervisor = subprocess.Popen([sys.executable, "-m", "iam_project.run", "--host", "127.0.0.1",
                                       "--port", str(port), "--concurrency", "1"],
                                      cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text() or not _serving(port):
            assert supervisor.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        done = subprocess.run([sys.executable, "manage.py", "shell", "-c", RESET_SCRIPT], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-3000:]
        while not marker.exists():  # the worker is in the middle of the mail
            assert time.monotonic() < deadline + 30, log.read_text()[-3000:]
            time.sleep(0.1)

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=30) == 0
        text = log.read_text()
        assert "Warm shutdown" in text and "run.stopped web_exit=0 worker_exit=0" in text
        assert "Cold shutdown" not in text and "run.kill" not in text
        mail = "".join(path.read_text() for path in (tmp_path / "var" / "mail").glob("*"))
        assert "To: busy@example.com" in mail and "Your temporary Portcullis password" in mail
        with sqlite3.connect(tmp_path / "var" / "portcullis.sqlite3") as db:
            assert db.execute("SELECT status FROM platform_outboxmessage").fetchall() == [("done",)]
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
