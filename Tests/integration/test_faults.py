"""Store fault injection (issue 9): what the demos do when their store is gone,
slow, full, holds garbage, or the app is killed in the middle of writes.

- gone: the Redis server SIGKILLed, PostgreSQL stopped in `immediate` mode, the
  SQLite database and the file store's folder made unwritable, under load from
  logged-in browsers; then back again without restarting the app.
- slow: an asyncio TCP proxy between the demo and Redis/PostgreSQL that delays
  every byte by 5 s; the store timeout is 500 ms.
- redis full: `maxmemory` with `noeviction`, then with `volatile-lru`.
- garbage: damaged records written straight into each store.
- torn writes: `kill -9` of the demo during write storms on the file and SQLite stores.
- redis TTL: every key Redis holds after 10,000 saves has a time to live.

Making a file unwritable for root: root ignores file modes (the tests run as root
on CI), so the file and SQLite stores are frozen with `chattr +i` (the ext4/xfs
immutable flag; CAP_LINUX_IMMUTABLE), which refuses open-for-write, create,
rename, unlink *and* `write()` on descriptors opened before, for root too. The
SQLite `-shm` file is left alone on purpose: SQLite maps it with `mmap`, and a
store into a mapped page of an immutable file is a SIGBUS that kills the app
(tried), which is not the fault under test. Without root, `chmod a-w` is used.

Every test writes its figures to .build/faults-summary.json (merged per test)
and prints them. Environment: SESSIONKIT_KILLS (kills per store in the torn-write
test, default 20), SESSIONKIT_TTL_SAVES (default 10000), FAULTS_OUTAGE_SECONDS
(how long the store stays gone under load, default 4), FAULTS_DEMOS (comma-separated
demos for the gone test, default both), FAULTS_SUMMARY (the summary file)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import http.client
import json
import os
import random
import signal
import sqlite3
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from conftest import (
    REPO_ROOT, Client, Demo, PostgresServer, RedisReplyError, RedisServer, free_port, start_demo,
    stop_process, wait_until,
)

SESSION_COOKIE = "__Host-sessionkit"
FAULT_TIMEOUT_MS = 500  # SESSION_STORE_TIMEOUT in these tests
LATENCY_LIMIT = FAULT_TIMEOUT_MS / 1000 + 0.25  # the issue: the timeout + 250 ms
OUTAGE_SECONDS = float(os.environ.get("FAULTS_OUTAGE_SECONDS", "4"))
RECOVERY_OBSERVATION = 7.0  # seconds of load after the store is back
RECOVERY_TARGET = 5.0  # 99 % of the requests started this long after the store is back succeed
KILLS = int(os.environ.get("SESSIONKIT_KILLS", "20"))
TTL_SAVES = int(os.environ.get("SESSIONKIT_TTL_SAVES", "10000"))
GONE_DEMOS = [d for d in os.environ.get("FAULTS_DEMOS", "session-demo,session-demo-vapor").split(",") if d]
SUMMARY = Path(os.environ.get("FAULTS_SUMMARY", REPO_ROOT / ".build" / "faults-summary.json"))


# Figures


def report(key: str, **values) -> None:
    """Merges `values` into `key` of the summary file and prints them."""
    summary: dict = {}
    with contextlib.suppress(OSError, ValueError):
        summary = json.loads(SUMMARY.read_text())
    summary.setdefault(key, {}).update(values, measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    temporary = SUMMARY.with_suffix(".tmp")
    temporary.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    temporary.replace(SUMMARY)
    print(f"\n[faults] {key}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# Sessions


def key_hex(cookie: str) -> str:
    """The store key of a session cookie: hex SHA-256 of the token's 32 bytes."""
    return hashlib.sha256(base64.urlsafe_b64decode(cookie + "=")).hexdigest()


def set_cookie_names(response) -> list[tuple[str, str]]:
    """(name, whole line) of every Set-Cookie of a response."""
    return [(line.split("=", 1)[0].strip(), line) for line in response.header("Set-Cookie")]


def warning_lines(demo: Demo) -> list[str]:
    return [line for line in demo.log().splitlines()
            if any(level in line for level in (" warning ", " error ", " critical "))]


def logged_in(demo: Demo, user: str) -> Client:
    client = demo.client()
    client.login(user)
    return client


@contextlib.contextmanager
def network_server(kind: str, workdir: Path, extra_args: list[str] | None = None) -> Iterator[RedisServer | PostgresServer]:
    import tempfile
    running = (RedisServer if kind == "redis" else PostgresServer)(Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workdir)))
    if extra_args:
        running.extra_args = extra_args
    try:
        running.start()
        yield running
    finally:
        running.stop()


# Freezing files so that even root cannot write them


def _chattr(flag: str, paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)


def local_store_folder(workdir: Path, name: str) -> Path:
    """A folder for a file or SQLite store on a file system where `chattr +i` works
    (the temporary folder first, the repository's .build folder otherwise)."""
    for parent in (workdir, REPO_ROOT / ".build"):
        folder = parent / f"faults-{name}-{os.getpid()}-{random.randrange(1 << 30):x}"
        folder.mkdir(parents=True)
        if os.getuid() != 0:
            return folder
        probe = folder / ".probe"
        probe.write_text("x")
        result = _chattr("+i", [probe])
        _chattr("-i", [probe])
        probe.unlink()
        if result.returncode == 0:
            return folder
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
    reason = (f"running as root and `chattr +i` works neither in {workdir} nor in .build "
              f"({result.stderr.strip()}): nothing else makes a file unwritable for root here")
    if os.environ.get("SESSIONKIT_TEST_SERVERS_REQUIRED") == "1":
        pytest.fail(reason)  # scripts/test: a check that cannot run is a failure, not a skip
    pytest.skip(reason)


class Freeze:
    """Makes paths unwritable (`chattr +i` as root, `chmod a-w` otherwise), and back."""

    def __init__(self, paths: list[Path]):
        self.paths = [p for p in paths if p.exists()]
        self.modes: dict[Path, int] = {}

    def apply(self) -> None:
        if os.getuid() == 0:
            result = _chattr("+i", self.paths)
            assert result.returncode == 0, result.stderr
        else:
            for path in self.paths:
                self.modes[path] = path.stat().st_mode
                path.chmod(self.modes[path] & ~0o222)

    def undo(self) -> None:
        if os.getuid() == 0:
            _chattr("-i", self.paths)
        else:
            for path, mode in self.modes.items():
                path.chmod(mode)


