"""The deployment files agree with each other and with the code.

bootstrap.sh runs for real here: as a dry run (which must not call gcloud at all) and
against a fake ``gcloud`` that records its calls, once for a new project and once for a
project where everything exists. The Cloud Run service, Cloud Build config, monitoring
files and Dockerfile are parsed and checked against bootstrap's output and against the
event names the code logs.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from drtranscribe.auth.keys import ApiKeys
from drtranscribe.resilience.breaker import BreakerState
from drtranscribe.vendors.registry import PROVIDERS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MONITORING = DEPLOY / "monitoring"
BOOTSTRAP = DEPLOY / "bootstrap.sh"
PROJECT = "drt-test-proj"
REGION = "europe-west4"  # not the script's default, so a hard-coded region shows up
PLACEHOLDERS = {"SUFFIX", "ENVIRONMENT", "PROJECT_ID", "REGION", "IMAGE"}
ENVIRONMENTS = {"staging": "-staging", "production": ""}
API_KEY_SECRETS = {
    "drtranscribe-api-keys": "production",
    "drtranscribe-api-keys-staging": "staging",
}

# ------------------------------------------------------------------ helpers


@dataclass(frozen=True)
class Run:
    output: str  # stdout and stderr, in order
    commands: list[list[str]]  # "+ ..." lines: would run
    describes: list[list[str]]  # "? ..." lines: would ask


def _parse(output: str) -> Run:
    commands, describes = [], []
    for line in output.splitlines():
        if line.startswith("+ "):
            commands.append(shlex.split(line[2:], comments=True))
        elif line.startswith("? "):
            describes.append(shlex.split(line[2:]))
    return Run(output, commands, describes)


def _bootstrap(*args: str, env: dict[str, str] | None = None, path: str = "") -> Run:
    tools = f"{Path(sys.executable).parent}:/usr/bin:/bin"  # bash, sed, python3; no gcloud
    base = {"PATH": f"{path}:{tools}" if path else tools, "HOME": "/tmp"}
    proc = subprocess.run(
        ["bash", str(BOOTSTRAP), *args],
        env={**base, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    return _parse(proc.stdout)


def _flag(cmd: list[str], name: str) -> str | None:
    for arg in cmd:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


def _verb_index(cmd: list[str], verb: str) -> int | None:
    return cmd.index(verb) if verb in cmd else None


def _render(template: str, environment: str, image: str = "IMAGE@sha256:0") -> str:
    values = {
        "SUFFIX": ENVIRONMENTS[environment],
        "ENVIRONMENT": environment,
        "PROJECT_ID": PROJECT,
        "REGION": REGION,
        "IMAGE": image,
    }
    rendered = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template)
    assert "${" not in rendered
    return rendered


def _service(environment: str) -> dict[str, Any]:
    text = (DEPLOY / "cloudrun-service.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(_render(text, environment))
    return loaded


def _logged_events() -> set[str]:
    """Static event names the code logs: log.info("x.y", ...), self.log.error(\n "x.y" ...)."""
    pattern = re.compile(
        r"\blog\.(?:debug|info|warning|error|exception)\(\s*\"([a-z_]+\.[a-z_]+)\""
    )
    events: set[str] = set()
    for path in (ROOT / "src" / "drtranscribe").rglob("*.py"):
        events.update(pattern.findall(path.read_text(encoding="utf-8")))
    return events


def _source_text() -> str:
    return "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "src" / "drtranscribe").rglob("*.py")
    )


def _metrics() -> dict[str, dict[str, Any]]:
    return {
        p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted((MONITORING / "metrics").glob("*.yaml"))
    }


def _alerts() -> dict[str, dict[str, Any]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((MONITORING / "alerts").glob("*.json"))
    }


def _user_metrics_in(text: str) -> set[str]:
    """logging.googleapis.com/user/NAME (filters) and logging_googleapis_com:user_NAME (PromQL)."""
    return set(re.findall(r"logging\.googleapis\.com/user/(\w+)", text)) | set(
        re.findall(r"logging_googleapis_com:user_(\w+)", text)
    )


def _anchors(markdown: str) -> set[str]:
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", title)))
    return anchors


@pytest.fixture(scope="module")
def dry_run() -> Run:
    return _bootstrap("--dry-run", "--project", PROJECT, "--region", REGION)


# A fake gcloud: logs every call (argv and stdin) and answers the reads bootstrap makes.
FAKE_GCLOUD = r"""#!{python}
import json, os, sys
args = sys.argv[1:]
existing = os.environ["FAKE_STATE"] == "existing"
stdin = sys.stdin.read() if "--data-file=-" in args else None
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"argv": args, "stdin": stdin}}) + "\n")
fmt = next((a.split("=", 1)[1] for a in args if a.startswith("--format=")), "")
url = "redis://:auth-s3cr3t@10.1.2.3:6379/"
if "get-auth-string" in args:
    print("auth-s3cr3t")
