"""Files semkit derives from a model, kept once per machine: ``<artifacts_dir>/<fingerprint>/``.

ONNX exports, int8 quantisations and fidelity measurements of the faster inference
paths. ``manifest.json`` (versioned, written atomically) records each file's SHA-256
and each measurement; a file that does not match its manifest is rebuilt, never
loaded. Two processes building the same file at once each write a temporary file
and rename it: the loser's work is wasted, nothing is corrupted.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from semkit.atomic import write_text

MANIFEST_VERSION = 2


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class ModelArtifacts:
    def __init__(self, fingerprint: str, root: Path) -> None:
        self.fingerprint = fingerprint
        self.directory = root / fingerprint
        self.manifest_path = self.directory / "manifest.json"
        self._lock = threading.RLock()

    def _read(self) -> dict[str, Any]:
        empty = {
            "version": MANIFEST_VERSION,
            "fingerprint": self.fingerprint,
            "files": {},
            "measurements": {},
        }
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return empty
        if data.get("version") != MANIFEST_VERSION or data.get("fingerprint") != self.fingerprint:
            return empty
        return {**empty, **data}

    def _write(self, manifest: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_text(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True))

    def file(self, name: str, build: Callable[[Path], None]) -> Path:
        """The verified file ``name``, built with ``build(path)`` if missing or damaged."""
        with self._lock:
            manifest = self._read()
            target = self.directory / name
            entry = manifest["files"].get(name)
            if entry and target.is_file() and sha256_file(target) == entry["sha256"]:
                return target
            self.directory.mkdir(parents=True, exist_ok=True)
            build(target)
            manifest = self._read()
            manifest["files"][name] = {"sha256": sha256_file(target)}
            self._write(manifest)
            return target

    def measurement(self, key: str, measure: Callable[[], Any]) -> Any:
        """A recorded measurement (a path's fidelity, speed, chosen nodes), taken once."""
        with self._lock:
            manifest = self._read()
            if key in manifest["measurements"]:
                return manifest["measurements"][key]
            value = measure()
            manifest = self._read()
            manifest["measurements"][key] = value
            self._write(manifest)
            return value

    def measurements(self) -> dict[str, Any]:
        return dict(self._read()["measurements"])

    def forget(self) -> None:
        """Drop the measurements (files stay verified by their hashes): re-measure on next use."""
        with self._lock:
            manifest = self._read()
            manifest["measurements"] = {}
            self._write(manifest)
