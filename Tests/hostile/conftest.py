"""Fixtures for the hostile-input tests (issue 9): the real demo binaries
(session-demo on Hummingbird, session-demo-vapor on Vapor) started on a free
loopback port with the SQLite store, METRICS=prometheus and LOG_LEVEL=trace,
their output kept in .build/demo-logs/; a raw-socket HTTP/1.1 client that can
send what urllib and requests refuse (NUL, bytes 0x7F-0xFF, bare CR, duplicated
headers, 1 MB values); the record of every token the demos issued, for the log
scan; and the summary written to .build/hostile-summary.json.

Plain sockets and the standard library; nothing but pytest needed. Run with
`scripts/hostile-test`."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
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
LOG_DIR = Path(os.environ.get("SESSIONKIT_DEMO_LOGS", REPO_ROOT / ".build" / "demo-logs"))
SUMMARY = Path(os.environ.get("HOSTILE_SUMMARY", REPO_ROOT / ".build" / "hostile-summary.json"))
REQUESTS = int(os.environ.get("SESSIONKIT_HOSTILE_REQUESTS", "3000"))
ATTACKER_IDS = int(os.environ.get("SESSIONKIT_HOSTILE_ATTACKER_IDS", "10000"))
SEED = int(os.environ.get("SESSIONKIT_HOSTILE_SEED", "20240609"))
SESSION_COOKIE = "__Host-sessionkit"
XSRF_COOKIE = "XSRF-TOKEN"
STARTUP_DEADLINE = 60.0  # seconds for a demo to answer GET /healthz
STOP_DEADLINE = 10.0  # seconds for a demo to exit after SIGTERM
POLL_INTERVAL = 0.05  # seconds between two readiness polls
IO_TIMEOUT = 30.0  # seconds one request may take before the test calls it a hang
LARGE_REQUEST = 256 * 1024  # bytes above which a request is sent while the response is read

# Every token a demo handed out during this run: session cookies, XSRF-TOKEN
# cookies and the masked tokens of GET /api/csrf. None may appear in a log.
ISSUED_TOKENS: set[str] = set()
_issued_lock = threading.Lock()


def remember_tokens(response: "Response") -> None:
    """Records every token `response` carries (Set-Cookie values, a /api/csrf token)."""
    found = [cookie.value for cookie in response.set_cookies if cookie.value]
    if response.body.startswith(b'{"token":'):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            found.append(json.loads(response.body)["token"])
    if found:
        with _issued_lock:
            ISSUED_TOKENS.update(found)


# Raw HTTP/1.1


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
        return not self.value or any(
            a.lower().startswith("max-age=") and a[8:].lstrip("-").isdigit() and int(a[8:]) <= 0
            for a in self.attributes)


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes  # the status line, the headers and the body as received
    seconds: float = 0.0

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def set_cookies(self) -> list[SetCookie]:
        return [SetCookie.parse(line) for line in self.header("Set-Cookie")]

    def json(self):
        return json.loads(self.body)


class Closed(Exception):
    """The server closed (or reset) the connection without a complete response."""


def build_request(method: bytes | str, target: bytes | str, headers: list[tuple[bytes | str, bytes | str]],
                  body: bytes | None = None, *, host: str = "127.0.0.1", content_length: bool = True) -> bytes:
    """The request's bytes exactly as given: nothing is validated or escaped."""
    def raw(value: bytes | str) -> bytes:
        return value if isinstance(value, bytes) else value.encode("latin-1")

    lines = [raw(method) + b" " + raw(target) + b" HTTP/1.1", b"Host: " + host.encode()]
    lines += [raw(name) + b": " + raw(value) for name, value in headers]
    if body is not None and content_length:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


