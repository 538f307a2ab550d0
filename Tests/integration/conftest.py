"""Fixtures for the integration tests of the demos on the network stores: a
throwaway redis-server and PostgreSQL cluster of the test's own, on free
loopback ports in a temporary folder, that a test can stop and start again on
the same port; demo processes (session-demo on Hummingbird, session-demo-vapor
on Vapor) pointed at them; and a small HTTP client with a cookie jar.
Plain urllib and subprocess; nothing but pytest needed. Run with
`scripts/integration-test`."""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import shlex
import shutil
import signal
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
STORE_TIMEOUT_MS = 1000  # SESSION_STORE_TIMEOUT given to every demo
STARTUP_DEADLINE = 60.0  # seconds for a demo or a server to answer
STOP_DEADLINE = 10.0  # seconds for a process to exit after SIGTERM
POLL_INTERVAL = 0.05  # seconds between two readiness polls
SUMMARY = Path(os.environ.get("INTEGRATION_SUMMARY", REPO_ROOT / ".build" / "integration-summary.json"))

# Every demo's output, at LOG_LEVEL=trace, is kept for scripts/check-logs,
# which searches it for session tokens and CSRF secrets (with the tokens this
# suite saw, written to integration-tokens.txt beside the logs).
DEMO_LOGS = Path(os.environ.get("SESSIONKIT_DEMO_LOGS", REPO_ROOT / ".build" / "demo-logs"))
SEEN_TOKENS: set[str] = set()


def pytest_sessionstart(session) -> None:
    DEMO_LOGS.mkdir(parents=True, exist_ok=True)
    for old in DEMO_LOGS.glob("integration-*"):
        with contextlib.suppress(OSError):
            old.unlink()


def pytest_sessionfinish(session, exitstatus) -> None:
    with contextlib.suppress(OSError):
        (DEMO_LOGS / "integration-tokens.txt").write_text("".join(f"{token}\n" for token in sorted(SEEN_TOKENS)))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: D401 - urllib hook
        return None


