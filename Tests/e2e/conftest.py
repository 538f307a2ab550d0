"""Fixtures for the end-to-end checks of the demos' JSON API: each demo binary
(session-demo on Hummingbird, session-demo-vapor on Vapor) started as a real
process on a free loopback port, with the memory and the file store, and a
small HTTP client with a cookie jar. Plain urllib; nothing but pytest needed."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMOS = {
    "session-demo": os.environ.get("SESSION_DEMO_BIN", str(REPO_ROOT / ".build" / "debug" / "session-demo")),
    "session-demo-vapor": os.environ.get(
        "SESSION_DEMO_VAPOR_BIN", str(REPO_ROOT / ".build" / "debug" / "session-demo-vapor")
    ),
}
# E2E_STORES=redis (with REDIS_URL, e.g. a redis-cluster:// URL) runs the suite on other stores.
STORES = [store for store in os.environ.get("E2E_STORES", "memory,file").split(",") if store]
STARTUP_DEADLINE = 60.0  # seconds for a demo to answer GET /api/me
STOP_DEADLINE = 10.0  # seconds for a demo to exit after SIGTERM

# Every demo's output, at LOG_LEVEL=trace, is kept for scripts/check-logs,
# which searches it for session tokens and CSRF secrets (with the tokens this
# suite saw, written to e2e-tokens.txt beside the logs).
DEMO_LOGS = Path(os.environ.get("SESSIONKIT_DEMO_LOGS", REPO_ROOT / ".build" / "demo-logs"))
SEEN_TOKENS: set[str] = set()


def pytest_sessionstart(session) -> None:
    DEMO_LOGS.mkdir(parents=True, exist_ok=True)
    for old in DEMO_LOGS.glob("e2e-*"):
        with contextlib.suppress(OSError):
            old.unlink()


def pytest_sessionfinish(session, exitstatus) -> None:
    with contextlib.suppress(OSError):
        (DEMO_LOGS / "e2e-tokens.txt").write_text("".join(f"{token}\n" for token in sorted(SEEN_TOKENS)))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: D401 - urllib hook
        return None


# Plain urllib, never through a proxy, never following redirects.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_environment(**settings: str) -> dict[str, str]:
    """The caller's environment without any demo variable, plus `settings`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SESSION_", "CSRF_")) and name not in ("HOST", "PORT", "LOG_LEVEL")}
    env.update(settings)
    return env


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def set_cookies(self) -> list["SetCookie"]:
        return [SetCookie.parse(line) for line in self.header("Set-Cookie")]


@dataclass
class SetCookie:
    name: str
    value: str
    attributes: list[str]

    @staticmethod
    def parse(line: str) -> "SetCookie":
        parts = [part.strip() for part in line.split(";")]
        name, _, value = parts[0].partition("=")
        return SetCookie(name, value, parts[1:])

    @property
    def is_removal(self) -> bool:
        if not self.value:
            return True
        for attribute in self.attributes:
            key, _, number = attribute.partition("=")
            if key.lower() == "max-age" and number.lstrip("-").isdigit() and int(number) <= 0:
                return True
        return False


@dataclass
class Client:
    """One browser: a cookie jar that sends back what the demo set."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def copy(self) -> "Client":
        return Client(self.base, dict(self.cookies))

    def request(self, method: str, path: str, *, body: str | bytes | None = None,
                headers: dict[str, str] | None = None, cookie_header: str | None = None) -> Response:
        """Sends a request with the jar's cookies (or `cookie_header` instead) and keeps what it sets."""
        all_headers = dict(headers or {})
        cookie = cookie_header if cookie_header is not None else "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if cookie:
            all_headers["Cookie"] = cookie
        data = body.encode() if isinstance(body, str) else body
        if data is not None and not any(name.lower() == "content-type" for name in all_headers):
            all_headers["Content-Type"] = "application/octet-stream"  # urllib would otherwise say it is a form
        request = urllib.request.Request(self.base + path, method=method, headers=all_headers, data=data)
        try:
            with HTTP.open(request, timeout=15) as raw:
                response = Response(raw.status, list(raw.headers.items()), raw.read().decode())
        except urllib.error.HTTPError as error:
            response = Response(error.code, list(error.headers.items()), error.read().decode())
        SEEN_TOKENS.update(cookie.value for cookie in response.set_cookies if cookie.value)
        if cookie_header is None:
            for cookie in response.set_cookies:
                if cookie.is_removal:
                    self.cookies.pop(cookie.name, None)
                else:
                    self.cookies[cookie.name] = cookie.value
        return response

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> Response:
        return self.request("PUT", path, **kwargs)


class Demo:
    """A running demo process."""

    def __init__(self, name: str, store: str, process: subprocess.Popen, port: int, log_path: Path):
        self.name = name
        self.store = store
        self.process = process
        self.port = port
        self.log_path = log_path
        self.base = f"http://127.0.0.1:{port}"

    def __repr__(self) -> str:
        return f"{self.name}[{self.store}]"

    def client(self) -> Client:
        self.check_alive()
        return Client(self.base)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            pytest.fail(f"{self!r} exited with status {code}; log:\n{self.log()}")


def start_demo(name: str, store: str, workdir: Path) -> Demo:
    """Starts `name` on a free port and polls GET /api/me until it answers.
    Retries with another port if the chosen one was taken in between."""
    binary = DEMOS[name]
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing; run scripts/e2e-test, which builds it")
    last_log = ""
    for attempt in range(3):
        port = free_port()
        env = demo_environment(HOST="127.0.0.1", PORT=str(port), SESSION_STORE=store, LOG_LEVEL="trace")
        if store == "file":
            env["SESSION_FILE_PATH"] = str(workdir / f"sessions-{name}")
        log_path = DEMO_LOGS / f"e2e-{name}-{store}-{port}.log"
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen([binary], cwd=workdir, env=env, stdout=log_file,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        demo = Demo(name, store, process, port, log_path)
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                if Client(demo.base).get("/api/me").status == 200:
                    return demo
            time.sleep(0.05)  # poll interval, not a wait for something to happen
        if process.poll() is None:
            stop_demo(demo)
            pytest.fail(f"{demo!r} did not answer GET /api/me within {STARTUP_DEADLINE}s; log:\n{demo.log()}")
        last_log = demo.log()
        if "in use" not in last_log.lower():
            break
    pytest.fail(f"{name} ({store}) exited with {process.returncode}; log:\n{last_log}")


def stop_demo(demo: Demo) -> None:
    if demo.process.poll() is None:
        demo.process.terminate()
        try:
            demo.process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            demo.process.kill()
            demo.process.wait()


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sessionkit-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module", params=[(name, store) for name in DEMOS for store in STORES],
                ids=[f"{name}-{store}" for name in DEMOS for store in STORES])
def demo(request, workdir: Path) -> Iterator[Demo]:
    """Each demo on each store, one process per test module."""
    name, store = request.param
    running = start_demo(name, store, workdir)
    yield running
    stop_demo(running)


@pytest.fixture(scope="module", params=STORES)
def demo_pair(request, workdir: Path) -> Iterator[tuple[Demo, Demo]]:
    """Both demos on the same store, to compare their answers."""
    folder = workdir / f"pair-{request.param}"
    folder.mkdir(exist_ok=True)
    started = [start_demo(name, request.param, folder) for name in DEMOS]
    yield started[0], started[1]
    for running in started:
        stop_demo(running)
