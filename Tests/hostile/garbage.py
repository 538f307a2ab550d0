"""Hostile requests, generated from seeds: each one is a pure function of
(seed, index) and of the real tokens it mutates, so a failure is replayed by
its index. Every case embeds a random marker, and names the distinctive bytes
(`needles`) that must never come back in a response."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from urllib.parse import quote_from_bytes

from conftest import SESSION_COOKIE, XSRF_COOKIE, Seed, build_request

SPECIAL = [b";", b"=", b'"', b"\\", b"%", b"\x00", b"%00", b"\r", b" ", b",", b"\t", b"%25", b"%ff", b"\x7f"]
SIZES = [8 * 1024, 64 * 1024, 1024 * 1024]
BASE64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# Routes a garbage request goes to, and the only answers it may get when it does
# not carry a real session: nothing in them may come from an existing session.
READ_ROUTES = {
    "/api/me": b'{"user":null}',
    "/api/counter": b'{"count":0}',
    "/api/values/secret": b'{"value":null}',
    "/api/flash": b'{"success":null}',
}
UNSAFE_ROUTES = [("POST", "/api/counter"), ("POST", "/api/logout"), ("POST", "/api/login"),
                 ("PUT", "/api/values/secret"), ("POST", "/api/sessions/revoke-others"),
                 ("DELETE", "/api/sessions/AAAAAAAAAAAAAAAAAAAAAA"), ("POST", "/counter"), ("POST", "/login")]
OTHER_GETS = ["/api/sessions", "/", "/sessions", "/api/csrf"]


@dataclass
class Case:
    index: int
    kind: str
    method: str
    path: str
    request: bytes
    needles: list[bytes] = field(default_factory=list)
    # True when the request carries a real session cookie intact (the CSRF
    # mutations): it may load that session, but must never pass the CSRF check.
    real_session: bool = False
    # The exact body a 200 must have, when the route's answer is known.
    expected_ok_body: bytes | None = None
    size: int = 0
    # True when the mutation of the CSRF token was another masking of the victim's
    # secret (the same bit flipped in the pad and in the masked half keeps
    # pad XOR (secret XOR pad) equal to the secret): the same token in another form,
    # which passes by design (whoever holds one masking can make any number), so
    # the case sends it with a "!" appended, as it does an unchanged token.
    remasked: bool = False

    @property
    def is_well_formed(self) -> bool:
        return well_formed(self.request, self.kind)


def well_formed(request: bytes, kind: str = "") -> bool:
    """Whether the head is plain HTTP/1.1 a server must parse: no control
    byte but tab outside the CRLF line ends, under 16 KB. A server may close
    the connection on anything else (NIO's parser does, on Vapor)."""
    head = request.split(b"\r\n\r\n", 1)[0]
    if len(head) > 16 * 1024 or kind.startswith("request-line"):
        return False
    return not any(byte < 0x20 and byte != 0x09 or byte == 0x7F for line in head.split(b"\r\n") for byte in line)


def unmasked(token: bytes) -> bytes | None:
    """The secret behind a masked CSRF token (canonical unpadded base64url of
    pad + (secret XOR pad), 64 bytes), as the server reads it; None otherwise."""
    if len(token) != 86 or any(byte not in BASE64URL for byte in token):
        return None
    raw = base64.urlsafe_b64decode(token + b"==")
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != token:
        return None  # non-zero trailing bits: the server's decoder refuses it
    return bytes(a ^ b for a, b in zip(raw[:32], raw[32:]))


def chunks(data: bytes, limit: int) -> list[bytes]:
    """The first `limit` bytes of `data` in pieces of 32. Joined with `~`, they
    keep a token-shaped run out of a path: servers log paths (the CSRF refusal
    names it), and such a run would trip the log scan without being a token."""
    return [data[i:i + 32] for i in range(0, min(len(data), limit), 32)]


def marker(rng: random.Random) -> bytes:
    return b"Zq" + b"%012x" % rng.getrandbits(48) + b"Xj"


def mutate(rng: random.Random, token: bytes, mark: bytes) -> tuple[str, bytes]:
    """One mutation of `token`: (its name, the bytes)."""
    how = rng.choice(["bitflip", "truncate", "repeat", "special", "high", "marker", "size", "shape"])
    data = bytearray(token)
    if how == "bitflip":
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(data))
            data[position] ^= 1 << rng.randrange(8)
        if bytes(data) == token:
            data[0] ^= 1
    elif how == "truncate":
        data = data[: rng.randrange(len(data))]
    elif how == "repeat":
        data = data * rng.choice([2, 3, 10, 100, 1000])
    elif how == "special":
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data) + 1)
            data[position:position] = rng.choice(SPECIAL)
    elif how == "high":
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data) + 1)
            data[position:position] = bytes([rng.randint(0x7F, 0xFF)])
    elif how == "marker":
        data = data[: rng.randrange(len(data))] + mark
    elif how == "size":
        size = rng.choice(SIZES)
        alphabet = rng.choice([BASE64URL, bytes(range(0x21, 0x7F)), bytes(range(0x7F, 0x100)), BASE64URL + b";=%\\\""])
        data = bytearray(bytes(rng.choice(alphabet) for _ in range(64)) * (size // 64))
        at = rng.randrange(len(data) - len(mark))
        data[at:at + len(mark)] = mark
    else:  # shape: a valid-looking base64url token that was never issued
        data = bytearray(bytes(rng.choice(BASE64URL) for _ in range(43)))
    if token in bytes(data) and how != "repeat":
        data[0:1] = b"!"
    return how, bytes(data)


def many_pairs(rng: random.Random, mark: bytes, session_value: bytes) -> bytes:
    """3,000 to 5,000 cookie pairs, the mutated session cookie among them."""
    count = rng.randint(3000, 5000)
    pairs = [b"c%d=%x" % (i, rng.getrandbits(32)) for i in range(count)]
    pairs[rng.randrange(count)] = b"m=" + mark
    pairs.insert(rng.randrange(count), SESSION_COOKIE.encode() + b"=" + session_value)
    return b"; ".join(pairs)


def case(index: int, seed: int, seeds: list[Seed], csrf_victim: Seed) -> Case:
    """The hostile request number `index`."""
    rng = random.Random(f"{seed}:{index}")
    mark = marker(rng)
    victim = rng.choice(seeds)
    kind = rng.choices(
        ["session-cookie", "cookie-pairs", "raw-cookie-header", "duplicate-cookie", "xsrf-cookie",
         "csrf-header", "json-body", "other-headers", "path", "body", "request-line"],
        weights=[30, 4, 8, 6, 6, 10, 5, 10, 8, 8, 5])[0]
    how, mutated = mutate(rng, rng.choice([victim.session_token, victim.csrf_token, victim.xsrf_cookie]).encode(), mark)
    needles = [mark] + ([mutated] if len(mutated) >= 16 else [])
    if rng.random() < 0.5:
        method, path = "GET", rng.choice(list(READ_ROUTES) + OTHER_GETS)
    else:
        method, path = rng.choice(UNSAFE_ROUTES)
    headers: list[tuple[bytes, bytes]] = []
    body: bytes | None = None
    real_session = False
    remasked = False
    session = SESSION_COOKIE.encode()
    target = path.encode()

    if kind == "session-cookie":
        headers.append((b"Cookie", session + b"=" + mutated + rng.choice([b"", b"; m=" + mark])))
    elif kind == "cookie-pairs":
        headers.append((b"Cookie", many_pairs(rng, mark, mutated)))
        how = "pairs"
    elif kind == "raw-cookie-header":
        headers.append((b"Cookie", mutated + b"; " + mark))
    elif kind == "duplicate-cookie":
        # Two Cookie lines, or the session cookie twice in one: both are "no session".
        first = session + b"=" + mutated
        if rng.random() < 0.5:
            headers += [(b"Cookie", first), (b"Cookie", session + b"=" + victim.session_token.encode() + b"x" + mark)]
        else:
            headers.append((b"Cookie", first + b"; " + session + b"=" + mark))
    elif kind == "xsrf-cookie":
        headers.append((b"Cookie", XSRF_COOKIE.encode() + b"=" + mutated + b"; " + session + b"=" + mark))
        headers.append((b"X-XSRF-TOKEN", mutated))
    elif kind == "csrf-header":
        # The victim's real session, with a mutated token: must never pass the CSRF check.
        real_session = True
        method, path = rng.choice(UNSAFE_ROUTES[:4])
        target = path.encode()
        cookies = session + b"=" + csrf_victim.session_token.encode() + b"; " + XSRF_COOKIE.encode() + b"=" + csrf_victim.xsrf_cookie.encode()
        headers.append((b"Cookie", cookies))
        token = csrf_victim.csrf_token.encode()
        _, mutated = mutate(rng, token, mark)
        remasked = mutated != token and unmasked(mutated) == unmasked(token)
        if mutated == token or remasked:
            # Not a wrong token: the same one, or another masking of it (see
            # Case.remasked), which would pass and could log the victim out.
            mutated += b"!"
        needles = [mark] + ([mutated] if len(mutated) >= 16 else [])
        name = rng.choice([b"X-CSRF-Token", b"X-XSRF-TOKEN"])
        headers.append((name, mutated))
        if rng.random() < 0.3:
            headers.append((name, mutated + mark))  # duplicated header
        if path.endswith("login"):
            body = b'{"user":"' + mark + b'"}'
            headers.append((b"Content-Type", b"application/json"))
        elif path.startswith("/api/values"):
            body = b'"' + mark + b'"'
            headers.append((b"Content-Type", b"application/json"))
    elif kind == "json-body":
        # Past the CSRF check with the victim's real session and token: the JSON
        # parser gets the garbage, and its error must not quote it.
        real_session = True
        method, path = "PUT", "/api/values/junk"
        target = path.encode()
        headers.append((b"Cookie", session + b"=" + csrf_victim.session_token.encode()))
        headers.append((b"X-CSRF-Token", csrf_victim.csrf_token.encode()))
        headers.append((b"Content-Type", b"application/json"))
        body = rng.choice([mutated + mark, b'"' + mutated + mark, b'{"' + mark + b'":' + mutated + b"}",
                           b"[" * rng.choice([50, 200, 5000]) + mark, b'"\\u' + mark + b'"', mark + b"\x00"])
        how = "json"
    elif kind == "other-headers":
        headers.append((b"Cookie", session + b"=" + mutated))
        # Not Content-Length or Transfer-Encoding: a server waiting for a body it was promised is not a bug.
        for name in rng.sample([b"Origin", b"Sec-Fetch-Site", b"Content-Type", b"User-Agent", b"Referer",
                                b"X-Forwarded-For", b"Accept", b"Host", b"Connection", b"Expect"],
                               rng.randint(1, 4)):
            value = rng.choice([mutated, mark, b"\r" + mark, b"\x00" + mark, mark * 50, b"close, " + mark])
            headers.append((name, value))
            if rng.random() < 0.3:
                headers.append((name, value))
        how = "headers"
    elif kind == "path":
        # A `~` between the pieces (see chunks) and before the marker, which would
        # otherwise extend the last run.
        encoded = b"~".join(quote_from_bytes(piece, safe=b"").encode() for piece in chunks(mutated, 4096))
        target = rng.choice([b"/api/values/", b"/api/sessions/", b"/api/me?x=", b"/api/values/a%2F"]) + encoded + b"~" + mark
        headers.append((b"Cookie", session + b"=" + mark))
        how = "path"
    elif kind == "body":
        method, path = rng.choice([("POST", "/api/login"), ("PUT", "/api/values/secret"), ("POST", "/login"),
                                   ("POST", "/counter")])
        target = path.encode()
        headers.append((b"Cookie", session + b"=" + mutated))
        headers.append((b"Content-Type", rng.choice([b"application/json", b"application/x-www-form-urlencoded",
                                                     b"multipart/form-data; boundary=" + mark, mutated[:200]])))
        body = rng.choice([b'{"user":"' + mutated + b'"}', b"_token=" + mutated + b"&user=" + mark,
                           mutated + mark, b"[" * 10_000 + mark])
    else:  # request-line
        method = rng.choice(["GET", "G\x00T", "POST\r", "GET /api/me", "\xff\xfe", "PATCH", "DELETE"])
        target = rng.choice([b"/api/me" + mark, b"/" + b"~".join(chunks(mutated, 2048)), b"*", b"//" + mark, b"/api/me HTTP/1.0\r\nX: " + mark])
        headers.append((b"Cookie", session + b"=" + mutated[:1024]))
        how = "request-line"

    if kind in ("path", "request-line"):
        path = "(garbage target)"
    expected = READ_ROUTES.get(path) if method == "GET" else None
    request = build_request(method, target, headers, body)
    return Case(index, f"{kind}/{how}", method, path, request, needles, real_session, expected, len(request), remasked)
