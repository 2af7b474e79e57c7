"""Secrets: the environment, file and Secret Manager backends, the factory, placeholders.

The Secret Manager backend runs the real ``google-cloud-secret-manager`` async client over
real gRPC against the fake server of :mod:`tests.fakes.secret_manager`. Google credentials
are pointed at a file that does not exist, so any credential lookup fails loudly instead
of reaching a metadata server or a developer's gcloud login.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import grpc  # type: ignore[import-untyped]
import pytest
import structlog

from drtranscribe.errors import ConfigError
from drtranscribe.secrets.env import EnvSecrets, env_var_name
from drtranscribe.secrets.factory import (
    MIN_API_KEY_LENGTH,
    build_secret_source,
    open_secret_source,
    placeholder_reason,
    refresh_periodically,
    reject_placeholders,
    require_secret,
)
from drtranscribe.secrets.file import MAX_SECRET_BYTES, FileSecrets
from drtranscribe.secrets.gcp import SecretManagerSecrets

if TYPE_CHECKING:
    from tests.fakes.secret_manager import FakeSecretManager

pytest_plugins = ["tests.fakes.secret_manager"]  # the secret_manager fixture
pytestmark = pytest.mark.integration

KEY = "gsk_live_0123456789abcdefghij"  # looks real: 28 characters, no placeholder word
KEY2 = "gsk_live_9876543210zyxwvutsrq"


@pytest.fixture(autouse=True)
def _no_google_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent-credentials.json"))
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)


# --- environment ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "variable"),
    [
        ("drtranscribe-api-keys", "DRT_SECRET_DRTRANSCRIBE_API_KEYS"),
        ("groq-api-key", "DRT_SECRET_GROQ_API_KEY"),
        ("azure.openai/key", "DRT_SECRET_AZURE_OPENAI_KEY"),
        ("Mixed_Case9", "DRT_SECRET_MIXED_CASE9"),
    ],
)
def test_env_var_name(secret: str, variable: str) -> None:
    assert env_var_name(secret) == variable


async def test_env_backend_reads_caches_and_refreshes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRT_SECRET_DRTRANSCRIBE_API_KEYS", KEY)
    source = EnvSecrets()
    assert source.name == "env"
    assert await source.get("drtranscribe-api-keys") == KEY
    assert await source.get("groq-api-key") is None

    monkeypatch.setenv("DRT_SECRET_DRTRANSCRIBE_API_KEYS", KEY2)
    monkeypatch.setenv("DRT_SECRET_GROQ_API_KEY", "")
    assert await source.get("drtranscribe-api-keys") == KEY  # read when built
    await source.refresh()
    assert await source.get("drtranscribe-api-keys") == KEY2
    assert await source.get("groq-api-key") is None  # set but empty counts as unset

    monkeypatch.delenv("DRT_SECRET_DRTRANSCRIBE_API_KEYS")
    await source.refresh()
    assert await source.get("drtranscribe-api-keys") is None
    await source.aclose()


async def test_env_backend_reads_only_prefixed_variables() -> None:
    source = EnvSecrets({"DRT_SECRET_GROQ_API_KEY": KEY, "GROQ_API_KEY": KEY2})
    assert await source.get("groq-api-key") == KEY
    assert await source.get("GROQ_API_KEY") == KEY  # same variable: the mapping folds case


# --- file -----------------------------------------------------------------------------


async def test_file_backend_directory_and_refresh(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    directory.mkdir()
    (directory / "groq-api-key").write_text(KEY + "\n")
    (directory / "redis-password").write_text("line one\nline two\r\n")
    (directory / ".hidden").write_text("not a secret")
    (directory / "nested").mkdir()
    (directory / "nested" / "inner").write_text("not a secret either")

    source = FileSecrets(directory)
    await source.start()
    assert await source.get("groq-api-key") == KEY  # trailing newline dropped
    assert await source.get("redis-password") == "line one\nline two"
    assert await source.get(".hidden") is None
    assert await source.get("nested") is None
    assert await source.get("inner") is None

    (directory / "groq-api-key").write_text(KEY2)
    (directory / "redis-password").unlink()
    assert await source.get("groq-api-key") == KEY  # cached until refreshed
    await source.refresh()
    assert await source.get("groq-api-key") == KEY2
    assert await source.get("redis-password") is None
    await source.aclose()


async def test_file_backend_follows_a_kubernetes_volume_update(tmp_path: Path) -> None:
    """Visible names are symlinks into ``..data``, which is swapped atomically on update."""
    directory = tmp_path / "mount"
    directory.mkdir()
    first = directory / "..2024_01_01_00_00_00.1"
    first.mkdir()
    (first / "groq-api-key").write_text(KEY)
    (directory / "..data").symlink_to(first.name)
    (directory / "groq-api-key").symlink_to(Path("..data") / "groq-api-key")

    source = FileSecrets(directory)
    assert await source.get("groq-api-key") == KEY  # first get loads
    assert await source.get("..data") is None

    second = directory / "..2024_01_02_00_00_00.2"
    second.mkdir()
    (second / "groq-api-key").write_text(KEY2)
    (directory / "..data_tmp").symlink_to(second.name)
    os.replace(directory / "..data_tmp", directory / "..data")
    await source.refresh()
    assert await source.get("groq-api-key") == KEY2


@pytest.mark.parametrize(
    ("suffix", "render"),
    [
        (".json", json.dumps),
        (".yaml", lambda d: "".join(f"{k}: {json.dumps(v)}\n" for k, v in d.items())),
    ],
)
async def test_file_backend_mapping_file(
    tmp_path: Path, suffix: str, render: Callable[[dict[str, str | None]], str]
) -> None:
    path = tmp_path / f"secrets{suffix}"
    path.write_text(render({"groq-api-key": KEY, "unset-one": None}))
    source = FileSecrets(path)
    await source.start()
    assert await source.get("groq-api-key") == KEY
    assert await source.get("unset-one") is None

    path.write_text(render({"groq-api-key": KEY2}))
    await source.refresh()
    assert await source.get("groq-api-key") == KEY2


async def test_file_backend_refresh_failure_keeps_values(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"groq-api-key": KEY}))
    source = FileSecrets(path)
    await source.start()

    path.write_text('{"groq-api-key": "' + KEY2)  # truncated mid-write
    with structlog.testing.capture_logs() as logs:
        await source.refresh()
    assert await source.get("groq-api-key") == KEY
    warnings = [e for e in logs if e["event"] == "secrets.refresh_failed"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert KEY2 not in str(logs)
    assert KEY not in str(logs)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ('{"groq-api-key": 12345678901234567890}', "'groq-api-key' is not a string"),
        ('["groq-api-key"]', "expected a mapping"),
        ('{"groq-api-key": "' + KEY, "not valid JSON"),
    ],
)
async def test_file_backend_start_errors(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "secrets.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=expected) as info:
        await FileSecrets(path).start()
    assert KEY not in str(info.value)
    assert "12345678901234567890" not in str(info.value)


async def test_file_backend_refuses_an_oversized_secret(tmp_path: Path) -> None:
    (tmp_path / "huge").write_bytes(b"a" * (MAX_SECRET_BYTES + 1))
    (tmp_path / "fits").write_bytes(b"a" * MAX_SECRET_BYTES)
    with pytest.raises(ConfigError, match="huge: larger than"):
        await FileSecrets(tmp_path).start()
    (tmp_path / "huge").unlink()
    source = FileSecrets(tmp_path)
    await source.start()
    value = await source.get("fits")
    assert value is not None
    assert len(value) == MAX_SECRET_BYTES


# --- Secret Manager -------------------------------------------------------------------


@pytest.fixture
async def gcp(
    secret_manager: FakeSecretManager,
) -> AsyncIterator[Callable[..., SecretManagerSecrets]]:
    made: list[SecretManagerSecrets] = []

    def make(*names: str, timeout_s: float = 5.0) -> SecretManagerSecrets:
        source = SecretManagerSecrets(
            secret_manager.project,
            names=names,
            endpoint=secret_manager.endpoint,
            timeout_s=timeout_s,
        )
        made.append(source)
        return source

    yield make
    for source in made:
        await source.aclose()


async def test_gcp_reads_through_the_real_client_and_caches(
    secret_manager: FakeSecretManager, gcp: Callable[..., SecretManagerSecrets]
) -> None:
    secret_manager.set("groq-api-key", KEY)
    source = gcp("groq-api-key")
    await source.start()
    assert secret_manager.count() == 1

    assert await source.get("groq-api-key") == KEY
    assert await source.get("groq-api-key") == KEY
    assert secret_manager.count() == 1  # served from the cache

    call = secret_manager.calls[0]
    assert call.secret == "groq-api-key"
    assert call.version == "latest"
    assert "gapic/" in call.metadata["x-goog-api-client"]  # the generated client made it
    assert "authorization" not in call.metadata  # no credentials on the emulator channel


async def test_gcp_refresh_makes_a_call_and_sees_a_new_version(
    secret_manager: FakeSecretManager, gcp: Callable[..., SecretManagerSecrets]
) -> None:
    secret_manager.set("groq-api-key", KEY)
    source = gcp("groq-api-key")
    await source.start()

    assert secret_manager.set("groq-api-key", KEY2) == 2
    assert await source.get("groq-api-key") == KEY
    assert secret_manager.count() == 1
    await source.refresh()
    assert secret_manager.count() == 2
    assert await source.get("groq-api-key") == KEY2
    assert secret_manager.count() == 2


async def test_gcp_not_found_is_none_and_found_after_refresh(
    secret_manager: FakeSecretManager, gcp: Callable[..., SecretManagerSecrets]
) -> None:
    secret_manager.set("groq-api-key", KEY)
    source = gcp("groq-api-key", "openai-api-key")
    await source.start()
    assert await source.get("openai-api-key") is None
    assert await source.get("openai-api-key") is None
    assert secret_manager.count("openai-api-key") == 1

    secret_manager.set("openai-api-key", KEY2)
    await source.refresh()
    assert await source.get("openai-api-key") == KEY2

    secret_manager.delete("openai-api-key")
    with structlog.testing.capture_logs() as logs:
        await source.refresh()
    assert await source.get("openai-api-key") is None  # deleted secrets go away
    assert [e["secret"] for e in logs if e["event"] == "secrets.secret_removed"] == [
        "openai-api-key"
    ]


async def test_gcp_permission_denied_at_start_names_the_secret_not_its_value(
    secret_manager: FakeSecretManager, gcp: Callable[..., SecretManagerSecrets]
) -> None:
    secret_manager.set("groq-api-key", KEY)
    secret_manager.set("azure-openai-api-key", KEY2)
    secret_manager.deny("azure-openai-api-key")
    source = gcp("groq-api-key", "azure-openai-api-key")
    with pytest.raises(ConfigError) as info:
        await source.start()
    message = str(info.value)
    assert "azure-openai-api-key (PERMISSION_DENIED)" in message
    assert "groq-api-key" not in message.replace("azure-openai-api-key", "")
    assert KEY2 not in message
    assert KEY not in message
    assert info.value.__cause__ is None


async def test_gcp_error_during_refresh_keeps_the_cached_value(
    secret_manager: FakeSecretManager, gcp: Callable[..., SecretManagerSecrets]
) -> None:
    secret_manager.set("groq-api-key", KEY)
    source = gcp("groq-api-key")
    await source.start()

    secret_manager.set("groq-api-key", KEY2)
    secret_manager.deny("groq-api-key")
    with structlog.testing.capture_logs() as logs:
        await source.refresh()
    assert secret_manager.count() == 2  # the refresh did ask
    assert await source.get("groq-api-key") == KEY
    failed = [e for e in logs if e["event"] == "secrets.refresh_failed"]
    assert len(failed) == 1
    assert failed[0]["log_level"] == "warning"
    assert failed[0]["secret"] == "groq-api-key"
    assert failed[0]["reason"] == "PERMISSION_DENIED"
    assert KEY not in str(logs)
    assert KEY2 not in str(logs)

    secret_manager.deny("groq-api-key", denied=False)
    await source.refresh()
    assert await source.get("groq-api-key") == KEY2


async def test_gcp_retries_a_transient_failure(
    secret_manager: FakeSecretManager, gcp: Callable[..., SecretManagerSecrets]
) -> None:
    secret_manager.set("groq-api-key", KEY)
    secret_manager.fail_next("groq-api-key", grpc.StatusCode.UNAVAILABLE, times=2)
    source = gcp("groq-api-key")
    await source.start()
    assert await source.get("groq-api-key") == KEY
    assert secret_manager.count() == 3


async def test_gcp_does_not_retry_a_permanent_failure(
    secret_manager: FakeSecretManager, gcp: Callable[..., SecretManagerSecrets]
) -> None:
    secret_manager.set("groq-api-key", KEY)
    secret_manager.fail_next("groq-api-key", grpc.StatusCode.INVALID_ARGUMENT, times=1)
    source = gcp("groq-api-key")
    with pytest.raises(ConfigError, match=r"groq-api-key \(INVALID_ARGUMENT\)"):
        await source.start()
    assert secret_manager.count() == 1


async def test_gcp_checksum_mismatch_is_refused(
    secret_manager: FakeSecretManager, gcp: Callable[..., SecretManagerSecrets]
) -> None:
    secret_manager.set("groq-api-key", KEY)
    secret_manager.corrupt("groq-api-key")
    with pytest.raises(ConfigError, match="checksum mismatch") as info:
        await gcp("groq-api-key").start()
    assert KEY not in str(info.value)


async def test_gcp_secret_not_named_at_start_is_read_on_first_get(
    secret_manager: FakeSecretManager, gcp: Callable[..., SecretManagerSecrets]
) -> None:
    secret_manager.set("gemini-api-key", KEY)
    secret_manager.set("openai-api-key", KEY2)
    secret_manager.deny("openai-api-key")
    source = gcp()
    await source.start()
    assert secret_manager.count() == 0
    assert await source.get("gemini-api-key") == KEY
    assert await source.get("gemini-api-key") == KEY
    assert secret_manager.count() == 1
    with pytest.raises(ConfigError, match=r"openai-api-key \(PERMISSION_DENIED\)"):
        await source.get("openai-api-key")
    await source.refresh()
    assert secret_manager.count("gemini-api-key") == 2


async def test_gcp_without_endpoint_needs_credentials_and_calls_nothing(
    secret_manager: FakeSecretManager,
) -> None:
    source = SecretManagerSecrets("test-project", names=["groq-api-key"])
    with pytest.raises(ConfigError, match="no Google credentials"):
        await source.start()
    await source.aclose()
    assert secret_manager.count() == 0


def test_gcp_refuses_bad_arguments(secret_manager: FakeSecretManager) -> None:
    with pytest.raises(ConfigError, match="not a secret id"):
        SecretManagerSecrets("p", names=["groq api key"], endpoint=secret_manager.endpoint)
    with pytest.raises(ConfigError, match="project is required"):
        SecretManagerSecrets("", endpoint=secret_manager.endpoint)


# --- factory and periodic refresh -----------------------------------------------------


async def test_factory_builds_each_backend(
    secret_manager: FakeSecretManager, tmp_path: Path
) -> None:
    (tmp_path / "groq-api-key").write_text(KEY)
    secret_manager.set("groq-api-key", KEY2)

    env = await open_secret_source("env", environ={"DRT_SECRET_GROQ_API_KEY": "from-env-value"})
    file = await open_secret_source("file", file=tmp_path)
    gcp = await open_secret_source(
        "gcp",
        project=secret_manager.project,
        endpoint=secret_manager.endpoint,
        names=["groq-api-key"],
    )
    try:
        assert (type(env), type(file), type(gcp)) == (EnvSecrets, FileSecrets, SecretManagerSecrets)
        assert await env.get("groq-api-key") == "from-env-value"
        assert await file.get("groq-api-key") == KEY
        assert secret_manager.count() == 1  # started: loaded before the first get
        assert await gcp.get("groq-api-key") == KEY2
    finally:
        for source in (env, file, gcp):
            await source.aclose()


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        ("vault", {}, "unknown secrets backend 'vault'; expected one of env, file, gcp"),
        ("file", {}, "needs a path"),
        ("gcp", {}, "needs a project"),
    ],
)
def test_factory_refuses_incomplete_configuration(
    kind: str, params: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        build_secret_source(kind, **params)  # type: ignore[arg-type]


async def test_open_secret_source_reports_a_start_failure(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        await open_secret_source("file", file=tmp_path / "absent.yaml")


async def test_refresh_periodically_keeps_going_after_a_failure() -> None:
    class Flaky:
        name = "flaky"

        def __init__(self) -> None:
            self.refreshes = 0

        async def get(self, secret: str) -> str | None:
            return None

        async def refresh(self) -> None:
            self.refreshes += 1
            if self.refreshes == 2:
                raise RuntimeError("backend exploded")

        async def aclose(self) -> None:
            return None

    source = Flaky()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 4:
            raise asyncio.CancelledError

    with structlog.testing.capture_logs() as logs, pytest.raises(asyncio.CancelledError):
        await refresh_periodically(source, 300.0, sleep=sleep)
    assert sleeps == [300.0] * 4
    assert source.refreshes == 3
    assert [(e["event"], e["error"]) for e in logs] == [("secrets.refresh_failed", "RuntimeError")]


# --- placeholders ---------------------------------------------------------------------

PLACEHOLDERS = [
    "",
    "   ",
    "changeme",
    "CHANGE_ME",
    "Change Me",
    "placeholder",
    "xxx",
    "XXXXXXXXXXXXXXXXXXXX",
    "secret",
    "test",
    "TODO",
    "<your-api-key>",
    "${GROQ_API_KEY}",
    "{{ groq_api_key }}",
    "****************",
]


@pytest.mark.parametrize("value", PLACEHOLDERS)
@pytest.mark.parametrize("secret", ["redis-password", "groq-api-key"])
def test_placeholders_pass_in_development_only(secret: str, value: str) -> None:
    reject_placeholders(secret, value, "development")
    for environment in ("production", "test"):
        with pytest.raises(ConfigError, match=f"secret '{secret}' looks like a placeholder"):
            reject_placeholders(secret, value, environment)


def test_short_api_keys_are_refused_without_echoing_them() -> None:
    short = "gsk_0123456789a"
    assert len(short) == MIN_API_KEY_LENGTH - 1
    with pytest.raises(ConfigError, match="shorter than 16 characters") as info:
        reject_placeholders("groq-api-key", short, "production")
    assert short not in str(info.value)
    reject_placeholders("groq-api-key", "k" * MIN_API_KEY_LENGTH, "production")
    reject_placeholders("groq-api-key", short, "development")
    # Not an API key: no length rule.
    reject_placeholders("redis-password", "hunter2x", "production")


def test_api_key_lists_are_checked_key_by_key() -> None:
    assert placeholder_reason("drtranscribe-api-keys", f"{KEY}, {KEY2}\n") is None
    assert placeholder_reason("DRTRANSCRIBE_API_KEYS", f"{KEY} {KEY2}") is None
    assert placeholder_reason("drtranscribe-api-keys", f"{KEY},short") == (
        "an API key shorter than 16 characters"
    )
    assert placeholder_reason("drtranscribe-api-keys", f"{KEY},changeme") == "a placeholder word"
    assert placeholder_reason("drtranscribe-api-keys", " , ") == "without a letter or digit"
    assert placeholder_reason("api-key-rotation-note", "short") is None  # not a key name


async def test_require_secret() -> None:
    source = EnvSecrets({"DRT_SECRET_GROQ_API_KEY": KEY, "DRT_SECRET_OPENAI_API_KEY": "changeme"})
    assert await require_secret(source, "groq-api-key", "production") == KEY
    with pytest.raises(ConfigError, match=r"'gemini-api-key' is not set .*'env'"):
        await require_secret(source, "gemini-api-key", "development")
    with pytest.raises(ConfigError, match="'openai-api-key' looks like a placeholder"):
        await require_secret(source, "openai-api-key", "production")
    assert await require_secret(source, "openai-api-key", "development") == "changeme"