elif "redis" in args and "describe" in args and fmt == "value(host)":
    print("10.1.2.3")
elif "redis" in args and "describe" in args and fmt == "value(port)":
    print("6379")
elif "access" in args:
    if not existing:
        sys.exit(1)
    print(url + ("1" if "--secret=drt-redis-url-staging" in args else "0"), end="")
elif "versions" in args and "list" in args:
    print("projects/p/secrets/s/versions/1" if existing else "")
elif "policies" in args and "list" in args:
    print("projects/p/alertPolicies/42" if existing else "")
elif "dashboards" in args and "list" in args:
    print("projects/p/dashboards/7" if existing else "")
elif "describe" in args:
    sys.exit(0 if existing else 1)
"""


@dataclass(frozen=True)
class FakeRun:
    run: Run
    calls: list[dict[str, Any]]


def _fake_bootstrap(tmp_path: Path, state: str, *args: str, env: dict[str, str]) -> FakeRun:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "gcloud"
    fake.write_text(FAKE_GCLOUD.format(python=sys.executable), encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / f"calls-{state}.jsonl"
    run = _bootstrap(
        "--project",
        PROJECT,
        "--region",
        REGION,
        *args,
        env={"FAKE_STATE": state, "FAKE_LOG": str(log), **env},
        path=str(bin_dir),
    )
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return FakeRun(run, calls)


def _creates(argvs: Iterator[list[str]] | list[list[str]]) -> list[list[str]]:
    return [a for a in argvs if "create" in a]


# ------------------------------------------------------------------ bootstrap.sh


def test_dry_run_needs_no_gcloud_and_calls_none(tmp_path: Path) -> None:
    marker = tmp_path / "called"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gcloud").write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n", encoding="utf-8")
    (bin_dir / "gcloud").chmod(0o755)
    run = _bootstrap(
        "--project", PROJECT, "--region", REGION, env={"DRY_RUN": "1"}, path=str(bin_dir)
    )
    assert not marker.exists(), "the dry run executed gcloud"
    assert len(run.commands) > 40
    assert {cmd[0] for cmd in run.commands} == {"gcloud", "drtranscribe"}  # keys add


def test_dry_run_creates_every_resource_in_the_region(dry_run: Run) -> None:
    creates = {
        (tuple(c[1 : c.index("create")]), c[c.index("create") + 1])
        for c in dry_run.commands
        if "create" in c
    }
    expected = {
        (("iam", "service-accounts"), "drt-run"),
        (("iam", "service-accounts"), "drt-run-staging"),
        (("iam", "service-accounts"), "drt-deployer"),
        (("artifacts", "repositories"), "drtranscribe"),
        (("compute", "networks"), "drt-vpc"),
        (("compute", "networks", "subnets"), "drt-run"),
        (("redis", "instances"), "drt-redis"),
        (("storage", "buckets"), f"gs://{PROJECT}-drt-audio"),
        (("storage", "buckets"), f"gs://{PROJECT}-drt-audio-staging"),
        *(
            (("secrets",), name)
            for name in (
                "drt-groq-api-key",
                "drt-gemini-api-key",
                "drt-openai-api-key",
                "drt-redis-url",
                "drt-redis-url-staging",
            )
        ),
        *((("logging", "metrics"), p.stem) for p in (MONITORING / "metrics").glob("*.yaml")),
    }
    assert expected <= creates, expected - creates

    redis = next(c for c in dry_run.commands if c[1:4] == ["redis", "instances", "create"])
    assert _flag(redis, "tier") == "basic"
    assert _flag(redis, "size") == "1"
    assert _flag(redis, "network") == f"projects/{PROJECT}/global/networks/drt-vpc"

    regional = [
        value
        for cmd in dry_run.commands + dry_run.describes
        for flag in ("region", "location", "locations")
        if (value := _flag(cmd, flag)) is not None
    ]
    assert len(regional) > 15
    assert set(regional) == {REGION}
    assert "europe-west2" not in dry_run.output
    assert all(_flag(c, "project") == PROJECT or PROJECT in c for c in dry_run.commands)


def test_every_create_is_preceded_by_its_describe(dry_run: Run) -> None:
    seen: list[list[str]] = []
    checked = 0
    for line in dry_run.output.splitlines():
        if line.startswith("? "):
            seen.append(shlex.split(line[2:]))
            continue
        if not line.startswith("+ "):
            continue
        cmd = shlex.split(line[2:], comments=True)
        i = _verb_index(cmd, "create")
        if i is None or i + 1 >= len(cmd) or cmd[i + 1].startswith("--"):
            continue  # policies and dashboards: looked up by display name instead
        group, name = cmd[1:i], cmd[i + 1]
        assert any(
            d[1 : len(group) + 1] == group
            and d[len(group) + 1] == "describe"
            and (d[len(group) + 2] == name or d[len(group) + 2].startswith(f"{name}@"))
            for d in seen
        ), f"no describe before: {line}"
        checked += 1
    assert checked >= 15


def test_the_lifecycle_rule_is_applied_to_both_buckets(dry_run: Run) -> None:
    lifecycle = DEPLOY / "gcs-lifecycle.json"
    rule = json.loads(lifecycle.read_text(encoding="utf-8"))["rule"]
    assert rule[0]["condition"]["age"] == 1
    applied = {
        c[4]
        for c in dry_run.commands
        if c[1:4] == ["storage", "buckets", "update"]
        and _flag(c, "lifecycle-file") == str(lifecycle)
    }
    assert applied == {f"gs://{PROJECT}-drt-audio", f"gs://{PROJECT}-drt-audio-staging"}


def _target(cmd: list[str]) -> str:
    """The resource an add-iam-policy-binding command binds on."""
    return cmd[cmd.index("add-iam-policy-binding") + 1]


def _bindings(run: Run) -> list[tuple[list[str], str, str]]:
    """(command, member, role) for every IAM binding bootstrap makes."""
    return [
        (c, _flag(c, "member") or "", _flag(c, "role") or "")
        for c in run.commands
        if "add-iam-policy-binding" in c
    ]


def test_roles_are_least_privilege(dry_run: Run) -> None:
    bindings = _bindings(dry_run)
    roles = {role for _, _, role in bindings}
    assert roles == {
        "roles/storage.objectUser",
        "roles/secretmanager.secretAccessor",
        "roles/artifactregistry.writer",
        "roles/run.developer",
        "roles/logging.logWriter",
        "roles/iam.serviceAccountUser",
    }
    assert not any(m in {"allUsers", "allAuthenticatedUsers"} for _, m, _ in bindings)
    assert "roles/owner" not in dry_run.output
    assert "roles/editor" not in dry_run.output

    deployer = f"serviceAccount:drt-deployer@{PROJECT}.iam.gserviceaccount.com"
    project_level = [(m, r) for c, m, r in bindings if c[1] == "projects"]
    assert set(project_level) == {
        (deployer, "roles/run.developer"),
        (deployer, "roles/logging.logWriter"),
    }
    act_as = [c for c, _, r in bindings if r == "roles/iam.serviceAccountUser"]
    assert [_target(c) for c in act_as] == [f"drt-run-staging@{PROJECT}.iam.gserviceaccount.com"]
    registry = [c for c, _, r in bindings if r == "roles/artifactregistry.writer"]
    assert [(c[1], _target(c)) for c in registry] == [("artifacts", "drtranscribe")]


@pytest.mark.parametrize("environment", sorted(ENVIRONMENTS))
def test_runtime_account_gets_exactly_what_its_service_uses(dry_run: Run, environment: str) -> None:
    service = _service(environment)
    spec = service["spec"]["template"]["spec"]
    sa = spec["serviceAccountName"]
    env = spec["containers"][0]["env"]
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e}
    secrets |= {v["secret"]["secretName"] for v in spec["volumes"]}  # API keys, as files
    assert "drtranscribe-api-keys" + ENVIRONMENTS[environment] in secrets
    bucket = next(e["value"] for e in env if e["name"] == "DRT_AUDIO_BUCKET")

    created_sas = {
        f"{c[4]}@{PROJECT}.iam.gserviceaccount.com"
        for c in dry_run.commands
        if c[1:4] == ["iam", "service-accounts", "create"]
    }
    assert sa in created_sas
    mine = [(c, r) for c, m, r in _bindings(dry_run) if m == f"serviceAccount:{sa}"]
    assert {c[1] for c, _ in mine} == {"storage", "secrets"}  # nothing project-wide
    assert {(_target(c), r) for c, r in mine if c[1] == "secrets"} == {
        (s, "roles/secretmanager.secretAccessor") for s in secrets
    }
    keys_bucket = next(e["value"] for e in env if e["name"] == "DRT_KEYS_BUCKET")
    assert {(_target(c), r) for c, r in mine if c[1] == "storage"} == {
        (f"gs://{bucket}", "roles/storage.objectUser"),
        (f"gs://{keys_bucket}", "roles/storage.objectUser"),
    }


def test_every_monitoring_file_is_applied(dry_run: Run) -> None:
    metric_files = {str(p) for p in (MONITORING / "metrics").glob("*.yaml")}
    alert_files = {str(p) for p in (MONITORING / "alerts").glob("*.json")}
    assert len(metric_files) >= 3
    assert len(alert_files) >= 3
    applied_metrics = {
        _flag(c, "config-from-file") for c in dry_run.commands if c[1:3] == ["logging", "metrics"]
    }
    applied_alerts = {
        _flag(c, "policy-from-file")
        for c in dry_run.commands
        if c[1:3] == ["monitoring", "policies"]
    }
    dashboards = {
        _flag(c, "config-from-file")
        for c in dry_run.commands
        if c[1:3] == ["monitoring", "dashboards"]
    }
    assert applied_metrics == metric_files
    assert applied_alerts == alert_files
    assert dashboards == {str(MONITORING / "dashboard.json")}


def test_new_project_run_writes_secrets_through_stdin_only(tmp_path: Path) -> None:
    key = "gsk-unit-test-key-0123456789"
    fake = _fake_bootstrap(tmp_path, "new", env={"GROQ_API_KEY": key})
    argvs = [c["argv"] for c in fake.calls]
    assert len(_creates(argvs)) >= 20
    added = {
        c["argv"][3]: c["stdin"]
        for c in fake.calls
        if c["argv"][:3] == ["secrets", "versions", "add"]
    }
    api_keys = {name: added.pop(name) for name in API_KEY_SECRETS}
    assert added == {
        "drt-groq-api-key": key,
        "drt-redis-url": "redis://:auth-s3cr3t@10.1.2.3:6379/0",
        "drt-redis-url-staging": "redis://:auth-s3cr3t@10.1.2.3:6379/1",
    }
    assert key not in fake.run.output
    for secret, tenant in API_KEY_SECRETS.items():
        # A first client key: the secret holds its digest only, the operator sees the key.
        (entry,) = json.loads(api_keys[secret])
        assert entry["tenant"] == tenant
        assert set(entry) == {"id", "tenant", "key_sha256"}
        shown = fake.run.output.split(f"{secret}: first API key", 1)[1].splitlines()[2]
        assert hashlib.sha256(shown.encode()).hexdigest() == entry["key_sha256"]
        assert ApiKeys.from_json(api_keys[secret]).authenticate(shown) is not None
    assert "auth-s3cr3t" not in fake.run.output
    assert not any(key in " ".join(a) or "auth-s3cr3t" in " ".join(a) for a in argvs)


def test_second_run_creates_nothing_and_updates_in_place(tmp_path: Path) -> None:
    channel = f"projects/{PROJECT}/notificationChannels/99"
    fake = _fake_bootstrap(
        tmp_path, "existing", "--notification-channels", channel, env={"GROQ_API_KEY": "k"}
    )
    argvs = [c["argv"] for c in fake.calls]
    assert _creates(argvs) == []
    assert not any(a[:3] == ["secrets", "versions", "add"] for a in argvs)
    updates = [a for a in argvs if a[:3] == ["monitoring", "policies", "update"]]
    assert len(updates) == len(list((MONITORING / "alerts").glob("*.json")))
    assert all(a[3] == "projects/p/alertPolicies/42" for a in updates)
    assert all(f"--set-notification-channels={channel}" in a for a in updates)
    assert any(
        a[:4] == ["monitoring", "dashboards", "update", "projects/p/dashboards/7"] for a in argvs
    )
    metric_updates = {a[3] for a in argvs if a[:3] == ["logging", "metrics", "update"]}
    assert metric_updates == {p.stem for p in (MONITORING / "metrics").glob("*.yaml")}


def test_scripts_parse() -> None:
    for script in (BOOTSTRAP, DEPLOY / "verify-image.sh"):
        proc = subprocess.run(
            ["bash", "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------ Cloud Run service


@pytest.mark.parametrize("environment", sorted(ENVIRONMENTS))
def test_service_essentials(environment: str) -> None:
    service = _service(environment)
    assert service["apiVersion"] == "serving.knative.dev/v1"
    assert service["kind"] == "Service"
    assert service["metadata"]["name"] == "drtranscribe" + ENVIRONMENTS[environment]
    assert service["metadata"]["labels"]["cloud.googleapis.com/location"] == REGION
    template = service["spec"]["template"]
    notes = template["metadata"]["annotations"]
    assert notes["run.googleapis.com/execution-environment"] == "gen2"
    assert notes["autoscaling.knative.dev/minScale"] == "0"
    assert notes["autoscaling.knative.dev/maxScale"] == "5"
    assert notes["run.googleapis.com/sessionAffinity"] == "true"
    assert notes["run.googleapis.com/vpc-access-egress"] == "private-ranges-only"
    interfaces = json.loads(notes["run.googleapis.com/network-interfaces"])
    assert interfaces == [{"network": "drt-vpc", "subnetwork": "drt-run"}]

    spec = template["spec"]
    assert spec["timeoutSeconds"] == 3600  # Cloud Run's maximum; docs/deploy.md says why
    assert 1 <= spec["containerConcurrency"] <= 80
    container = spec["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert container["ports"] == [{"name": "http1", "containerPort": 8080}]
    assert container["startupProbe"]["httpGet"]["path"] == "/readiness"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"


@pytest.mark.parametrize("environment", sorted(ENVIRONMENTS))
def test_service_secrets_are_secret_refs_named_as_the_app_reads_them(environment: str) -> None:
    env = _service(environment)["spec"]["template"]["spec"]["containers"][0]["env"]
    by_name = {e["name"]: e for e in env}
    assert len(by_name) == len(env)
    secret_vars = {name for name, e in by_name.items() if "valueFrom" in e}
    provider_vars = {p.env_keys[0] for p in PROVIDERS.values() if p.env_keys} & secret_vars
    assert {"GROQ_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY"} <= provider_vars
    assert "DRT_REDIS_URL" in secret_vars
    for name in secret_vars:
        ref = by_name[name]["valueFrom"]["secretKeyRef"]
        assert ref["key"] == "latest"
        assert "value" not in by_name[name]
    redis_secret = by_name["DRT_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"]
    assert redis_secret == "drt-redis-url" + ENVIRONMENTS[environment]
    for e in env:  # nothing secret in plain values
        assert "redis://" not in str(e.get("value", ""))
        named_secret = re.search(r"(?i)key|token|password", e["name"])
        not_a_secret = e["name"] == "DRT_KEYS_BUCKET"  # where keys live, not a key
        assert not named_secret or not_a_secret or "valueFrom" in e


def test_service_template_uses_only_the_placeholders_cloudbuild_fills() -> None:
    template = (DEPLOY / "cloudrun-service.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{(\w+)\}", template))
    assert used == PLACEHOLDERS
    deploy = next(s for s in _cloudbuild()["steps"] if s["id"] == "deploy-staging")
    script = deploy["args"][-1]
    for name in used:
        assert f"[$$]{{{name}}}" in script, name


def test_runbook_production_render_fills_every_placeholder() -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    sed = next(
        line for line in runbook.splitlines() if line.startswith("sed ") and "SUFFIX" in line
    )
    block = sed + runbook.split(sed, 1)[1].split("deploy/cloudrun-service.yaml", 1)[0]
    for name in PLACEHOLDERS:
        assert f"[$]{{{name}}}" in block, name


# ------------------------------------------------------------------ Cloud Build


def _cloudbuild() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text(encoding="utf-8"))
    return loaded


def _depends(steps: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Transitive predecessors per step id (Cloud Build: no waitFor = all previous steps)."""
    direct: dict[str, set[str]] = {}
    ids = [s["id"] for s in steps]
    for i, step in enumerate(steps):
        wait = step.get("waitFor")
        direct[step["id"]] = set(ids[:i]) if wait is None else set(wait) - {"-"}
    closure: dict[str, set[str]] = {}
    for sid in ids:
        todo, seen = list(direct[sid]), set()
        while todo:
            cur = todo.pop()
            if cur not in seen:
                seen.add(cur)
                todo.extend(direct[cur])
        closure[sid] = seen
    return closure