class Connection:
    """One keep-alive connection to a demo, speaking raw HTTP/1.1."""

    def __init__(self, port: int, timeout: float = IO_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError) as error:
            raise Closed(str(error)) from error
        if not chunk:
            raise Closed("connection closed")
        self.buffer += chunk

    def _take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        taken, self.buffer = self.buffer[:count], self.buffer[count:]
        return taken

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _send_quietly(self, request: bytes) -> None:
        try:
            self.sock.sendall(request)
        except OSError:
            pass  # the server may have answered before it stopped reading; the read tells

    def exchange(self, request: bytes, *, head: bool = False) -> Response:
        """Sends `request` and reads one response. Raises `Closed` when the server
        closes the connection first; a send cut short by the server is not an
        error as long as a response arrives (it may answer 431 and close)."""
        started = time.monotonic()
        if len(request) > LARGE_REQUEST:
            # Sent beside the read, as a browser does: a server may answer and stop
            # reading long before a megabyte of headers is through.
            threading.Thread(target=self._send_quietly, args=(request,), daemon=True).start()
        else:
            self._send_quietly(request)
        try:
            status_line = self._line()
            if not status_line.startswith(b"HTTP/1."):
                raise Closed(f"not an HTTP response: {status_line[:60]!r}")
            status = int(status_line.split(b" ", 2)[1])
            headers: list[tuple[str, str]] = []
            raw_head = [status_line]
            while (line := self._line()) != b"":
                raw_head.append(line)
                name, _, value = line.partition(b":")
                headers.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))
            lowered = {name.lower(): value for name, value in headers}
            if head or status in (204, 304) or 100 <= status < 200:
                body = b""
            elif lowered.get("transfer-encoding", "").lower() == "chunked":
                parts = []
                while (size := int(self._line().split(b";")[0], 16)) > 0:
                    parts.append(self._take(size))
                    self._take(2)
                while self._line() != b"":
                    pass
                body = b"".join(parts)
            elif "content-length" in lowered:
                body = self._take(int(lowered["content-length"]))
            else:
                # Neither: the body runs to the end of the connection.
                with contextlib.suppress(Closed):
                    while True:
                        self._fill()
                body, self.buffer = self.buffer, b""
        except (ConnectionResetError, BrokenPipeError) as error:
            raise Closed(str(error)) from error
        except socket.timeout as error:
            raise TimeoutError(f"no response within {self.sock.gettimeout()}s") from error
        response = Response(status, headers, body, b"\r\n".join(raw_head) + b"\r\n\r\n" + body,
                            time.monotonic() - started)
        remember_tokens(response)
        return response


def send_once(port: int, request: bytes, timeout: float = IO_TIMEOUT) -> Response:
    """One request on a connection of its own."""
    with Connection(port, timeout) as connection:
        return connection.exchange(request)


# A well-behaved browser on top of it


@dataclass
class Browser:
    """A client with a cookie jar, for setting up real sessions."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: list[tuple[str, str]] | None = None) -> Response:
        all_headers = list(headers or [])
        if self.cookies:
            all_headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        response = send_once(self.port, build_request(method, path, all_headers, body))
        for cookie in response.set_cookies:
            if cookie.is_removal:
                self.cookies.pop(cookie.name, None)
            else:
                self.cookies[cookie.name] = cookie.value
        return response

    def csrf_token(self) -> str:
        response = self.request("GET", "/api/csrf")
        assert response.status == 200, response
        return response.json()["token"]

    def post_json(self, path: str, value, method: str = "POST") -> Response:
        return self.request(method, path, body=json.dumps(value).encode(),
                            headers=[("Content-Type", "application/json"), ("X-CSRF-Token", self.csrf_token())])

    def login(self, user: str) -> None:
        response = self.post_json("/api/login", {"user": user})
        assert response.status == 200, response

    @property
    def session_token(self) -> str:
        return self.cookies[SESSION_COOKIE]


# Demos


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_environment(**settings: str) -> dict[str, str]:
    """The caller's environment without any demo variable, plus `settings`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SESSION_", "CSRF_"))
           and name not in ("HOST", "PORT", "LOG_LEVEL", "METRICS", "DATABASE_URL", "REDIS_URL")}
    env.update(settings)
    return env


