"""Searches logs for session tokens and CSRF secrets (issue 9: "every line
logged over the whole test suite is captured and searched: 0 raw session
tokens or CSRF secrets").

Two searches over every line:
- every token a suite recorded (`<suite>-tokens.txt` beside the logs: session
  cookies, XSRF-TOKEN cookies, masked CSRF tokens the demos handed out);
- any run of exactly 43 base64url characters with a digit, `-` or `_` in it,
  the shape of a session token and of a raw CSRF secret (32 bytes), whether or
  not a suite saw it (letters only would be a camelCase identifier).

Run as `scripts/check-logs [folder] [extra log files...]`: it scans
.build/demo-logs/ (every suite's demo output) and .build/swift-test.log, prints
the figures, writes .build/log-scan-summary.json and exits non-zero on a match."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

TOKEN_SHAPE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
# A recorded token shorter than this is not distinctive enough to search for.
MINIMUM_TOKEN_LENGTH = 20


@dataclass
class ScanResult:
    files: int = 0
    lines: int = 0
    tokens_searched: int = 0
    matches: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"files": self.files, "lines": self.lines, "tokens_searched": self.tokens_searched,
                "matches": len(self.matches), "first_matches": self.matches[:20]}


def load_tokens(folder: Path) -> set[str]:
    tokens: set[str] = set()
    for path in sorted(folder.glob("*-tokens.txt")):
        tokens.update(line.strip() for line in path.read_text(errors="replace").splitlines())
    return {token for token in tokens if len(token) >= MINIMUM_TOKEN_LENGTH}


def scan(logs: list[Path], tokens: set[str]) -> ScanResult:
    """Every line of every file in `logs`, for `tokens` and token-shaped runs."""
    result = ScanResult(tokens_searched=len(tokens))
    # Tokens are base64url between non-base64url bytes (`=`, `;`, quotes, spaces):
    # take each such run of a line and look it up, instead of searching every token in every line.
    runs = re.compile(r"[A-Za-z0-9_-]{%d,}" % MINIMUM_TOKEN_LENGTH)
    for path in logs:
        if not path.is_file():
            continue
        result.files += 1
        with path.open("r", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                result.lines += 1
                for run in runs.findall(line):
                    if run in tokens:
                        result.matches.append(f"{path.name}:{number}: recorded token {run[:6]}... in the log")
                for shaped in TOKEN_SHAPE.findall(line):
                    # A random token has a digit, `-` or `_` in all but 1 in 7,000 cases;
                    # a 43-letter camelCase test name in the Swift log has none.
                    if shaped not in tokens and any(c.isdigit() or c in "-_" for c in shaped):
                        result.matches.append(f"{path.name}:{number}: token-shaped run {shaped[:6]}... in the log")
    return result


def log_files(folder: Path, extra: list[Path]) -> list[Path]:
    return sorted(folder.glob("*.log")) + [path for path in extra if path.is_file()]


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2]
    folder = Path(argv[0]) if argv else root / ".build" / "demo-logs"
    extra = [Path(a) for a in argv[1:]] or [root / ".build" / "swift-test.log", root / ".build" / "swift-test-examples.log"]
    logs = log_files(folder, extra)
    result = scan(logs, load_tokens(folder))
    summary = root / ".build" / "log-scan-summary.json"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps({"folder": str(folder), **result.as_dict()}, indent=2) + "\n")
    print(f"check-logs: {result.files} files, {result.lines} lines, {result.tokens_searched} recorded tokens,"
          f" {len(result.matches)} matches (summary in {summary})")
    for match in result.matches[:20]:
        print(f"  {match}")
    if result.files == 0:
        print(f"check-logs: no logs in {folder}; run the suites first")
        return 1
    return 1 if result.matches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
