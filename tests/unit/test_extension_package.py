"""The Chrome extension's package: permissions as narrow as the job, and the client
library shipped from the one source the service serves."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from devtools.extension import SOURCE, STATIC, build, extension_id, pack

pytestmark = pytest.mark.unit

MANIFEST = json.loads((SOURCE / "manifest.json").read_text(encoding="utf-8"))


def test_permissions_are_only_what_the_job_needs() -> None:
    assert MANIFEST["manifest_version"] == 3
    # storage: settings; sidePanel: the visit panel; offscreen + tabCapture: audio mode
    assert set(MANIFEST["permissions"]) == {"storage", "sidePanel", "offscreen", "tabCapture"}
    assert MANIFEST["host_permissions"] == ["https://meet.google.com/*"]
    assert "optional_host_permissions" not in MANIFEST  # the service is reached through CORS
    text = json.dumps(MANIFEST)
    for broad in ("<all_urls>", "*://*/*", "https://*/*", '"tabs"', "scripting", "cookies"):
        assert broad not in text
    (script,) = MANIFEST["content_scripts"]
    assert script["matches"] == ["https://meet.google.com/*"]
    (exposed,) = MANIFEST["web_accessible_resources"]
    assert exposed["matches"] == ["https://meet.google.com/*"]


def test_the_id_comes_from_the_manifest_key() -> None:
    ext_id = extension_id()
    assert len(ext_id) == 32
    assert set(ext_id) <= set("abcdefghijklmnop")


def test_the_package_ships_the_served_library_and_no_test_files(tmp_path: Path) -> None:
    built = build(tmp_path / "extension")
    served = sorted(p.name for p in (STATIC / "client" / "v1").glob("*.js"))
    shipped = sorted(p.name for p in (built / "lib").glob("*.js"))
    assert set(served) <= set(shipped)
    for name in served:  # the same bytes: a build, not a fork
        assert (built / "lib" / name).read_bytes() == (STATIC / "client" / "v1" / name).read_bytes()
    archive = pack(tmp_path / "extension.zip")
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
    assert {"manifest.json", "background.js", "panel/panel.html", "lib/session.js"} <= names
    assert not any(n.startswith(("tests/", "build/")) or n.endswith(".py") for n in names)
    referenced = [MANIFEST["background"]["service_worker"], MANIFEST["side_panel"]["default_path"]]
    referenced += [*MANIFEST["content_scripts"][0]["js"], *MANIFEST["icons"].values()]
    assert set(referenced) <= names