# 1. Gone


@dataclass
class Sample:
    op: str  # "read", "write", "healthz", "anonymous"
    browser: int
    started: float
    seconds: float
    status: int  # 0: no HTTP answer
    body: str = ""
    set_cookies: list[tuple[str, str]] = field(default_factory=list)
    user: str | None = None
    count: int | None = None


class Load:
    """Threads, one per logged-in browser, each looping over a session read
    (GET /api/me), a session write (POST /api/counter), GET /healthz and an
    anonymous GET /api/me (no cookie: needs no store)."""

    def __init__(self, demo: Demo, browsers: list[tuple[Client, str, str]], timeout: float = 10):
        self.demo = demo
        self.browsers = browsers
        self.timeout = timeout
        self.samples: list[Sample] = []
        self.acked = [0] * len(browsers)  # last counter value a 200 acknowledged
        self.attempts = [0] * len(browsers)  # POST /api/counter sent
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(index,), daemon=True) for index in range(len(browsers))]

    def _call(self, index: int, op: str, client: Client, method: str, path: str, **kwargs) -> Sample:
        started = time.monotonic()
        try:
            response = client.request(method, path, timeout=self.timeout, **kwargs)
            sample = Sample(op, index, started, response.seconds, response.status, response.body, set_cookie_names(response))
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                data = response.json()
                sample.user = data.get("user")
                sample.count = data.get("count")
        except (OSError, http.client.HTTPException) as error:
            sample = Sample(op, index, started, time.monotonic() - started, 0, repr(error))
        with self.lock:
            self.samples.append(sample)
        return sample

    def _run(self, index: int) -> None:
        client, user, token = self.browsers[index]
        mine = Client(client.base, dict(client.cookies))
        while not self.stop.is_set():
            self._call(index, "read", mine, "GET", "/api/me")
            with self.lock:
                self.attempts[index] += 1
            sample = self._call(index, "write", mine, "POST", "/api/counter", headers={"X-CSRF-Token": token})
            if sample.status == 200 and sample.count is not None:
                with self.lock:
                    self.acked[index] = max(self.acked[index], sample.count)
            self._call(index, "healthz", Client(client.base), "GET", "/healthz")
            self._call(index, "anonymous", Client(client.base), "GET", "/api/me")
            time.sleep(0.01)  # pacing: a few hundred requests a second in all, not a wait for anything

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def check_no_fail_open(load: Load, cookies_before: list[str]) -> dict:
    """Every response keeps the user's session: no Set-Cookie that clears or
    replaces the session cookie, no anonymous answer for a logged-in browser, no
    5xx but 503. Returns counts."""
    problems: list[str] = []
    for sample in load.samples:
        if sample.op in ("read", "write"):
            for name, line in sample.set_cookies:
                if name == SESSION_COOKIE and not line.startswith(f"{SESSION_COOKIE}={cookies_before[sample.browser]};"):
                    problems.append(f"{sample.op} #{sample.browser} {sample.status}: Set-Cookie {line!r}")
            if sample.status == 200 and sample.op == "read" and sample.user != load.browsers[sample.browser][1]:
                problems.append(f"read #{sample.browser}: 200 with user {sample.user!r} (fail-open)")
        if sample.status >= 500 and sample.status != 503:
            problems.append(f"{sample.op} #{sample.browser}: {sample.status} {sample.body[:200]!r}")
        if sample.status == 0:
            problems.append(f"{sample.op} #{sample.browser}: no answer within {load.timeout}s: {sample.body[:200]}")
        elif sample.status not in (200, 503):
            problems.append(f"{sample.op} #{sample.browser}: unexpected {sample.status} {sample.body[:200]!r}")
    assert not problems, f"{len(problems)} responses broke a session:\n" + "\n".join(problems[:20])
    return {"requests": len(load.samples)}


class StoreFault:
    """How one store is made to disappear and come back."""

    def __init__(self, store: str, workdir: Path):
        self.store = store
        self.workdir = workdir
        self.server: RedisServer | PostgresServer | None = None
        self.settings: dict[str, str] = {}
        self.freeze: Freeze | None = None
        self.folder: Path | None = None

    def __enter__(self) -> "StoreFault":
        if self.store in ("redis", "postgres"):
            self._server_context = network_server(self.store, self.workdir)
            self.server = self._server_context.__enter__()
        else:
            self.folder = local_store_folder(self.workdir, self.store)
            if self.store == "sqlite":
                self.settings["SESSION_SQLITE_PATH"] = str(self.folder / "sessions.sqlite")
            else:
                self.settings["SESSION_FILE_PATH"] = str(self.folder / "sessions")
        return self

    def __exit__(self, *exc) -> None:
        if self.freeze:
            self.freeze.undo()
        if self.server:
            self._server_context.__exit__(*exc)

    def break_store(self) -> None:
        if self.server:
            self.server.crash()
        elif self.store == "sqlite":
            db = Path(self.settings["SESSION_SQLITE_PATH"])
            # Not the -shm file: see the module's comment.
            self.freeze = Freeze([db, Path(f"{db}-wal"), Path(f"{db}-journal"), db.parent])
            self.freeze.apply()
        else:
            folder = Path(self.settings["SESSION_FILE_PATH"])
            self.freeze = Freeze([folder, folder / ".owners", folder / ".locks"])
            self.freeze.apply()

    def restore_store(self) -> None:
        if self.server:
            self.server.start()
        elif self.freeze:
            self.freeze.undo()
            self.freeze = None


