"""One suite of end-to-end checks of the demos' JSON API, run against
session-demo (Hummingbird) and session-demo-vapor (Vapor), each on the memory
and the file store. Both demos must give the same statuses and bodies."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import threading

import pytest

from conftest import DEMOS, Client, Demo, Response, demo_environment

SESSION_COOKIE = "__Host-sessionkit"
XSRF_COOKIE = "XSRF-TOKEN"
JSON = {"Content-Type": "application/json"}


def csrf_token(client: Client) -> str:
    response = client.get("/api/csrf")
    assert response.status == 200, response
    return json.loads(response.body)["token"]


def json_with(token: str) -> dict[str, str]:
    return {**JSON, "X-CSRF-Token": token}


def login(client: Client, user: str = "alice", user_agent: str | None = None) -> None:
    headers = json_with(csrf_token(client))
    if user_agent is not None:
        headers["User-Agent"] = user_agent
    response = client.post("/api/login", body=json.dumps({"user": user}), headers=headers)
    assert response.status == 200, response


# Lazy sessions


def test_me_is_null_and_sets_no_cookie_without_a_session(demo: Demo) -> None:
    response = demo.client().get("/api/me")

    assert response.status == 200
    assert response.body == '{"user":null}'
    assert response.header("Content-Type") == ["application/json; charset=utf-8"]
    assert response.header("Set-Cookie") == []


def test_csrf_starts_the_session_with_both_cookies(demo: Demo) -> None:
    client = demo.client()
    response = client.get("/api/csrf")

    assert response.status == 200
    assert len(json.loads(response.body)["token"]) == 86
    cookies = {cookie.name: cookie for cookie in response.set_cookies}
    assert set(cookies) == {SESSION_COOKIE, XSRF_COOKIE}
    session = cookies[SESSION_COOKIE]
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} <= set(session.attributes)
    assert "HttpOnly" not in cookies[XSRF_COOKIE].attributes
    assert response.header("Vary") == ["Cookie"]
    assert response.header("Cache-Control") == ['private, no-cache="Set-Cookie"']

    again = client.get("/api/me")
    assert again.body == '{"user":null}'
    assert again.header("Set-Cookie") == []


# Login, flash, logout


def test_me_of_a_signed_in_user_is_private_to_caches(demo: Demo) -> None:
    """A shared cache must not hand one user's /api/me to another (security review, item 5)."""
    client = demo.client()
    login(client)

    response = client.get("/api/me")

    assert json.loads(response.body)["user"] == "alice"
    assert response.set_cookies == []
    assert response.header("Vary") == ["Cookie"]
    assert response.header("Cache-Control") == ["private"]


def test_login_then_me_then_flash_once(demo: Demo) -> None:
    client = demo.client()
    token = csrf_token(client)
    anonymous = client.cookies[SESSION_COOKIE]

    response = client.post("/api/login", body='{"user":"alice"}', headers=json_with(token))

    assert response.status == 200
    assert response.body == '{"ok":true}'
    assert client.cookies[SESSION_COOKIE] != anonymous  # regenerated
    assert client.get("/api/flash").body == '{"success":"Welcome, alice"}'
    assert client.get("/api/flash").body == '{"success":null}'
    assert client.get("/api/me").body == '{"user":"alice"}'


def test_cookie_from_before_login_is_dead(demo: Demo) -> None:
    client = demo.client()
    token = csrf_token(client)
    before = client.copy()

    client.post("/api/login", body='{"user":"alice"}', headers=json_with(token))

    assert before.get("/api/me").body == '{"user":null}'
    assert client.get("/api/me").body == '{"user":"alice"}'


def test_logout_forgets_the_user(demo: Demo) -> None:
    client = demo.client()
    login(client)

    response = client.post("/api/logout", headers={"X-CSRF-Token": csrf_token(client)})

    assert response.status == 200
    assert response.body == '{"ok":true}'
    assert client.get("/api/me").body == '{"user":null}'


def test_cookie_replayed_after_logout_is_no_session(demo: Demo) -> None:
    """Session replay: a cookie (and token) copied before logout is worthless after it."""
    client = demo.client()
    login(client)
    token = csrf_token(client)
    stolen = client.copy()

    assert client.post("/api/logout", headers={"X-CSRF-Token": token}).status == 200

    me = stolen.get("/api/me")
    assert me.body == '{"user":null}'
    assert all(cookie.is_removal for cookie in me.set_cookies)
    counter = stolen.post("/api/counter", headers={"X-CSRF-Token": token})
    assert counter.status == 403


