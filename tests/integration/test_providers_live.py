"""Opt-in checks against the real provider APIs (marker ``live``).

Each test runs only when its keys are in the environment and is skipped otherwise:

* ``GROQ_API_KEY``; ``OPENAI_API_KEY``; ``GEMINI_API_KEY`` (or ``GOOGLE_API_KEY``);
* Azure: ``AZURE_OPENAI_API_KEY`` and ``AZURE_OPENAI_ENDPOINT``, plus the deployment
  names ``AZURE_OPENAI_STT_DEPLOYMENT`` / ``AZURE_OPENAI_CHAT_DEPLOYMENT`` (and optionally
  ``AZURE_OPENAI_API_VERSION``).

Only the synthetic speech fixture of this repository is sent; no patient data.
Run: ``pytest -m live tests/integration/test_providers_live.py``.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from pydantic import SecretStr

from drtranscribe.audio.file import load_audio_file
from drtranscribe.config import ProviderSettings
from drtranscribe.domain.note import ClinicalNote
from drtranscribe.extraction.base import ExtractionRequest
from drtranscribe.transcription.base import TranscriptionRequest
from drtranscribe.vendors.gemini.llm import GeminiExtractor
from drtranscribe.vendors.gemini.stt import GeminiSTT
from drtranscribe.vendors.openai.llm import (
    AzureOpenAIExtractor,
    GroqExtractor,
    OpenAIExtractor,
)
from drtranscribe.vendors.openai.stt import AzureOpenAISTT, GroqSTT, OpenAISTT
from tests.conftest import SpeechFixture
from tests.segments import segment

pytestmark = [pytest.mark.integration, pytest.mark.live]


def _settings(kind: str, provider: str) -> ProviderSettings:
    env = os.environ
    if provider == "azure_openai":
        deployment = env.get(f"AZURE_OPENAI_{kind.upper()}_DEPLOYMENT")
        endpoint = env.get("AZURE_OPENAI_ENDPOINT")
        if not (env.get("AZURE_OPENAI_API_KEY") and endpoint and deployment):
            pytest.skip("Azure OpenAI key, endpoint or deployment not set")
        return ProviderSettings(
            api_key=SecretStr(env["AZURE_OPENAI_API_KEY"]),
            base_url=endpoint,
            model=deployment,
            api_version=env.get("AZURE_OPENAI_API_VERSION"),
        )
    names = {
        "groq": ["GROQ_API_KEY"],
        "openai": ["OPENAI_API_KEY"],
        "gemini": ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    }[provider]
    key = next((env[n] for n in names if env.get(n)), None)
    if key is None:
        pytest.skip(f"{names[0]} not set")
    return ProviderSettings(api_key=SecretStr(key))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


STT = [
    (GroqSTT, "groq"),
    (OpenAISTT, "openai"),
    (AzureOpenAISTT, "azure_openai"),
    (GeminiSTT, "gemini"),
]
EXTRACTORS = [
    (GroqExtractor, "groq"),
    (OpenAIExtractor, "openai"),
    (AzureOpenAIExtractor, "azure_openai"),
    (GeminiExtractor, "gemini"),
]


@pytest.mark.parametrize(("cls", "provider"), STT, ids=[c.__name__ for c, _ in STT])
async def test_live_transcription(
    cls: Any, provider: str, speech: dict[str, SpeechFixture]
) -> None:
    fixture = speech["consult_short"]
    stt = cls(_settings("stt", provider))
    try:
        audio = load_audio_file(fixture.path).mono_float32()
        result = await stt.transcribe(TranscriptionRequest(audio=audio, language="en"))
        await stt.probe()
    finally:
        await stt.aclose()
    expected = _words(fixture.text)
    assert len(_words(result.text) & expected) >= 0.6 * len(expected)
    assert "ibuprofen" in result.text.lower()


@pytest.mark.parametrize(("cls", "provider"), EXTRACTORS, ids=[c.__name__ for c, _ in EXTRACTORS])
async def test_live_extraction(cls: Any, provider: str) -> None:
    turns = [
        ("clinician", "What brings you in today?"),
        ("patient", "A headache and a fever, for three days."),
        ("clinician", "Any medication?"),
        ("patient", "I take ibuprofen, four hundred milligrams."),
    ]
    segments = [
        segment(i, text, speaker, final=True, provider="live")
        for i, (speaker, text) in enumerate(turns)
    ]
    extractor = cls(_settings("chat", provider))
    try:
        note = ClinicalNote()
        for n in range(1, len(segments) + 1):
            note = await extractor.extract(
                ExtractionRequest(
                    note=note, segments=segments[:n], changed=frozenset({segments[n - 1].id})
                )
            )
        await extractor.probe()
    finally:
        await extractor.aclose()
    assert any("ibuprofen" in m.name.lower() for m in note.medications)
    assert {"headache", "fever"} <= {s.name.lower() for s in note.symptoms}
    known = {s.id for s in segments}
    assert all(set(m.evidence) <= known for m in note.medications)
