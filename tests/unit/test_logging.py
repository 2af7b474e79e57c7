import json
import logging

import pytest
import structlog

from drtranscribe.logging import configure_logging

pytestmark = pytest.mark.unit


@pytest.fixture
def lines(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    def read() -> list[dict[str, object]]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]

    yield read
    configure_logging(level="INFO", fmt="json")


def test_json_lines_for_cloud_logging_and_phi_dropped(lines) -> None:  # type: ignore[no-untyped-def]
    configure_logging(level="INFO", fmt="json")
    structlog.get_logger("t").info(
        "stt.chunk_transcribed", session_id="s_1", chunk_seq=3, phi_text="chest pain"
    )
    (line,) = lines()
    assert line["severity"] == "INFO"
    assert line["message"] == "stt.chunk_transcribed"
    assert line["session_id"] == "s_1"
    assert line["chunk_seq"] == 3
    assert "phi_text" not in line
    assert "chest pain" not in json.dumps(line)


def test_phi_only_with_the_explicit_opt_in(lines) -> None:  # type: ignore[no-untyped-def]
    configure_logging(level="INFO", fmt="json", log_phi=True)
    structlog.get_logger("t").info("debug.dump", phi_text="chest pain")
    assert lines()[0]["phi_text"] == "chest pain"


def test_access_log_query_strings_are_redacted(lines) -> None:  # type: ignore[no-untyped-def]
    configure_logging(level="INFO", fmt="json")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/v1/sessions?key=sk_secret", "1.1", 200
    )
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/v1/stream?token=tk_1"
    )
    out = json.dumps(lines())
    assert "sk_secret" not in out
    assert "tk_1" not in out
    assert "/v1/stream?[redacted]" in out