@pytest.mark.parametrize("body", ['{}', '{"user":5}', '{"user":""}', '["alice"]', '{"user":"' + "x" * 65 + '"}'])
def test_login_with_a_bad_body_is_bad_request(demo: Demo, body: str) -> None:
    client = demo.client()

    response = client.post("/api/login", body=body, headers=json_with(csrf_token(client)))

    assert response.status == 400
    assert response.body == '{"error":"body must be {\\"user\\": \\"<1 to 64 characters>\\"}"}'
    assert client.get("/api/me").body == '{"user":null}'


def test_increments_racing_a_login_are_kept_or_refused_never_lost(demo: Demo) -> None:
    """Security review, item 2: sixteen increments and a login at once on one session.
    An increment answered 200 must be in the session the login moved to; one that
    lost the race must say so (409 sessionEnded, or 403 once the old session is
    gone), never answer 200 and vanish."""
    client = demo.client()
    token = csrf_token(client)
    client.post("/api/counter", headers={"X-CSRF-Token": token})
    start = threading.Barrier(17)
    results: list[tuple[str, Response]] = []
    lock = threading.Lock()

    def send(kind: str) -> None:
        own = client.copy()
        start.wait()
        if kind == "login":
            response = own.post("/api/login", body=json.dumps({"user": unique("alice")}), headers=json_with(token))
        else:
            response = own.post("/api/counter", headers={"X-CSRF-Token": token})
        with lock:
            results.append((kind, response))
            if kind == "login":
                client.cookies = own.cookies

    threads = [threading.Thread(target=send, args=("counter",)) for _ in range(16)]
    threads.append(threading.Thread(target=send, args=("login",)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [login] = [response for kind, response in results if kind == "login"]
    assert login.status == 200, login
    counted = [response for kind, response in results if kind == "counter"]
    assert all(response.status in (200, 403, 409) for response in counted), [r.status for r in counted]
    answered = sum(1 for response in counted if response.status == 200)
    assert json.loads(client.get("/api/counter").body)["count"] == 1 + answered


# Counter and values


def test_counter_starts_at_zero_and_post_adds_one(demo: Demo) -> None:
    client = demo.client()
    first = client.get("/api/counter")
    assert first.body == '{"count":0}'
    assert first.header("Set-Cookie") == []

    token = csrf_token(client)
    assert client.post("/api/counter", headers={"X-CSRF-Token": token}).body == '{"count":1}'
    assert client.post("/api/counter", headers={"X-CSRF-Token": token}).body == '{"count":2}'
    assert client.get("/api/counter").body == '{"count":2}'


def test_values_round_trip_exactly_keeping_1_0_apart_from_1(demo: Demo) -> None:
    client = demo.client()
    token = csrf_token(client)
    document = ('{"name":"Zoë 🌍 \\"quoted\\" \\\\ 日本","int":1,"one":1.0,"big":9007199254740993,'
                '"pi":3.25,"flag":true,"none":null,"nested":{"list":[1,2.5,"x",null,false,{"deep":[[]]}],"empty":{}}}')

    put = client.put("/api/values/prefs", body=document, headers=json_with(token))
    assert put.status == 200
    assert put.body == '{"ok":true}'

    get = client.get("/api/values/prefs")
    assert get.status == 200
    assert '"one":1.0' in get.body
    assert '"int":1,' in get.body or '"int":1}' in get.body
    assert '"big":9007199254740993' in get.body
    assert json.loads(get.body)["value"] == json.loads(document)


def test_values_of_an_unknown_key_is_null(demo: Demo) -> None:
    assert demo.client().get("/api/values/missing").body == '{"value":null}'


def test_values_cannot_overwrite_the_user(demo: Demo) -> None:
    client = demo.client()
    login(client)

    client.put("/api/values/user", body='"mallory"', headers=json_with(csrf_token(client)))

    assert client.get("/api/me").body == '{"user":"alice"}'
    assert client.get("/api/values/user").body == '{"value":"mallory"}'


def test_invalid_json_is_bad_request(demo: Demo) -> None:
    client = demo.client()
    token = csrf_token(client)

    response = client.put("/api/values/prefs", body='{"unterminated": [1, 2', headers=json_with(token))

    assert response.status == 400
    assert response.header("Content-Type") == ["application/json; charset=utf-8"]
    assert json.loads(response.body)["error"].startswith("request body is not valid JSON: ")
    assert client.get("/api/values/prefs").body == '{"value":null}'


def test_body_over_64_kib_is_payload_too_large(demo: Demo) -> None:
    client = demo.client()
    token = csrf_token(client)

    exact = client.put("/api/values/big", body='"' + "x" * (64 * 1024 - 2) + '"', headers=json_with(token))
    over = client.put("/api/values/big", body='"' + "x" * (64 * 1024 - 1) + '"', headers=json_with(token))

    assert exact.status == 200
    assert over.status == 413
    assert over.body == '{"error":"request body larger than 65536 bytes"}'


def test_a_session_past_its_size_limit_is_413_and_keeps_what_it_held(demo: Demo) -> None:
    """Security review, item 4: a session is not a cache. Five values of 60 KiB pass the
    demo's 64 KiB body limit one by one, but together exceed maximumSessionSize (256 KiB):
    the write that would cross it is answered 413 and the stored session is unchanged."""
    client = demo.client()
    token = csrf_token(client)
    value = '"' + "x" * (60 * 1024) + '"'
    answers = [client.put(f"/api/values/v{index}", body=value, headers=json_with(token)) for index in range(5)]

    assert [response.status for response in answers[:4]] == [200, 200, 200, 200]
    assert answers[4].status == 413, answers[4]
    assert "session too large" in answers[4].body
    for index in range(4):
        assert client.get(f"/api/values/v{index}").body == '{"value":' + value + "}"
    assert client.get("/api/values/v4").body == '{"value":null}'


# CSRF


def test_post_without_token_is_forbidden(demo: Demo) -> None:
    client = demo.client()
    csrf_token(client)

    response = client.post("/api/counter")

    assert response.status == 403
    assert response.body == "missing CSRF token\n"
    assert response.header("Content-Type") == ["text/plain; charset=utf-8"]
    assert response.header("Cache-Control") == ["no-store"]
    assert response.header("Set-Cookie") == []
    assert client.get("/api/counter").body == '{"count":0}'


def test_refusal_is_json_when_the_client_accepts_json(demo: Demo) -> None:
    client = demo.client()
    csrf_token(client)

    response = client.post("/api/counter", headers={"Accept": "application/json"})

    assert response.status == 403
    assert response.body == '{"error":"missing CSRF token"}'
    assert response.header("Content-Type") == ["application/json; charset=utf-8"]


def test_another_sessions_token_is_a_mismatch(demo: Demo) -> None:
    attacker, victim = demo.client(), demo.client()
    token = csrf_token(attacker)
    csrf_token(victim)

    response = victim.post("/api/counter", headers={"X-CSRF-Token": token})

    assert response.status == 403
    assert response.body == "CSRF token mismatch\n"


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}],
                         ids=["sec-fetch-site", "origin"])
