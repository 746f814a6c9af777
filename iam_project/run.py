"""`make run`: the web server and a Celery worker side by side, stopped together and cleanly on Ctrl-C or SIGTERM.

Each child runs in its own session, so a terminal's Ctrl-C reaches only this supervisor, which then
asks each child once to stop (Celery's warm shutdown, runserver's exit) and waits for both; a
second Ctrl-C, or a child still running after --stop-timeout seconds, is answered with SIGKILL.
Mail links point where the server listens unless IAM_SITE_URL says otherwise.
"""

import argparse
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
logger = logging.getLogger("iam_project.run")
_PR_SET_PDEATHSIG = 1


def site_url(host, port):
    """The URL a person on this machine opens for a server bound to host:port."""
    if host in ("", "0.0.0.0", "::", "[::]"):  # every interface: this machine's loopback reaches it
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def child_environment(host, port, environ=None):
    """The children's environment: the caller's, with IAM_SITE_URL defaulting to where we serve."""
    env = dict(os.environ if environ is None else environ)
    if not env.get("IAM_SITE_URL"):
        env["IAM_SITE_URL"] = site_url(host, port)
    return env


def _die_with_parent():
    """In the child, before exec: stop if the supervisor itself is killed outright (Linux only)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _commands(host, port, concurrency):
    web = [sys.executable, "manage.py", "runserver", f"{host}:{port}"]
    worker = [sys.executable, "-m", "celery", "-A", "iam_project", "worker", "--beat", "--loglevel=INFO",
              f"--concurrency={concurrency}"]
    return {"web": web, "worker": worker}


class Supervisor:
    def __init__(self, commands, env, stop_timeout):
        self.commands, self.env, self.stop_timeout = commands, env, stop_timeout
        self.children = {}
        self.signals = []

    def _on_signal(self, signum, frame):
        self.signals.append(signum)
        if len(self.signals) > 1:  # asked twice: stop waiting
            self._kill_all(signal.SIGKILL)

    def _kill_all(self, signum):
        for child in self.children.values():
            if child.poll() is None:
                try:
                    os.killpg(child.pid, signum)
                except ProcessLookupError:
                    pass

    def _ask_to_stop(self, name, child):
        if child.poll() is not None:
            return
        try:
            if name == "worker":  # the worker's main process stops its pool itself (warm shutdown)
                os.kill(child.pid, signal.SIGTERM)
            else:  # runserver's autoreloader and the server process it runs
                os.killpg(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def run(self):
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for name, command in self.commands.items():
            self.children[name] = subprocess.Popen(command, cwd=BASE_DIR, env=self.env, start_new_session=True,
                                                   preexec_fn=_die_with_parent)
        logger.info("run.started %s site_url=%s", " ".join(f"{name}_pid={child.pid}" for name, child in
                                                          self.children.items()), self.env["IAM_SITE_URL"])
        ended = None
        while not self.signals and ended is None:
            ended = next((name for name, child in self.children.items() if child.poll() is not None), None)
            time.sleep(0.2)
        reason = f"signal={signal.Signals(self.signals[0]).name}" if self.signals else f"exited={ended}"
        logger.info("run.stopping %s", reason)
        for name, child in self.children.items():
            self._ask_to_stop(name, child)
        deadline = time.monotonic() + self.stop_timeout
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("run.kill child=%s pid=%s after=%ss", name, child.pid, self.stop_timeout)
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        codes = {name: child.returncode for name, child in self.children.items()}
        logger.info("run.stopped %s", " ".join(f"{name}_exit={code}" for name, code in codes.items()))
        if self.signals:
            return 0
        return codes[ended] or 1  # a child that stopped on its own stops the run with an error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--stop-timeout", type=float, default=20.0,
                        help="seconds to wait for a clean stop before killing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    env = child_environment(args.host, args.port)
    return Supervisor(_commands(args.host, args.port, args.concurrency), env, args.stop_timeout).run()


if __name__ == "__main__":
    sys.exit(main())