def test_cloudbuild_builds_tests_pushes_then_deploys_staging_only() -> None:
    build = _cloudbuild()
    steps = build["steps"]
    ids = [s["id"] for s in steps]
    assert len(ids) == len(set(ids))
    deps = _depends(steps)
    assert {"build", "test-suite", "smoke-stream", "smoke-stop"} <= deps["push"]
    assert {"build", "test-suite", "smoke-stream", "push"} <= deps["deploy-staging"]
    assert ids[-1] == "deploy-staging"

    test_suite = next(s for s in steps if s["id"] == "test-suite")
    assert test_suite["args"] == [".ci/run"]
    deploy = next(s for s in steps if s["id"] == "deploy-staging")
    assert "SUFFIX=-staging" in deploy["env"]
    assert "ENVIRONMENT=staging" in deploy["env"]
    assert "gcloud run services replace" in deploy["args"][-1]
    assert "deploy/cloudrun-service.yaml" in deploy["args"][-1]

    text = (ROOT / "cloudbuild.yaml").read_text(encoding="utf-8")
    assert "update-traffic" not in text  # promotion is manual
    assert not re.search(r"SUFFIX=\s*$", text, re.MULTILINE)  # never the production service
    assert build["serviceAccount"].endswith("/drt-deployer@${PROJECT_ID}.iam.gserviceaccount.com")
    assert build["options"]["logging"] == "CLOUD_LOGGING_ONLY"
    image = "${_IMAGE}:${SHORT_SHA}"
    assert build["images"] == [image]
    assert image in next(s for s in steps if s["id"] == "build")["args"]


