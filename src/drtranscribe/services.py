"""The process container: what every session of this process shares (stores, provider
chains, auth, metrics), built once by the app or the CLI (`runtime.services_for`)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from drtranscribe.auth.keys import ApiKeys
from drtranscribe.auth.state import AuthState
from drtranscribe.config import SessionSettings
from drtranscribe.extraction.base import Extractor
from drtranscribe.metrics import Metrics
from drtranscribe.resilience.chain import FallbackChain
from drtranscribe.state.store import SessionStore
from drtranscribe.storage.base import AudioStore
from drtranscribe.transcription.base import SpeechToText


def new_instance_id() -> str:
    """Identifies this process as a session writer (in leases and logs)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass
class ProcessServices:
    session: SessionSettings  # what sessions read of the settings (`Settings.session`)
    store: SessionStore
    audio: AudioStore
    stt: FallbackChain[SpeechToText]
    extraction: FallbackChain[Extractor]
    auth: AuthState = field(default_factory=lambda: AuthState(keys=ApiKeys(), required=False))
    instance_id: str = field(default_factory=new_instance_id)
    metrics: Metrics = field(default_factory=Metrics)