# Plain urllib, never through a proxy, never following redirects.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, ready, deadline: float = STARTUP_DEADLINE, log=lambda: "") -> None:
    """Polls `ready()` until it is true, failing after `deadline` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(POLL_INTERVAL)  # poll interval, not a wait for something to happen
    pytest.fail(f"{what} not ready within {deadline}s\n{log()}")


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Servers


class RedisServer:
    """A redis-server of our own. The append-only file is synced on every write,
    so a session survives `crash()` and `start()` as it would on a production
    Redis with persistence on."""

    name = "redis"

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.extra_args: list[str] = []  # more redis-server options, e.g. ["--maxmemory", "2mb"]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def command(self, *args: str | bytes, timeout: float = 5):
        """Sends one command and returns the decoded reply (RESP2): bytes, int,
        a list, None, or a `RedisReplyError` instance for an error reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            return self.pipeline([args], sock=sock)[0]

    def pipeline(self, commands, sock: socket.socket | None = None) -> list:
        """Sends several commands at once and returns their replies in order."""
        own = sock is None
        if own:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            out = bytearray()
            for args in commands:
                out += b"*%d\r\n" % len(args)
                for arg in args:
                    data = arg if isinstance(arg, bytes) else str(arg).encode()
                    out += b"$%d\r\n%s\r\n" % (len(data), data)
            sock.sendall(out)
            reader = sock.makefile("rb")
            return [_read_resp(reader) for _ in commands]
        finally:
            if own:
                sock.close()

    def log(self) -> str:
        return (self.folder / "redis.log").read_text(errors="replace") if (self.folder / "redis.log").exists() else ""

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
             "--logfile", str(self.folder / "redis.log"), *self.extra_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        wait_until(f"redis-server on port {self.port}", self.ping, log=self.log)

    def crash(self) -> None:
        """Kills the server at once (SIGKILL): connections drop, nothing is flushed."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)


class RedisReplyError(Exception):
    """An error reply (`-ERR ...`) from Redis, returned (not raised) by `RedisServer.command`."""


def _read_resp(reader):
    line = reader.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        return RedisReplyError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return None
        data = reader.read(length + 2)
        return data[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_resp(reader) for _ in range(count)]
    raise ConnectionError(f"unexpected RESP reply {line!r}")


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()])
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pytest.fail("PostgreSQL is not installed (no initdb); run scripts/integration-test, which installs it")


class PostgresServer:
    """A PostgreSQL cluster of our own, run as the `postgres` user when we are
    root (PostgreSQL refuses to run as root), like scripts/lib/servers.sh."""

    name = "postgres"

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.data = folder / "data"
        self.port = free_port()
        self.bin = _postgres_bin()
        if os.getuid() == 0:
            shutil.chown(self.folder, user="postgres")
        self._run(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def log(self) -> str:
        path = self.folder / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _run(self, command: list[str]) -> None:
        argv = [str(self.bin / command[0]), *command[1:]]
        if os.getuid() == 0:
            argv = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command[:2])} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n{self.log()}")

    def psql(self, sql: str) -> str:
        """Runs `sql` with psql over TCP (a client may run as root) and returns its
        unaligned, tuples-only output."""
        result = subprocess.run([str(self.bin / "psql"), self.url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                 "-c", sql], stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"psql failed ({result.returncode}): {sql}\n{result.stderr}")
        return result.stdout

    def start(self) -> None:
        """Starts the server and returns once it accepts connections (`pg_ctl -w`)."""
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")
        self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.folder / "postgres.log"),
                   "-w", "-t", "60", "-o", options, "start"])

    def crash(self) -> None:
        """Stops the server in `immediate` mode: no checkpoint, connections cut."""
        self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def stop(self) -> None:
        with contextlib.suppress(BaseException):
            if (self.data / "postmaster.pid").exists():
                self.crash()


SERVERS = {"redis": RedisServer, "postgres": PostgresServer}


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sessionkit-integration-"))
    path.chmod(0o755)  # the postgres user must reach its folder inside
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(request, workdir: Path) -> Iterator[RedisServer | PostgresServer]:
    """A fresh server of the kind the test is parametrized with (`store`)."""
    kind = request.getfixturevalue("store")
    # A short folder: PostgreSQL's Unix socket path inside it must fit in 107 bytes.
    running = SERVERS[kind](Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workdir)))
    try:
        running.start()
        yield running
    finally:
        running.stop()


# HTTP


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: str
    seconds: float

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)


@dataclass
class Client:
    """One browser: a cookie jar, sent to whichever demo `base` names."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def at(self, demo: "Demo") -> "Client":
        """The same browser (the same jar, shared) talking to another demo."""
        other = Client(demo.base)
        other.cookies = self.cookies
        return other

    def request(self, method: str, path: str, *, body: str | None = None,
                headers: dict[str, str] | None = None, timeout: float = 15) -> Response:
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = body.encode() if body is not None else None
        request = urllib.request.Request(self.base + path, method=method, headers=all_headers, data=data)
        started = time.monotonic()
        try:
            with HTTP.open(request, timeout=timeout) as raw:
                status, raw_headers, text = raw.status, list(raw.headers.items()), raw.read().decode()
        except urllib.error.HTTPError as error:
            status, raw_headers, text = error.code, list(error.headers.items()), error.read().decode()
        response = Response(status, raw_headers, text, time.monotonic() - started)
        for line in response.header("Set-Cookie"):
            parts = [part.strip() for part in line.split(";")]
            name, _, value = parts[0].partition("=")
            if value:
                SEEN_TOKENS.add(value)
            removed = not value or any(p.lower().startswith("max-age=") and p[8:].lstrip("-").isdigit()
                                       and int(p[8:]) <= 0 for p in parts[1:])
            if removed:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Response:
        return self.request("POST", path, **kwargs)

    def csrf_token(self) -> str:
        response = self.get("/api/csrf")
        assert response.status == 200, response
        return response.json()["token"]

    def login(self, user: str) -> None:
        response = self.post("/api/login", body=json.dumps({"user": user}),
                             headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf_token()})
        assert response.status == 200, response

    def me(self) -> str | None:
        response = self.get("/api/me")
        assert response.status == 200, response
        return response.json()["user"]