def test_cloudbuild_names_match_bootstrap(dry_run: Run) -> None:
    subs = _cloudbuild()["substitutions"]
    assert subs["_IMAGE"].startswith("${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}/")
    repos = {c[4] for c in dry_run.commands if c[1:4] == ["artifacts", "repositories", "create"]}
    assert repos == {subs["_REPOSITORY"]}
    default_region = _bootstrap("--dry-run", "--project", PROJECT).output
    assert f"--location={subs['_REGION']} " in default_region


def test_cloudbuild_dollars_are_substitutions_or_escaped() -> None:
    build = _cloudbuild()
    builtins = {"PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION", "SHORT_SHA", "COMMIT_SHA",
                "BRANCH_NAME", "TAG_NAME", "REPO_NAME", "REVISION_ID", "TRIGGER_NAME"}  # fmt: skip
    allowed = builtins | set(build["substitutions"])
    text = (ROOT / "cloudbuild.yaml").read_text(encoding="utf-8")
    body = "\n".join(
        line.split(" #", 1)[0] for line in text.splitlines() if not line.lstrip().startswith("#")
    )
    unescaped = body.replace("$$", "")
    refs = re.findall(r"\$(\{\w+\}|\w+|.)", unescaped)
    assert refs
    for ref in refs:
        name = ref.strip("{}")
        assert name in allowed, f"${ref}: not a substitution; write $$ for bash"


