"""Drives a consumer app over real HTTP: CSRF token, login, a refused and an accepted
CSRF-protected POST, and the session read back. Exits non-zero with the reason."""
import http.client
import sys
import time

port = int(sys.argv[1])
jar = {}


def send(method, path, body=None, token=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Origin": f"http://127.0.0.1:{port}"}
    if jar:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
    if token is not None:
        headers["X-CSRF-Token"] = token
    if body is not None:
        headers["Content-Type"] = "text/plain"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode()
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            cookie, _, _ = value.partition(";")
            cookie_name, _, cookie_value = cookie.partition("=")
            if cookie_value == "" or "max-age=0" in value.lower():
                jar.pop(cookie_name, None)
            else:
                jar[cookie_name] = cookie_value
    connection.close()
    return response.status, text


def expect(condition, what):
    if not condition:
        sys.exit(f"consumer app on port {port}: {what}")


deadline = time.monotonic() + 120
while True:
    try:
        status, token = send("GET", "/csrf")
        break
    except OSError:
        expect(time.monotonic() < deadline, "did not answer within 120 s")
        time.sleep(0.2)
expect(status == 200 and token, f"GET /csrf answered {status}")
status, token = send("POST", "/login", token=token)
expect(status == 200 and token, f"POST /login with the token answered {status}: {token}")
status, body = send("POST", "/note", body="forged", token="not-the-token")
expect(status == 403, f"POST /note with a wrong token answered {status}, not 403")
status, body = send("POST", "/note", body="hello")
expect(status == 403, f"POST /note without a token answered {status}, not 403")
status, body = send("POST", "/note", body="hello", token=token)
expect(status == 200, f"POST /note with the token answered {status}: {body}")
status, body = send("GET", "/me")
expect(status == 200 and body == "hello", f"GET /me answered {status} {body!r}, not the note")
print(f"consumer app on port {port}: login, CSRF-protected POST and read-back ok")
