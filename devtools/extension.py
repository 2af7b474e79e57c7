"""The Chrome extension for Google Meet, assembled: ``extension/`` plus the browser client
library and the demo page's components, copied from where the service serves them (one
source: the extension ships no copy of its own, and Manifest V3 forbids loading code
from the service at run time).

    python -m devtools.extension build [DIR]   # loadable unpacked (default build/extension)
    python -m devtools.extension zip [FILE]    # for the Chrome Web Store or a managed install
    python -m devtools.extension id            # the extension's id (from its manifest key)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "extension"
STATIC = ROOT / "src" / "drtranscribe" / "web" / "static"
#: What the extension takes from the service's static files, and where it puts it.
SHARED = {
    STATIC / "client" / "v1": "lib",
    STATIC / "demo" / "note-view.js": "lib/note-view.js",
    STATIC / "demo" / "transcript-view.js": "lib/transcript-view.js",
    STATIC / "demo" / "connection-view.js": "lib/connection-view.js",
    STATIC / "demo" / "visit-view.js": "lib/visit-view.js",
    STATIC / "demo" / "app.css": "lib/app.css",
}


def build(out: Path = ROOT / "build" / "extension") -> Path:
    """A fresh, loadable unpacked extension in ``out``."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(SOURCE, out)
    for source, target in SHARED.items():
        if source.is_dir():
            shutil.copytree(source, out / target)
        else:
            (out / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / target)
    return out


def pack(zip_path: Path = ROOT / "dist" / "drtranscribe-meet-extension.zip") -> Path:
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        built = build(Path(tmp) / "extension")
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(built.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(built).as_posix())
    return zip_path


def extension_id(manifest: Path = SOURCE / "manifest.json") -> str:
    """Chrome's id for an extension with this manifest ``key``: the SHA-256 of the public
    key, first 32 hex digits written with the letters a-p."""
    key = json.loads(manifest.read_text(encoding="utf-8"))["key"]
    digest = hashlib.sha256(base64.b64decode(key)).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "zip", "id"])
    parser.add_argument("path", nargs="?", type=Path)
    args = parser.parse_args()
    if args.command == "build":
        made = str(build(*([args.path] if args.path else [])))
    elif args.command == "zip":
        made = str(pack(*([args.path] if args.path else [])))
    else:
        made = extension_id()
    sys.stdout.write(made + "\n")


if __name__ == "__main__":
    main()
