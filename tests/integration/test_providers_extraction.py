"""LLM extractors through their real SDKs against the fake provider server: the note they
return, the request they send (structured output, incremental prompt), the mapping of
every failure, token usage in the log, and the probe."""

from __future__ import annotations

import json
import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from drtranscribe.config import ProviderSettings
from drtranscribe.domain.note import ClinicalNote, Medication, Symptom, TextItem
from drtranscribe.domain.transcript import Segment
from drtranscribe.errors import (
    ConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderInvalidResponse,
    ProviderStatusError,
    ProviderTimeout,
)
from drtranscribe.extraction.base import ExtractionRequest
from drtranscribe.extraction.llm_base import PROBE_TEXT, LLMExtractor
from drtranscribe.extraction.llm_note import strict_note_schema
from drtranscribe.extraction.llm_prompt import SYSTEM_PROMPT, build_messages
from drtranscribe.vendors.gemini.llm import GeminiExtractor
from drtranscribe.vendors.openai.llm import (
    AzureOpenAIExtractor,
    GroqExtractor,
    OpenAICompatibleExtractor,
    OpenAIExtractor,
)
from tests.fakes.provider_server import (  # noqa: F401 - pytest fixtures
    AZURE_API_VERSION,
    DEFAULT_NOTE,
    ECHO,
    REDACTED,
    BadContent,
    Behaviour,
    Cutoff,
    Drop,
    FakeProviderServer,
    Hang,
    Malformed,
    Ok,
    Status,
    fake_providers_fixture,
    provider_server_fixture,
    refused_url_fixture,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Case:
    cls: Any  # an LLMExtractor subclass taking (settings, *, name=..., context_segments=...)
    provider: str  # key for FakeProviderServer.settings
    route: str
    auth_header: str

    @property
    def id(self) -> str:
        return str(self.cls.__name__)


CASES = [
    Case(OpenAIExtractor, "openai", "openai.chat", "authorization"),
    Case(OpenAICompatibleExtractor, "openai_compatible", "openai.chat", "authorization"),
    Case(AzureOpenAIExtractor, "azure", "azure.chat", "api-key"),
    Case(GroqExtractor, "groq", "groq.chat", "authorization"),
    Case(GeminiExtractor, "gemini", "gemini.chat", "x-goog-api-key"),
]
OPENAI_STYLE = [c for c in CASES if c.cls is not GeminiExtractor]

# Ten utterances, each with a word found nowhere else, so a request shows which were sent.
MARKERS = [
    "aardvark",
    "bassoon",
    "cactus",
    "dolphin",
    "eucalyptus",
    "flamingo",
    "gondola",
    "harmonica",
    "iguana",
    "jasmine",
]


def segment(i: int, text: str | None = None) -> Segment:
    return Segment(
        id=f"seg-{i:04d}",
        chunk_seq=i,
        first_chunk_seq=i,
        text=text if text is not None else f"Utterance {i} mentions the {MARKERS[i % 10]}.",
        start=float(i),
        end=float(i + 1),
        provider="fake",
        latency_ms=1.0,
        final=True,
        speaker="patient" if i % 2 else "clinician",
    )


# The fake's default answer merged into an empty note: the items take the speaker of
# their evidence segment (seg-0000 is the clinician's), which the model does not give.
DEFAULT_MERGED = ClinicalNote(
    chief_complaint=TextItem(
        id="chief-complaint", evidence=["seg-0000"], text="headache", speaker="clinician"
    ),
    symptoms=[
        Symptom(id="sym-headache", evidence=["seg-0000"], name="headache", speaker="clinician")
    ],
)


def request_for(
    n: int = 1, changed: list[int] | None = None, note: ClinicalNote | None = None
) -> ExtractionRequest:
    segments = [segment(i) for i in range(n)]
    ids = changed if changed is not None else [n - 1]
    return ExtractionRequest(
        note=note or ClinicalNote(),
        segments=segments,
        changed=frozenset(f"seg-{i:04d}" for i in ids),
    )


@pytest.fixture
async def make(fake_providers: FakeProviderServer) -> AsyncIterator[Callable[..., Any]]:
    """Build an extractor against the fake (settings overridable); closed after the test."""
    built: list[LLMExtractor] = []

    def build(case: Case, *, context_segments: int = 3, **overrides: Any) -> LLMExtractor:
        settings = fake_providers.settings(case.provider, **overrides)
        extractor: LLMExtractor = case.cls(settings, context_segments=context_segments)
        built.append(extractor)
        return extractor

    yield build
    for extractor in built:
        await extractor.aclose()


# ---------------------------------------------------------------------------- success


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_success_returns_the_validated_note(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    answer = ClinicalNote(
        symptoms=[Symptom(id="sym-cough", evidence=["seg-0000"], name="cough", onset="3 days")],
        medications=[Medication(id="med-salbutamol", evidence=["seg-0000"], name="salbutamol")],
    )
    fake_providers.script(case.route, Ok(note=answer.model_dump_json()))
    extractor = make(case)
    note = await extractor.extract(request_for(1))
    assert note == answer.model_copy(
        update={
            "symptoms": [answer.symptoms[0].model_copy(update={"speaker": "clinician"})],
            "medications": [answer.medications[0].model_copy(update={"speaker": "clinician"})],
        }
    )
    assert extractor.name == case.cls.name
    assert len(fake_providers.requests_to(case.route)) == 1


@pytest.mark.parametrize("case", OPENAI_STYLE, ids=lambda c: c.id)
async def test_openai_style_request_shape(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    extractor = make(case, model="note-model")
    request = request_for(2)
    await extractor.extract(request)
    (rec,) = fake_providers.requests_to(case.route)
    expected_path = {
        "openai": "/v1/chat/completions",
        "openai_compatible": "/v1/chat/completions",
        "azure": "/openai/deployments/note-model/chat/completions",
        "groq": "/openai/v1/chat/completions",
    }[case.provider]
    assert rec.path == expected_path
    assert rec.authenticated
    assert rec.headers[case.auth_header] == REDACTED
    assert rec.body["model"] == "note-model"
    assert rec.body["temperature"] == 0.0
    fmt = rec.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "clinical_note_changes"
    assert fmt["json_schema"]["schema"] == strict_note_schema()
    # The exact messages the pure builder gives (what a benchmark counts).
    assert rec.body["messages"] == build_messages(request)
    assert [m["role"] for m in rec.body["messages"]] == ["system", "user"]
    if case.provider == "azure":
        assert rec.query == {"api-version": AZURE_API_VERSION}
    if case.provider == "openai_compatible":
        assert "max_tokens" in rec.body
        assert "max_completion_tokens" not in rec.body
    else:
        assert "max_completion_tokens" in rec.body
        assert "max_tokens" not in rec.body


@pytest.mark.parametrize(
    ("case", "model", "strict", "effort"),
    [
        (CASES[0], None, True, None),
        (CASES[2], None, True, None),
        (CASES[3], None, True, "low"),  # Groq's default gpt-oss: strict mode available
        (CASES[3], "llama-3.3-70b-versatile", False, None),  # best-effort on Groq
    ],
    ids=["openai", "azure", "groq-gpt-oss", "groq-llama"],
)
async def test_strict_mode_and_reasoning_effort(
    case: Case,
    model: str | None,
    strict: bool,
    effort: str | None,
    make: Callable[..., Any],
    fake_providers: FakeProviderServer,
) -> None:
    await make(case, model=model).extract(request_for(1))
    (rec,) = fake_providers.requests_to(case.route)
    assert rec.body["model"] == (model or case.cls.DEFAULT_MODEL)
    assert rec.body["response_format"]["json_schema"]["strict"] is strict
    assert rec.body.get("reasoning_effort") == effort


async def test_gemini_request_shape(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    request = request_for(2)
    await make(CASES[4], model="gemini-2.5-flash-lite").extract(request)
    (rec,) = fake_providers.requests_to("gemini.chat")
    assert rec.path == "/v1beta/models/gemini-2.5-flash-lite:generateContent"
    assert rec.authenticated
    assert rec.headers["x-goog-api-key"] == REDACTED
    assert rec.upload is None
    config = rec.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == strict_note_schema(type_arrays=False)
    onset = config["responseJsonSchema"]["properties"]["symptoms"]["items"]["properties"]["onset"]
    assert onset == {"anyOf": [{"type": "string"}, {"type": "null"}]}  # no type arrays
    assert config["temperature"] == 0.0
    assert rec.body["systemInstruction"]["parts"] == [{"text": SYSTEM_PROMPT}]
    assert rec.body["contents"][0]["parts"] == [{"text": build_messages(request)[1]["content"]}]


# ---------------------------------------------------------------------------- incremental


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_only_changed_segments_and_a_bounded_context_are_sent(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    note = ClinicalNote(
        chief_complaint=TextItem(id="cc-cough", evidence=["seg-0001"], text="persistent cough")
    )
    await make(case).extract(request_for(10, changed=[8, 9], note=note))
    (rec,) = fake_providers.requests_to(case.route)
    sent = [m for m in MARKERS if m in rec.text]
    assert sent == MARKERS[5:10]  # 3 context segments before the first changed one + 2 new
    assert "\n[8] (clinician) " in rec.text  # seg-0008, by its short name
    assert "\n[9] (patient) " in rec.text
    assert "persistent cough" in rec.text  # the current note travels with every update
    context, new = rec.text.rsplit("<new>", 1)  # the instructions name the tag too
    assert all(m in context for m in MARKERS[5:8])
    assert all(m in new for m in MARKERS[8:10])


async def test_the_context_window_is_configurable(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    await make(CASES[0], context_segments=0).extract(request_for(10, changed=[8, 9]))
    await make(CASES[0], context_segments=6).extract(request_for(10, changed=[8, 9]))
    none, six = fake_providers.requests_to("openai.chat")
    assert [m for m in MARKERS if m in none.text] == MARKERS[8:10]
    assert "<context>" not in none.body["messages"][1]["content"]
    assert "<context>" in six.body["messages"][1]["content"]
    assert [m for m in MARKERS if m in six.text] == MARKERS[2:10]


async def test_a_revised_early_segment_is_sent_with_its_own_context(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    # seg-0002 was revised and seg-0009 is new: context is what precedes seg-0002.
    await make(CASES[0]).extract(request_for(10, changed=[2, 9]))
    (rec,) = fake_providers.requests_to("openai.chat")
    assert [m for m in MARKERS if m in rec.text] == [*MARKERS[0:3], MARKERS[9]]


async def test_input_per_update_does_not_grow_with_the_consultation(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    extractor = make(CASES[0])
    note = DEFAULT_NOTE
    for n in range(1, 41):
        segments = [segment(i, f"Turn {i} says word{i}x.") for i in range(n)]
        await extractor.extract(
            ExtractionRequest(note=note, segments=segments, changed=frozenset({segments[-1].id}))
        )
    sizes = [len(r.text) for r in fake_providers.requests_to("openai.chat")]
    assert len(sizes) == 40
    # Same note every time: from the 4th update on (full context window), the size only
    # moves with the digits of the segment numbers.
    assert max(sizes[3:]) - min(sizes[3:]) <= 16
    last = fake_providers.requests_to("openai.chat")[-1].text
    assert "word39x" in last
    assert "word36x" in last
    assert "word35x" not in last
    assert "word0x" not in last


@pytest.mark.parametrize("case", [CASES[0], CASES[4]], ids=lambda c: c.id)
async def test_nothing_changed_means_no_call(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    request = request_for(5, changed=[])
    note = await make(case).extract(request)
    assert note is request.note
    assert fake_providers.requests == []


# ---------------------------------------------------------------------------- ids


@pytest.mark.parametrize("case", [CASES[0], CASES[4]], ids=lambda c: c.id)
async def test_ids_stay_stable_when_the_model_renames_them(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    before = ClinicalNote(
        chief_complaint=TextItem(id="cc-headache", evidence=["seg-0000"], text="headache"),
        symptoms=[Symptom(id="sym-headache", evidence=["seg-0000"], name="headache")],
    )
    answer = {
        "chief_complaint": {"id": "cc-1", "evidence": ["seg-0000"], "text": "bad headache"},
        "symptoms": [
            {"id": "symptom-1", "evidence": ["seg-0000", "seg-0001"], "name": "Headache"},
            {"id": "", "evidence": ["seg-0001", "seg-9999"], "name": "Fever", "negated": True},
        ],
    }
    fake_providers.script(case.route, Ok(note=json.dumps(answer)))
    note = await make(case).extract(request_for(2, note=before))
    assert note.chief_complaint is not None
    assert note.chief_complaint.id == "cc-headache"
    assert note.chief_complaint.text == "bad headache"
    assert [(s.id, s.name, s.evidence) for s in note.symptoms] == [
        ("sym-headache", "Headache", ["seg-0000", "seg-0001"]),
        ("sym-fever", "Fever", ["seg-0001"]),  # unknown segment ids are dropped
    ]


@pytest.mark.parametrize("case", [CASES[0], CASES[4]], ids=lambda c: c.id)
async def test_an_answer_of_changes_is_merged_into_the_note(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    before = ClinicalNote(
        symptoms=[
            Symptom(id="sym-headache", evidence=["seg-0000"], name="headache"),
            Symptom(id="sym-cough", evidence=["seg-0000"], name="cough"),
        ],
        medications=[Medication(id="med-aspirin", evidence=["seg-0000"], name="aspirin")],
    )
    # Evidence in the prompt's short names; one item changed, one new, one retracted.
    answer = {
        "symptoms": [{"id": "sym-cough", "evidence": ["1"], "name": "cough", "onset": "2 weeks"}],
        "medications": [{"id": "med-ibuprofen", "evidence": ["1"], "name": "ibuprofen"}],
        "removed": ["sym-headache"],
    }
    fake_providers.script(case.route, Ok(note=json.dumps(answer)))
    note = await make(case).extract(request_for(2, note=before))
    assert [(s.id, s.onset, s.evidence) for s in note.symptoms] == [
        ("sym-cough", "2 weeks", ["seg-0000", "seg-0001"])
    ]
    assert [(m.id, m.evidence, m.speaker) for m in note.medications] == [
        ("med-aspirin", ["seg-0000"], None),  # untouched: stands as it was
        ("med-ibuprofen", ["seg-0001"], "patient"),  # seg-0001 is the patient's
    ]


# ---------------------------------------------------------------------------- usage log


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_token_usage_is_logged_without_phi(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    extractor = make(case)
    with structlog.testing.capture_logs() as logs:
        await extractor.extract(request_for(10, changed=[9]))
    (rec,) = fake_providers.requests_to(case.route)
    (entry,) = [e for e in logs if e["event"] == "extract.llm_call"]
    assert entry["provider"] == extractor.name
    assert entry["model"] == extractor.model
    assert isinstance(entry["latency_ms"], float)
    # The fake counts whitespace-separated words of what it received and answered.
    assert entry["input_tokens"] == len(rec.text.split())
    assert entry["output_tokens"] == len(fake_providers.note_json.split())
    assert entry["segments_sent"] == 1
    assert entry["context_sent"] == 3
    text = repr(logs)
    assert not any(m in text for m in MARKERS)
    assert "headache" not in text  # nothing of the note either


# ---------------------------------------------------------------------------- failures

FAULTS: list[tuple[str, Behaviour, type[ProviderError], bool]] = [
    ("500", Status(500), ProviderStatusError, True),
    ("503", Status(503), ProviderStatusError, True),
    ("400", Status(400), ProviderStatusError, False),
    ("401", Status(401), ProviderStatusError, False),
    ("403", Status(403), ProviderStatusError, False),
    ("malformed-json", Malformed(), ProviderInvalidResponse, True),
    ("not-json", BadContent(f"Sure! The patient said {ECHO}."), ProviderInvalidResponse, True),
    (
        "schema-violation",
        BadContent(json.dumps({"symptoms": [{"id": "sym-x", "name": ECHO, "negated": "maybe"}]})),
        ProviderInvalidResponse,
        True,
    ),
    (
        "unknown-field",
        BadContent(json.dumps({"diagnosis_guess": ECHO})),
        ProviderInvalidResponse,
        True,
    ),
    ("empty", BadContent(""), ProviderInvalidResponse, True),
    ("cut-off", Cutoff("length"), ProviderInvalidResponse, True),
    ("refused", Cutoff("safety"), ProviderInvalidResponse, True),
    ("dropped", Drop(), ProviderConnectionError, True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize(
    ("fault", "behaviour", "error", "retryable"), FAULTS, ids=[f[0] for f in FAULTS]
)
async def test_failures_map_to_provider_errors(
    case: Case,
    fault: str,
    behaviour: Behaviour,
    error: type[ProviderError],
    retryable: bool,
    make: Callable[..., Any],
    fake_providers: FakeProviderServer,
) -> None:
    fake_providers.script(case.route, behaviour)
    extractor = make(case)
    with structlog.testing.capture_logs() as logs, pytest.raises(error) as info:
        await extractor.extract(request_for(3))
    assert type(info.value) is error
    assert info.value.retryable is retryable
    assert info.value.provider == extractor.name
    if isinstance(info.value, ProviderStatusError):
        assert info.value.status == int(fault)
    assert ECHO not in str(info.value)
    assert ECHO not in "".join(traceback.format_exception(info.value))
    assert ECHO not in repr(logs)
    # Never a corrupted note: the next, valid answer goes through.
    assert await extractor.extract(request_for(3)) == DEFAULT_MERGED


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_429_with_retry_after_is_retryable_with_the_delay(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script(case.route, Status(429, retry_after=7))
    with pytest.raises(ProviderStatusError) as info:
        await make(case).extract(request_for(1))
    assert info.value.status == 429
    assert info.value.retryable
    assert info.value.retry_after_s == 7


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_connection_refused(case: Case, make: Callable[..., Any], refused_url: str) -> None:
    with pytest.raises(ProviderConnectionError) as info:
        await make(case, url=refused_url).extract(request_for(1))
    assert info.value.retryable


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_a_hang_times_out(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script(case.route, Hang())
    extractor = make(case, timeout_s=0.25)
    with pytest.raises(ProviderTimeout) as info:
        await extractor.extract(request_for(1))
    assert info.value.retryable
    assert info.value.provider == extractor.name


async def test_the_openai_compatible_extractor_accepts_a_fenced_answer(
    make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    answer = ClinicalNote(
        plan=[TextItem(id="plan-rest", evidence=["seg-0000"], text="rest", speaker="clinician")]
    )
    fake_providers.script("openai.chat", BadContent(f"```json\n{answer.model_dump_json()}\n```"))
    assert await make(CASES[1]).extract(request_for(1)) == answer


# ---------------------------------------------------------------------------- probe


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_probe_sends_only_the_synthetic_sentence(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    await make(case).probe()
    (rec,) = fake_providers.requests_to(case.route)
    assert PROBE_TEXT in rec.text
    assert "<note>\n(empty)\n</note>" in rec.text


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_probe_raises_on_an_invalid_answer(
    case: Case, make: Callable[..., Any], fake_providers: FakeProviderServer
) -> None:
    fake_providers.script(case.route, BadContent("[]"))
    with pytest.raises(ProviderInvalidResponse):
        await make(case).probe()


# ---------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.cls is not OpenAICompatibleExtractor], ids=lambda c: c.id
)
def test_a_missing_key_is_a_config_error(case: Case) -> None:
    settings = ProviderSettings(
        base_url=None if case.cls is OpenAIExtractor else "http://127.0.0.1:9"
    )
    with pytest.raises(ConfigError):
        case.cls(settings)


async def test_a_local_openai_compatible_server_needs_no_key() -> None:
    extractor = OpenAICompatibleExtractor(ProviderSettings(base_url="http://127.0.0.1:9/v1"))
    try:
        assert extractor.name == "openai_compatible"
        assert extractor.model == OpenAICompatibleExtractor.DEFAULT_MODEL
    finally:
        await extractor.aclose()


async def test_constructor_convention() -> None:
    settings = ProviderSettings(api_key=SecretStr("k"), model="m", timeout_s=12.0)
    groq = GroqExtractor(settings, name="groq-backup", context_segments=5)
    try:
        assert (groq.name, groq.model, groq.context_segments) == ("groq-backup", "m", 5)
        assert groq.timeout_s == 12.0
        assert GroqExtractor.name == "groq"
    finally:
        await groq.aclose()
    with pytest.raises(ValueError, match="context_segments"):
        OpenAIExtractor(settings, context_segments=-1)
