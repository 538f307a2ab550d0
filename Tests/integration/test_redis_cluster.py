"""The Hummingbird demo on a Redis Cluster under load (issue 18, item 3): a
3-master/3-replica cluster of the test's own (start_redis_cluster in
scripts/lib/servers.sh), browsers logged in as a few users incrementing their
counters without pause, while

1. `redis-cli --cluster reshard` moves CLUSTER_RESHARD_SLOTS slots (default
   2000) from one master to another, and then
2. a master is SIGKILLed and its replica takes over.

Afterwards every browser must still be logged in, see a counter at least as
high as the last one it was answered, and be listed (and then revoked) with
the other sessions of its user: no acknowledged session and no acknowledged
increment may be lost. Requests that fail meanwhile must fail with 503.

Figures (requests, failures by status, the reshard's window, the failover's
window, losses) are printed and written to .build/integration-summary.json
under `redis-cluster`. Environment: CLUSTER_BROWSERS (default 24),
CLUSTER_RESHARD_SLOTS (default 2000)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO_ROOT, Client, record, start_demo

BROWSERS = int(os.environ.get("CLUSTER_BROWSERS", "24"))
USERS = 6
RESHARD_SLOTS = int(os.environ.get("CLUSTER_RESHARD_SLOTS", "2000"))
STORE_TIMEOUT_MS = 2000


class Cluster:
    """Six redis-server nodes in cluster mode, started by scripts/lib/servers.sh."""

    def __init__(self, folder: Path):
        self.folder = folder
        result = subprocess.run(
            ["bash", "-c", '. scripts/lib/servers.sh && start_redis_cluster "$1"', "_", str(folder)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            pytest.fail(f"start_redis_cluster failed:\n{result.stderr}")
        self.url = result.stdout.strip().splitlines()[-1]
        self.ports = [int(line) for line in (folder / "redis-cluster" / "ports").read_text().split()]

    def cli(self, port: int, *args: str, timeout: float = 10) -> str:
        result = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=timeout)
        return result.stdout

    def nodes(self, port: int) -> list[dict]:
        """`CLUSTER NODES` as seen by the node on `port`."""
        nodes = []
        for line in self.cli(port, "cluster", "nodes").splitlines():
            fields = line.split()
            if len(fields) < 8:
                continue
            slots = 0
            for part in fields[8:]:
                if part.startswith("["):
                    continue
                start, _, end = part.partition("-")
                slots += int(end or start) - int(start) + 1
            nodes.append({"id": fields[0], "port": int(fields[1].split("@")[0].rsplit(":", 1)[1]),
                          "flags": fields[2], "slots": slots})
        return nodes

    def masters(self, port: int) -> list[dict]:
        return [n for n in self.nodes(port) if "master" in n["flags"] and "fail" not in n["flags"] and n["slots"] > 0]

    def pid(self, port: int) -> int:
        return int((self.folder / "redis-cluster" / str(port) / "redis.pid").read_text())

    def healthy(self, port: int) -> bool:
        info = self.cli(port, "cluster", "info")
        return "cluster_state:ok" in info and len(self.masters(port)) == 3

    def stop(self) -> None:
        for port in self.ports:
            try:
                os.kill(self.pid(port), signal.SIGTERM)
            except (OSError, ValueError):
                pass


@dataclass
class Browser:
    client: Client
    user: str
    token: str
    acknowledged: int = 0  # the highest count a 200 answered
    answered: int = 0  # how many increments were answered 200
    statuses: Counter = field(default_factory=Counter)


class Load:
    """Browsers incrementing their counters in threads until stopped; each
    request is recorded with its start time and status."""

    def __init__(self, browsers: list[Browser]):
        self.browsers = browsers
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.events: list[tuple[float, float, int]] = []  # start, end, status
        self.threads = [threading.Thread(target=self.run, args=(b,), daemon=True) for b in browsers]

    def run(self, browser: Browser) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                response = browser.client.post("/api/counter", headers={"X-CSRF-Token": browser.token}, timeout=15)
                status = response.status
            except OSError:
                status = 0
            ended = time.monotonic()
            if status == 200:
                browser.acknowledged = max(browser.acknowledged, response.json()["count"])
                browser.answered += 1
            browser.statuses[status] += 1
            with self.lock:
                self.events.append((started, ended, status))

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def window(self, start: float, end: float) -> dict:
        with self.lock:
            inside = [status for s, e, status in self.events if s < end and e > start]
        counts = Counter(inside)
        return {"requests": len(inside), "ok": counts.get(200, 0), "failed": len(inside) - counts.get(200, 0),
                "failed_by_status": {str(k): v for k, v in sorted(counts.items()) if k != 200}}


@pytest.fixture
def cluster(workdir: Path):
    folder = workdir / f"cluster-{time.monotonic_ns()}"
    folder.mkdir()
    running = Cluster(folder)
    yield running
    running.stop()


def test_reshard_and_master_kill_under_load_lose_nothing_acknowledged(cluster: Cluster, demos, workdir) -> None:
    demo = start_demo("session-demo", None, workdir, store="redis", REDIS_URL=cluster.url,
                      SESSION_STORE_TIMEOUT=str(STORE_TIMEOUT_MS))
    demos.append(demo)
    run = time.strftime("%H%M%S")
    browsers = []
    for index in range(BROWSERS):
        client = demo.client()
        user = f"cluster-user-{run}-{index % USERS}"
        client.login(user)
        browsers.append(Browser(client, user, client.csrf_token()))

    seed = cluster.ports[0]
    with Load(browsers) as load:
        time.sleep(3)  # load before the reshard, for the before/after figures
        masters = sorted(cluster.masters(seed), key=lambda n: -n["slots"])
        source, target = masters[0], masters[1]
        reshard_start = time.monotonic()
        result = subprocess.run(
            ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{seed}", "--cluster-from", source["id"],
             "--cluster-to", target["id"], "--cluster-slots", str(RESHARD_SLOTS), "--cluster-yes"],
            capture_output=True, text=True, timeout=600)
        reshard_end = time.monotonic()
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        moved = len(re.findall(r"^Moving slot", result.stdout, re.MULTILINE))
        time.sleep(2)

        # Kill the master that now holds the most slots; wait for its replica to take over.
        victim = max(cluster.masters(seed), key=lambda n: n["slots"])
        survivor = next(p for p in cluster.ports if p != victim["port"])
        kill_time = time.monotonic()
        os.kill(cluster.pid(victim["port"]), signal.SIGKILL)
        deadline = kill_time + 60
        while time.monotonic() < deadline:
            if "fail" in next((n["flags"] for n in cluster.nodes(survivor) if n["id"] == victim["id"]), "") \
                    and cluster.healthy(survivor):
                break
            time.sleep(0.1)  # poll interval
        promoted = time.monotonic()
        assert cluster.healthy(survivor), "no replica took over within 60 s"
        time.sleep(4)  # load after the failover
        stop = time.monotonic()

    # Every acknowledged increment and session survived.
    lost_increments = 0
    lost_sessions = 0
    for browser in browsers:
        me = browser.client.get("/api/me")
        if me.status != 200 or me.json()["user"] != browser.user:
            lost_sessions += 1
            continue
        count = browser.client.get("/api/counter").json()["count"]
        lost_increments += max(0, browser.acknowledged - count)

    # Each user's sessions are listed together, then revoked together.
    unlisted = 0
    revoked_count = 0
    survived_revoke = 0
    for user in sorted({b.user for b in browsers}):
        own = [b for b in browsers if b.user == user]
        listed = own[0].client.get("/api/sessions")
        assert listed.status == 200, listed
        handles = listed.json()["sessions"]
        unlisted += max(0, len(own) - len(handles))
        revoked = own[0].client.post("/api/sessions/revoke-others", headers={"X-CSRF-Token": own[0].token})
        assert revoked.status == 200, revoked
        revoked_count += revoked.json()["revoked"]
        for other in own[1:]:
            if other.client.get("/api/me").json()["user"] is not None:
                survived_revoke += 1

    after_reshard_ok = next((e for s, e, status in sorted(load.events) if s > reshard_end and status == 200), None)
    first_ok_after_kill = next((s for s, e, status in sorted(load.events) if s > kill_time and status == 200), None)
    figures = {
        "browsers": BROWSERS,
        "users": USERS,
        "total": load.window(0, float("inf")),
        "reshard": {"slots_moved": moved, "seconds": round(reshard_end - reshard_start, 2),
                    **load.window(reshard_start, reshard_end)},
        "master_kill": {"seconds_until_replica_promoted": round(promoted - kill_time, 2),
                        **load.window(kill_time, promoted),
                        "seconds_until_first_success": round((first_ok_after_kill or stop) - kill_time, 2)},
        "after": load.window(promoted, stop),
        "lost_increments": lost_increments,
        "lost_sessions": lost_sessions,
        "sessions_missing_from_listing": unlisted,
        "revoked_by_revoke_others": revoked_count,
        "sessions_surviving_revoke_others": survived_revoke,
    }
    record("redis-cluster", **figures)
    print("\n[redis-cluster] " + json.dumps(figures, indent=2))
    bad_statuses = {k for b in browsers for k in b.statuses if k not in (200, 503)}
    assert lost_sessions == 0
    assert lost_increments == 0
    assert unlisted == 0
    assert survived_revoke == 0
    assert not bad_statuses, f"failed requests must be 503, got {bad_statuses}"
    assert after_reshard_ok is not None