def test_cross_origin_post_is_forbidden_even_with_a_valid_token(demo: Demo, headers: dict[str, str]) -> None:
    client = demo.client()
    token = csrf_token(client)

    response = client.post("/api/counter", headers={"X-CSRF-Token": token, **headers})

    assert response.status == 403
    assert response.body == "cross-origin request refused\n"
    assert client.get("/api/counter").body == '{"count":0}'


def test_same_origin_post_passes(demo: Demo) -> None:
    client = demo.client()
    token = csrf_token(client)
    headers = {"X-CSRF-Token": token, "Origin": demo.base, "Sec-Fetch-Site": "same-origin"}

    assert client.post("/api/counter", headers=headers).body == '{"count":1}'


def test_xsrf_cookie_echoed_in_a_header_passes(demo: Demo) -> None:
    client = demo.client()
    csrf_token(client)

    response = client.post("/api/counter", headers={"X-XSRF-TOKEN": client.cookies[XSRF_COOKIE]})

    assert response.body == '{"count":1}'


def test_form_field_token_passes_and_the_handler_reads_the_form(demo: Demo) -> None:
    client = demo.client()
    token = csrf_token(client)
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    # A body large enough to arrive in several reads, so Vapor streams it (the demo reads at most 64 KiB).
    response = client.post("/login", body=f"_token={token}&user=Bob+Smith&pad=" + "x" * 60_000, headers=form)

    assert response.status == 303
    assert response.header("Location") == ["/"]
    assert client.get("/api/me").body == '{"user":"Bob Smith"}'


