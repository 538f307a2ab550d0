"""End-to-end test of the demo app in a real browser (headless Chromium).

Each test runs against the demo with SESSION_STORE=memory and again with
SESSION_STORE=file, in a fresh browser profile; the "Your sessions" tests use two
profiles, two devices of one user. Run with `scripts/browser-test`.
"""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SESSION_COOKIE = "__Host-sessionkit"
XSRF_COOKIE = "XSRF-TOKEN"
WAIT = 15  # seconds for any page transition


# ---------------------------------------------------------------- helpers

def wait(driver, condition, message: str):
    # Driver calls can fail while a navigation is under way; such failures are retried.
    return WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(condition, message)


def wait_loaded(driver) -> None:
    wait(driver, lambda d: d.execute_script("return document.readyState") == "complete", "page did not load")


def mark_page(driver) -> None:
    """Marks the current document, so a wait can tell when another one replaced it."""
    driver.execute_script("window.__sessionkitOldPage = true")


def wait_new_page(driver, what: str) -> None:
    """Waits until the marked document is gone and the new one has loaded
    (driver calls may fail while the navigation is under way: retried)."""
    def replaced(d):
        return d.execute_script("return !window.__sessionkitOldPage && document.readyState === 'complete'")
    wait(driver, replaced, f"{what} did not load a new page")


def click_and_wait(driver, button_id: str) -> None:
    """Clicks a form's submit button and waits for the POST -> 303 -> GET / round trip."""
    mark_page(driver)
    driver.find_element(By.ID, button_id).click()
    wait_new_page(driver, f"clicking #{button_id}")


def click_element_and_wait(driver, element, what: str) -> None:
    """Clicks a form's submit button (found by any means) and waits for the new page."""
    mark_page(driver)
    element.click()
    wait_new_page(driver, what)


def open_home(driver, demo) -> None:
    driver.get(demo.url("/"))
    wait_loaded(driver)
    assert driver.find_element(By.TAG_NAME, "h1").text == "SessionKit demo"


def sign_in(driver, demo, name: str = "alice") -> None:
    open_home(driver, demo)
    driver.find_element(By.ID, "user-input").send_keys(name)
    click_and_wait(driver, "login")
    assert signed_in_user(driver) == name, page_text(driver)


def signed_in_user(driver) -> str | None:
    elements = driver.find_elements(By.CSS_SELECTOR, "#user strong")
    return elements[0].text if elements else None


def flash(driver) -> str | None:
    elements = driver.find_elements(By.ID, "flash-success")
    return elements[0].text if elements else None


def count(driver) -> int:
    return int(driver.find_element(By.ID, "count").text)


def page_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def session_cookie(driver) -> str | None:
    cookie = driver.get_cookie(SESSION_COOKIE)
    return cookie["value"] if cookie else None


def plant_session_cookie(driver, value: str) -> None:
    """Sets the session cookie as an attacker with access to the victim's browser would."""
    driver.delete_cookie(SESSION_COOKIE)
    driver.add_cookie({"name": SESSION_COOKIE, "value": value, "path": "/", "secure": True,
                       "httpOnly": True, "sameSite": "Lax"})
    assert session_cookie(driver) == value, "the browser did not keep the planted cookie"


def api_me_in_browser(driver, demo):
    driver.get(demo.url("/api/me"))
    return json.loads(driver.find_element(By.TAG_NAME, "body").text)


def session_cookie_from(headers) -> str | None:
    """The session cookie's value from a response's Set-Cookie headers."""
    for line in headers.get_all("Set-Cookie") or []:
        name, _, rest = line.partition("=")
        if name.strip() == SESSION_COOKIE:
            return rest.split(";", 1)[0]
    return None


FETCH_COUNTER = """
const [headerName, headerValue, done] = arguments;
const headers = {};
if (headerName === 'from-cookie') {
    const raw = document.cookie.split('; ').find(c => c.startsWith('XSRF-TOKEN='));
    if (!raw) { done({error: 'no XSRF-TOKEN cookie in document.cookie: ' + document.cookie}); return; }
    headers['X-XSRF-TOKEN'] = decodeURIComponent(raw.slice('XSRF-TOKEN='.length));
} else if (headerName) {
    headers[headerName] = headerValue;
}
fetch('/api/counter', {method: 'POST', headers})
    .then(async response => done({status: response.status, body: await response.text()}))
    .catch(error => done({error: String(error)}));
"""


