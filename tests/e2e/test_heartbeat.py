"""The WebSocket heartbeat, on a real server: a client that stops answering pings (a dead
network, a frozen tab) is dropped, and its session stays resumable.

The silent client is a raw socket that speaks just enough RFC 6455 to open the
connection and send ``start``, then reads frames and never answers a ping (every
WebSocket library answers pings by itself)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.conftest import ServerProcess, start_server, stop_server
from tests.e2e.wsclient import Conversation

pytestmark = pytest.mark.e2e

PING, CLOSE, TEXT = 0x9, 0x8, 0x1


@pytest.fixture(scope="module")
def quick_heartbeat_server(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("heartbeat"),
        {
            "DRT_REDIS_URL": redis_url,
            "DRT_LIMITS__HEARTBEAT_INTERVAL_S": "0.5",
            "DRT_LIMITS__HEARTBEAT_TIMEOUT_S": "0.5",
        },
    )
    yield server
    stop_server(server)


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    assert len(payload) < 126
    header = bytes([0x80 | TEXT, 0x80 | len(payload)]) + mask
    return header + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """One server frame (servers do not mask), or None at the end of the connection."""
    try:
        first, second = await reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await reader.readexactly(8))
        return first & 0x0F, await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


async def test_a_client_that_stops_answering_pings_is_dropped_and_can_resume(
    quick_heartbeat_server: ServerProcess,
) -> None:
    server = quick_heartbeat_server
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101")
    writer.write(_masked_text_frame(json.dumps({"type": "start", "audio": {"encoding": "wav"}})))
    await writer.drain()

    opcodes: list[int] = []
    session: dict[str, object] = {}
    close_code: int | None = None
    async with asyncio.timeout(30):  # the server ends it after ~1 s; 30 s is the failure bound
        while (frame := await _read_frame(reader)) is not None:
            opcode, payload = frame
            opcodes.append(opcode)
            if opcode == TEXT:
                message = json.loads(payload)
                if message["type"] == "session":
                    session = message
            if opcode == CLOSE:
                (close_code,) = struct.unpack("!H", payload[:2])
                break  # the server gave up on us; it closes the socket next
    writer.close()
    assert session, "the session was started"
    assert PING in opcodes, "the server pinged"
    assert close_code == 1011  # "keepalive ping timeout": the heartbeat, not another limit

    # The session outlived the connection: the same client, back, resumes it.
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        stored = (await client.get(f"/v1/sessions/{session['session_id']}")).json()
    assert stored["status"] == "active"
    async with websockets.connect(server.ws_url) as ws:
        conversation = Conversation(ws)
        await conversation.send_json(
            {
                "type": "resume",
                "session_id": session["session_id"],
                "resume_token": session["resume_token"],
            }
        )
        resumed = await conversation.until("session")
    assert resumed["resumed"] is True