# ------------------------------------------------------------------ monitoring


def test_metrics_key_on_events_the_code_logs() -> None:
    events = _logged_events()
    assert {"stt.chunk_transcribed", "breaker.state_changed", "note.updated"} <= events
    source = _source_text()
    metrics = _metrics()
    assert {
        "drt_stt_chunks",
        "drt_stt_chunk_latency",
        "drt_errors",
        "drt_breaker_transitions",
    } <= set(metrics)
    for name, metric in metrics.items():
        allowed = {
            *("description", "filter", "metricDescriptor", "disabled"),
            *("labelExtractors", "valueExtractor", "bucketOptions"),
        }
        assert set(metric) <= allowed, name
        named = re.findall(r"\"([a-z_]+\.[a-z_]+)\"", metric["filter"])
        assert named or "severity>=ERROR" in metric["filter"], name
        for event in named:
            assert event in events, f"{name}: no code logs {event}"
        assert 'resource.type="cloud_run_revision"' in metric["filter"]
        extractors = [metric.get("valueExtractor", ""), *metric.get("labelExtractors", {}).values()]
        for field in re.findall(r"jsonPayload\.(\w+)", " ".join(extractors)):
            assert field == "event" or f"{field}=" in source, f"{name}: nothing logs {field}"


def test_metric_descriptors_are_complete() -> None:
    for name, metric in _metrics().items():
        descriptor = metric["metricDescriptor"]
        assert descriptor["metricKind"] == "DELTA", name
        labels = {label["key"] for label in descriptor.get("labels", [])}
        assert labels == set(metric.get("labelExtractors", {})), name
        assert "session_id" not in labels, name  # unbounded cardinality
        if descriptor["valueType"] == "DISTRIBUTION":
            assert metric["valueExtractor"].startswith("EXTRACT(jsonPayload."), name
            assert "bucketOptions" in metric, name
        else:
            assert descriptor["valueType"] == "INT64", name
            assert "valueExtractor" not in metric, name


