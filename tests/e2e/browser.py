"""Browser fixtures: Debian's Chromium driven by Playwright against the live server, failing a test on
any console error, uncaught page error or Content-Security-Policy violation."""

import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("IAM_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000

# Reports every CSP violation to the test as well as to the console: the event names the
# directive and what was blocked, which the console text does not always do.
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
                        + ` on ${document.location.pathname}`);
});
"""


def _chromium_missing_reason():
    if not CHROMIUM.exists() and not shutil.which(str(CHROMIUM)):
        return f"{CHROMIUM} is absent: install Debian's chromium package (.ci/run does) to run the browser tests"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def chromium(django_db_setup):
    """One headless Chromium per test module; each test gets its own context (cookies, storage).

    Playwright's synchronous API keeps an event loop running in this thread for as long as it is
    started. Django takes that for an async context: its async-safety check would refuse the ORM
    calls that the tests and their database fixtures make between browser steps (plain
    synchronous code), so the check is lifted while the browser runs, and only then; and its
    connection handler would hand out a second set of connections, without the test database's
    serialized contents that `serialized_rollback` restores, so the test database's own
    connections are installed there too.
    """
    reason = _chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    test_connections = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        for alias, connection in test_connections.items():
            connections[alias] = connection
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """Console errors, page errors and CSP violations seen while a test drove its pages."""

    def __init__(self):
        self.messages = []
        self.expected = []

    def expect(self, pattern):
        """Tolerate messages matching ``pattern``: a blocked request the test expects and explains."""
        self.expected.append(re.compile(pattern))

    def _add(self, text):
        if not any(pattern.search(text) for pattern in self.expected):
            self.messages.append(text)

    def violation(self, text):
        self._add(f"Content-Security-Policy violation: {text}")

    def console(self, message):
        if message.type == "error":
            self._add(f"console error on {message.location.get('url', '?')}: {message.text}")

    def page_error(self, error):
        self._add(f"page error: {error}")


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh browser context and page on the live server. Requests to any other origin are
    refused (a test allows the few it expects, such as a relying party's callback), so a page
    that would need the network fails its test."""
    allowed = [live_server.url + "/"]
    context = chromium.new_context(base_url=live_server.url, service_workers="block")
    context.route(lambda url: not url.startswith(tuple(allowed)), lambda route: route.abort("blockedbyclient"))
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    problems = PageProblems()
    context.expose_function("__cspViolation", problems.violation)
    context.add_init_script(_REPORT_VIOLATIONS)
    page = context.new_page()
    page.on("console", problems.console)
    page.on("pageerror", problems.page_error)
    page.problems = problems
    page.allow_origin = lambda origin: allowed.append(origin.rstrip("/") + "/")
    yield page
    context.close()
    assert not problems.messages, "\n".join(problems.messages)


class _CallbackHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        if not self.path.startswith("/callback"):
            self.send_error(404)
            return
        self.server.seen.append(f"http://{self.headers['Host']}{self.path}")
        body = b"<!doctype html><html lang='en'><title>Relying party</title><h1>Back at the client</h1></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def relying_party(browser_page):
    """A relying party's callback on loopback, as a real one would answer it: ``.url`` is the
    redirect URI to register, ``.seen`` the URLs the browser was sent to."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CallbackHandler)
    server.seen = []
    server.url = f"http://127.0.0.1:{server.server_port}/callback"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    browser_page.allow_origin(f"http://127.0.0.1:{server.server_port}")
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