def fetch_counter(driver, header_name: str | None = None, header_value: str | None = None) -> dict:
    result = driver.execute_async_script(FETCH_COUNTER, header_name, header_value)
    assert "error" not in result, result
    return result


# ------------------------------------------------------------------ tests

def test_sign_in_flash_counter_sign_out(driver, demo):
    open_home(driver, demo)
    assert driver.find_elements(By.ID, "login-form")
    assert signed_in_user(driver) is None
    assert count(driver) == 0

    sign_in(driver, demo, "alice")
    assert flash(driver) == "Welcome, alice"
    assert driver.find_element(By.ID, "user").text == "Signed in as alice"
    assert not driver.find_elements(By.ID, "login-form")

    if demo.store == "file":
        assert any(path.is_file() for path in demo.sessions_dir.rglob("*")), "the file store wrote no session file"

    driver.refresh()
    wait_loaded(driver)
    assert flash(driver) is None, "the flash message must show only once"
    assert signed_in_user(driver) == "alice"

    click_and_wait(driver, "increment")
    assert count(driver) == 1
    click_and_wait(driver, "increment")
    assert count(driver) == 2
    assert signed_in_user(driver) == "alice"

    click_and_wait(driver, "logout")
    assert flash(driver) == "You are signed out."
    assert driver.find_elements(By.ID, "login-form")
    assert signed_in_user(driver) is None
    assert count(driver) == 0, "signing out must drop the session's data"


def test_page_fetch_button_increments_counter(driver, demo):
    """The demo page's own script sends X-CSRF-Token read from the XSRF-TOKEN cookie."""
    sign_in(driver, demo)
    driver.refresh()
    wait_loaded(driver)
    assert count(driver) == 0
    for expected in (1, 2):
        driver.find_element(By.ID, "increment-fetch").click()
        wait(driver, lambda d: count(d) == expected, f"the fetch button did not bring the counter to {expected}")
    assert driver.find_element(By.ID, "fetch-status").text == ""
    driver.refresh()
    wait_loaded(driver)
    assert count(driver) == 2, "increments sent with fetch must be saved in the session"


def test_cookie_attributes(driver, demo):
    sign_in(driver, demo)
    cookies = {cookie["name"]: cookie for cookie in driver.get_cookies()}
    assert SESSION_COOKIE in cookies, cookies
    session = cookies[SESSION_COOKIE]
    assert session["httpOnly"] is True
    assert session["secure"] is True
    assert session.get("sameSite") == "Lax"
    assert session["path"] == "/"
    # __Host- cookies are host-only: no Domain attribute, so no leading dot.
    assert session["domain"] == "127.0.0.1"
    assert len(session["value"]) == 43

    xsrf = cookies.get(XSRF_COOKIE)
    assert xsrf is not None, cookies
    assert xsrf["httpOnly"] is False
    assert xsrf["path"] == "/"

    visible = driver.execute_script("return document.cookie")
    assert SESSION_COOKIE not in visible, "the session cookie must be HttpOnly"
    assert "sessionkit" not in visible
    assert f"{XSRF_COOKIE}=" in visible, "the XSRF-TOKEN cookie must be readable by scripts"
    from_js = driver.execute_script(
        "return decodeURIComponent(document.cookie.split('; ')"
        ".find(c => c.startsWith('XSRF-TOKEN=')).slice('XSRF-TOKEN='.length))")
    assert from_js == xsrf["value"]


def test_spa_fetch_with_xsrf_header(driver, demo):
    sign_in(driver, demo)
    before = count(driver)

    first = fetch_counter(driver, "from-cookie")
    assert first["status"] == 200, first
    assert json.loads(first["body"]) == {"count": before + 1}
    second = fetch_counter(driver, "from-cookie")
    assert second["status"] == 200, second
    assert json.loads(second["body"]) == {"count": before + 2}

    missing = fetch_counter(driver)
    assert missing["status"] == 403, missing
    assert missing["body"].strip() == "missing CSRF token"

    forged = fetch_counter(driver, "X-XSRF-TOKEN", "A" * 86)
    assert forged["status"] == 403, forged
    assert forged["body"].strip() == "CSRF token mismatch"

    # The form token from /api/csrf works in the configured header too.
    token = driver.execute_async_script(
        "const done = arguments[0]; fetch('/api/csrf').then(r => r.json()).then(j => done(j.token))")
    by_csrf_header = fetch_counter(driver, "X-CSRF-Token", token)
    assert by_csrf_header["status"] == 200, by_csrf_header
    assert json.loads(by_csrf_header["body"]) == {"count": before + 3}

    driver.refresh()
    wait_loaded(driver)
    assert count(driver) == before + 3, "refused requests must not change the counter"
    assert signed_in_user(driver) == "alice"