def test_regexp_extractors_yield_the_label_values() -> None:
    cases = {
        ("drt_stt_chunks", "outcome"): {
            "stt.chunk_transcribed": "transcribed",
            "stt.chunk_failed": "failed",
        },
        ("drt_sessions", "event"): {"session.started": "started", "session.resumed": "resumed"},
        ("drt_errors", "event"): {"storage.unavailable": "storage.unavailable", "Traceback": None},
    }
    metrics = _metrics()
    for (name, label), expectations in cases.items():
        extractor = metrics[name]["labelExtractors"][label]
        m = re.fullmatch(r'REGEXP_EXTRACT\(jsonPayload\.event, "(.+)"\)', extractor)
        assert m, extractor
        pattern = re.compile(m.group(1))
        assert pattern.groups == 1
        for value, expected in expectations.items():
            found = pattern.search(value)
            assert (found.group(1) if found else None) == expected, (name, value)


def test_alert_policies_required() -> None:
    alerts = _alerts()
    runbook_anchors = _anchors((ROOT / "docs" / "runbook.md").read_text(encoding="utf-8"))
    defined = set(_metrics())
    for name, policy in alerts.items():
        assert policy["displayName"], name
        assert policy["combiner"] in {"OR", "AND"}, name
        assert policy["conditions"], name
        text = json.dumps(policy)
        assert _user_metrics_in(text) <= defined, name
        assert (
            'service_name = \\"drtranscribe\\"' in text or 'service_name=\\"drtranscribe\\"' in text
        ), name
        anchor = re.search(r"docs/runbook\.md#([\w-]+)", policy["documentation"]["content"])
        assert anchor, name
        assert anchor.group(1) in runbook_anchors, name

    conditions = [c for p in alerts.values() for c in p["conditions"]]
    # error rate > 5 %
    promql = [
        c["conditionPrometheusQueryLanguage"]["query"]
        for c in conditions
        if "conditionPrometheusQueryLanguage" in c
    ]
    error_rate = [q for q in promql if "user_drt_errors" in q]
    assert len(error_rate) == 1
    assert re.search(r"\)\s*>\s*0\.05\b", error_rate[0])
    assert error_rate[0].count("(") == error_rate[0].count(")")
    # p95 chunk latency > 10 s
    thresholds = [c["conditionThreshold"] for c in conditions if "conditionThreshold" in c]
    latency = [t for t in thresholds if "user/drt_stt_chunk_latency" in t["filter"]]
    assert len(latency) == 1
    assert latency[0]["aggregations"][0]["crossSeriesReducer"] == "REDUCE_PERCENTILE_95"
    assert latency[0]["comparison"] == "COMPARISON_GT"
    unit = _metrics()["drt_stt_chunk_latency"]["metricDescriptor"]["unit"]
    assert latency[0]["thresholdValue"] / {"ms": 1000, "s": 1}[unit] == 10
    # a circuit breaker open
    breaker = [t for t in thresholds if "user/drt_breaker_transitions" in t["filter"]]
    assert len(breaker) == 1
    assert f'metric.labels.new = "{BreakerState.OPEN.value}"' in breaker[0]["filter"]
    assert breaker[0]["thresholdValue"] == 0
    assert breaker[0]["comparison"] == "COMPARISON_GT"