@pytest.mark.parametrize("demo_name", GONE_DEMOS)
@pytest.mark.parametrize("store", ["redis", "postgres", "sqlite", "file"])
def test_gone_store_answers_503_without_fail_open_and_recovers(store, demo_name, workdir, demos) -> None:
    with StoreFault(store, workdir) as fault:
        demo = start_demo(demo_name, fault.server, workdir, store=store,
                          SESSION_STORE_TIMEOUT=str(FAULT_TIMEOUT_MS), **fault.settings)
        demos.append(demo)
        browsers: list[tuple[Client, str, str]] = []
        for index in range(4):
            user = f"user{index}-{demo_name}"
            client = logged_in(demo, user)
            token = client.csrf_token()
            assert client.request("PUT", "/api/values/note", body=json.dumps({"saved": index}),
                                  headers={"Content-Type": "application/json", "X-CSRF-Token": token}).status == 200
            browsers.append((client, user, token))
        cookies_before = [client.cookies[SESSION_COOKIE] for client, _, _ in browsers]

        with Load(demo, browsers) as load:
            time.sleep(1.0)  # load before the fault: a baseline
            broken_at = time.monotonic()
            fault.break_store()
            broken = time.monotonic()
            time.sleep(OUTAGE_SECONDS)  # the store stays gone under load
            restore_began = time.monotonic()
            fault.restore_store()
            restored = time.monotonic()
            time.sleep(RECOVERY_OBSERVATION)  # load after the store is back

        assert demo.is_alive(), f"{demo!r} exited; log:\n{demo.log()}"
        counts = check_no_fail_open(load, cookies_before)

        # During the outage (requests started once the fault was in place, ended before the repair).
        outage = [s for s in load.samples if s.started >= broken + 0.05 and s.started + s.seconds < restore_began]
        session_ops = [s for s in outage if s.op in ("read", "write")]
        local = store in ("sqlite", "file")
        problems: list[str] = []
        for sample in session_ops:
            if sample.status == 503:
                if store not in sample.body:
                    problems.append(f"503 without the store's name: {sample.body!r}")
                if sample.seconds > LATENCY_LIMIT:
                    problems.append(f"{sample.op} 503 after {ms(sample.seconds)} ms")
            elif not (local and sample.op == "read" and sample.status == 200):
                # A read-only file or database still serves reads; nothing else may succeed.
                problems.append(f"{sample.op} answered {sample.status} during the outage: {sample.body[:200]!r}")
        for sample in outage:
            if sample.op in ("healthz", "anonymous") and not 200 <= sample.status < 300:
                problems.append(f"{sample.op} answered {sample.status} during the outage: {sample.body[:200]!r}")
        assert not problems, f"{len(problems)} problems during the outage:\n" + "\n".join(problems[:20])
        writes_503 = [s for s in session_ops if s.op == "write"]
        assert writes_503, "no write was attempted during the outage"
        latencies = [s.seconds for s in session_ops if s.status == 503]
        assert latencies, "no request got a 503 during the outage"

        # After the repair: 99 % of the session requests started RECOVERY_TARGET s later succeed.
        after = [s for s in load.samples if s.op in ("read", "write") and s.started >= restored]
        late = [s for s in after if s.started >= restored + RECOVERY_TARGET]
        assert late, "no request after the recovery target"
        success = sum(s.status == 200 for s in late) / len(late)
        failures_after = [s for s in after if s.status != 200]
        first_ok = min((s.started + s.seconds for s in after if s.status == 200), default=float("nan")) - restored
        last_failure = max((s.started + s.seconds for s in failures_after), default=restored) - restored
        assert success >= 0.99, (f"only {success:.1%} of {len(late)} requests started {RECOVERY_TARGET}s after the "
                                 f"store came back succeeded; last failure {last_failure:.2f}s after")

        # Every session from before the outage: same cookie, same user, same data, counter not lost.
        for index, (client, user, token) in enumerate(browsers):
            assert client.me() == user
            assert client.get("/api/values/note").json() == {"value": {"saved": index}}
            count = client.get("/api/counter").json()["count"]
            assert load.acked[index] <= count <= load.attempts[index], (index, load.acked[index], count, load.attempts[index])
            assert client.cookies[SESSION_COOKIE] == cookies_before[index], "the session cookie changed"
        assert demo.is_alive()

        healthz_outage = [s.seconds for s in outage if s.op == "healthz"]
        anonymous_outage = [s.seconds for s in outage if s.op == "anonymous"]
        report(
            f"gone[{store},{demo_name}]",
            store_timeout_ms=FAULT_TIMEOUT_MS,
            fault="SIGKILL" if store == "redis" else "pg_ctl stop -m immediate" if store == "postgres"
            else ("chattr +i" if os.getuid() == 0 else "chmod a-w"),
            break_s=round(broken - broken_at, 3),
            outage_s=round(restore_began - broken, 2),
            requests=counts["requests"],
            outage_session_requests=len(session_ops),
            outage_503=len(latencies),
            outage_reads_200=sum(s.status == 200 for s in session_ops),
            max_503_ms=ms(max(latencies)),
            p50_503_ms=ms(percentile(latencies, 0.5)),
            p99_503_ms=ms(percentile(latencies, 0.99)),
            healthz_outage_2xx=f"{sum(200 <= s.status < 300 for s in outage if s.op == 'healthz')}/{len(healthz_outage)}",
            healthz_outage_p99_ms=ms(percentile(healthz_outage, 0.99)) if healthz_outage else None,
            anonymous_outage_2xx=f"{sum(200 <= s.status < 300 for s in outage if s.op == 'anonymous')}/{len(anonymous_outage)}",
            fail_open=0,
            session_cookie_replaced=0,
            restore_s=round(restored - restore_began, 3),
            first_success_after_restore_s=round(first_ok, 3),
            last_failure_after_restore_s=round(last_failure, 3),
            success_rate_after_5s=round(success * 100, 2),
            sessions_kept=f"{len(browsers)}/{len(browsers)}",
        )


# 2. Slow