def test_cross_origin_form_post_is_refused(driver, demo, attacker):
    sign_in(driver, demo)
    click_and_wait(driver, "increment")
    assert count(driver) == 1
    # A real, valid token, as if the attacker had managed to read it.
    token = driver.find_element(By.CSS_SELECTOR, "form[action='/counter'] input[name='_token']").get_attribute("value")
    assert token

    attacker.pages["/attack"] = f"""<!doctype html><html><body>
<form id="attack" method="post" action="{demo.url('/counter')}">
<input type="hidden" name="_token" value="{token}"></form>
<script>document.getElementById('attack').submit();</script>
</body></html>"""
    driver.get(attacker.url("/attack"))
    try:
        wait(driver, lambda d: d.current_url == demo.url("/counter") and d.find_element(By.TAG_NAME, "body").text,
             "the attacker's form did not post to the demo")
    except TimeoutException:
        pytest.fail(f"at {driver.current_url}: {page_text(driver)!r}; attacker hits {attacker.hits}")
    assert attacker.hits == ["/attack"]
    assert page_text(driver).strip() == "cross-origin request refused"

    open_home(driver, demo)
    assert count(driver) == 1, "the forged POST changed the victim's counter"
    assert signed_in_user(driver) == "alice"

    # Control: the same token posted from the demo's own origin is accepted,
    # so the refusal above came from the origin check, not from a bad token.
    mark_page(driver)
    driver.execute_script("""
        const form = document.createElement('form');
        form.method = 'post'; form.action = '/counter';
        const field = document.createElement('input');
        field.type = 'hidden'; field.name = '_token'; field.value = arguments[0];
        form.appendChild(field); document.body.appendChild(form); form.submit();
    """, token)
    wait_new_page(driver, "the same-origin form")
    assert count(driver) == 2, page_text(driver)


def test_session_fixation_planted_unknown_token(driver, demo):
    driver.get(demo.url("/api/me"))  # on the demo's origin; reading starts no session
    assert session_cookie(driver) is None
    planted = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    assert len(planted) == 43
    plant_session_cookie(driver, planted)

    sign_in(driver, demo, "alice")
    after = session_cookie(driver)
    assert after is not None
    assert after != planted, "the session id chosen by the attacker survived sign-in"
    status, _, body = demo.request("/api/me", cookies={SESSION_COOKIE: planted})
    assert (status, json.loads(body)) == (200, {"user": None})


def test_session_fixation_attacker_session(driver, demo):
    # The attacker gets a real, live (anonymous) session from the demo with their own client...
    status, headers, _ = demo.request("/")
    assert status == 200
    attacker_token = session_cookie_from(headers)
    assert attacker_token and len(attacker_token) == 43

    # ...and plants it in the victim's browser.
    driver.get(demo.url("/api/me"))
    plant_session_cookie(driver, attacker_token)
    open_home(driver, demo)
    assert session_cookie(driver) == attacker_token, "the server did not accept the planted live session"

    driver.find_element(By.ID, "user-input").send_keys("alice")
    click_and_wait(driver, "login")
    assert signed_in_user(driver) == "alice"
    assert session_cookie(driver) != attacker_token, "sign-in must move the session to a new id"
    assert api_me_in_browser(driver, demo) == {"user": "alice"}

    status, _, body = demo.request("/api/me", cookies={SESSION_COOKIE: attacker_token})
    assert (status, json.loads(body)) == (200, {"user": None}), "the attacker's session id is signed in as the victim"


def test_logout_then_replay_old_cookie(driver, demo):
    sign_in(driver, demo, "alice")
    old = session_cookie(driver)
    assert old

    click_and_wait(driver, "logout")
    assert signed_in_user(driver) is None
    assert session_cookie(driver) != old

    plant_session_cookie(driver, old)
    driver.refresh()
    wait_loaded(driver)
    assert signed_in_user(driver) is None, "a signed-out session id still works"
    assert driver.find_elements(By.ID, "login-form")
    assert api_me_in_browser(driver, demo) == {"user": None}

    status, _, body = demo.request("/api/me", cookies={SESSION_COOKIE: old})
    assert (status, json.loads(body)) == (200, {"user": None})


