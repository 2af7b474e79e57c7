from pathlib import Path

import pytest

from drtranscribe.config import Settings

pytestmark = pytest.mark.unit


@pytest.fixture
def yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(
        "stt_chain: [local_whisper]\nwhisper:\n  beam_size: 3\nlimits:\n  max_chunk_seconds: 12\n"
    )
    monkeypatch.setenv("DRT_SETTINGS_FILE", str(path))
    for name in ("PORT", "REDIS_URL", "DRT_REDIS_URL", "DRT_PORT"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_yaml_then_environment_then_arguments(
    yaml_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings()
    assert settings.whisper.beam_size == 3
    assert settings.limits.max_chunk_seconds == 12
    assert settings.limits.max_frame_bytes == 4 * 1024 * 1024  # default kept beside the yaml value
    monkeypatch.setenv("DRT_WHISPER__BEAM_SIZE", "1")
    assert Settings().whisper.beam_size == 1
    assert Settings(environment="test").environment == "test"


def test_cloud_run_port_and_redis_url(yaml_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().port == 8000
    assert Settings().redis_url is None
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("REDIS_URL", "redis://10.1.2.3:6379/0")
    settings = Settings()
    assert settings.port == 9123
    assert settings.redis_url == "redis://10.1.2.3:6379/0"
    assert Settings(redis_url="redis://other/1").redis_url == "redis://other/1"


def test_bad_yaml_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("- just\n- a list\n")
    monkeypatch.setenv("DRT_SETTINGS_FILE", str(path))
    with pytest.raises(ValueError, match="mapping"):
        Settings()


def test_placeholder_provider_keys_are_refused_outside_development(yaml_file: Path) -> None:
    from drtranscribe.errors import ConfigError

    key = {"groq": {"api_key": "changeme"}}
    assert Settings(environment="development", providers=key).providers["groq"].configured
    with pytest.raises(ConfigError, match="groq-api-key") as info:
        Settings(environment="production", providers=key)
    assert "changeme" not in str(info.value)
    real = {"groq": {"api_key": "gsk_" + "x7" * 20}}
    assert Settings(environment="production", providers=real).providers["groq"].configured


def test_the_note_cadence_has_its_own_section_and_the_old_names_still_work(
    yaml_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().note.min_new_tokens == 1200  # the default
    monkeypatch.setenv("DRT_NOTE__MIN_NEW_TOKENS", "600")
    assert Settings().note.min_new_tokens == 600
    # A deployment that still sets the old variables gets what it meant.
    monkeypatch.setenv("DRT_RESILIENCE__EXTRACTION__MIN_NEW_TOKENS", "300")
    monkeypatch.setenv("DRT_RESILIENCE__EXTRACTION__DRAFTS", "false")
    monkeypatch.setenv("DRT_RESILIENCE__EXTRACTION__COOLDOWN_S", "7")
    settings = Settings()
    assert (settings.note.min_new_tokens, settings.note.drafts) == (300, False)
    assert settings.resilience.extraction.cooldown_s == 7  # the chain's own setting stays
    yaml_file.write_text("resilience:\n  extraction: {min_interval_s: 120}\n")
    monkeypatch.delenv("DRT_RESILIENCE__EXTRACTION__MIN_NEW_TOKENS")
    assert Settings().note.min_interval_s == 120  # an old settings file too