class DelayProxy:
    """A TCP proxy on loopback in a thread of its own (asyncio). `delay` (seconds)
    holds back every chunk in both directions, in order. It counts the store
    commands it sees from the app (Redis: RESP arrays; PostgreSQL: Sync and Query
    messages) and the connections, and how many commands arrived in a window."""

    def __init__(self, target_port: int, protocol: str):
        self.target_port = target_port
        self.protocol = protocol
        self.port = free_port()
        self.delay = 0.0
        self.connections = 0
        self.commands: list[tuple[float, str]] = []  # (time, name)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        async def shutdown() -> None:
            self.server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        counter = self._redis_counter() if self.protocol == "redis" else self._postgres_counter()
        await asyncio.gather(self._pipe(reader, up_writer, counter), self._pipe(up_reader, writer, None),
                             return_exceptions=True)

    async def _pipe(self, reader, writer, counter) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if chunk is None:
                    break
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while chunk := await reader.read(65536):
                if counter:
                    counter(chunk)
                queue.put_nowait((self.loop.time() + self.delay, chunk))
        except OSError:
            pass
        finally:
            queue.put_nowait((0, None))
            with contextlib.suppress(Exception):
                await sender
            with contextlib.suppress(Exception):
                writer.close()

    def _redis_counter(self) -> Callable[[bytes], None]:
        buffer = bytearray()

        def feed(chunk: bytes) -> None:
            buffer.extend(chunk)
            while True:  # one RESP array of bulk strings per command
                if not buffer.startswith(b"*"):
                    return
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                count, position, name = int(buffer[1:end]), end + 2, None
                for _ in range(count):
                    line_end = buffer.find(b"\r\n", position)
                    if line_end < 0:
                        return
                    length = int(buffer[position + 1:line_end])
                    if len(buffer) < line_end + 2 + length + 2:
                        return
                    if name is None:
                        name = bytes(buffer[line_end + 2:line_end + 2 + length]).decode(errors="replace").upper()
                    position = line_end + 2 + length + 2
                del buffer[:position]
                self.commands.append((time.monotonic(), name or "?"))

        return feed

    def _postgres_counter(self) -> Callable[[bytes], None]:
        buffer = bytearray()
        started = [False]

        def feed(chunk: bytes) -> None:
            buffer.extend(chunk)
            while True:
                if not started[0]:  # the startup message: length, then no type byte
                    if len(buffer) < 4:
                        return
                    length = struct.unpack("!I", buffer[:4])[0]
                    if len(buffer) < length:
                        return
                    del buffer[:length]
                    started[0] = True
                    continue
                if len(buffer) < 5:
                    return
                kind, length = chr(buffer[0]), struct.unpack("!I", buffer[1:5])[0]
                if len(buffer) < 1 + length:
                    return
                del buffer[:1 + length]
                if kind in ("S", "Q"):
                    self.commands.append((time.monotonic(), kind))

        return feed

    def commands_between(self, start: float, end: float, handshake: tuple[str, ...] = ("HELLO", "AUTH", "SELECT", "CLIENT", "PING")) -> int:
        return sum(start <= at < end and name not in handshake for at, name in self.commands)


def _timed_get(url_base: str, path: str, cookies: dict | None = None, timeout: float = 15) -> tuple[int, float, str]:
    client = Client(url_base, dict(cookies or {}))
    try:
        response = client.get(path, timeout=timeout)
        return response.status, response.seconds, response.body
    except (OSError, http.client.HTTPException) as error:
        return 0, timeout, repr(error)


def probe_latencies(base: str, path: str, seconds: float) -> list[float]:
    """Sequential GETs of `path` for `seconds`: their latencies."""
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status, took, body = _timed_get(base, path)
        assert 200 <= status < 300, f"GET {path}: {status} {body[:200]!r}"
        latencies.append(took)
    return latencies


def session_traffic(base: str, cookies: list[dict], stop: threading.Event, results: list) -> list[threading.Thread]:
    def run(jar: dict) -> None:
        while not stop.is_set():
            results.append(_timed_get(base, "/api/me", jar))
    threads = [threading.Thread(target=run, args=(jar,), daemon=True) for jar in cookies]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize("store", ["redis", "postgres"])
def test_slow_store_answers_503_within_the_timeout_and_other_routes_keep_their_latency(store, workdir, demos) -> None:
    with network_server(store, workdir) as server:
        proxy = DelayProxy(server.port, store)
        try:
            proxied = _ProxiedServer(server, proxy.port)
            demo = start_demo("session-demo", proxied, workdir, SESSION_STORE_TIMEOUT=str(FAULT_TIMEOUT_MS))
            demos.append(demo)
            other = "/healthz"  # needs no store
            jars = [logged_in(demo, f"slow{index}").cookies for index in range(4)]

            # Baseline: the other route's latency while session traffic runs on a fast store.
            stop, fast_results = threading.Event(), []
            threads = session_traffic(demo.base, jars, stop, fast_results)
            baseline = probe_latencies(demo.base, other, 3.0)
            stop.set()
            for thread in threads:
                thread.join()
            assert all(status == 200 for status, _, _ in fast_results), fast_results[:3]

            proxy.delay = 5.0
            slow_started = time.monotonic()
            stop, slow_results = threading.Event(), []
            threads = session_traffic(demo.base, jars, stop, slow_results)
            slow = probe_latencies(demo.base, other, 3.0)
            stop.set()
            for thread in threads:
                thread.join()
            session_latencies = [took for _, took, _ in slow_results]
            bad = [(status, took, body[:120]) for status, took, body in slow_results
                   if status != 503 or store not in body or took > 0.6]
            assert not bad, f"{len(bad)} of {len(slow_results)} session requests not a 503 within 600 ms: {bad[:5]}"

            base_p99, slow_p99 = percentile(baseline, 0.99), percentile(slow, 0.99)
            # 2x a sub-millisecond p99 is within scheduling noise on 2 cores: 5 ms floor.
            limit = max(2 * base_p99, base_p99 + 0.005)
            assert slow_p99 <= limit, f"{other} p99 {ms(slow_p99)} ms with a slow store, baseline {ms(base_p99)} ms"

            # Back to fast: the sessions load again without a restart.
            proxy.delay = 0.0
            back = time.monotonic()
            wait_until("sessions after the slowdown", lambda: _timed_get(demo.base, "/api/me", jars[0])[0] == 200,
                       deadline=30)
            recovered = time.monotonic() - back
            report(
                f"slow[{store}]",
                delay_s=5.0,
                store_timeout_ms=FAULT_TIMEOUT_MS,
                slow_session_requests=len(slow_results),
                slow_503_max_ms=ms(max(session_latencies)),
                slow_503_p99_ms=ms(percentile(session_latencies, 0.99)),
                other_route=other,
                other_baseline_p99_ms=ms(base_p99),
                other_slow_p99_ms=ms(slow_p99),
                other_ratio=round(slow_p99 / base_p99, 2) if base_p99 else None,
                proxy_connections=proxy.connections,
                recovered_after_s=round(recovered, 2),
                slow_seconds=round(back - slow_started, 1),
            )
        finally:
            proxy.close()