# ------------------------------------------------- log out other devices

def unique_user(name: str) -> str:
    """A user name no other test of this demo process signs in with, so each test sees only its own sessions."""
    return f"{name}-{secrets.token_hex(3)}"


def open_sessions(driver) -> None:
    """Follows the home page's "Your sessions" link."""
    click_element_and_wait(driver, driver.find_element(By.ID, "sessions-link"), "the Your sessions link")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Your sessions", page_text(driver)


def session_rows(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#sessions-table tr.session")


def test_sign_out_another_device_from_the_sessions_page(driver, second_driver, demo):
    user = unique_user("dana")
    laptop, phone = driver, second_driver
    sign_in(laptop, demo, user)
    sign_in(phone, demo, user)

    open_sessions(laptop)
    rows = session_rows(laptop)
    assert len(rows) == 2, page_text(laptop)
    current = laptop.find_elements(By.CSS_SELECTOR, "#sessions-table tr.session.current")
    assert len(current) == 1
    assert "(this device)" in current[0].text
    assert not current[0].find_elements(By.CSS_SELECTOR, "button.revoke"), "this device's row offers no sign-out"
    # The demo records the user agent: each row names its browser.
    agent = laptop.execute_script("return navigator.userAgent")
    assert current[0].find_element(By.CSS_SELECTOR, "td.device").text == agent
    other = next(row for row in rows if "current" not in row.get_attribute("class").split())
    phone_handle = other.get_attribute("data-handle")
    assert phone_handle

    click_element_and_wait(laptop, other.find_element(By.CSS_SELECTOR, "button.revoke"), "signing the phone out")
    assert flash(laptop) == "That device is signed out."
    assert len(session_rows(laptop)) == 1
    assert session_rows(laptop)[0].get_attribute("data-handle") != phone_handle

    # The phone finds out at its next request.
    phone.refresh()
    wait_loaded(phone)
    assert signed_in_user(phone) is None, page_text(phone)
    assert phone.find_elements(By.ID, "login-form")
    assert api_me_in_browser(phone, demo) == {"user": None}

    open_home(laptop, demo)
    assert signed_in_user(laptop) == user


def test_sign_out_everywhere_else(driver, second_driver, demo):
    user = unique_user("erin")
    laptop, phone = driver, second_driver
    sign_in(laptop, demo, user)
    sign_in(phone, demo, user)
    # A third device, outside any browser: the API, as a script would sign in.
    status, headers, _ = demo.request("/api/csrf")
    assert status == 200
    script_cookie = session_cookie_from(headers)
    token = json.loads(demo.request("/api/csrf", cookies={SESSION_COOKIE: script_cookie})[2])["token"]
    status, headers, _ = demo.request("/api/login", method="POST", cookies={SESSION_COOKIE: script_cookie},
                                      headers={"Content-Type": "application/json", "X-CSRF-Token": token},
                                      data=json.dumps({"user": user}).encode())
    assert status == 200
    script_cookie = session_cookie_from(headers)

    open_sessions(phone)
    assert len(session_rows(phone)) == 3, page_text(phone)
    click_element_and_wait(phone, phone.find_element(By.ID, "revoke-others"), "signing out everywhere else")

    assert flash(phone) == "Signed out 2 other sessions."
    rows = session_rows(phone)
    assert len(rows) == 1
    assert "current" in rows[0].get_attribute("class").split()

    laptop.refresh()
    wait_loaded(laptop)
    assert signed_in_user(laptop) is None, page_text(laptop)
    status, _, body = demo.request("/api/me", cookies={SESSION_COOKIE: script_cookie})
    assert (status, json.loads(body)) == (200, {"user": None})

    open_home(phone, demo)
    assert signed_in_user(phone) == user


def test_sessions_page_needs_a_signed_in_user(driver, demo):
    driver.get(demo.url("/sessions"))
    wait_loaded(driver)
    assert driver.current_url == demo.url("/")
    assert driver.find_element(By.ID, "flash-error").text == "Sign in to see your sessions."
    assert driver.find_elements(By.ID, "login-form")
