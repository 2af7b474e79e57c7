"""One fake provider HTTP server speaking the real wire formats, with scriptable faults.

A real uvicorn server on ``127.0.0.1`` (a port chosen by the OS) in a background thread;
the provider classes call it through their real SDKs. Routes, by key:

==============  ====================================================================
``groq.stt``    ``POST /openai/v1/audio/transcriptions`` (multipart)
``groq.chat``   ``POST /openai/v1/chat/completions``
``openai.stt``  ``POST /v1/audio/transcriptions`` (multipart)
``openai.chat`` ``POST /v1/chat/completions``
``azure.stt``   ``POST /openai/deployments/{deployment}/audio/transcriptions?api-version=``
``azure.chat``  ``POST /openai/deployments/{deployment}/chat/completions?api-version=``
``gemini.stt``  ``POST /v1beta/models/{model}:generateContent`` with an inline audio part
``gemini.chat`` ``POST /v1beta/models/{model}:generateContent`` without one
==============  ====================================================================

Authentication is checked like the real services: ``Authorization: Bearer`` (Groq,
OpenAI), ``api-key`` (Azure, which also needs ``api-version``), ``x-goog-api-key``
(Gemini); a wrong or missing key is a 401 before any script is consumed.

Scripting: ``fake.script("groq.stt", Status(503), Status(429, retry_after=7), Ok())``
queues behaviours for a route; each request takes the next one, an empty queue answers
with success. Success answers carry ``fake.transcript`` / ``fake.note_json`` unless the
``Ok`` names its own. Error bodies and malformed answers contain :data:`ECHO`, a stand-in
for patient data a provider may echo, so tests can check it never reaches an exception
message or a log line.

Every request is recorded (:class:`RecordedRequest`): path, query, headers with secrets
redacted, whether the key matched, form fields, the uploaded WAV's shape, the JSON body
(inline audio replaced by its size) and ``text``, every prompt text that was sent.

Fixtures: ``provider_server`` (session), ``fake_providers`` (per test: a clean slate,
hanging requests released at teardown) and ``refused_url`` (a port bound but never
listening: connection refused). A test module makes them available with
``from tests.fakes.provider_server import fake_providers_fixture, provider_server_fixture,
refused_url_fixture  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from drtranscribe.audio.wav import decode_wav
from drtranscribe.config import ProviderSettings
from drtranscribe.domain.note import ClinicalNote, Symptom, TextItem
from drtranscribe.errors import AudioError

API_KEY = "test-key-not-secret"
AZURE_API_VERSION = "2024-10-21"
DEFAULT_TRANSCRIPT = "synthetic transcript"
ECHO = "PATIENT-ECHO-7f3a"  # stands in for patient data echoed in a provider's answer
REDACTED = "<redacted>"

DEFAULT_NOTE = ClinicalNote(
    chief_complaint=TextItem(id="cc-headache", evidence=["seg-0000"], text="headache"),
    symptoms=[Symptom(id="sym-headache", evidence=["seg-0000"], name="headache")],
)

Provider = Literal["groq", "openai", "azure", "gemini"]
Kind = Literal["stt", "chat"]
_SECRET_HEADERS = {"authorization", "api-key", "x-goog-api-key"}


# ---------------------------------------------------------------------------- behaviours


@dataclass(frozen=True)
class Ok:
    """Success. ``text``: the transcript, ``note``: the note JSON; None: the server default."""

    text: str | None = None
    note: str | None = None
    delay_s: float = 0.0


@dataclass(frozen=True)
class Status:
    """An HTTP error in the provider's own error format.

    ``retry_after`` becomes a ``Retry-After`` header; ``retry_info_s`` a Gemini
    ``google.rpc.RetryInfo`` detail in the body.
    """

    status: int
    retry_after: float | str | None = None
    retry_info_s: float | None = None
    delay_s: float = 0.0


@dataclass(frozen=True)
class Hang:
    """Never answer; released (and the handler ended) when the test's fixture tears down."""


@dataclass(frozen=True)
class Malformed:
    """200 with ``Content-Type: application/json`` and a body that is not JSON."""

    delay_s: float = 0.0