# Demos


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
        return Client(self.base)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def is_alive(self) -> bool:
        return self.process.poll() is None


def demo_environment(**settings: str) -> dict[str, str]:
    """The caller's environment without any demo variable, plus `settings`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SESSION_", "CSRF_"))
           and name not in ("HOST", "PORT", "LOG_LEVEL", "DATABASE_URL", "REDIS_URL")}
    env.update(settings)
    return env


def start_demo(name: str, server: RedisServer | PostgresServer | None, workdir: Path, *,
               store: str | None = None, **settings: str) -> Demo:
    """Starts demo `name` on `server`'s store (or, with `server=None`, on the local
    `store` that `settings` configure, e.g. SESSION_FILE_PATH) on a free port,
    polling GET /api/me until it answers; retries with another port if the
    chosen one was taken. `settings` are extra environment variables and win
    over the defaults (SESSION_STORE_TIMEOUT, LOG_LEVEL, ...)."""
    binary = DEMOS[name]
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing; run scripts/integration-test, which builds it")
    store = store or server.name
    base: dict[str, str] = {"SESSION_STORE": store, "SESSION_STORE_TIMEOUT": str(STORE_TIMEOUT_MS), "LOG_LEVEL": "trace"}
    if server is not None:
        base["REDIS_URL" if server.name == "redis" else "DATABASE_URL"] = server.url
    base.update(settings)
    last_log = ""
    for attempt in range(3):
        port = free_port()
        env = demo_environment(HOST="127.0.0.1", PORT=str(port), **base)
        log_path = DEMO_LOGS / f"integration-{name}-{store}-{port}.log"
        busy_until = time.monotonic() + STARTUP_DEADLINE
        while True:
            try:
                with open(log_path, "wb") as log_file:
                    process = subprocess.Popen([binary], cwd=workdir, env=env, stdout=log_file,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                break
            except OSError as error:
                # ETXTBSY: a build (of another engineer, on the shared .build) is writing the binary.
                if error.errno != errno.ETXTBSY or time.monotonic() > busy_until:
                    raise
                time.sleep(0.5)  # waiting for the linker to finish, not polling the demo
        demo = Demo(name, store, process, port, log_path)
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                if Client(demo.base).get("/api/me", timeout=5).status == 200:
                    return demo
            time.sleep(POLL_INTERVAL)  # poll interval, not a wait for something to happen
        if process.poll() is None:
            stop_process(process)
            pytest.fail(f"{demo!r} did not answer GET /api/me within {STARTUP_DEADLINE}s; log:\n{demo.log()}")
        last_log = demo.log()
        if "in use" not in last_log.lower():
            break
    pytest.fail(f"{name} ({store}) exited with {process.returncode}; log:\n{last_log}")


@pytest.fixture
def demos(workdir: Path) -> Iterator[list[Demo]]:
    """Call `demos.append(start_demo(...))`; every demo is stopped at the end, also on failure."""
    started: list[Demo] = []
    yield started
    for demo in started:
        stop_process(demo.process)


# Measurements for the summary


_measurements: dict[str, dict] = {}


def record(key: str, **values) -> None:
    """Keeps a measurement for the summary printed (and written to SUMMARY) at the end."""
    _measurements.setdefault(key, {}).update(values)


def pytest_terminal_summary(terminalreporter) -> None:
    if not _measurements:
        return
    terminalreporter.section("store outage measurements")
    for key in sorted(_measurements):
        values = ", ".join(f"{name}={value}" for name, value in _measurements[key].items())
        terminalreporter.write_line(f"{key}: {values}")
    with contextlib.suppress(OSError):
        SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        SUMMARY.write_text(json.dumps(_measurements, indent=2, sort_keys=True) + "\n")
        terminalreporter.write_line(f"written to {SUMMARY}")