class _ProxiedServer:
    """`server` as the demo sees it through the proxy: the same name, the proxy's URL."""

    def __init__(self, server, port: int):
        self.name = server.name
        self.url = server.url.replace(f":{server.port}", f":{port}", 1)


@pytest.mark.parametrize("store", ["redis", "postgres"])
def test_in_flight_store_operations_are_bounded(store, workdir, demos) -> None:
    limit, concurrent, timeout_ms = 4, 24, 1500
    with network_server(store, workdir) as server:
        proxy = DelayProxy(server.port, store)
        try:
            demo = start_demo("session-demo", _ProxiedServer(server, proxy.port), workdir,
                              SESSION_STORE_TIMEOUT=str(timeout_ms), SESSION_STORE_MAX_IN_FLIGHT=str(limit))
            demos.append(demo)
            jars = [logged_in(demo, f"bounded{index}").cookies for index in range(concurrent)]
            proxy.delay = 5.0
            time.sleep(0.2)  # lets in-flight handshakes settle before the burst
            results: list = [None] * concurrent
            gate = threading.Barrier(concurrent)

            def hit(index: int) -> None:
                gate.wait()
                results[index] = _timed_get(demo.base, "/api/me", jars[index])

            burst = time.monotonic()
            threads = [threading.Thread(target=hit, args=(index,)) for index in range(concurrent)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            # Commands the store received while the first ones were still waiting (none answers within 5 s).
            in_flight = proxy.commands_between(burst, burst + timeout_ms / 1000 - 0.1)
            statuses = [status for status, _, _ in results]
            assert all(status == 503 for status in statuses), statuses
            refused_fast = [took for _, took, _ in results if took < 0.25]
            waited = [took for _, took, _ in results if took >= 0.25]
            assert in_flight <= limit, f"the store saw {in_flight} commands in flight with a limit of {limit}"
            assert len(refused_fast) >= concurrent - limit, (
                f"only {len(refused_fast)} of {concurrent} requests refused at once; latencies {sorted(t for _, t, _ in results)}")
            report(
                f"bounded[{store}]",
                max_in_flight=limit,
                concurrent_requests=concurrent,
                store_commands_in_flight=in_flight,
                refused_at_once=len(refused_fast),
                refused_max_ms=ms(max(refused_fast)) if refused_fast else None,
                waited_for_timeout=len(waited),
                proxy_connections=proxy.connections,
            )
        finally:
            proxy.close()


# 3. Redis full


def fill_redis(server: RedisServer, *, volatile: bool, until: Callable[[], bool], limit: int = 4000) -> int:
    """Writes 16 KB filler keys (with a TTL when `volatile`) until `until()`; returns how many."""
    value = b"f" * 16384
    for index in range(limit):
        server.command(*(["SET", f"filler:{index}", value] + (["EX", "3600"] if volatile else [])))
        if until():
            return index + 1
    pytest.fail(f"{limit} filler keys did not fill Redis")


def test_redis_full_noeviction_refuses_writes_with_503(workdir, demos) -> None:
    with network_server("redis", workdir, ["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]) as server:
        demo = start_demo("session-demo", server, workdir, SESSION_STORE_TIMEOUT=str(FAULT_TIMEOUT_MS))
        demos.append(demo)
        alice = logged_in(demo, "alice")
        alice_token = _csrf_of(alice)  # also ages the login's flash: later reads write nothing
        cookie = alice.cookies[SESSION_COOKIE]
        oom = [False]

        def full() -> bool:  # even a small new key is refused
            reply = server.command("SET", f"probe:{random.randrange(1 << 30)}", "x" * 100)
            oom[0] = isinstance(reply, RedisReplyError) and "OOM" in str(reply)
            return oom[0]

        fillers = fill_redis(server, volatile=False, until=full)
        # Right at the limit, a closed connection's buffers free enough for the next
        # write to pass; keep Redis 256 KB over its limit instead.
        used = int(next(line.split(":")[1] for line in server.command("INFO", "memory").decode().splitlines()
                        if line.startswith("used_memory:")))
        assert server.command("CONFIG", "SET", "maxmemory", str(used - 262144)) == b"OK"
        assert full(), "Redis is not full"
        newcomer = demo.client()
        token_response = newcomer.get("/api/csrf")  # a new session: a write
        if token_response.status == 200:  # then it must really be stored
            assert server.command("EXISTS", f"sessionkit:{key_hex(newcomer.cookies[SESSION_COOKIE])}") == 1
        counter = alice.post("/api/counter", headers={"X-CSRF-Token": alice_token})
        for what, response in [("GET /api/csrf (new session)", token_response), ("POST /api/counter", counter)]:
            assert response.status == 503 and "redis" in response.body, f"{what}: {response}"
            assert not any(name == SESSION_COOKIE for name, _ in set_cookie_names(response)), f"{what}: {response.headers}"
        read = alice.get("/api/me")
        assert read.status == 200 and read.json() == {"user": "alice"}, read
        assert alice.cookies[SESSION_COOKIE] == cookie
        info = server.command("INFO", "memory").decode()
        used = next(line.split(":")[1] for line in info.splitlines() if line.startswith("used_memory_human:"))
        report("redis_full[noeviction]", maxmemory="2mb", filler_writes=fillers, used_memory=used.strip(),
               new_session=f"{token_response.status} in {ms(token_response.seconds)} ms",
               write=f"{counter.status} in {ms(counter.seconds)} ms", read=read.status, body=counter.body.strip())


def _csrf_of(client: Client) -> str:
    """The session's CSRF token, read without writing (GET /api/csrf of an existing session saves nothing new)."""
    response = client.get("/api/csrf")
    assert response.status == 200, response
    return response.json()["token"]


def test_redis_full_volatile_lru_evicted_session_is_no_session(workdir, demos) -> None:
    with network_server("redis", workdir, ["--maxmemory", "2mb", "--maxmemory-policy", "volatile-lru"]) as server:
        demo = start_demo("session-demo", server, workdir, SESSION_STORE_TIMEOUT=str(FAULT_TIMEOUT_MS))
        demos.append(demo)
        browsers = [(logged_in(demo, f"lru{index}"), f"lru{index}") for index in range(40)]
        keys = [f"sessionkit:{key_hex(client.cookies[SESSION_COOKIE])}" for client, _ in browsers]

        def some_evicted() -> bool:
            return sum(server.command("EXISTS", key) for key in keys) < len(keys) - 5

        fillers = fill_redis(server, volatile=True, until=some_evicted)
        evicted = [server.command("EXISTS", key) == 0 for key in keys]
        assert any(evicted)
        statuses = []
        for (client, user), gone in zip(browsers, evicted):
            response = client.get("/api/me")
            statuses.append(response.status)
            assert response.status == 200, response
            assert response.json() == {"user": None if gone else user}, (gone, response)
            write = Client(client.base, dict(client.cookies)).post("/api/counter", headers={"X-CSRF-Token": "x"})
            assert write.status in (200, 403), write  # never a 5xx; an evicted session has no token any more
        evictions = int(next(line.split(":")[1] for line in server.command("INFO", "stats").decode().splitlines()
                             if line.startswith("evicted_keys:")))
        report("redis_full[volatile-lru]", maxmemory="2mb", sessions=len(keys), sessions_evicted=sum(evicted),
               filler_keys=fillers, evicted_keys=evictions, evicted_session_answer="200 {user: null}", five_xx=0)


# 4. Garbage in the store


FILE_MAGIC = b"SKSF"


def encode_file_record(data: bytes, version: int, expires_ms: int, owner: str | None) -> bytes:
    """FileStore format 2 (see FileStore.swift)."""
    header = FILE_MAGIC + struct.pack("<IQqQ", 2, version, expires_ms, len(data))
    header += struct.pack("<I", 0xFFFFFFFF) if owner is None else struct.pack("<I", len(owner.encode())) + owner.encode()
    return header + hashlib.sha256(header + data).digest()[:8] + data


def decode_file_record(raw: bytes) -> tuple[bytes, int, int, str | None]:
    """Decodes a FileStore file (format 1 or 2), raising ValueError when torn or corrupt."""
    if len(raw) < 32 or raw[:4] != FILE_MAGIC:
        raise ValueError(f"bad header ({len(raw)} bytes)")
    fmt, version, expires, length = struct.unpack("<IQqQ", raw[4:32])
    offset, owner = 32, None
    if fmt == 2:
        (owner_length,) = struct.unpack("<I", raw[32:36])
        offset = 36
        if owner_length != 0xFFFFFFFF:
            owner = raw[36:36 + owner_length].decode()
            offset += owner_length
    elif fmt != 1:
        raise ValueError(f"format {fmt}")
    checksum, data = raw[offset:offset + 8], raw[offset + 8:]
    if len(data) != length:
        raise ValueError(f"length {len(data)} != {length}")
    if hashlib.sha256(raw[:offset] + data).digest()[:8] != checksum:
        raise ValueError("checksum")
    return data, version, expires, owner


def old_payload(payload: bytes) -> bytes:
    """The same session as an older payload format ("v": 0) would have written it."""
    decoded = json.loads(payload)
    decoded["v"] = 0
    return json.dumps(decoded).encode()


class GarbageWriter:
    """Reads and replaces the stored record of a session, per store."""

    def __init__(self, store: str, server, settings: dict[str, str]):
        self.store, self.server, self.settings = store, server, settings

    def file_path(self, key: str) -> Path:
        return Path(self.settings["SESSION_FILE_PATH"]) / key

    def payload(self, key: str) -> bytes:
        if self.store == "file":
            return decode_file_record(self.file_path(key).read_bytes())[0]
        if self.store == "sqlite":
            with contextlib.closing(sqlite3.connect(self.settings["SESSION_SQLITE_PATH"])) as db:
                return db.execute("SELECT data FROM sessionkit_sessions WHERE id = ?", (key,)).fetchone()[0]
        if self.store == "postgres":
            return bytes.fromhex(self.server.psql(f"SELECT encode(data, 'hex') FROM sessionkit_sessions WHERE id = '{key}'").strip())
        return self.server.command("HGET", f"sessionkit:{key}", "d")

    def write_payload(self, key: str, data: bytes) -> None:
        """Replaces the payload, keeping the record itself valid for its store."""
        if self.store == "file":
            _, version, expires, owner = decode_file_record(self.file_path(key).read_bytes())
            self.file_path(key).write_bytes(encode_file_record(data, version, expires, owner))
        elif self.store == "sqlite":
            with contextlib.closing(sqlite3.connect(self.settings["SESSION_SQLITE_PATH"], timeout=10)) as db:
                db.execute("UPDATE sessionkit_sessions SET data = ? WHERE id = ?", (data, key))
                db.commit()
        elif self.store == "postgres":
            self.server.psql(f"UPDATE sessionkit_sessions SET data = '\\x{data.hex()}'::bytea WHERE id = '{key}'")
        else:
            assert self.server.command("HSET", f"sessionkit:{key}", "d", data) == 0

    def damage(self, key: str, kind: str) -> None:
        payload = self.payload(key)
        if kind == "truncated":
            self.write_payload(key, payload[: len(payload) // 2])
        elif kind == "empty":
            self.write_payload(key, b"")
        elif kind == "random":
            self.write_payload(key, random.Random(7).randbytes(200))
        elif kind == "old-version":
            self.write_payload(key, old_payload(payload))
        # Damage to the store's own record, below the payload.
        elif kind == "file-truncated":
            raw = self.file_path(key).read_bytes()
            self.file_path(key).write_bytes(raw[: len(raw) - 5])
        elif kind == "file-zero-length":
            self.file_path(key).write_bytes(b"")
        elif kind == "file-random":
            self.file_path(key).write_bytes(random.Random(8).randbytes(300))
        elif kind == "sqlite-text-data":  # a row whose data column holds text, as an older schema might
            with contextlib.closing(sqlite3.connect(self.settings["SESSION_SQLITE_PATH"], timeout=10)) as db:
                db.execute("UPDATE sessionkit_sessions SET data = CAST(data AS TEXT) WHERE id = ?", (key,))
                db.commit()
        elif kind == "postgres-negative-version":
            self.server.psql(f"UPDATE sessionkit_sessions SET version = -1 WHERE id = '{key}'")
        elif kind == "redis-missing-version":
            self.server.command("HDEL", f"sessionkit:{key}", "v")
        elif kind == "redis-wrong-type":
            ttl = self.server.command("PTTL", f"sessionkit:{key}")
            self.server.command("DEL", f"sessionkit:{key}")
            self.server.command("SET", f"sessionkit:{key}", random.Random(9).randbytes(64), "PX", str(ttl))
        else:
            raise AssertionError(kind)


GARBAGE = {
    "file": ["truncated", "empty", "random", "old-version", "file-truncated", "file-zero-length", "file-random"],
    "sqlite": ["truncated", "empty", "random", "old-version", "sqlite-text-data"],
    "postgres": ["truncated", "empty", "random", "old-version", "postgres-negative-version"],
    "redis": ["truncated", "empty", "random", "old-version", "redis-missing-version", "redis-wrong-type"],
}


@pytest.mark.parametrize("store", list(GARBAGE))
def test_garbage_in_the_store_is_no_session_with_one_log_line(store, workdir, demos) -> None:
    server_context = network_server(store, workdir) if store in ("redis", "postgres") else contextlib.nullcontext()
    with server_context as server:
        settings: dict[str, str] = {}
        if store == "file":
            settings["SESSION_FILE_PATH"] = str(local_store_folder(workdir, "garbage") / "sessions")
        elif store == "sqlite":
            settings["SESSION_SQLITE_PATH"] = str(local_store_folder(workdir, "garbage") / "sessions.sqlite")
        demo = start_demo("session-demo", server, workdir, store=store, **settings)
        demos.append(demo)
        writer = GarbageWriter(store, server, settings)
        results: dict[str, str] = {}
        failures: list[str] = []
        for kind in GARBAGE[store]:
            client = logged_in(demo, f"victim-{kind}")
            key = key_hex(client.cookies[SESSION_COOKIE])
            writer.damage(key, kind)
            before = len(warning_lines(demo))
            response = client.get("/api/me")
            time.sleep(0.2)  # the log line is written by the request's task; give the pipe a moment
            lines = warning_lines(demo)[before:]
            write = client.post("/api/counter", headers={"X-CSRF-Token": "none"})
            fresh = client.get("/api/csrf")
            results[kind] = f"{response.status}, {len(lines)} log line(s)"
            if response.status != 200 or response.json() != {"user": None}:
                failures.append(f"{kind}: {response.status} {response.body[:200]!r}")
            if len(lines) != 1:
                failures.append(f"{kind}: {len(lines)} warning lines instead of 1: {lines}")
            if write.status >= 500 or fresh.status != 200:
                failures.append(f"{kind}: afterwards POST {write.status}, GET /api/csrf {fresh.status}")
        report(f"garbage[{store}]", **results)
        assert demo.is_alive()
        assert not failures, "\n".join(failures)


# 5. Torn writes


def expected_pad(n: int) -> str:
    return chr(97 + n % 26) * ((n * 7919) % 12000)


class Storm:
    """Threads writing to their own session as fast as they can: PUT a value of
    varying size whose content follows from its number, then POST the counter."""

    def __init__(self, base: str, browsers: list[dict]):
        self.base = base
        self.browsers = browsers  # per browser: cookies, token, acked/attempted value numbers and counter
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(b,), daemon=True) for b in browsers]

    def _run(self, state: dict) -> None:
        client = Client(self.base, state["cookies"])
        while not self.stop.is_set():
            n = state["attempted_n"] + 1
            state["attempted_n"] = n
            try:
                response = client.request("PUT", "/api/values/blob", timeout=3,
                                          body=json.dumps({"n": n, "pad": expected_pad(n)}),
                                          headers={"Content-Type": "application/json", "X-CSRF-Token": state["token"]})
                if response.status != 200:
                    state["errors"].append(f"PUT {response.status} {response.body[:100]!r}")
                    return
                state["acked_n"] = n
                state["acked_writes"] += 1
                state["attempted_count"] += 1  # before the request: it may commit without an answer
                response = client.request("POST", "/api/counter", timeout=3, headers={"X-CSRF-Token": state["token"]})
                if response.status != 200:
                    state["errors"].append(f"POST {response.status} {response.body[:100]!r}")
                    return
                state["acked_count"] = response.json()["count"]
                state["acked_writes"] += 1
            except (OSError, http.client.HTTPException):
                return  # the demo was killed

    def __enter__(self) -> "Storm":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def check_records_on_disk(store: str, settings: dict[str, str]) -> dict:
    """Decodes every record straight from the file store's folder or the SQLite file."""
    records, temporary = 0, 0
    torn: list[str] = []
    if store == "file":
        folder = Path(settings["SESSION_FILE_PATH"])
        for path in folder.iterdir():
            if path.name.startswith(".tmp-"):
                temporary += 1
                continue
            if path.name.startswith("."):
                continue
            try:
                data, _, _, _ = decode_file_record(path.read_bytes())
                payload = json.loads(data)
                assert payload["v"] == 1 and isinstance(payload["d"], dict)
                records += 1
            except (ValueError, KeyError, AssertionError) as error:
                torn.append(f"{path.name}: {error}")
    else:
        with contextlib.closing(sqlite3.connect(settings["SESSION_SQLITE_PATH"], timeout=10)) as db:
            check = db.execute("PRAGMA integrity_check").fetchall()
            if check != [("ok",)]:
                torn.append(f"integrity_check: {check}")
            for key, data in db.execute("SELECT id, data FROM sessionkit_sessions"):
                try:
                    payload = json.loads(data)
                    assert payload["v"] == 1 and isinstance(payload["d"], dict)
                    records += 1
                except (ValueError, KeyError, AssertionError, TypeError) as error:
                    torn.append(f"{key}: {error!r}")
    assert not torn, f"{len(torn)} torn or unreadable records: {torn[:10]}"
    return {"records_on_disk": records, "leftover_temporary_files": temporary}


@pytest.mark.parametrize("store", ["file", "sqlite"])
def test_torn_writes_kill_9_during_write_storms(store, workdir, demos) -> None:
    folder = local_store_folder(workdir, "torn")
    settings = ({"SESSION_FILE_PATH": str(folder / "sessions")} if store == "file"
                else {"SESSION_SQLITE_PATH": str(folder / "sessions.sqlite")})
    settings["SESSION_STORE_TIMEOUT"] = "5000"
    rng = random.Random(int(os.environ.get("SESSIONKIT_KILL_SEED", "9")))

    def launch() -> Demo:
        demo = start_demo("session-demo", None, workdir, store=store, **settings)
        demos.append(demo)
        return demo

    demo = launch()
    browsers = []
    for index in range(6):
        client = logged_in(demo, f"storm{index}")
        browsers.append({"user": f"storm{index}", "cookies": client.cookies, "token": client.csrf_token(),
                         "acked_n": 0, "attempted_n": 0, "acked_count": 0, "attempted_count": 0, "acked_writes": 0,
                         "errors": []})
    started = time.monotonic()
    restarts: list[float] = []
    acked_before = 0
    for kill in range(KILLS):
        with Storm(demo.base, browsers):
            time.sleep(rng.uniform(0.15, 1.0))  # a random moment in the storm
            demo.process.send_signal(signal.SIGKILL)
            demo.process.wait()
        errors = [e for b in browsers for e in b["errors"]]
        assert not errors, errors[:5]
        began = time.monotonic()
        demo = launch()
        restarts.append(time.monotonic() - began)
        for state in browsers:  # every session survives the kill, with a value it was sent
            response = Client(demo.base, state["cookies"]).get("/api/values/blob")
            assert response.status == 200, response
            value = response.json()["value"]
            if state["acked_n"] == 0 and value is None:
                continue
            assert value is not None and state["acked_n"] <= value["n"] <= state["attempted_n"], (kill, state, value and value["n"])
            assert value["pad"] == expected_pad(value["n"]), f"torn value for n={value['n']}"
            state["acked_n"] = state["attempted_n"] = value["n"]  # what the store holds now
    elapsed = time.monotonic() - started

    problems = []
    for state in browsers:
        client = Client(demo.base, state["cookies"])
        assert client.me() == state["user"]
        count = client.get("/api/counter").json()["count"]
        value = client.get("/api/values/blob").json()["value"]
        if not state["acked_count"] <= count <= state["attempted_count"]:
            problems.append(f"{state['user']}: counter {count}, acknowledged {state['acked_count']}")
        if value is None or value["pad"] != expected_pad(value["n"]):
            problems.append(f"{state['user']}: value {str(value)[:80]}")
        acked_before += state["acked_count"]
    assert not problems, problems
    stop_process(demo.process)
    disk = check_records_on_disk(store, settings)
    report(f"torn[{store}]", kills=KILLS, sessions=len(browsers), acknowledged_writes=sum(b["acked_writes"] for b in browsers),
           final_counter_sum=acked_before,
           torn_records=0, empty_records=0, seconds=round(elapsed, 1),
           restart_p50_ms=ms(percentile(restarts, 0.5)), restart_max_ms=ms(max(restarts)), **disk)


# 6. Redis: every key has a TTL


def test_redis_every_key_has_a_ttl_after_many_saves(workdir, demos) -> None:
    with network_server("redis", workdir) as server:
        demo = start_demo("session-demo", server, workdir)
        demos.append(demo)
        saves = [0]
        lock = threading.Lock()
        errors: list[str] = []
        threads_count, sessions_per_thread = 8, 12

        def work(worker: int) -> None:
            try:
                run(worker)
            except Exception as error:  # noqa: BLE001 - reported by the main thread
                errors.append(repr(error))

        def run(worker: int) -> None:
            client_rng = random.Random(worker)
            clients = []
            for index in range(sessions_per_thread):
                client = demo.client()
                if index % 3:  # two in three log in (an owner set each), the others stay anonymous
                    client.login(f"owner{(worker * sessions_per_thread + index) % 20}")
                    with lock:
                        saves[0] += 1
                clients.append([client, client.csrf_token()])
            while True:
                with lock:
                    if saves[0] >= TTL_SAVES:
                        return
                entry = client_rng.choice(clients)
                client, token = entry
                roll = client_rng.random()
                if roll < 0.02:  # log out and in again: delete, regenerate, owner sets change
                    assert client.post("/api/logout", headers={"X-CSRF-Token": token}).status == 200
                    client.login(f"owner{client_rng.randrange(20)}")
                    entry[1] = client.csrf_token()
                else:
                    response = client.post("/api/counter", headers={"X-CSRF-Token": token})
                    if response.status != 200:
                        errors.append(f"{response.status} {response.body[:100]}")
                        return
                with lock:
                    saves[0] += 1

        started = time.monotonic()
        threads = [threading.Thread(target=work, args=(worker,)) for worker in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        assert not errors, errors[:5]

        keys: list[bytes] = []
        cursor = b"0"
        while True:
            cursor, batch = server.command("SCAN", cursor, "COUNT", "1000")
            keys.extend(batch)
            if cursor == b"0":
                break
        ttls = server.pipeline([("PTTL", key) for key in keys])
        without = [key.decode() for key, ttl in zip(keys, ttls) if ttl == -1]
        owner_sets = [key for key in keys if key.startswith(b"sessionkit:owner:")]
        report("redis_ttl", saves=saves[0], seconds=round(elapsed, 1), saves_per_s=round(saves[0] / elapsed),
               keys=len(keys), owner_sets=len(owner_sets), sessions=len(keys) - len(owner_sets),
               keys_without_ttl=len(without), min_ttl_s=round(min(t for t in ttls if t >= 0) / 1000) if keys else None)
        assert not without, f"{len(without)} keys without a TTL: {without[:10]}"
