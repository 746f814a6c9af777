"""Real dependencies to break in tests: a dedicated redis-server to stop and start, and loopback ports that refuse."""

import contextlib
import shutil
import socket
import subprocess
import time

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
