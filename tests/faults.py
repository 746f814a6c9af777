"""Real dependencies to break in tests: a dedicated redis-server to stop and start, and loopback ports that refuse."""

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def free_port():
    """A loopback port nothing listens on (bound, then released: a connection to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of its own on a free loopback port. With ``persist`` its data survive a stop and start
    (append-only file, fsync'd on every write), as a production Redis' do: what it held before an outage
    is still there after it."""

    def __init__(self, directory, persist=True):
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.directory = directory
        self.persist = persist
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--daemonize", "no", "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")]
        if self.persist:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self):
        """SIGTERM: Redis shuts down cleanly (the append-only file is complete); the port then refuses."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


class SilentServer:
    """A loopback server that accepts connections and never answers: a Redis that hangs (black-holed, or
    stuck), which only a socket time-out gets the client out of. Counts the connections it accepted."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.accepted = []
        import threading

        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.listener.close()
        for conn in self.accepted:
            conn.close()


@contextlib.contextmanager
def database_unreachable(alias="default"):
    """Every new connection to the database fails for real while inside: PostgreSQL is asked on a closed
    loopback port, SQLite for a file in a directory that does not exist. The request thread gets a
    connection object of its own on those settings; the test's connection (and its transaction) is set
    aside untouched and back afterwards, so the database answers again at once — as after an outage."""
    from django.db import connections
    from django.db.utils import load_backend

    settings_dict = connections.settings[alias]
    if settings_dict["ENGINE"].endswith("postgresql"):
        broken = {"HOST": "127.0.0.1", "PORT": str(free_port())}
    else:
        broken = {"NAME": "/nonexistent/portcullis/unreachable.sqlite3"}
    saved = {key: settings_dict.get(key) for key in broken}
    original = connections[alias]
    settings_dict.update(broken)  # what other threads (the readiness checks) connect with
    connections[alias] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(dict(settings_dict), alias)
    try:
        yield
    finally:
        connections[alias].close()
        connections[alias] = original
        settings_dict.update(saved)


# --- a web server of its own ---------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def database_url(settings_dict=None):
    """The URL of the test database (as a server process of the test's would be given it)."""
    from django.db import connection

    db = settings_dict or connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_gunicorn(env, log_path, threads=4):
    """gunicorn on a free loopback port with ``env``; returns (process, url) once /healthz answers."""
    import requests

    port = free_port()
    output = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "iam_project.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", str(threads), "--graceful-timeout", "5", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, "gunicorn did not start:\n" + log_path.read_text()[-3000:]
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except (requests.ConnectionError, requests.Timeout):  # bound, but the worker still loading the app
            pass
        time.sleep(0.2)


def stop_process(process):
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def sign_in(url, email, password):
    """A requests session signed in to the console through its sign-in form (as a browser does)."""
    import requests

    session = requests.Session()
    session.get(f"{url}/admin/login/", timeout=10)
    response = session.post(f"{url}/admin/login/", timeout=10, allow_redirects=False, data={
        "username": email, "password": password, "next": "/admin/",
        "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/"), response.text[:500]
    session.headers["X-CSRFToken"] = session.cookies.get("csrftoken", "")
    return session


# --- a PostgreSQL cluster of its own -----------------------------------------------------------------------------

class PostgresCluster:
    """A throw-away PostgreSQL cluster on a free loopback port, to stop and start under a running server. The
    server refuses to run as root, so the cluster belongs to the unprivileged ``postgres`` user (as in .ci/run)."""

    def __init__(self):
        import glob
        import os
        import pwd
        import tempfile

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
        self.bin = Path(found[-1]).parent
        self.as_postgres = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("no postgres user to run a cluster as")
            if shutil.which("runuser") is None:
                pytest.skip("runuser is not installed")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.directory = Path(tempfile.mkdtemp(prefix="portcullis-pg-"))
        self.directory.chmod(0o755)
        self.data = self.directory / "data"
        self.data.mkdir()
        if self.as_postgres:
            shutil.chown(self.data, "postgres")
            shutil.chown(self.directory, "postgres")
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def _run(self, tool, *args):
        subprocess.run([*self.as_postgres, str(self.bin / tool), *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=120)

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/portcullis"

    def start(self):
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "postgres.log"), "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off", "start")
        return self

    def create_database(self):
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc", "CREATE DATABASE portcullis")

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
