"""The environments the deployment files give the service: the Dockerfile's runtime ``ENV``
and the Cloud Run service's ``env`` and secret volumes.

Read by the tests that boot the service exactly as the image and Cloud Run would
(``tests/e2e/test_image_env.py``) and by ``make verify``, so a deployment file that the
code cannot start with fails ``make test``, not a deploy.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def _logical_lines(text: str) -> list[str]:
    """Dockerfile lines with ``\\`` continuations joined and comments dropped."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def _expand(value: str, env: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), value)


def dockerfile_env(dockerfile: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The variables the final stage's ``ENV`` instructions set, in order, with ``$VAR``
    expanded against ``base`` (the base image's environment) and earlier ``ENV`` values.
    Only the ``ENV KEY=VALUE ...`` form is understood; anything else is an error."""
    env: dict[str, str] = {}
    known = dict(base or {})
    for line in _logical_lines(dockerfile.read_text(encoding="utf-8")):
        instruction, _, rest = line.partition(" ")
        if instruction.upper() == "FROM":
            env, known = {}, dict(base or {})  # a new stage starts from its base again
        elif instruction.upper() == "ENV":
            for word in shlex.split(rest):
                key, sep, value = word.partition("=")
                if not sep:
                    raise ValueError(f"{dockerfile}: ENV {word!r}: use the KEY=VALUE form")
                value = _expand(value, known)
                env[key] = value
                known[key] = value
    return env


@dataclass(frozen=True)
class SecretVolume:
    """A Secret Manager secret mounted as files: ``{mount_path}/{path}`` per item."""

    secret: str
    mount_path: str
    files: dict[str, str]  # file name -> secret version ("latest")


@dataclass(frozen=True)
class CloudRunEnv:
    plain: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # variable -> secret name
    volumes: list[SecretVolume] = field(default_factory=list)


def render_template(template: str, values: dict[str, str]) -> str:
    """Fill ``${NAME}`` placeholders as cloudbuild.yaml and the runbook do."""
    rendered = template
    for name, value in values.items():
        rendered = rendered.replace("${" + name + "}", value)
    if leftover := re.findall(r"\$\{(\w+)\}", rendered):
        raise ValueError(f"placeholders left unfilled: {sorted(set(leftover))}")
    return rendered


def cloudrun_env(service_yaml: Path, values: dict[str, str]) -> CloudRunEnv:
    """The container's environment in the rendered Cloud Run service."""
    service: dict[str, Any] = yaml.safe_load(
        render_template(service_yaml.read_text(encoding="utf-8"), values)
    )
    spec = service["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    plain: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for entry in container.get("env", []):
        if "value" in entry:
            plain[entry["name"]] = str(entry["value"])
        else:
            secrets[entry["name"]] = entry["valueFrom"]["secretKeyRef"]["name"]
    volumes_by_name = {v["name"]: v for v in spec.get("volumes", [])}
    volumes = []
    for mount in container.get("volumeMounts", []):
        secret = volumes_by_name[mount["name"]]["secret"]
        files = {item["path"]: item["key"] for item in secret.get("items", [])}
        volumes.append(SecretVolume(secret["secretName"], mount["mountPath"], files))
    return CloudRunEnv(plain=plain, secrets=secrets, volumes=volumes)
