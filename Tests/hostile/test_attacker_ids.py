"""Attacker-chosen session ids (issue 9): syntactically valid tokens (43
base64url characters) that the server never issued. None is adopted, none
shows session data, and none causes a store write."""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import ATTACKER_IDS, SESSION_COOKIE, Closed, Connection, Demo, build_request, record

THREADS = 4
# Read routes only: their answer for "no session" is fixed, and none may write.
ROUTES = {
    "/api/me": b'{"user":null}',
    "/api/counter": b'{"count":0}',
    "/api/values/secret": b'{"value":null}',
    "/api/flash": b'{"success":null}',
}
WRITES = [f'sessionkit_store_operation_duration_count{{operation="{operation}",store="sqlite"}}'
          for operation in ("save", "touch", "delete")]
LOADS = 'sessionkit_store_operation_duration_count{operation="load",store="sqlite"}'


def attacker_id() -> str:
    """43 canonical base64url characters: 32 random bytes, as a real token looks."""
    return secrets.token_urlsafe(32)


def test_attacker_chosen_ids_are_never_adopted(demo: Demo, seeds) -> None:
    """10,000 never-issued ids on keep-alive connections: every answer is "no
    session", no Set-Cookie echoes an id, the store gets a load each and not one
    save, touch or delete, and the SQLite table keeps its row count."""
    assert demo.session_rows() > 0  # the seeded sessions: the row count below means something
    ids = [attacker_id() for _ in range(ATTACKER_IDS)]
    assert all(len(token) == 43 for token in ids)
    paths = list(ROUTES)
    before = demo.metrics()
    rows_before = demo.session_rows()
    problems: list[str] = []
    lock = threading.Lock()

    def worker(part: list[str], offset: int) -> int:
        done = 0
        connection = Connection(demo.port)
        try:
            for number, token in enumerate(part):
                path = paths[(offset + number) % len(paths)]
                request = build_request("GET", path, [("Cookie", f"{SESSION_COOKIE}={token}")])
                try:
                    response = connection.exchange(request)
                except Closed:
                    connection.close()
                    connection = Connection(demo.port)
                    response = connection.exchange(request)
                done += 1
                if (response.status != 200 or response.body != ROUTES[path] or response.header("Set-Cookie")
                        or token.encode() in response.raw):
                    with lock:
                        problems.append(f"{path}: {response.status} {response.headers} {response.body[:100]!r}")
        finally:
            connection.close()
        return done

    started = time.monotonic()
    chunk = (len(ids) + THREADS - 1) // THREADS
    with ThreadPoolExecutor(THREADS) as pool:
        sent = sum(pool.map(worker, [ids[i:i + chunk] for i in range(0, len(ids), chunk)],
                            range(0, len(ids), chunk)))
    seconds = time.monotonic() - started
    after = demo.metrics()
    rows_after = demo.session_rows()

    writes = {name.split('operation="')[1].split('"')[0]: after.get(name, 0) - before.get(name, 0) for name in WRITES}
    created = after.get("sessionkit_sessions_created_total", 0) - before.get("sessionkit_sessions_created_total", 0)
    loaded = after.get("sessionkit_sessions_loaded_total", 0) - before.get("sessionkit_sessions_loaded_total", 0)
    loads = after.get(LOADS, 0) - before.get(LOADS, 0)
    record(f"{demo.name}.attacker_ids", ids=sent, seconds=round(seconds, 2),
           requests_per_second=round(sent / seconds), adopted=len(problems), sessions_loaded=int(loaded),
           sessions_created=int(created), store_loads=int(loads), store_writes=int(sum(writes.values())),
           store_writes_by_operation={k: int(v) for k, v in writes.items()},
           sqlite_rows_before=rows_before, sqlite_rows_after=rows_after)
    assert not problems, "\n".join(problems[:20])
    assert sent == len(ids)
    assert loaded == 0 and created == 0, f"loaded {loaded}, created {created}"
    assert sum(writes.values()) == 0, f"store writes caused by unknown ids: {writes}"
    assert loads == len(ids), f"{loads} store loads for {len(ids)} ids: the ids did not all reach the store"
    assert rows_after == rows_before, f"SQLite rows {rows_before} -> {rows_after}"