def test_dashboard() -> None:
    dashboard = json.loads((MONITORING / "dashboard.json").read_text(encoding="utf-8"))
    assert dashboard["displayName"]
    layout = dashboard["mosaicLayout"]
    tiles = layout["tiles"]
    assert len(tiles) >= 8
    cells: set[tuple[int, int]] = set()
    for tile in tiles:
        assert tile["xPos"] + tile["width"] <= layout["columns"]
        area = {
            (x, y)
            for x in range(tile["xPos"], tile["xPos"] + tile["width"])
            for y in range(tile.get("yPos", 0), tile.get("yPos", 0) + tile["height"])
        }
        assert not area & cells, tile["widget"]["title"]
        cells |= area
    text = json.dumps(dashboard)
    used = _user_metrics_in(text)
    assert used <= set(_metrics())
    assert {
        "drt_stt_chunks",
        "drt_stt_chunk_latency",
        "drt_breaker_transitions",
        "drt_errors",
    } <= used
    assert "REDUCE_PERCENTILE_95" in text
    assert "run.googleapis.com/container/instance_count" in text


# ------------------------------------------------------------------ Dockerfile


def _dockerfile() -> list[str]:
    lines, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(current.strip())
            current = ""
    return lines


def test_dockerfile_essentials() -> None:
    lines = _dockerfile()
    base = next(ln for ln in lines if ln.startswith("ARG PYTHON_IMAGE="))
    assert base == "ARG PYTHON_IMAGE=python:3.11-slim"
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(froms) >= 2
    assert all(ln.startswith("FROM ${PYTHON_IMAGE} AS ") for ln in froms)
    final = lines[lines.index(froms[-1]) :]
    user = [ln.split()[1] for ln in final if ln.startswith("USER ")]
    assert len(user) == 1
    uid = user[0].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0
    entry = json.loads(
        next(ln for ln in final if ln.startswith("ENTRYPOINT "))[len("ENTRYPOINT ") :]
    )
    cmd = json.loads(next(ln for ln in final if ln.startswith("CMD "))[len("CMD ") :])
    assert [*entry, *cmd] == ["drtranscribe", "serve"]  # exec form: the server is PID 1
    env = " ".join(ln for ln in final if ln.startswith("ENV "))
    for setting in ("HF_HUB_OFFLINE=1", "DRT_HOST=0.0.0.0", "DRT_LOG_FORMAT=json"):
        assert setting in env
    text = " ".join(lines)
    assert "uv export --frozen --no-dev" in text
    assert "--require-hashes" in text
    assert "COPY --from=build /opt/venv /opt/venv" in final


