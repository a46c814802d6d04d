"""Files semkit derives from a model, kept once per machine: ``<artifacts_dir>/<fingerprint>/``.

ONNX exports, int8 quantisations and the measurements of the inference paths.
``manifest.json`` (versioned, written atomically) records each file's SHA-256 and the
measurements, kept per *environment* (CPU, library versions, ...; see
``calibration.environment``): measurements taken elsewhere are not used here, and a
shared cache directory keeps each machine's own. A file that does not match its
manifest is rebuilt, never loaded. Two processes building the same file at once each write a temporary file
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
from semkit.embedding.calibration import environment_key

MANIFEST_VERSION = 3


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class ModelArtifacts:
    def __init__(self, fingerprint: str, root: Path, environment: dict[str, Any]) -> None:
        self.fingerprint = fingerprint
        self.environment = environment
        self._env_key = environment_key(environment)
        self.directory = root / fingerprint
        self.manifest_path = self.directory / "manifest.json"
        self._lock = threading.RLock()

    def _read(self) -> dict[str, Any]:
        empty = {
            "version": MANIFEST_VERSION,
            "fingerprint": self.fingerprint,
            "files": {},
            "environments": {},
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

    def _measurements(self, manifest: dict[str, Any]) -> dict[str, Any]:
        entry = manifest["environments"].setdefault(
            self._env_key, {"environment": self.environment, "measurements": {}}
        )
        return dict(entry["measurements"])

    def measurement(self, key: str, measure: Callable[[], Any]) -> Any:
        """A recorded measurement (a path's fidelity, the chosen int8 nodes) for this
        environment, taken once."""
        with self._lock:
            recorded = self._measurements(self._read())
            if key in recorded:
                return recorded[key]
            value = measure()
            self.record(key, value)
            return value

    def record(self, key: str, value: Any) -> None:
        """Record (or replace) a measurement for this environment."""
        with self._lock:
            manifest = self._read()
            self._measurements(manifest)
            manifest["environments"][self._env_key]["measurements"][key] = value
            self._write(manifest)

    def measurements(self) -> dict[str, Any]:
        """This environment's measurements."""
        return self._measurements(self._read())

    def forget(self) -> None:
        """Drop this environment's measurements (files stay, verified by their hashes)."""
        with self._lock:
            manifest = self._read()
            manifest["environments"].pop(self._env_key, None)
            self._write(manifest)
