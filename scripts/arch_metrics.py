"""Structure figures of ``src/drtranscribe`` (docs/architecture.md): module and function
sizes, how many modules import the note model from outside the domain room, and imports that
run upward: a shared root module (protocol, transcript, config, ...) importing from a room
below it, or the domain room importing anything of ours but errors. The composition roots
(app, runtime, cli, ...) wire the rooms together and are not counted.

    .venv/bin/python scripts/arch_metrics.py            # a table
    .venv/bin/python scripts/arch_metrics.py --json     # the same as JSON
    git worktree add /tmp/before 0168616 && \
        .venv/bin/python scripts/arch_metrics.py --root /tmp/before/src/drtranscribe
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "drtranscribe"
#: Where the note model lives (domain/), and where it lived before issue 13 (for --root).
NOTE_MODULES = ("drtranscribe.domain.note", "drtranscribe.extraction.note")
DOMAIN = "drtranscribe.domain"
#: Root modules every room may import (the foundations: no imports of rooms themselves).
FOUNDATIONS = {"drtranscribe.errors", "drtranscribe.config", "drtranscribe.logging"}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(tree: ast.AST, module: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("drtranscribe")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative
                base = module.rsplit(".", node.level)[0]
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            if name.startswith("drtranscribe"):
                found.add(name)
                found |= {f"{name}.{a.name}" for a in node.names}
    return found


def measure(root: Path = ROOT) -> dict[str, object]:
    modules: dict[str, set[str]] = {}
    sizes: dict[str, int] = {}
    functions: list[tuple[int, str]] = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        sizes[module] = len(text.splitlines())
        modules[module] = _imports(tree, module)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                functions.append((node.end_lineno - node.lineno + 1, f"{module}.{node.name}"))
    known = set(modules)
    resolved = {m: {i for i in imps if i in known} for m, imps in modules.items()}
    note_importers = sorted(
        m
        for m, imps in resolved.items()
        if any(i in NOTE_MODULES for i in imps) and not m.startswith(DOMAIN)
        and m not in NOTE_MODULES
    )  # fmt: skip
    upward = sorted(
        f"{m} -> {i}"
        for m, imps in resolved.items()
        for i in imps
        if (m.count(".") == 1 and i.count(".") >= 2 and not i.startswith(DOMAIN)
            and m not in ("drtranscribe", "drtranscribe.app", "drtranscribe.runtime",
                          "drtranscribe.cli", "drtranscribe.inprocess",
                          "drtranscribe.render", "drtranscribe.client",
                          "drtranscribe.services"))
        or (m.startswith(DOMAIN) and not i.startswith(DOMAIN) and i != "drtranscribe.errors")
    )  # fmt: skip
    functions.sort(reverse=True)
    return {
        "modules": len(modules),
        "lines": sum(sizes.values()),
        "largest_modules": sorted(((n, m) for m, n in sizes.items()), reverse=True)[:5],
        "largest_functions": functions[:5],
        "note_model_importers_outside_domain": len(note_importers),
        "upward_imports": upward,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="another tree's src/drtranscribe (before/after)"
    )
    args = parser.parse_args()
    result = measure(args.root.resolve())
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"modules {result['modules']}, lines {result['lines']}")
    for n, m in result["largest_modules"]:  # type: ignore[attr-defined]
        print(f"  module {m}: {n} lines")
    for n, f in result["largest_functions"]:  # type: ignore[attr-defined]
        print(f"  function {f}: {n} lines")
    outside = result["note_model_importers_outside_domain"]
    print(f"note model imported outside the domain room: {outside}")
    print(f"upward imports: {len(result['upward_imports'])}")  # type: ignore[arg-type]
    for line in result["upward_imports"]:  # type: ignore[attr-defined]
        print(f"  {line}")


if __name__ == "__main__":
    main()