class Demo:
    """A running demo process and what the tests learn about it."""

    def __init__(self, name: str, process: subprocess.Popen, port: int, log_path: Path, sqlite_path: Path):
        self.name = name
        self.process = process
        self.port = port
        self.log_path = log_path
        self.sqlite_path = sqlite_path
        self.baseline_sockets = 0

    def __repr__(self) -> str:
        return self.name

    def browser(self) -> Browser:
        return Browser(self.port)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def rss_mb(self) -> float:
        """Resident memory now (VmRSS), in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def open_sockets(self) -> int:
        """The process's open sockets (file descriptors)."""
        count = 0
        for fd in Path(f"/proc/{self.process.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(fd).startswith("socket:")
        return count

    def metrics(self) -> dict[str, float]:
        """GET /metrics as {'name{label="value",...}': value}, labels sorted by name."""
        response = send_once(self.port, build_request("GET", "/metrics", []))
        assert response.status == 200, response
        samples = {}
        for line in response.body.decode().splitlines():
            if line and not line.startswith("#"):
                series, _, value = line.rpartition(" ")
                name, _, labels = series.partition("{")
                if labels:
                    series = name + "{" + ",".join(sorted(re.findall(r'[a-zA-Z_]+="[^"]*"', labels))) + "}"
                samples[series] = float(value)
        return samples

    def session_rows(self) -> int:
        """Rows in the SQLite store's table (WAL: a reader does not block the server)."""
        import sqlite3
        with contextlib.closing(sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=10)) as db:
            return db.execute("SELECT COUNT(*) FROM sessionkit_sessions").fetchone()[0]


def start_demo(name: str, workdir: Path) -> Demo:
    """Starts `name` on a free port with the SQLite store, METRICS=prometheus and
    LOG_LEVEL=trace, its output in LOG_DIR/hostile-<name>.log; polls /healthz."""
    binary = DEMOS[name]
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing; run scripts/hostile-test, which builds it")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    last_log = ""
    for attempt in range(3):
        port = free_port()
        sqlite_path = workdir / f"{name}-{attempt}" / "sessions.sqlite"
        env = demo_environment(HOST="127.0.0.1", PORT=str(port), SESSION_STORE="sqlite",
                               SESSION_SQLITE_PATH=str(sqlite_path), METRICS="prometheus", LOG_LEVEL="trace")
        log_path = LOG_DIR / f"hostile-{name}.log"
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen([binary], cwd=workdir, env=env, stdout=log_file,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        demo = Demo(name, process, port, log_path, sqlite_path)
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError, Closed):
                if send_once(port, build_request("GET", "/healthz", []), timeout=5).status == 200:
                    demo.baseline_sockets = demo.open_sockets()
                    return demo
            time.sleep(POLL_INTERVAL)  # poll interval, not a wait for something to happen
        if process.poll() is None:
            stop_demo(demo)
            pytest.fail(f"{name} did not answer GET /healthz within {STARTUP_DEADLINE}s; log:\n{demo.log()[-4000:]}")
        last_log = demo.log()
        if "in use" not in last_log.lower():
            break
    pytest.fail(f"{name} exited with {process.returncode}; log:\n{last_log[-4000:]}")


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
    path = Path(tempfile.mkdtemp(prefix="sessionkit-hostile-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


_started: dict[str, Demo] = {}


@pytest.fixture(scope="session", params=list(DEMOS))
def demo(request, workdir: Path) -> Iterator[Demo]:
    """Each demo, one process for the whole run, so the log scan at the end sees everything."""
    running = start_demo(request.param, workdir)
    _started[request.param] = running
    yield running
    stop_demo(running)
    # A crash at any point shows as a non-zero exit on SIGTERM.
    record(request.param, exit_status=running.process.returncode)


def started_demos() -> dict[str, Demo]:
    return dict(_started)


# Real sessions


@dataclass
class Seed:
    """A real, signed-in session whose tokens the garbage mutates."""

    user: str
    secret: str
    count: int
    session_token: str
    xsrf_cookie: str
    csrf_token: str


def make_seed(demo: Demo, label: str, count: int) -> Seed:
    """A signed-in session with a user, a secret value and a counter, all unique to it."""
    browser = demo.browser()
    user = f"seeduser{label}{secrets.token_hex(6)}"
    secret = f"seedsecret{secrets.token_hex(8)}"
    browser.login(user)
    assert browser.post_json("/api/values/secret", secret, method="PUT").status == 200
    for _ in range(count):
        assert browser.post_json("/api/counter", None).status == 200
    token = browser.csrf_token()
    return Seed(user, secret, count, browser.session_token, browser.cookies[XSRF_COOKIE], token)


def check_seed_intact(demo: Demo, seed: Seed) -> None:
    """The real session still answers with its own data."""
    cookie = [("Cookie", f"{SESSION_COOKIE}={seed.session_token}")]
    me = send_once(demo.port, build_request("GET", "/api/me", cookie))
    assert me.status == 200 and me.json() == {"user": seed.user}, me
    counter = send_once(demo.port, build_request("GET", "/api/counter", cookie))
    assert counter.json() == {"count": seed.count}, counter


@pytest.fixture(scope="session")
def seeds(demo: Demo) -> tuple[list[Seed], Seed]:
    """Three real sessions whose tokens the garbage mutates, and the CSRF victim
    whose real session the CSRF mutations use."""
    return [make_seed(demo, f"s{i}x", i + 2) for i in range(3)], make_seed(demo, "victimx", 7)


# Ordering: the log scan runs after every other test.


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items) -> None:
    items.sort(key=lambda item: 1 if item.get_closest_marker("last") else 0)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "last: run after every other test (the log scans)")
    # A fresh start for this suite's files in the shared log folder; the other suites' stay.
    if LOG_DIR.exists():
        for old in LOG_DIR.glob("hostile-*"):
            with contextlib.suppress(OSError):
                old.unlink()


