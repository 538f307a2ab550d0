"""Fixtures for the real-browser test of the demo app: the demo server, an
attacker-origin HTTP server, and headless Chromium through Selenium."""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO_ROOT = Path(__file__).resolve().parents[2]
# The demo's output, at LOG_LEVEL=trace, is kept for scripts/check-logs, which
# searches it for session tokens and CSRF secrets.
DEMO_LOGS = Path(os.environ.get("SESSIONKIT_DEMO_LOGS", REPO_ROOT / ".build" / "demo-logs"))


def pytest_sessionstart(session) -> None:
    DEMO_LOGS.mkdir(parents=True, exist_ok=True)
    for old in DEMO_LOGS.glob("browser-*"):
        with contextlib.suppress(OSError):
            old.unlink()
DEFAULT_DEMO_BIN = REPO_ROOT / ".build" / "debug" / "session-demo"
STARTUP_DEADLINE = 60.0  # seconds for the demo to answer GET /api/me
ARTIFACTS = Path(os.environ.get("BROWSER_TEST_ARTIFACTS", "/tmp/sessionkit-browser-artifacts"))

# Plain urllib, never through a proxy, never following redirects.
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: D401 - urllib hook
        return None


HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Demo:
    """A running session-demo process."""

    def __init__(self, process: subprocess.Popen, port: int, store: str, log_path: Path, workdir: Path):
        self.process = process
        self.workdir = workdir
        self.sessions_dir = workdir / "sessions"  # SESSION_FILE_PATH with the file store
        self.port = port
        self.store = store
        self.log_path = log_path
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str = "/") -> str:
        return self.base + path

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
            pytest.fail(f"session-demo ({self.store}) {how}; log:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def request(self, path: str, *, method: str = "GET", cookies: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, data: bytes | None = None):
        """An HTTP request outside the browser (as an attacker's own client would send it).
        Returns (status, headers, body text)."""
        all_headers = dict(headers or {})
        if cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        req = urllib.request.Request(self.url(path), method=method, headers=all_headers, data=data)
        try:
            with HTTP.open(req, timeout=10) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()


def _start_demo(binary: Path, store: str, workdir: Path) -> Demo:
    """Starts the demo on a free port and waits until GET /api/me answers.
    Retries with another port if the chosen one was taken in between."""
    last_log = ""
    for attempt in range(3):
        port = free_port()
        # The demo's defaults, whatever the caller's environment says (SESSION_COOKIE_SECURE=false
        # would rename the cookie, for one).
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("SESSION_", "CSRF_")) and name not in ("HOST", "PORT")}
        env.update({"HOST": "127.0.0.1", "PORT": str(port), "SESSION_STORE": store, "LOG_LEVEL": "trace"})
        if store == "file":
            env["SESSION_FILE_PATH"] = str(workdir / "sessions")
        log_path = DEMO_LOGS / f"browser-session-demo-{store}-{port}.log"
        log_file = open(log_path, "wb")
        process = subprocess.Popen([str(binary)], cwd=workdir, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log_file.close()
        demo = Demo(process, port, store, log_path, workdir)
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                status, _, body = demo.request("/api/me")
                if status == 200 and '"user"' in body:
                    return demo
            time.sleep(0.05)
        else:
            _stop(process)
            pytest.fail(f"session-demo ({store}) did not answer GET /api/me within {STARTUP_DEADLINE}s;"
                        f" log:\n{demo.log()}")
        last_log = demo.log()
        if "in use" not in last_log.lower():
            break
    pytest.fail(f"session-demo ({store}) exited with {process.returncode}; log:\n{last_log}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module", params=["memory", "file"])
def demo(request, tmp_path_factory) -> Iterator[Demo]:
    """The demo app with SESSION_STORE=memory, then with SESSION_STORE=file in a temp dir."""
    binary = Path(os.environ.get("SESSION_DEMO_BIN", DEFAULT_DEMO_BIN))
    if not binary.is_file():
        pytest.fail(f"demo binary {binary} not found: run `swift build --package-path Examples --scratch-path .build --product session-demo` first"
                    " (or set SESSION_DEMO_BIN)")
    store = request.param
    workdir = tmp_path_factory.mktemp(f"demo-{store}")
    # Run a private copy, so a concurrent `swift build` relinking the binary cannot disturb the server.
    private = workdir / "demo-server"
    shutil.copy2(binary, private)
    running = _start_demo(private, store, workdir)
    yield running
    _stop(running.process)


@contextlib.contextmanager
def _browser(demo: Demo, request, label: str = "") -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium with its own profile (no cookies); on failure its
    screenshot, page and the demo's log go to ARTIFACTS, named after the test and `label`."""
    demo.check_alive()
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-proxy-server",
                     "--disable-gpu", "--no-first-run", "--window-size=1024,768"):
        options.add_argument(argument)
    binary = os.environ.get("CHROMIUM_BIN") or next(
        (path for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(path)), None)
    if binary:
        options.binary_location = binary
    service = Service(executable_path=os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"))
    browser = webdriver.Chrome(options=options, service=service)
    browser.set_page_load_timeout(30)
    browser.set_script_timeout(15)
    try:
        yield browser
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "") + label
            stem = ARTIFACTS / name
            with contextlib.suppress(Exception):
                browser.save_screenshot(str(stem) + ".png")
                Path(str(stem) + ".html").write_text(browser.page_source)
                Path(str(stem) + ".demo.log").write_text(demo.log() + f"\n[demo process status: {demo.process.poll()}]\n")
                print(f"\nbrowser artifacts: {stem}.png / .html / .demo.log")
        browser.quit()


@pytest.fixture
def driver(demo: Demo, request) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium (own profile, no cookies) per test."""
    with _browser(demo, request) as browser:
        yield browser


@pytest.fixture
def second_driver(demo: Demo, request) -> Iterator[webdriver.Chrome]:
    """Another headless Chromium with a profile of its own: the same user's second device."""
    with _browser(demo, request, "-second") as browser:
        yield browser


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


class AttackerSite:
    """A page on another origin (same host, other port, or `localhost`)."""

    def __init__(self, host: str, port: int, pages: dict[str, str], hits: list[str]):
        self.host = host
        self.port = port
        self.pages = pages
        self.hits = hits

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


@contextlib.contextmanager
def attacker_site(host: str) -> Iterator[AttackerSite]:
    pages: dict[str, str] = {}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            hits.append(self.path)
            page = pages.get(self.path)
            body = (page if page is not None else "not found").encode()
            self.send_response(200 if page is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield AttackerSite(host, server.server_address[1], pages, hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(params=["127.0.0.1", "localhost"], ids=["same-site", "cross-site"])
def attacker(request) -> Iterator[AttackerSite]:
    """The attacker's site: another port on 127.0.0.1 (same site, other origin), or
    `localhost` (another site)."""
    with attacker_site(request.param) as site:
        yield site
