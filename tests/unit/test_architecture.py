"""The rooms keep their doors (docs/architecture.md): the domain room imports nothing of
ours but errors, and the shared modules at the package root import no room below them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from drtranscribe.domain.identity import slug, unique_id

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "drtranscribe"
#: Shared modules at the root that rooms build on: they may import the domain and errors.
SHARED = ("protocol.py", "errors.py", "config.py", "placeholders.py", "logging.py")


def _our_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("drtranscribe"):
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("drtranscribe")}
    return found


def test_the_domain_imports_nothing_of_ours_but_errors() -> None:
    for path in sorted((PACKAGE / "domain").glob("*.py")):
        outside = {
            m for m in _our_imports(path)
            if not m.startswith("drtranscribe.domain") and m != "drtranscribe.errors"
        }  # fmt: skip
        assert outside == set(), path.name


def test_shared_root_modules_import_no_room_below_them() -> None:
    for name in SHARED:
        rooms = {
            m for m in _our_imports(PACKAGE / name)
            if m.count(".") >= 2 and not m.startswith("drtranscribe.domain")
        }  # fmt: skip
        assert rooms == set(), name


def test_item_identity() -> None:
    assert slug("Shortness of Breath!") == "shortness-of-breath"
    assert unique_id("med-aspirin", set()) == "med-aspirin"
    assert unique_id("med-aspirin", {"med-aspirin", "med-aspirin-2"}) == "med-aspirin-3"


def test_every_provider_is_described_once_and_every_chain_name_exists() -> None:
    from drtranscribe.config import Settings
    from drtranscribe.vendors.registry import PROVIDERS

    for name, provider in PROVIDERS.items():
        assert provider.name == name
        assert provider.stt is not None or provider.extraction is not None, name
        assert (provider.needs == "nothing") == (not provider.env_keys and not provider.env_urls)
    settings = Settings(environment="test")
    assert {n for n in settings.stt_chain if PROVIDERS[n].stt is None} == set()
    assert {n for n in settings.extraction_chain if PROVIDERS[n].extraction is None} == set()


def test_an_unknown_provider_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    from drtranscribe.config import Settings
    from drtranscribe.errors import ConfigError
    from drtranscribe.vendors.registry import build_extractors, build_stt

    with pytest.raises(ConfigError, match="unknown speech-to-text providers"):
        build_stt(Settings(environment="test", stt_chain=["local"]))  # an extractor's name
    with pytest.raises(ConfigError, match="no usable extraction provider"):
        build_extractors(Settings(environment="test", extraction_chain=["openai"]))


def test_the_package_does_not_depend_on_development_tooling() -> None:
    """``devtools/`` (dev servers, the docs generator) and ``tests/`` are not shipped."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n.split(".")[0] in ("devtools", "tests") for n in names), path


def test_sessions_read_their_part_of_the_settings_only() -> None:
    """Session and connection code gets ``SessionSettings``, never the whole ``Settings``."""
    for room in ("session", "api"):
        for path in sorted((PACKAGE / room).glob("*.py")):
            imported = {
                alias.name
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.ImportFrom) and node.module == "drtranscribe.config"
                for alias in node.names
            }
            assert "Settings" not in imported, path
    from drtranscribe.services import ProcessServices

    assert "settings" not in ProcessServices.__dataclass_fields__
    assert "session" in ProcessServices.__dataclass_fields__