# The summary


_summary: dict[str, dict] = {}
_summary_lock = threading.Lock()


def record(key: str, **values) -> None:
    """Keeps figures for the summary printed (and written to SUMMARY) at the end."""
    with _summary_lock:
        _summary.setdefault(key, {}).update(values)


def pytest_terminal_summary(terminalreporter) -> None:
    if not _summary:
        return
    terminalreporter.section("hostile input: measurements")
    rows = [("demo", "requests", "5xx", "closed", "RSS +MB", "us/KB", "attacker ids", "adopted", "store writes")]
    for name in DEMOS:
        flood = _summary.get(f"{name}.flood", {})
        ids = _summary.get(f"{name}.attacker_ids", {})
        slopes = [_summary.get(f"{name}.linear.{shape}", {}).get("slope_us_per_kb") for shape in ("one-value", "many-pairs")]
        rows.append((name, flood.get("requests", "-"), flood.get("responses_5xx", "-"), flood.get("closed_connections", "-"),
                     flood.get("rss_max_growth_mb", "-"), "/".join(str(x) for x in slopes if x is not None) or "-",
                     ids.get("ids", "-"), ids.get("adopted", "-"), ids.get("store_writes", "-")))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        terminalreporter.write_line("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))
    logs = _summary.get("logs", {})
    if logs:
        terminalreporter.write_line(f"logs: {logs.get('lines')} lines scanned, {logs.get('tokens_searched')} tokens"
                                    f" searched, {logs.get('matches')} matches")
    for key in sorted(_summary):
        values = ", ".join(f"{name}={value}" for name, value in _summary[key].items())
        terminalreporter.write_line(f"{key}: {values}")
    with contextlib.suppress(OSError):
        SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        SUMMARY.write_text(json.dumps({"requests_setting": REQUESTS, "seed": SEED, **_summary},
                                      indent=2, sort_keys=True) + "\n")
        terminalreporter.write_line(f"written to {SUMMARY}")

