"""The demos on the network stores, with real servers: an outage of the store
(503 naming it, no hang, no crash, recovery with the same session once the
server is back, without restarting the app) and several app servers sharing
one store (a login, a logout and a counter seen through both). Each test runs
on Redis and again on PostgreSQL, with session-demo (Hummingbird) and
session-demo-vapor (Vapor) side by side on the same server.

Run with `scripts/integration-test`; it prints the measured latencies and
recovery times, and writes them to .build/integration-summary.json."""

from __future__ import annotations

import os
import threading
import time

import pytest

from conftest import STORE_TIMEOUT_MS, Client, Demo, record, start_demo

STORES = ["redis", "postgres"]
SESSION_COOKIE = "__Host-sessionkit"
# Every request must be answered within the store timeout plus this slack.
LATENCY_SLACK = 1.0
RECOVERY_DEADLINE = 90.0  # seconds from the server's restart to the first 200
# The store stays down at least this long, under traffic, so that the clients'
# reconnection back-off has grown when the server returns.
OUTAGE_SECONDS = float(os.environ.get("INTEGRATION_OUTAGE_SECONDS", "10"))


def assert_unavailable(response, store: str, what: str) -> None:
    assert response.status == 503, f"{what}: {response}"
    assert store in response.body, f"{what}: the 503 body does not name {store}: {response.body!r}"
    limit = STORE_TIMEOUT_MS / 1000 + LATENCY_SLACK
    assert response.seconds <= limit, f"{what}: answered after {response.seconds:.2f}s, more than {limit}s"


