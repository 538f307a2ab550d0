"""The demos' logs (issue 9): every line the hostile tests made the demos log,
at LOG_LEVEL=trace, searched for the tokens they issued and for any
token-shaped string. Runs after every other test (marker `last`)."""

from __future__ import annotations

import pytest

from conftest import ISSUED_TOKENS, LOG_DIR, record, started_demos, stop_demo
from logscan import scan


@pytest.mark.last
def test_logs_hold_no_token_or_csrf_secret() -> None:
    """0 issued session tokens, XSRF cookies, CSRF tokens and 0 43-character
    base64url runs (a raw token's or CSRF secret's shape) in the demos' logs."""
    demos = started_demos()
    assert demos, "no demo ran"
    for demo in demos.values():
        stop_demo(demo)  # every line flushed, and a crash shows in the exit status
        record(demo.name, exit_status=demo.process.returncode)
    tokens = set(ISSUED_TOKENS)
    (LOG_DIR / "hostile-tokens.txt").write_text("".join(f"{token}\n" for token in sorted(tokens)))
    result = scan([demo.log_path for demo in demos.values()], tokens)
    record("logs", **result.as_dict())
    assert result.lines > 0
    assert len(tokens) > 0
    assert not result.matches, "\n".join(result.matches[:20])
    for demo in demos.values():
        assert demo.process.returncode in (0, -15), f"{demo} exited with {demo.process.returncode}"
