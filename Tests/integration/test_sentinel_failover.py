"""Redis Sentinel failover under load (issue 18 item 2).

A group of our own on loopback (scripts/lib/servers.sh `start_redis_sentinel`: one
master, one replica, three sentinels, quorum 2, master down after 1 s) and
session-demo (Hummingbird) on `REDIS_URL=redis-sentinel://…/sessionkit`. Browsers
that are logged in increment their session counters (POST /api/counter) in a
steady loop; the master is SIGKILLed; once the sentinels have promoted the
replica, the killed node is started again as a replica of the new master (as an
operator would; without a replica `WAIT` can never be met).

It asserts:
- every answer is 200 or 503 (no other 5xx, no 403 from a session that lost its
  CSRF secret, no 401), and every 503 names the store;
- no 503 comes more than GRACE seconds after the promotion, nor before the kill:
  503 only while no master is known;
- no browser ever gets a fresh empty session: the same user stays logged in and,
  after the promotion, its counter goes on;
- with `?wait=1` (minimumReplicaAcknowledgements 1) no acknowledged increment is
  lost: an answer's count is never below one already acknowledged.

It records for each mode (without and with WAIT): requests, failed requests
(503), the 503 window in seconds (first to last 503, and kill to promotion), and
acknowledged increments lost (how far a counter went back), in
.build/integration-summary.json (`sentinel-failover-*`). Environment:
FAILOVER_BROWSERS (default 6), FAILOVER_AFTER_SECONDS (load after the promotion,
default 6).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO_ROOT, Client, record, start_demo, stop_process, wait_until

BROWSERS = int(os.environ.get("FAILOVER_BROWSERS", "6"))
AFTER_SECONDS = float(os.environ.get("FAILOVER_AFTER_SECONDS", "6"))
BEFORE_SECONDS = 2.0  # steady load before the kill
GRACE = 3.0  # seconds after the promotion in which a 503 is still allowed (clients learn of the switch)
SERVERS = REPO_ROOT / "scripts" / "lib" / "servers.sh"


def bash(script: str) -> str:
    return subprocess.run(["bash", "-c", f". {SERVERS}; {script}"], check=True, capture_output=True, text=True).stdout


def redis_cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=5).stdout


class SentinelGroup:
    def __init__(self, folder: Path):
        self.folder = folder
        self.url = bash(f"start_redis_sentinel {folder}").strip()
        self.dir = folder / "redis-sentinel"
        self.master_port = int((self.dir / "master-port").read_text())
        self.sentinel_ports = [int(p) for p in (self.dir / "sentinel-ports").read_text().split()]

    def current_master_port(self) -> int | None:
        for port in self.sentinel_ports:
            lines = redis_cli(port, "sentinel", "get-master-addr-by-name", "sessionkit").split()
            if len(lines) == 2:
                return int(lines[1])
        return None

    def kill_master(self) -> None:
        pid = int((self.dir / "master.pid").read_text())
        os.kill(pid, signal.SIGKILL)

    def restart_old_master_as_replica(self, new_master: int) -> None:
        subprocess.run(
            ["redis-server", "--port", str(self.master_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--repl-diskless-sync-delay", "0",
             "--replicaof", "127.0.0.1", str(new_master), "--dir", str(self.dir), "--daemonize", "yes",
             "--pidfile", str(self.dir / "master.pid"), "--logfile", str(self.dir / "master-again.log")],
            check=True, capture_output=True,
        )

    def stop(self) -> None:
        bash(f"stop_servers {self.folder}")


@dataclass
class Browser:
    client: Client
    user: str
    token: str
    acknowledged: int = 0  # the highest count a 200 answered
    lost: int = 0  # acknowledged increments lost: how far the count went back, summed
    last_count: int = 0  # the count of the latest 200
    last_ok_at: float = 0.0  # when the latest 200's request started
    statuses: list[tuple[float, int, str]] = field(default_factory=list)  # (time, status, body) of failures


def run_browser(browser: Browser, stop: threading.Event, counts: list[int]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            response = browser.client.post("/api/counter", headers={"X-CSRF-Token": browser.token}, timeout=10)
        except OSError as error:
            browser.statuses.append((started, -1, str(error)))
            continue
        counts[0] += 1
        if response.status == 200:
            count = response.json()["count"]
            if count <= browser.acknowledged:
                browser.lost += browser.acknowledged - count + 1
            browser.acknowledged = max(browser.acknowledged, count)
            browser.last_count, browser.last_ok_at = count, started
        else:
            browser.statuses.append((started, response.status, response.body))
            if response.status == 503:
                time.sleep(0.05)  # a browser retrying after an error, not a wait for an event


@pytest.mark.parametrize("wait", [0, 1], ids=["without-WAIT", "with-WAIT-1"])
def test_sentinel_failover_answers_503_only_without_a_master_and_keeps_the_sessions(wait, demos) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sessionkit-sentinel-"))
    group = SentinelGroup(folder)
    try:
        url = group.url + (f"?wait={wait}" if wait else "")
        workdir = folder / "demo"
        workdir.mkdir()
        demo = start_demo("session-demo", None, workdir, store="redis", REDIS_URL=url)
        demos.append(demo)

        browsers: list[Browser] = []
        for index in range(BROWSERS):
            client = demo.client()
            user = f"failover-{wait}-{index}"
            client.login(user)
            browsers.append(Browser(client, user, client.csrf_token()))

        stop = threading.Event()
        counts = [0]
        threads = [threading.Thread(target=run_browser, args=(b, stop, counts), daemon=True) for b in browsers]
        for thread in threads:
            thread.start()
        time.sleep(BEFORE_SECONDS)  # steady load before the kill (a measured phase, not a wait for an event)

        old_master = group.master_port
        killed_at = time.monotonic()
        group.kill_master()
        wait_until("the sentinels to promote the replica",
                   lambda: (group.current_master_port() or old_master) != old_master, deadline=60)
        promoted_at = time.monotonic()
        new_master = group.current_master_port()
        group.restart_old_master_as_replica(new_master)
        time.sleep(AFTER_SECONDS)  # load after the promotion (a measured phase)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

        failures = [(t, status, body) for b in browsers for (t, status, body) in b.statuses]
        unavailable = [t for t, status, _ in failures if status == 503]
        others = [(round(t - killed_at, 2), status, body[:200]) for t, status, body in failures if status != 503]
        window = (max(unavailable) - min(unavailable)) if unavailable else 0.0
        lost = sum(b.lost for b in browsers)
        mode = "with-wait" if wait else "without-wait"
        record(
            f"sentinel-failover-{mode}",
            requests=counts[0],
            failed_requests=len(failures),
            unavailable_503=len(unavailable),
            window_503_seconds=round(window, 2),
            kill_to_promotion_seconds=round(promoted_at - killed_at, 2),
            last_503_after_promotion_seconds=round(max(unavailable) - promoted_at, 2) if unavailable else None,
            acknowledged_writes_lost=lost,
        )
        print(f"\n[sentinel failover {mode}] requests={counts[0]} failed={len(failures)} 503={len(unavailable)} "
              f"window={window:.2f}s kill->promotion={promoted_at - killed_at:.2f}s lost={lost}")

        assert not others, f"answers other than 200 and 503 (seconds after the kill, status, body): {others[:10]}"
        for _, status, body in failures:
            assert "redis" in body, f"a 503 that does not name the store: {body!r}"
        assert all(t >= killed_at - 0.5 for t in unavailable), "a 503 before the master was killed"
        late = [round(t - promoted_at, 2) for t in unavailable if t > promoted_at + GRACE]
        assert not late, f"503s more than {GRACE}s after the promotion (seconds after it): {late[:10]}"
        for browser in browsers:
            # The same session: still logged in, and its counter went on after the promotion.
            assert browser.client.me() == browser.user
            assert browser.last_ok_at > promoted_at, f"{browser.user} got no 200 after the promotion"
            final = browser.client.get("/api/counter").json()["count"]
            assert final >= browser.last_count
        assert any(b.acknowledged > 0 for b in browsers)
        if wait:
            assert lost == 0, f"{lost} acknowledged increments lost although every write waited for a replica"
    finally:
        for demo in demos:
            stop_process(demo.process)
        group.stop()
