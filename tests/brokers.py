"""Brokers for the outbox's tests: point this process's Celery at a broker of the test's own (a folder queue,
a dedicated redis-server, or an address where nothing answers), and count what reached it."""

import json
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import kombu.pools

from iam_project.celery import app as celery_app


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def use_broker(url, transport_options=None, eager=False):
    """Publish to ``url`` (tasks not run eagerly) for the block; the previous broker afterwards. The
    app's connection and producer pools are dropped both ways, as after a fork, so nothing stays
    connected to the other broker."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport, conf.broker_transport_options, conf.task_always_eager)
    # The transport class settings name for a Redis broker (iam_project.celery) is for Redis URLs only.
    transport = conf.broker_transport if url.startswith(("redis://", "rediss://")) else None

    def switch(broker_url, broker_transport, options, always_eager):
        conf.broker_url, conf.broker_transport = broker_url, broker_transport
        conf.broker_transport_options, conf.task_always_eager = options, always_eager
        kombu.pools.reset()  # kombu's pools are shared by connection: close them all, and forget them
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        celery_app.control.mailbox.__dict__.pop("producer_pool", None)  # control (ping) keeps its own

    switch(url, transport, dict(transport_options or {}), eager)
    try:
        yield
    finally:
        switch(*saved)


class FolderBroker:
    """kombu's file-system transport in a folder: a real broker that needs no server, whose messages
    can be read back."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.queue = self.folder / "queue"
        self.queue.mkdir(parents=True, exist_ok=True)
        self.options = {"data_folder_in": str(self.queue), "data_folder_out": str(self.queue),
                        "control_folder": str(self.folder / "control"), "store_processed": False}

    def messages(self):
        """Task messages published so far: (task name, task id, args, kwargs)."""
        found = []
        for path in sorted(self.queue.glob("*.msg")):
            payload = json.loads(path.read_text())
            headers = payload["headers"]
            args, kwargs, _ = json.loads(_body(payload))
            found.append((headers["task"], headers["id"], args, kwargs))
        return found


def _body(payload):
    import base64

    body = payload["body"]
    return base64.b64decode(body).decode() if payload["properties"].get("body_encoding") == "base64" else body


class RedisServer:
    """A redis-server of the test's own on a free port, that the test can stop and start again."""

    def __init__(self, workdir):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed")
        self.port, self.workdir, self.process = free_port(), Path(workdir), None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.ping():
            assert self.process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def ping(self):
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping()
        except redis.RedisError:
            return False

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=5)


@contextmanager
def silent_listener():
    """An address that takes connections and never answers (a broker hung, or behind a dead route): the
    kernel completes the handshake, nobody reads."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
