import json

import pytest

from drtranscribe.errors import ProtocolError
from drtranscribe.protocol import ERROR_CODES, StartMessage, StopMessage, parse_client_message

pytestmark = pytest.mark.unit


def test_start_and_stop_parse() -> None:
    msg = parse_client_message(
        json.dumps(
            {
                "type": "start",
                "audio": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1},
            }
        )
    )
    assert isinstance(msg, StartMessage)
    assert msg.audio.sample_rate == 16000
    assert msg.language == "en"
    assert isinstance(parse_client_message('{"type": "stop"}'), StopMessage)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_json"),
        ('"start"', "invalid_json"),
        (b"\xff\xfe\x00", "invalid_json"),
        ("[" * 100_000 + "]" * 100_000, "invalid_json"),
        ('{"type": "hello"}', "unknown_message_type"),
        ('{"no_type": 1}', "unknown_message_type"),
        ('{"type": "start"}', "invalid_message"),
        ('{"type": "start", "audio": {"encoding": "pcm_s16le"}}', "invalid_message"),
        ('{"type": "start", "audio": {"encoding": "mp3"}}', "invalid_message"),
        ('{"type": "start", "audio": {"encoding": "wav"}, "extra": 1}', "invalid_message"),
        ('{"type": "stop", "now": true}', "invalid_message"),
    ],
)
def test_bad_messages_get_documented_codes(raw: str | bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    assert info.value.code == code
    assert code in ERROR_CODES
    assert info.value.message


def test_invalid_message_does_not_echo_long_client_field_names() -> None:
    raw = json.dumps({"type": "stop", "x" * 60_000: 1})
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    assert info.value.code == "invalid_message"
    assert len(info.value.message) < 300


def test_encoded_surrogates_in_bytes_are_invalid_json() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(b'{"type": "stop", "k": "\xed\xa0\x80"}')
    assert info.value.code in ("invalid_json", "invalid_message")