def test_dockerignore_lets_in_exactly_what_the_build_copies() -> None:
    patterns = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for ln in _dockerfile():
        if ln.startswith("COPY ") and "--from=" not in ln:
            copied.update(ln.split()[1:-1])
    assert copied
    assert {c.rstrip("/") for c in copied} <= allowed
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["readme"] in allowed  # hatchling reads it when building
    for kept_out in ("tests", ".venv", "data", ".git"):
        assert kept_out not in allowed


# ------------------------------------------------------------------ docs


def test_runbook_covers_every_procedure_and_alert() -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    anchors = _anchors(runbook)
    procedures = ("deploy", "promote-to-production", "roll-back", "rotate-a-key")
    more = ("read-the-dashboard", "drain-an-instance", "recover-a-session")
    for anchor in (*procedures, *more):
        assert anchor in anchors, anchor
    rollback = runbook.split("## Roll back", 1)[1].split("\n## ", 1)[0]
    commands = [
        ln for ln in rollback.split("```sh", 1)[1].split("```", 1)[0].splitlines() if ln.strip()
    ]
    assert len(commands) == 1
    assert "update-traffic drtranscribe " in commands[0]
    assert "--to-tags=previous=100" in commands[0]
    promote = runbook.split("## Promote to production", 1)[1].split("\n## ", 1)[0]
    assert "--update-tags=previous=" in promote
    assert "--no-traffic" in promote


def test_deploy_doc_states_the_service_numbers() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    spec = _service("production")["spec"]["template"]["spec"]
    assert f"### Request timeout: {spec['timeoutSeconds']} s" in doc
    assert f"### Concurrency: {spec['containerConcurrency']} connections per instance" in doc
    assert "verify-image.sh" in doc


def test_key_buckets_keep_no_copy_of_a_deleted_key(dry_run: Run) -> None:
    """Crypto-shredding needs a deleted key to be gone: no soft delete, no versioning,
    and keys older than any session deleted by the lifecycle rule."""
    for environment, suffix in ENVIRONMENTS.items():
        env = _service(environment)["spec"]["template"]["spec"]["containers"][0]["env"]
        bucket = next(e["value"] for e in env if e["name"] == "DRT_KEYS_BUCKET")
        assert bucket == f"{PROJECT}-drt-keys{suffix}"
        create = next(
            c for c in dry_run.commands if c[1:4] == ["storage", "buckets", "create"]
            and c[4] == f"gs://{bucket}"
        )  # fmt: skip
        assert "--soft-delete-duration=0" in create
        update = next(
            c for c in dry_run.commands if c[1:4] == ["storage", "buckets", "update"]
            and c[4] == f"gs://{bucket}"
        )  # fmt: skip
        assert {"--no-versioning", "--clear-soft-delete"} <= set(update)
        rules = json.loads(Path(_flag(update, "lifecycle-file") or "").read_text())["rule"]
        (rule,) = rules
        assert rule == {"action": {"type": "Delete"}, "condition": {"age": 3}}
