"""A small test client over a real WebSocket connection."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection


@dataclass
class Conversation:
    ws: ClientConnection
    received: list[dict[str, Any]] = field(default_factory=list)

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def next_message(self) -> dict[str, Any]:
        raw = await self.ws.recv()
        message: dict[str, Any] = json.loads(raw)
        self.received.append(message)
        return message

    async def until(self, kind: str) -> dict[str, Any]:
        """Read messages until one of ``kind`` arrives; return it."""
        while True:
            message = await self.next_message()
            if message["type"] == kind:
                return message

    async def start(self, audio: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        await self.send_json({"type": "start", "audio": audio or {"encoding": "wav"}, **extra})
        return await self.until("session")

    async def send_chunk(self, data: bytes) -> dict[str, Any]:
        """Send one chunk; return the ack (or the error) that answers it."""
        await self.ws.send(data)
        while True:
            message = await self.next_message()
            if message["type"] in ("ack", "error"):
                return message

    async def stop(self) -> dict[str, Any]:
        await self.send_json({"type": "stop"})
        return await self.until("final")

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m["type"] == kind]


def connect(url: str) -> Any:
    return websockets.connect(url, max_size=None, open_timeout=30)
