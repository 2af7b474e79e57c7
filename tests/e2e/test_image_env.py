"""The service boots with exactly the environment its deployment files give it.

``Dockerfile``'s runtime ``ENV`` (``docker run -p 8080:8080 IMAGE`` with nothing else) and
the Cloud Run service's ``env`` over it, with each secret reference replaced by a local
stand-in: the Redis URL by a real Redis, provider keys by the fake provider server's, the
API-keys secret volume by a directory holding a list made by ``drtranscribe keys``, the
bucket by fake-gcs-server. A deployment file the code cannot start with fails here, in
``make test``, instead of in a deploy. Only what cannot exist on a test machine is
changed: paths (``/var/lib/...``, ``/app/settings.yaml``, the mount path) and the
addresses of the providers and of Cloud Storage.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from devtools.deployenv import cloudrun_env, dockerfile_env
from devtools.devserver import ServerProcess
from devtools.devserver import start as start_process

from drtranscribe.audio.file import load_audio_file
from drtranscribe.auth import keygen
from drtranscribe.client import stream_audio
from tests.conftest import SpeechFixture, stop_server
from tests.fakes.gcs import FakeGcs
from tests.fakes.provider_server import (  # noqa: F401
    FakeProviderServer,
    fake_providers_fixture,
    provider_server_fixture,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "drt-env-test"
NOTE = {
    "medications": [
        {"id": "med-ibuprofen", "evidence": ["seg-0000"], "speaker": None, "name": "ibuprofen",
         "dose": "400 mg", "route": None, "frequency": None, "status": "current"}
    ],
}  # fmt: skip


def _image_env() -> dict[str, str]:
    return dockerfile_env(ROOT / "Dockerfile", base={"PATH": os.environ["PATH"]})


def _local_paths(env: dict[str, str], data_dir: Path) -> dict[str, str]:
    """The image's paths that exist only inside it, pointed at this machine's."""
    assert env["DRT_SETTINGS_FILE"] == "/app/settings.yaml"  # the Dockerfile copies it there
    return {**env, "DRT_DATA_DIR": str(data_dir), "DRT_SETTINGS_FILE": str(ROOT / "settings.yaml")}


def _boot(data_dir: Path, env: dict[str, str]) -> ServerProcess:
    # environment=None: DRT_ENVIRONMENT is whatever ``env`` says, or unset.
    return start_process(data_dir, env, environment=None)


async def _ready(server: ServerProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        assert (await http.get("/health")).status_code == 200
        readiness = await http.get("/readiness")
    assert readiness.status_code == 200, readiness.text
    body: dict[str, Any] = readiness.json()
    return body


def _events_named(server: ServerProcess, event: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in server.lines if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


async def test_the_image_environment_starts_and_serves_a_consultation(
    tmp_path: Path, speech: dict[str, SpeechFixture]
) -> None:
    env = _image_env()
    assert "DRT_ENVIRONMENT" not in env  # the offline default: development
    server = _boot(tmp_path, _local_paths(env, tmp_path))
    try:
        body = await _ready(server)
        assert body["status"] == "ready"
        assert [p["name"] for p in body["stt"]["providers"]] == ["local_whisper"]
        fixture = speech["consult_short"]
        audio = load_audio_file(fixture.path)
        events = [e async for e in stream_audio(server.ws_url, audio, realtime=False)]
    finally:
        stop_server(server)
    final = events[-1].message
    assert final["type"] == "final"
    assert final["transcript"]
    names = {m["name"].lower() for m in final["note"]["medications"]}
    assert set(fixture.medications) <= names
    # It runs, and it says loudly that it runs without authentication.
    assert _events_named(server, "auth.disabled")
    assert all(json.loads(line)["severity"] for line in server.lines if line.startswith("{"))


@pytest.fixture
def cloud_run(
    tmp_path: Path, redis_url: str, fake_gcs: FakeGcs, fake_providers: FakeProviderServer
) -> Iterator[tuple[ServerProcess, str]]:
    """The production service as Cloud Run runs it: the image's ENV, then the service's."""
    fake = fake_providers
    fake.transcript = "I take ibuprofen 400 mg for my headache."
    fake.note_json = json.dumps(NOTE)
    rendered = cloudrun_env(
        ROOT / "deploy" / "cloudrun-service.yaml",
        {"SUFFIX": "", "ENVIRONMENT": "production", "PROJECT_ID": PROJECT,
         "REGION": "europe-west2", "IMAGE": "drtranscribe@sha256:0"},
    )  # fmt: skip
    env = {**_image_env(), **rendered.plain}
    assert env["DRT_ENVIRONMENT"] == "production"

    # Secret references -> stand-ins.
    stand_ins = {
        "DRT_REDIS_URL": redis_url,
        "GROQ_API_KEY": fake.api_key,
        "GEMINI_API_KEY": fake.api_key,
        "OPENAI_API_KEY": fake.api_key,
        "AZURE_OPENAI_API_KEY": fake.api_key,
        "AZURE_OPENAI_ENDPOINT": fake.url,
    }
    assert set(rendered.secrets) == set(stand_ins)  # a new secret needs a stand-in here
    env |= stand_ins
    (volume,) = rendered.volumes
    assert volume.secret == "drtranscribe-api-keys"
    mounted = tmp_path / "secrets" / "api-keys"
    mounted.mkdir(parents=True)
    new = keygen.add_key([], key_id="clinic-a-web", tenant="clinic-a")
    for file_name in volume.files:
        (mounted / file_name).write_text(json.dumps(new.entries), encoding="utf-8")
    env = {k: v.replace(volume.mount_path, str(mounted)) for k, v in env.items()}

    # The world outside -> this machine: provider endpoints and Cloud Storage.
    fake_gcs.client().create_bucket(env["DRT_AUDIO_BUCKET"])
    fake_gcs.client().create_bucket(env["DRT_KEYS_BUCKET"])
    env |= {
        "DRT_GCS_ENDPOINT": fake_gcs.endpoint,
        "DRT_PROVIDERS__GROQ__BASE_URL": str(fake.settings("groq").base_url),
        "DRT_PROVIDERS__OPENAI__BASE_URL": str(fake.settings("openai").base_url),
        "DRT_PROVIDERS__GEMINI__BASE_URL": fake.url,
        "DRT_PROVIDERS__GEMINI__API_VERSION": "v1beta",
    }
    data_dir = tmp_path / "data"
    server = _boot(data_dir, _local_paths(env, data_dir))
    yield server, new.key
    stop_server(server)


async def test_the_cloud_run_environment_starts_in_production_with_its_secrets(
    cloud_run: tuple[ServerProcess, str], speech: dict[str, SpeechFixture], fake_gcs: FakeGcs
) -> None:
    server, api_key = cloud_run
    body = await _ready(server)
    assert body["status"] == "ready"
    assert [p["name"] for p in body["stt"]["providers"]] == [
        "groq", "gemini", "openai", "local_whisper"
    ]  # fmt: skip
    assert [p["name"] for p in body["extraction"]["providers"]] == [
        "gemini", "azure_openai", "openai", "local"
    ]  # fmt: skip

    # Production: no key, no stream.
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(json.dumps({"type": "start", "audio": {"encoding": "wav"}}))
        refusal = json.loads(await ws.recv())
    assert (refusal["type"], refusal["code"]) == ("error", "unauthorized")

    audio = load_audio_file(speech["consult_short"].path)
    events = [e async for e in stream_audio(server.ws_url, audio, realtime=False, api_key=api_key)]
    final = events[-1].message
    assert final["type"] == "final"
    assert final["audio"]["uri"].startswith(f"gs://{PROJECT}-drt-audio/")
    assert "ibuprofen" in {m["name"] for m in final["note"]["medications"]}
    # The session's data key is in the keys bucket, nowhere else.
    keys = [b.name for b in fake_gcs.client().list_blobs(f"{PROJECT}-drt-keys")]
    assert keys == [f"keys/{final['session_id']}"]
    started = _events_named(server, "service.ready")
    assert started[0]["environment"] == "production"
    assert not _events_named(server, "auth.disabled")


async def test_production_without_api_keys_fails_on_one_line(tmp_path: Path) -> None:
    """An expected startup failure: exit status 3, one line naming the secret and the fix."""
    env = _local_paths({**_image_env(), "DRT_ENVIRONMENT": "production"}, tmp_path)
    with pytest.raises(RuntimeError) as failed:
        _boot(tmp_path, env)
    output = str(failed.value)
    assert "(exit status 3)" in output.splitlines()[0]
    assert "Traceback" not in output
    errors = [json.loads(line) for line in output.splitlines() if '"startup.failed"' in line]
    assert len(errors) == 1
    message = errors[0]["message"]
    assert "drtranscribe-api-keys" in message
    assert "drtranscribe keys add" in message
    assert errors[0]["severity"] == "ERROR"
