"""API keys are added and revoked without a restart (docs/runbook.md, "API keys").

A production server reads its keys from a mounted secret directory (as on Cloud Run); the
list is edited with ``drtranscribe keys`` exactly as the runbook says, and the running
server follows each edit at its next refresh, which it logs as ``auth.keys_reloaded``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from devtools.devserver import ServerProcess
from devtools.devserver import start as start_process

from tests.conftest import stop_server

pytestmark = pytest.mark.e2e

SECRET = "drtranscribe-api-keys"


def _keys(*args: str, stdin: str = "") -> tuple[str, str]:
    """``drtranscribe keys ...``: (the list on stdout, the last stderr line: a new key)."""
    proc = subprocess.run(
        [sys.executable, "-m", "drtranscribe.cli", "keys", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout, (proc.stderr.strip().splitlines() or [""])[-1]


def _publish(directory: Path, listing: str) -> None:
    """A new secret version, swapped in atomically as a mounted secret is."""
    staged = directory / f".{SECRET}.new"
    staged.write_text(listing, encoding="utf-8")
    staged.replace(directory / SECRET)


async def _status(server: ServerProcess, key: str) -> int:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        answer = await http.post("/v1/sessions", headers={"Authorization": f"Bearer {key}"})
    return answer.status_code


def _reloaded(server: ServerProcess, after: int) -> dict[str, object]:
    line = server.wait_for_line('"auth.keys_reloaded"', after=after, timeout_s=30)
    reloaded: dict[str, object] = json.loads(line)
    return reloaded


async def test_keys_are_added_and_revoked_while_the_server_runs(
    tmp_path: Path, redis_url: str
) -> None:
    mounted = tmp_path / "secrets"
    mounted.mkdir()
    listing, first = _keys("add", "--id", "clinic-a-web", "--tenant", "clinic-a")
    _publish(mounted, listing)
    env = {
        "DRT_REDIS_URL": redis_url,
        "DRT_SECRETS_BACKEND": "file",
        "DRT_SECRETS_FILE": str(mounted),
        "DRT_SECRETS_REFRESH_S": "0.2",
    }
    server = start_process(tmp_path / "data", env, environment="production")
    try:
        assert await _status(server, first) == 201
        listed, _ = _keys("list", "--input", "-", stdin=listing)
        assert json.loads(listed) == [{"id": "clinic-a-web", "tenant": "clinic-a"}]

        # Add a second key: refused until the next refresh, then accepted.
        listing, second = _keys(
            "add", "--input", "-", "--id", "clinic-a-ext", "--tenant", "clinic-a", stdin=listing
        )
        assert await _status(server, second) == 401
        mark = len(server.lines)
        _publish(mounted, listing)
        reloaded = _reloaded(server, mark)
        assert (reloaded["added"], reloaded["removed"]) == (["clinic-a-ext"], [])
        assert await _status(server, second) == 201

        # Revoke the first: refused from the next refresh on; the other key still works.
        listing, _ = _keys("revoke", "--input", "-", "--id", "clinic-a-web", stdin=listing)
        mark = len(server.lines)
        _publish(mounted, listing)
        reloaded = _reloaded(server, mark)
        assert (reloaded["added"], reloaded["removed"]) == ([], ["clinic-a-web"])
        assert await _status(server, first) == 401
        assert await _status(server, second) == 201
    finally:
        stop_server(server)
    logs = "".join(server.lines)
    assert first not in logs
    assert second not in logs


def test_the_keys_helper_refuses_bad_edits() -> None:
    listing, _ = _keys("add", "--id", "a", "--tenant", "t")
    duplicate = subprocess.run(
        [sys.executable, "-m", "drtranscribe.cli", "keys", "add", "--input", "-",
         "--id", "a", "--tenant", "t"],
        input=listing, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert duplicate.returncode == 2
    assert "exists already" in duplicate.stderr
    assert duplicate.stdout == ""  # nothing to pipe into a secret version
    unknown = subprocess.run(
        [sys.executable, "-m", "drtranscribe.cli", "keys", "revoke", "--input", "-", "--id", "b"],
        input=listing, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert unknown.returncode == 2
    assert "no key with id 'b'" in unknown.stderr
    broken = subprocess.run(
        [sys.executable, "-m", "drtranscribe.cli", "keys", "list", "--input", "-"],
        input="[{", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert broken.returncode == 2
    assert "not valid JSON" in broken.stderr
    empty = subprocess.run(
        [sys.executable, "-m", "drtranscribe.cli", "keys", "add", "--input", "-",
         "--id", "c", "--tenant", "t"],
        input="", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert empty.returncode == 2  # a failed read upstream must not become a new list
    assert "empty" in empty.stderr
    assert empty.stdout == ""
    origins, _ = _keys(
        "add", "--id", "web", "--tenant", "t", "--origin", "https://emr.example/",
        "--origin", "chrome-extension://abcdefgh",
    )  # fmt: skip
    assert json.loads(origins)[0]["origins"] == [
        "https://emr.example",
        "chrome-extension://abcdefgh",
    ]
    bad = subprocess.run(
        [sys.executable, "-m", "drtranscribe.cli", "keys", "add", "--id", "x", "--tenant", "t",
         "--origin", "emr.example/path"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "scheme://host" in bad.stderr