@dataclass(frozen=True)
class BadContent:
    """A well-formed answer whose content is wrong: the model's text is ``content`` (chat,
    Gemini); an OpenAI-style transcription JSON has no ``text`` field."""

    content: str = '{"symptoms": "not a list"}'
    delay_s: float = 0.0


@dataclass(frozen=True)
class Drop:
    """Headers sent, then the connection dies before the declared body is complete."""


@dataclass(frozen=True)
class Cutoff:
    """Chat and Gemini answers whose model stopped early. ``"length"``: half a note and
    OpenAI ``finish_reason: "length"`` / Gemini ``finishReason: "MAX_TOKENS"``;
    ``"safety"``: an OpenAI ``refusal`` / Gemini ``finishReason: "SAFETY"`` without text."""

    reason: Literal["length", "safety"] = "length"


Behaviour = Ok | Status | Hang | Malformed | BadContent | Drop | Cutoff


# ---------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str | None
    size: int
    sample_rate: int | None  # None: not a decodable WAV
    channels: int | None
    frames: int | None


@dataclass(frozen=True)
class RecordedRequest:
    route: str
    provider: Provider
    kind: Kind
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; secrets redacted
    authenticated: bool
    model: str | None  # body/form model, Azure deployment or Gemini model from the path
    fields: dict[str, str] = field(default_factory=dict)  # multipart form fields
    upload: Upload | None = None
    body: dict[str, Any] = field(default_factory=dict)  # JSON body; inline audio summarised
    text: str = ""  # every prompt text that was sent, joined by newlines


# ---------------------------------------------------------------------------- helpers


def _multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, str | None, bytes]]:
    """name -> (filename, content type, data). Enough of RFC 7578 for SDK uploads."""
    boundary = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return {}
    out: dict[str, tuple[str | None, str | None, bytes]] = {}
    for raw in body.split(b"--" + boundary.encode())[1:]:
        if raw.startswith(b"--"):
            break
        raw = raw.removeprefix(b"\r\n")
        head, _, data = raw.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        params: dict[str, str] = {}
        for item in headers.get("content-disposition", "").split(";")[1:]:
            key, _, value = item.strip().partition("=")
            params[key.lower()] = value.strip('"')
        if "name" in params:
            out[params["name"]] = (params.get("filename"), headers.get("content-type"), data)
    return out


def _upload(filename: str | None, content_type: str | None, data: bytes) -> Upload:
    try:
        pcm = decode_wav(data)
    except AudioError:
        return Upload(filename, content_type, len(data), None, None, None)
    return Upload(filename, content_type, len(data), pcm.sample_rate, pcm.channels, pcm.frames)


def _redacted(headers: dict[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k in _SECRET_HEADERS else v) for k, v in headers.items()}


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _gemini_parts(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    system = body.get("systemInstruction") or body.get("system_instruction") or {}
    yield from system.get("parts", []) if isinstance(system, dict) else []
    for content in body.get("contents", []):
        yield from content.get("parts", [])


def _summarise_inline_audio(body: dict[str, Any]) -> list[Upload]:
    """Replace each inline data part's base64 by its decoded size; return the uploads."""
    uploads: list[Upload] = []
    for part in _gemini_parts(body):
        key = "inlineData" if "inlineData" in part else "inline_data"
        inline = part.get(key)
        if not isinstance(inline, dict):
            continue
        mime = inline.get("mimeType") or inline.get("mime_type")
        encoded = str(inline.get("data", "")).replace("-", "+").replace("_", "/")
        try:  # the SDK sends base64url; the REST docs show standard base64: accept both
            data = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            data = b""
        uploads.append(_upload(None, mime, data))
        inline["data"] = f"<{len(data)} bytes>"
    return uploads


def _verbose_segments(text: str, audio_s: float) -> list[dict[str, Any]]:
    """Whisper's ``verbose_json`` segments: the text's sentences, timed by an even share
    of the audio each (as the real service answers, with its per-segment statistics)."""
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]
    share = audio_s / max(1, len(sentences))
    stats = {"seek": 0, "tokens": [], "temperature": 0.0, "avg_logprob": -0.2}
    stats |= {"compression_ratio": 1.2, "no_speech_prob": 0.01}
    return [
        {"id": i, "start": round(i * share, 2), "end": round((i + 1) * share, 2)}
        | {"text": " " + sentence, **stats}
        for i, sentence in enumerate(sentences)
    ]


