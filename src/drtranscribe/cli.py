"""``drtranscribe``: serve | transcribe FILE | stream FILE --url ws://... | extract FILE | keys."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drtranscribe.config import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from drtranscribe.app import create_app

    settings = load_settings()  # PORT (Cloud Run) is honoured by Settings itself
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ws_max_size=settings.limits.max_frame_bytes * 4,
        log_config=None,
        proxy_headers=True,
        # Heartbeat: a client that stops answering pings (a dead network, a frozen tab) is
        # closed; its session stays resumable.
        ws_ping_interval=settings.limits.heartbeat_interval_s,
        ws_ping_timeout=settings.limits.heartbeat_timeout_s,
        timeout_graceful_shutdown=8,  # Cloud Run gives 10 s after SIGTERM
    )
    server = _draining_server(config)
    server.run()
    if not server.started:  # the lifespan failed: it logged why, on one line
        return STARTUP_FAILURE
    return 0


#: Exit status when the service cannot start (uvicorn's own code for a failed startup).
STARTUP_FAILURE = 3


def load_settings() -> Settings:
    """Settings from the environment and settings.yaml; a bad value is a ConfigError that
    names the variable (one line, no traceback)."""
    from pydantic import ValidationError

    from drtranscribe.config import Settings
    from drtranscribe.errors import ConfigError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{_setting_name(error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None


def _setting_name(location: tuple[int | str, ...]) -> str:
    """``('limits', 'max_frame_bytes')`` -> ``DRT_LIMITS__MAX_FRAME_BYTES``."""
    if not location:
        return "settings"
    return "DRT_" + "__".join(str(part).upper() for part in location)


def _draining_server(config: Any) -> Any:
    """uvicorn's server, except that the first SIGTERM/SIGINT first tells WebSocket clients
    to resume elsewhere (bounded to a few seconds), then shuts down as usual."""
    import uvicorn

    from drtranscribe.api.stream import drain_connections

    class DrainingServer(uvicorn.Server):
        draining = False

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.draining or self.should_exit:
                super().handle_exit(sig, frame)  # a second signal: uvicorn's own way
                return
            self.draining = True
            loop = asyncio.get_event_loop()
            exit_now = super().handle_exit

            async def drain_then_exit() -> None:
                try:
                    async with asyncio.timeout(5):
                        await drain_connections(config.app)
                except TimeoutError:
                    pass
                finally:
                    exit_now(sig, frame)

            loop.call_soon_threadsafe(lambda: loop.create_task(drain_then_exit()))

    return DrainingServer(config)


def _transcribe(args: argparse.Namespace) -> int:
    from drtranscribe.audio.file import load_audio_file
    from drtranscribe.config import Settings
    from drtranscribe.inprocess import transcribe_in_process
    from drtranscribe.logging import configure_logging

    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    configure_logging(level="WARNING", fmt="console" if sys.stderr.isatty() else "json")
    audio = load_audio_file(Path(args.file))
    final = asyncio.run(
        transcribe_in_process(
            settings, audio, chunk_seconds=args.chunk_seconds, progress=sys.stderr.isatty()
        )
    )
    if args.json:
        print(
            json.dumps(
                {
                    "session_id": final.session_id,
                    "transcript": [s.model_dump(mode="json") for s in final.transcript],
                    "note": final.note.model_dump(mode="json"),
                    "audio": final.audio.model_dump(mode="json") if final.audio else None,
                }
            )
        )
    else:
        from drtranscribe.render import render_note

        for seg in final.transcript:
            print(f"[{seg.start:7.1f}-{seg.end:7.1f}] {seg.text}")
        print()
        print(render_note(final.note))
    return 0


#: Files ``drtranscribe stream`` replays as captions; anything else is audio.
TRANSCRIPT_SUFFIXES = (".txt", ".vtt", ".json")


def _stream(args: argparse.Namespace) -> int:
    from drtranscribe.client import ClientEvent, StreamFailed

    def show(event: ClientEvent) -> None:
        if args.json:
            print(
                json.dumps({"t": event.t, "direction": event.direction, "message": event.message}),
                flush=True,
            )
            return
        m = event.message
        if event.direction == "reconnect":
            print(f"{event.t:8.2f}s ~ reconnecting (attempt {m['attempt']})", flush=True)
            return
        if event.direction == "out" and "caption" in m:
            state = "final" if m["final"] else "revised"
            print(
                f"{event.t:8.2f}s → caption {m['caption']} {state} ({m['chars']} chars)", flush=True
            )
            return
        if event.direction == "out":
            print(f"{event.t:8.2f}s → chunk {m['chunk']} ({m['duration_s']:.1f} s)", flush=True)
            return
        kind = m.get("type")
        if kind == "transcript":
            seg = m["segment"]
            flag = "final" if seg["final"] else "interim"
            who = f" {seg['speaker']}:" if seg.get("speaker") else ""
            print(f"{event.t:8.2f}s ← {seg['id']} [{flag}]{who} {seg['text']}", flush=True)
        elif kind == "note":
            paths = ", ".join(sorted({op["path"] for op in m["patch"]}))
            print(f"{event.t:8.2f}s ← note v{m['version']}: {paths}", flush=True)
        elif kind == "error":
            print(f"{event.t:8.2f}s ← error {m['code']}: {m['message']}", flush=True)
        elif kind == "session":
            resumed = " (resumed)" if m.get("resumed") else ""
            print(
                f"{event.t:8.2f}s ← session {m['session_id']}{resumed}, next input {m['next_seq']}",
                flush=True,
            )
        elif kind == "final":
            print(
                f"{event.t:8.2f}s ← final ({len(m['transcript'])} segments, audio {m['audio']})",
                flush=True,
            )
        else:
            print(f"{event.t:8.2f}s ← {kind} {json.dumps(m)}", flush=True)

    urls = args.url or ["ws://127.0.0.1:8000/v1/stream"]
    api_key = args.api_key or os.environ.get("DRT_API_KEY") or None
    path = Path(args.file)
    turns = None
    if path.suffix.lower() in TRANSCRIPT_SUFFIXES:
        from drtranscribe.domain.turns import parse_turns

        turns = parse_turns(path.read_text(encoding="utf-8"), path.name)

    async def run() -> None:
        if turns is not None:
            from drtranscribe.client.captions import declared_roles, stream_captions

            events = stream_captions(
                urls,
                turns,
                speakers=declared_roles(turns, args.clinician),
                realtime=not args.fast,
                on_event=show,
                api_key=api_key,
            )
        else:
            from drtranscribe.audio.file import load_audio_file
            from drtranscribe.client import stream_audio

            events = stream_audio(
                urls,
                load_audio_file(path),
                chunk_seconds=args.chunk_seconds,
                realtime=not args.fast,
                on_event=show,
                api_key=api_key,
            )
        async for _ in events:
            pass

    try:
        asyncio.run(run())
    except StreamFailed as exc:
        print(f"drtranscribe: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _extract(args: argparse.Namespace) -> int:
    from drtranscribe.extraction.transcript_file import extract_file
    from drtranscribe.logging import configure_logging
    from drtranscribe.render import render_note

    configure_logging(level="WARNING", fmt="console" if sys.stderr.isatty() else "json")

    note = extract_file(Path(args.file))
    if args.json:
        print(note.model_dump_json(indent=2))
    else:
        print(render_note(note))
    return 0


def _keys(args: argparse.Namespace) -> int:
    from drtranscribe.auth import keygen

    raw = ""
    if args.input == "-":
        raw = sys.stdin.read()
    elif args.input:
        raw = Path(args.input).read_text(encoding="utf-8")
    if args.input and not raw.strip():
        # A failed read upstream in a pipe (`gcloud secrets versions access ... |`) must
        # not turn into a new list that revokes every other key.
        raise _usage(
            "the current keys list is empty (did reading it fail?); "
            "to start a new list, leave out --input"
        )
    entries = keygen.parse_entries(raw)
    if args.action == "list":
        print(json.dumps(keygen.describe(entries), indent=2))
        return 0
    if args.action == "revoke":
        print(json.dumps(keygen.revoke_key(entries, args.id), indent=2))
        return 0
    if not args.tenant:
        raise _usage("keys add needs --tenant")
    new = keygen.add_key(
        entries,
        key_id=args.id,
        tenant=args.tenant,
        origins=args.origin,
        max_session_s=args.max_session_s,
    )
    # The key goes to stderr (the terminal), the list to stdout (the secret): a pipe into
    # `gcloud secrets versions add` never carries the plain key.
    print(
        f"API key {args.id!r} for tenant {args.tenant!r} (shown once, store it now):\n{new.key}",
        file=sys.stderr,
    )
    print(json.dumps(new.entries, indent=2))
    return 0


def _usage(message: str) -> Exception:
    from drtranscribe.errors import ConfigError

    return ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drtranscribe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service (honours PORT)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=_serve)

    tr = sub.add_parser("transcribe", help="run the session pipeline in-process on an audio file")
    tr.add_argument("file")
    tr.add_argument("--json", action="store_true", help="print one JSON object")
    tr.add_argument("--chunk-seconds", type=float, default=5.0)
    tr.add_argument("--data-dir", type=Path)
    tr.set_defaults(func=_transcribe)

    st = sub.add_parser(
        "stream",
        help="stream an audio file, or replay a transcript (.txt, .vtt, .json) as live "
        "captions, to a running server",
    )
    st.add_argument("file")
    st.add_argument(
        "--url",
        action="append",
        help="server WebSocket URL (default ws://127.0.0.1:8000/v1/stream); repeat it to "
        "give fallbacks that reconnects rotate over",
    )
    st.add_argument("--fast", action="store_true", help="send as fast as acked, not in real time")
    st.add_argument("--json", action="store_true", help="one JSON line per event")
    st.add_argument("--chunk-seconds", type=float, default=5.0)
    st.add_argument(
        "--clinician", help="captions: the speaker name (as in the file) that is the clinician"
    )
    st.add_argument(
        "--api-key",
        help="API key (default: $DRT_API_KEY); sent in the first message, never in the URL",
    )
    st.set_defaults(func=_stream)

    ex = sub.add_parser("extract", help="run the note extractor on a transcript file")
    ex.add_argument("file")
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(func=_extract)

    keys = sub.add_parser(
        "keys",
        help="edit the API-keys secret (JSON list on stdin or --input, result on stdout)",
        description="Add, revoke or list API keys in the drtranscribe-api-keys secret. "
        "The list is read from --input (a file, or - for stdin; empty: a new list) and "
        "the edited list printed on stdout. A new key is printed once, on stderr; the list "
        "stores only its SHA-256. Example (docs/runbook.md): gcloud secrets versions access "
        "latest --secret=drtranscribe-api-keys | drtranscribe keys add --input - --id "
        "clinic-a-web --tenant clinic-a | gcloud secrets versions add "
        "drtranscribe-api-keys --data-file=-",
    )
    keys.add_argument("action", choices=["add", "revoke", "list"])
    keys.add_argument("--input", help="the current list: a file, or - for stdin")
    keys.add_argument("--id", help="the key's id (add, revoke)")
    keys.add_argument("--tenant", help="the key's tenant (add)")
    keys.add_argument(
        "--origin", action="append", help="a browser origin allowed with this key (repeat)"
    )
    keys.add_argument("--max-session-s", type=float, help="session limit for this key")
    keys.set_defaults(func=_keys)
    return parser


def main(argv: list[str] | None = None) -> int:
    from drtranscribe.errors import DrTranscribeError, ProtocolError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "keys" and args.action != "list" and not args.id:
        parser.error(f"keys {args.action} needs --id")
    try:
        result: int = args.func(args)
    except ProtocolError as exc:
        print(f"drtranscribe: error: {exc.message} ({exc.code})", file=sys.stderr)
        return 2
    except (DrTranscribeError, OSError) as exc:
        print(f"drtranscribe: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    raise SystemExit(main())