def test_form_without_token_is_forbidden(demo: Demo) -> None:
    client = demo.client()
    csrf_token(client)

    response = client.post("/login", body="user=mallory", headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.status == 403
    assert response.body == "missing CSRF token\n"


# Bad cookies


@pytest.mark.parametrize("kind", ["garbage", "oversized", "repeated", "unknown"])
def test_bad_cookie_is_no_session_and_never_a_server_error(demo: Demo, kind: str) -> None:
    client = demo.client()
    token = csrf_token(client)
    client.post("/api/counter", headers={"X-CSRF-Token": token})
    real = client.cookies[SESSION_COOKIE]
    header = {
        "garbage": f'=; ;;; {SESSION_COOKIE}=%00<script>!!==; other="; {SESSION_COOKIE}x={real}',
        "oversized": f"{SESSION_COOKIE}={real}{'A' * 5000}",
        "repeated": f"{SESSION_COOKIE}={real}; {SESSION_COOKIE}={real}",
        "unknown": f"{SESSION_COOKIE}={'A' * 43}",
    }[kind]

    response = client.get("/api/counter", cookie_header=header)

    assert response.status == 200
    assert response.body == '{"count":0}'
    assert all(cookie.is_removal for cookie in response.set_cookies)
    assert client.get("/api/counter").body == '{"count":1}'


# Log out other devices
#
# The demo process lives for the whole module, so each test signs in under its own
# user names: every test sees only the sessions it made.


def unique(name: str) -> str:
    return f"{name}-{secrets.token_hex(4)}"


def me(client: Client) -> str | None:
    return json.loads(client.get("/api/me").body)["user"]


def sessions(client: Client) -> list[dict]:
    response = client.get("/api/sessions")
    assert response.status == 200, response
    assert response.header("Content-Type") == ["application/json; charset=utf-8"]
    return json.loads(response.body)["sessions"]


def own_handle(client: Client) -> str:
    return next(entry["handle"] for entry in sessions(client) if entry["current"])


def delete(client: Client, path: str, token: str | None = None) -> Response:
    return client.request("DELETE", path, headers={"X-CSRF-Token": token} if token else {})


ISO_8601 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
UNKNOWN_HANDLE = "AAAAAAAAAAAAAAAAAAAAAA"


def test_sessions_lists_both_devices_and_marks_this_one(demo: Demo) -> None:
    user = unique("alice")
    laptop, phone, other = demo.client(), demo.client(), demo.client()
    login(laptop, user, "Laptop/1.0")
    login(phone, user, "Phone/2.0")
    login(other, unique("bob"), "Bob/1.0")

    listed = sessions(laptop)

    assert len(listed) == 2
    assert all(set(entry) == {"handle", "current", "createdAt", "lastSeenAt", "userAgent"} for entry in listed)
    assert [entry["userAgent"] for entry in listed if entry["current"]] == ["Laptop/1.0"]
    assert {entry["userAgent"] for entry in listed} == {"Laptop/1.0", "Phone/2.0"}
    assert all(ISO_8601.fullmatch(entry["createdAt"]) and ISO_8601.fullmatch(entry["lastSeenAt"]) for entry in listed)
    assert all(entry["createdAt"] <= entry["lastSeenAt"] for entry in listed)
    # The handles are opaque: no cookie value shows in the list.
    text = laptop.get("/api/sessions").body
    assert laptop.cookies[SESSION_COOKIE] not in text and phone.cookies[SESSION_COOKIE] not in text


def test_deleting_the_other_device_signs_it_out(demo: Demo) -> None:
    user = unique("alice")
    laptop, phone = demo.client(), demo.client()
    login(laptop, user)
    login(phone, user)
    handle = own_handle(phone)

    response = delete(laptop, f"/api/sessions/{handle}", csrf_token(laptop))

    assert response.status == 200
    assert response.body == '{"ok":true}'
    assert me(phone) is None
    assert me(laptop) == user
    assert [entry["current"] for entry in sessions(laptop)] == [True]


def test_deleting_this_devices_own_handle_signs_it_out(demo: Demo) -> None:
    user = unique("alice")
    laptop, phone = demo.client(), demo.client()
    login(laptop, user)
    login(phone, user)

    response = delete(laptop, f"/api/sessions/{own_handle(laptop)}", csrf_token(laptop))

    assert response.body == '{"ok":true}'
    assert me(laptop) is None
    assert me(phone) == user


def test_revoke_others_signs_out_every_other_device_of_the_user_only(demo: Demo) -> None:
    user, other_user = unique("alice"), unique("bob")
    laptop, phone, tablet, other = demo.client(), demo.client(), demo.client(), demo.client()
    for client in (laptop, phone, tablet):
        login(client, user)
    login(other, other_user)

    response = laptop.post("/api/sessions/revoke-others", headers={"X-CSRF-Token": csrf_token(laptop)})

    assert response.status == 200
    assert json.loads(response.body) == {"ok": True, "revoked": 2}
    assert me(phone) is None
    assert me(tablet) is None
    assert me(laptop) == user
    assert me(other) == other_user
    assert len(sessions(laptop)) == 1


def test_another_users_handle_is_not_found(demo: Demo) -> None:
    """Insecure direct object reference: another user's handle signs nobody out."""
    attacker, victim = demo.client(), demo.client()
    login(attacker, unique("mallory"))
    victim_user = unique("alice")
    login(victim, victim_user)

    response = delete(attacker, f"/api/sessions/{own_handle(victim)}", csrf_token(attacker))

    assert response.status == 404
    assert response.body == '{"error":"no such session"}'
    assert me(victim) == victim_user
    assert delete(attacker, f"/api/sessions/{UNKNOWN_HANDLE}", csrf_token(attacker)).status == 404


def test_session_routes_need_a_signed_in_user(demo: Demo) -> None:
    client = demo.client()
    listed = client.get("/api/sessions")
    assert listed.status == 401
    assert listed.body == '{"error":"not signed in"}'

    token = csrf_token(client)
    assert delete(client, f"/api/sessions/{UNKNOWN_HANDLE}", token).status == 401
    assert client.post("/api/sessions/revoke-others", headers={"X-CSRF-Token": token}).status == 401


def test_revoking_without_a_csrf_token_is_forbidden(demo: Demo) -> None:
    user = unique("alice")
    laptop, phone = demo.client(), demo.client()
    login(laptop, user)
    login(phone, user)

    assert delete(laptop, f"/api/sessions/{own_handle(phone)}").status == 403
    assert laptop.post("/api/sessions/revoke-others").status == 403
    assert me(phone) == user


def test_sessions_page_escapes_a_tag_hidden_in_a_grapheme_cluster(demo: Demo) -> None:
    """Stored XSS through the User-Agent (security review, item 6): U+0600 before `<`
    forms one grapheme cluster with it, so an escape over Characters let the tag through."""
    user = unique("alice")
    attack = "\u0600<img src=x onerror=alert(1)>"
    client = demo.client()
    # urllib sends header values as latin-1: these are the attack's UTF-8 bytes on the wire.
    login(client, user, attack.encode("utf-8").decode("latin-1"))

    page = client.get("/sessions")

    assert page.status == 200
    assert "<img" not in page.body
    assert "\u0600&lt;img src=x onerror=alert(1)&gt;" in page.body
    [policy] = page.header("Content-Security-Policy")
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy
    assert "'unsafe-inline'" not in policy


def test_sessions_page_form_signs_a_device_out(demo: Demo) -> None:
    user = unique("alice")
    laptop, phone = demo.client(), demo.client()
    login(laptop, user, "Laptop/1.0")
    login(phone, user, "Phone/2.0")
    handle = own_handle(phone)

    page = laptop.get("/sessions")
    assert page.status == 200
    assert f'<tr class="session" data-handle="{handle}"><td class="device">Phone/2.0</td>' in page.body
    assert page.body.count('<tr class="session current"') == 1
    token = re.search(r'name="_token" value="([^"]+)"', page.body).group(1)

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = laptop.post("/sessions/revoke", body=f"_token={token}&handle={handle}", headers=form)

    assert response.status == 303
    assert response.header("Location") == ["/sessions"]
    assert me(phone) is None
    after = laptop.get("/sessions").body
    assert "That device is signed out." in after
    assert after.count('<tr class="session') == 1


# Start-up


@pytest.mark.parametrize("name", list(DEMOS))
@pytest.mark.parametrize("variable,settings", [
    ("PORT", {"PORT": "abc"}),
    ("SESSION_STORE", {"SESSION_STORE": "mongo"}),
    ("CSRF_MODE", {"CSRF_MODE": "off"}),
    ("SESSION_IDLE_TIMEOUT", {"SESSION_IDLE_TIMEOUT": "0"}),
    ("LOG_LEVEL", {"LOG_LEVEL": "loud"}),
    ("SESSION_FILE_PATH", {"SESSION_STORE": "file", "SESSION_FILE_PATH": "/proc/sessionkit-e2e"}),
])
def test_invalid_variable_exits_1_naming_it(name: str, variable: str, settings: dict[str, str], tmp_path) -> None:
    env = demo_environment(**{"HOST": "127.0.0.1", "PORT": "0", "SESSION_STORE": "memory", **settings})

    result = subprocess.run([DEMOS[name]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1, result.stderr
    assert variable in result.stderr


# The two demos side by side


def transcript(client: Client) -> list[tuple]:
    """A fixed conversation with a demo, reduced to what both demos must agree on."""
    steps: list[Response] = []
    steps.append(client.get("/api/me"))
    steps.append(client.get("/api/csrf"))
    token = json.loads(steps[-1].body)["token"]
    steps.append(client.post("/api/counter"))
    steps.append(client.post("/api/counter", headers={"Accept": "application/json"}))
    steps.append(client.post("/api/counter", headers={"X-CSRF-Token": token}))
    steps.append(client.post("/api/counter", headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"}))
    steps.append(client.post("/api/login", body='{"user":""}', headers=json_with(token)))
    steps.append(client.post("/api/login", body="user=alice", headers=json_with(token)))
    steps.append(client.post("/api/login", body='{"user":"alice"}', headers=json_with(token)))
    steps.append(client.get("/api/flash"))
    steps.append(client.get("/api/flash"))
    token = csrf_token(client)
    steps.append(client.put("/api/values/doc", body='{"one":1.0,"n":1,"s":"é"}', headers=json_with(token)))
    steps.append(client.put("/api/values/doc", body="{", headers=json_with(token)))
    steps.append(client.get("/api/values/doc"))
    steps.append(client.get("/"))
    steps.append(client.post("/counter", body=f"_token={token}", headers={"Content-Type": "application/x-www-form-urlencoded"}))
    steps.append(client.get("/api/sessions"))
    steps.append(client.request("DELETE", "/api/sessions/AAAAAAAAAAAAAAAAAAAAAA", headers={"X-CSRF-Token": token}))
    steps.append(client.request("DELETE", "/api/sessions/AAAAAAAAAAAAAAAAAAAAAA"))
    steps.append(client.post("/api/sessions/revoke-others", headers={"X-CSRF-Token": token}))
    steps.append(client.get("/sessions"))
    steps.append(client.post("/api/logout", headers={"X-CSRF-Token": token}))
    steps.append(client.get("/api/me"))
    steps.append(client.get("/api/sessions"))
    steps.append(client.get("/sessions"))
    return [normalized(step) for step in steps]


def normalized(response: Response) -> tuple:
    def mask(text: str) -> str:
        # Masked CSRF tokens (86 characters) differ on every response.
        text = re.sub(r"[A-Za-z0-9_-]{86}", "<csrf>", text)
        # Session handles and times differ between processes too.
        text = re.sub(r'("handle":"|data-handle="|name="handle" value=")[A-Za-z0-9_-]+', r"\1<handle>", text)
        text = re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\dZ", "<time>", text)
        if not any("json" in value for value in response.header("Content-Type")):
            return text
        # Object members come in dictionary order, which differs between processes: compare
        # the documents, keeping 1.0 apart from 1 (Python alone would call them equal).
        document = json.loads(text, parse_float=lambda number: {"<double>": number})
        return json.dumps(document, sort_keys=True, ensure_ascii=False)

    cookies = [(c.name, bool(c.value) and not c.is_removal,
                [a for a in c.attributes if not a.lower().startswith("expires=")]) for c in response.set_cookies]
    return (response.status, response.header("Content-Type"), response.header("Location"),
            response.header("Cache-Control"), response.header("Vary"), cookies, mask(response.body))


def sign_alice_out_everywhere(client: Client) -> None:
    """Ends alice's other sessions. On a store the demos share (E2E_STORES=redis), the
    earlier tests' and the other demo's sessions of alice are there too, and the
    transcript lists alice's sessions."""
    login(client)
    response = client.post("/api/sessions/revoke-others", headers={"X-CSRF-Token": csrf_token(client)})
    assert response.status == 200, response
    response = client.post("/api/logout", headers={"X-CSRF-Token": csrf_token(client)})
    assert response.status in (200, 303), response


def test_both_demos_answer_identically(demo_pair: tuple[Demo, Demo]) -> None:
    hummingbird, vapor = demo_pair

    sign_alice_out_everywhere(hummingbird.client())
    expected = transcript(hummingbird.client())
    sign_alice_out_everywhere(vapor.client())
    actual = transcript(vapor.client())

    for index, (left, right) in enumerate(zip(expected, actual)):
        assert left == right, f"step {index}: session-demo {left} != session-demo-vapor {right}"
    assert len(expected) == len(actual)