@pytest.mark.parametrize("store", STORES)
def test_outage_answers_503_naming_the_store_and_recovers_the_same_session(store, server, demos, workdir) -> None:
    demos.append(start_demo("session-demo", server, workdir))
    demos.append(start_demo("session-demo-vapor", server, workdir))
    browsers: list[tuple[Demo, Client, str, str]] = []
    for demo in demos:
        client = demo.client()
        user = f"alice-{demo.name}"
        client.login(user)
        token = client.csrf_token()
        assert client.post("/api/counter", headers={"X-CSRF-Token": token}).json() == {"count": 1}
        assert client.me() == user
        browsers.append((demo, client, user, token))
    sessions_before = [client.cookies[SESSION_COOKIE] for _, client, _, _ in browsers]

    server.crash()
    outage_started = time.monotonic()

    latencies: list[float] = []
    for demo, client, user, token in browsers:
        for attempt in range(3):
            for what, response in [
                ("GET /api/me", client.get("/api/me")),
                ("GET /api/csrf", client.get("/api/csrf")),
                ("POST /api/counter", client.post("/api/counter", headers={"X-CSRF-Token": token})),
            ]:
                assert_unavailable(response, store, f"{demo!r} {what} #{attempt}")
                latencies.append(response.seconds)
        # A request without a session cookie needs no store.
        anonymous = demo.client().get("/api/me")
        assert anonymous.status == 200 and anonymous.json() == {"user": None}, anonymous

    # Many requests at once: none waits past the timeout.
    concurrent: list = []
    lock = threading.Lock()

    def hit(demo: Demo, client: Client) -> None:
        response = Client(demo.base, dict(client.cookies)).get("/api/me")
        with lock:
            concurrent.append((demo, response))

    threads = [threading.Thread(target=hit, args=(demo, client)) for demo, client, _, _ in browsers for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for demo, response in concurrent:
        assert_unavailable(response, store, f"{demo!r} concurrent GET /api/me")
        latencies.append(response.seconds)

    # Traffic for the rest of the outage, one request after another.
    while time.monotonic() - outage_started < OUTAGE_SECONDS:
        for demo, client, _, _ in browsers:
            response = client.get("/api/me")
            assert_unavailable(response, store, f"{demo!r} GET /api/me during the outage")
            latencies.append(response.seconds)
        time.sleep(0.1)  # pacing of the traffic, not a wait for something to happen

    for demo in demos:
        assert demo.is_alive(), f"{demo!r} exited during the outage; log:\n{demo.log()}"
    assert [client.cookies.get(SESSION_COOKIE) for _, client, _, _ in browsers] == sessions_before, "a 503 changed the session cookie"
    outage_seconds = time.monotonic() - outage_started

    restart_began = time.monotonic()
    server.start()
    server_ready = time.monotonic()
    recovery: dict[str, float] = {}
    for demo, client, user, token in browsers:
        deadline = restart_began + RECOVERY_DEADLINE
        while True:
            response = client.get("/api/me")
            if response.status == 200:
                break
            assert response.status == 503, response
            assert time.monotonic() < deadline, f"{demo!r} still answers 503 {RECOVERY_DEADLINE}s after the restart"
            time.sleep(0.05)  # poll interval, not a wait for something to happen
        recovery[demo.name] = time.monotonic() - restart_began
        assert response.json() == {"user": user}, response
        # The same session: its counter went on from where it was, with the same token.
        assert client.post("/api/counter", headers={"X-CSRF-Token": token}).json() == {"count": 2}
    # The XSRF-TOKEN cookie may be re-masked when the session is touched; the session id stays.
    assert [client.cookies.get(SESSION_COOKIE) for _, client, _, _ in browsers] == sessions_before, "the session changed"
    for demo in demos:
        assert demo.is_alive(), f"{demo!r} exited after the outage; log:\n{demo.log()}"

    record(
        f"outage[{store}]",
        store_timeout_ms=STORE_TIMEOUT_MS,
        outage_s=round(outage_seconds, 2),
        requests_503=len(latencies),
        max_503_latency_ms=round(max(latencies) * 1000),
        median_503_latency_ms=round(sorted(latencies)[len(latencies) // 2] * 1000),
        server_start_s=round(server_ready - restart_began, 3),
        # From the restart command to the demo's first 200 (the server's own start included).
        **{f"recovery_{name}_s": round(seconds, 3) for name, seconds in recovery.items()},
    )


@pytest.mark.parametrize("store", STORES)
def test_two_app_servers_share_login_logout_and_counter(store, server, demos, workdir) -> None:
    first = start_demo("session-demo", server, workdir)
    demos.append(first)
    second = start_demo("session-demo-vapor", server, workdir)
    demos.append(second)

    # Log in through the first; the second sees the user.
    through_first = first.client()
    through_first.login("bob")
    through_second = through_first.at(second)
    assert through_second.me() == "bob"
    assert through_first.me() == "bob"

    # Log out through the second; the first no longer sees the user.
    logout = through_second.post("/api/logout", headers={"X-CSRF-Token": through_second.csrf_token()})
    assert logout.status == 200, logout
    assert through_first.me() is None
    assert through_second.me() is None

    # A counter incremented through both, alternately, counts every increment.
    browser = first.client()
    token = browser.csrf_token()
    for count in range(1, 21):
        target = browser if count % 2 else browser.at(second)
        response = target.post("/api/counter", headers={"X-CSRF-Token": token})
        assert response.status == 200, response
        assert response.json() == {"count": count}, f"increment {count} through {target.base}"
    assert browser.get("/api/counter").json() == {"count": 20}
    assert browser.at(second).get("/api/counter").json() == {"count": 20}

    # And at the same time, through both: compare-and-swap across processes loses nothing.
    failures: list = []

    def increment(client: Client, times: int) -> None:
        for _ in range(times):
            response = Client(client.base, dict(client.cookies)).post("/api/counter", headers={"X-CSRF-Token": token})
            if response.status != 200:
                failures.append(response)

    threads = [threading.Thread(target=increment, args=(target, 25))
               for target in (browser, browser.at(second), browser, browser.at(second))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert browser.get("/api/counter").json() == {"count": 120}
    assert browser.at(second).get("/api/counter").json() == {"count": 120}
    record(f"shared[{store}]", concurrent_increments=100, concurrent_seconds=round(time.monotonic() - started, 2))