def _tokens(text: str) -> int:
    return len(text.split())


_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class _CutShort(Response):
    """Declares a body longer than what it sends, then ends: the client sees a broken
    connection mid-answer."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"text": "', "more_body": True})
        raise ConnectionAbortedError("scripted drop")


# ---------------------------------------------------------------------------- server


class FakeProviderServer:
    """The fake. ``start()`` / ``stop()`` from the test thread; state is lock-protected."""

    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        default: Behaviour | None = None,
        keep_requests: bool = True,
    ) -> None:
        """``default``: how an unscripted request is answered (``Ok()``); a load benchmark
        gives it a delay and ``keep_requests=False`` (nothing recorded, memory flat)."""
        self.api_key = api_key
        self.default = default or Ok()
        self.keep_requests = keep_requests
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)  # notified on every request
        self._scripts: dict[str, deque[Behaviour]] = defaultdict(deque)
        self._requests: list[RecordedRequest] = []
        self.transcript = DEFAULT_TRANSCRIPT
        self.note_json = DEFAULT_NOTE.model_dump_json()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hang: asyncio.Event | None = None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited on accept
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)  # connections queue here until uvicorn accepts them
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self._app(),
            lifespan="off",
            loop="asyncio",
            http="h11",
            log_level="critical",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release_hangs()
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._requests.clear()
            self.transcript = DEFAULT_TRANSCRIPT
            self.note_json = DEFAULT_NOTE.model_dump_json()

    def release_hangs(self) -> None:
        """Answer every hanging request (their clients are long gone)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def release() -> None:
            if self._hang is not None:
                self._hang.set()
                self._hang = None

        with contextlib.suppress(RuntimeError):  # the loop closed in between
            loop.call_soon_threadsafe(release)

    # -- scripting and inspection ---------------------------------------------------------

    def script(self, route: str, *behaviours: Behaviour) -> None:
        if route not in _ROUTES:
            raise ValueError(f"unknown route {route!r}; known: {sorted(_ROUTES)}")
        with self._lock:
            self._scripts[route].extend(behaviours)

    def pending(self, route: str) -> int:
        with self._lock:
            return len(self._scripts[route])

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, route: str, count: int, timeout_s: float = 30) -> None:
        """Block until ``route`` has received ``count`` requests in all (no polling)."""
        with self._recorded:
            arrived = self._recorded.wait_for(
                lambda: sum(r.route == route for r in self._requests) >= count, timeout_s
            )
        if not arrived:
            raise TimeoutError(f"{route}: fewer than {count} requests within {timeout_s} s")

    def requests_to(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    def settings(
        self, provider: str, *, url: str | None = None, **overrides: Any
    ) -> ProviderSettings:
        """ProviderSettings pointing a provider class at this fake (or at ``url``, e.g.
        the ``refused_url`` fixture, with the provider's path prefix)."""
        root = url or self.url
        base: dict[str, Any] = {"api_key": SecretStr(self.api_key), "timeout_s": 5.0}
        if provider == "groq":
            base["base_url"] = f"{root}/openai/v1"
        elif provider in ("openai", "openai_compatible"):
            base["base_url"] = f"{root}/v1"
        elif provider in ("azure", "azure_openai"):
            base |= {"base_url": root, "api_version": AZURE_API_VERSION}
        elif provider == "gemini":
            base |= {"base_url": root, "api_version": "v1beta"}
        else:
            raise ValueError(f"unknown provider {provider!r}")
        return ProviderSettings(**(base | overrides))

    # -- the app --------------------------------------------------------------------------

    def _app(self) -> Starlette:
        def openai_route(path: str, provider: Provider, kind: Kind) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self._handle(request, provider, kind)

            return Route(path, endpoint, methods=["POST"])

        async def gemini(request: Request) -> Response:
            return await self._handle(request, "gemini", None)

        return Starlette(
            routes=[
                openai_route("/openai/v1/audio/transcriptions", "groq", "stt"),
                openai_route("/openai/v1/chat/completions", "groq", "chat"),
                openai_route("/v1/audio/transcriptions", "openai", "stt"),
                openai_route("/v1/chat/completions", "openai", "chat"),
                openai_route(
                    "/openai/deployments/{deployment}/audio/transcriptions", "azure", "stt"
                ),
                openai_route("/openai/deployments/{deployment}/chat/completions", "azure", "chat"),
                Route("/v1beta/models/{model}:generateContent", gemini, methods=["POST"]),
            ]
        )

    def _authenticated(self, provider: Provider, headers: dict[str, str]) -> bool:
        if provider == "azure":
            return headers.get("api-key") == self.api_key
        if provider == "gemini":
            return headers.get("x-goog-api-key") == self.api_key
        return headers.get("authorization") == f"Bearer {self.api_key}"

    async def _record(
        self, request: Request, provider: Provider, kind: Kind | None
    ) -> RecordedRequest:
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        content_type = headers.get("content-type", "")
        fields: dict[str, str] = {}
        upload: Upload | None = None
        body: dict[str, Any] = {}
        text = ""
        model: str | None = request.path_params.get("deployment") or request.path_params.get(
            "model"
        )
        if content_type.startswith("multipart/form-data"):
            for name, (filename, ctype, data) in _multipart(raw, content_type).items():
                if filename is not None:
                    upload = _upload(filename, ctype, data)
                else:
                    fields[name] = data.decode("utf-8", "replace")
            text = fields.get("prompt", "")
            model = model or fields.get("model")
        else:
            try:
                parsed = json.loads(raw or b"{}")
            except ValueError:
                parsed = {}
            body = parsed if isinstance(parsed, dict) else {}
            if provider == "gemini":
                uploads = _summarise_inline_audio(body)
                upload = uploads[0] if uploads else None
                kind = "stt" if uploads else "chat"
                text = "\n".join(str(p["text"]) for p in _gemini_parts(body) if "text" in p)
            else:
                messages = body.get("messages", [])
                text = "\n".join(_message_text(m.get("content")) for m in messages)
                model = model or body.get("model")
        assert kind is not None
        recorded = RecordedRequest(
            route=f"{provider}.{kind}",
            provider=provider,
            kind=kind,
            path=request.url.path,
            query=dict(request.query_params),
            headers=_redacted(headers),
            authenticated=self._authenticated(provider, headers),
            model=model,
            fields=fields,
            upload=upload,
            body=body,
            text=text,
        )
        with self._lock:
            if self.keep_requests:
                self._requests.append(recorded)
            self._recorded.notify_all()
        return recorded

    async def _handle(self, request: Request, provider: Provider, kind: Kind | None) -> Response:
        self._loop = asyncio.get_running_loop()
        rec = await self._record(request, provider, kind)
        if not rec.authenticated:
            return self._error(rec, Status(401))
        if provider == "azure" and "api-version" not in rec.query:
            return self._error(rec, Status(404))
        with self._lock:
            queue = self._scripts[rec.route]
            behaviour: Behaviour = queue.popleft() if queue else self.default
        delay = getattr(behaviour, "delay_s", 0.0)
        if delay:
            await asyncio.sleep(delay)  # scripted provider latency, inside the server
        if isinstance(behaviour, Hang):
            if self._hang is None:
                self._hang = asyncio.Event()
            await self._hang.wait()
            return PlainTextResponse("released", status_code=504)
        if isinstance(behaviour, Drop):
            return _CutShort()
        if isinstance(behaviour, Status):
            return self._error(rec, behaviour)
        if isinstance(behaviour, Malformed):
            return Response(
                content='{"text": "' + ECHO, media_type="application/json", status_code=200
            )
        if isinstance(behaviour, BadContent):
            return self._success(rec, content=behaviour.content, bad=True)
        if isinstance(behaviour, Cutoff):
            with self._lock:
                half = self.note_json[: len(self.note_json) // 2]
            return self._success(rec, content=half, bad=True, cutoff=behaviour.reason)
        with self._lock:
            default = self.transcript if rec.kind == "stt" else self.note_json
        wanted = behaviour.text if rec.kind == "stt" else behaviour.note
        return self._success(rec, content=default if wanted is None else wanted, bad=False)

    # -- answers --------------------------------------------------------------------------

    def _error(self, rec: RecordedRequest, status: Status) -> Response:
        headers: dict[str, str] = {}
        if status.retry_after is not None:
            value = status.retry_after
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            headers["retry-after"] = str(value)
        message = f"scripted failure {status.status}; the request said: {ECHO}"
        if rec.provider == "gemini":
            details: list[dict[str, Any]] = []
            if status.retry_info_s is not None:
                details.append(
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{status.retry_info_s}s",
                    }
                )
            payload: dict[str, Any] = {
                "error": {
                    "code": status.status,
                    "message": message,
                    "status": _GOOGLE_STATUS.get(status.status, "UNKNOWN"),
                    "details": details,
                }
            }
        else:
            payload = {
                "error": {
                    "message": message,
                    "type": "invalid_request_error" if status.status < 500 else "server_error",
                    "param": None,
                    "code": None,
                }
            }
        return JSONResponse(payload, status_code=status.status, headers=headers)

    def _success(
        self, rec: RecordedRequest, *, content: str, bad: bool, cutoff: str | None = None
    ) -> Response:
        if rec.provider == "gemini":
            return self._gemini_success(rec, content, bad=bad, cutoff=cutoff)
        if rec.kind == "stt":
            if bad:
                return JSONResponse({"transcript": content})
            audio_s = (
                (rec.upload.frames or 0) / (rec.upload.sample_rate or 16000) if rec.upload else 0
            )
            fmt = rec.fields.get("response_format", "json")
            if fmt == "text":
                return PlainTextResponse(content)
            if fmt == "verbose_json":
                return JSONResponse(
                    {
                        "task": "transcribe",
                        "language": rec.fields.get("language", "english"),
                        "duration": audio_s,
                        "text": content,
                        "segments": _verbose_segments(content, audio_s),
                    }
                )
            return JSONResponse(
                {"text": content, "usage": {"type": "duration", "seconds": round(audio_s)}}
            )
        prompt_tokens, completion_tokens = _tokens(rec.text), _tokens(content)
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if cutoff == "safety":
            message |= {"content": None, "refusal": "I can't help with that."}
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": rec.model or "unknown",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "length" if cutoff == "length" else "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    def _gemini_success(
        self, rec: RecordedRequest, content: str, *, bad: bool, cutoff: str | None
    ) -> Response:
        config = rec.body.get("generationConfig") or rec.body.get("generation_config") or {}
        wants_json = (config.get("responseMimeType") or config.get("response_mime_type")) == (
            "application/json"
        )
        text = content
        if rec.kind == "stt" and wants_json and not bad:
            text = json.dumps({"text": content})
        prompt_tokens, output_tokens = _tokens(rec.text), _tokens(text)
        candidate: dict[str, Any] = {
            "content": {"role": "model", "parts": [{"text": text}]},
            "finishReason": "STOP",
            "index": 0,
        }
        if cutoff == "length":
            candidate["finishReason"] = "MAX_TOKENS"
        elif cutoff == "safety":
            candidate = {"finishReason": "SAFETY", "index": 0}
        return JSONResponse(
            {
                "candidates": [candidate],
                "usageMetadata": {
                    "promptTokenCount": prompt_tokens,
                    "candidatesTokenCount": output_tokens,
                    "totalTokenCount": prompt_tokens + output_tokens,
                },
                "modelVersion": rec.model or "unknown",
                "responseId": "fake-response",
            }
        )


_ROUTES = {f"{p}.{k}" for p in ("groq", "openai", "azure", "gemini") for k in ("stt", "chat")}


# ---------------------------------------------------------------------------- fixtures


# Registered under their ``name``; a test module imports the ``*_fixture`` functions, so
# the imported names do not clash with the test parameters that request them.


@pytest.fixture(scope="session", name="provider_server")
def provider_server_fixture() -> Iterator[FakeProviderServer]:
    server = FakeProviderServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="fake_providers")
def fake_providers_fixture(provider_server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    """The session's fake, reset for this test; hanging requests released afterwards."""
    provider_server.reset()
    yield provider_server
    provider_server.release_hangs()
    provider_server.reset()


@pytest.fixture(name="refused_url")
def refused_url_fixture() -> Iterator[str]:
    """A URL whose port is bound (so nobody else takes it) but never listens: connecting
    is refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
