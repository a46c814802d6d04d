"""Settings: one table, read by the library, the CLI (`semkit config`) and the docs.

Precedence, lowest first: the default in ``SETTINGS`` < the config file
(``$SEMKIT_CONFIG`` or ``~/.config/semkit/config.toml``) < the environment variable
< an explicit argument (a Python keyword or a CLI flag).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semkit.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: Any
    kind: type
    env: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "model",
        "default",
        str,
        "SEMKIT_MODEL",
        "Model used when none is given: 'default', a local directory, a Hugging Face "
        "name in the local cache, or 'openai:<model>'.",
    ),
    Setting(
        "db",
        "semkit-db",
        str,
        "SEMKIT_DB",
        "Database the collection commands use when --db is not given: a directory or a "
        "postgresql:// URL.",
    ),
    Setting(
        "cache_dir",
        "~/.cache/semkit",
        Path,
        "SEMKIT_CACHE_DIR",
        "Directory of the persistent embedding cache.",
    ),
    Setting(
        "artifacts_dir",
        "~/.cache/semkit/models",
        Path,
        "SEMKIT_ARTIFACTS_DIR",
        "Files derived from models once per machine: ONNX exports, int8 versions, fidelity.",
    ),
    Setting(
        "backend",
        "auto",
        str,
        "SEMKIT_BACKEND",
        "Local inference path: auto, sentence-transformers (its encode at its defaults), torch "
        "(fp32), torch-bf16, onnx (fp32), onnx-int8. 'auto' picks the fastest path here whose "
        "vectors keep min_fidelity to fp32 (`semkit models calibrate` shows why).",
    ),
    Setting(
        "min_fidelity",
        0.9999,
        float,
        "SEMKIT_MIN_FIDELITY",
        "Least min-cosine to fp32 (on semkit's calibration sample) a path needs for 'auto' to "
        "use it. 0.9999 keeps vectors equal to sentence-transformers'; 0.995 allows int8.",
    ),
    Setting(
        "calibration_sample",
        "",
        str,
        "SEMKIT_CALIBRATION_SAMPLE",
        "Text file (one text a line) the inference paths are measured on for 'auto'; empty: "
        "semkit's own sample. Your own texts make the fidelity figure speak for them.",
    ),
    Setting(
        "data_dir",
        "../shared/data",
        Path,
        "SEMKIT_DATA",
        "Directory holding evaluation datasets (scifact/, stsbenchmark/, ...).",
    ),
    Setting(
        "openai_base_url",
        "https://api.openai.com/v1",
        str,
        "OPENAI_BASE_URL",
        "Base URL of an OpenAI-compatible embeddings API.",
    ),
    Setting(
        "openai_api_key",
        "",
        str,
        "OPENAI_API_KEY",
        "API key sent as a Bearer token to the OpenAI-compatible API.",
    ),
    Setting(
        "openai_timeout",
        60.0,
        float,
        "SEMKIT_OPENAI_TIMEOUT",
        "Seconds to wait for one embeddings request before retrying it.",
    ),
    Setting(
        "openai_max_retries",
        6,
        int,
        "SEMKIT_OPENAI_MAX_RETRIES",
        "Retries of a failed request (429, 5xx, timeout) before giving up.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def config_file() -> Path:
    return Path(os.environ.get("SEMKIT_CONFIG", "~/.config/semkit/config.toml")).expanduser()


def _file_values() -> dict[str, Any]:
    path = config_file()
    if not path.is_file():
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    unknown = sorted(set(values) - set(_BY_NAME))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)} in {path}; known: {', '.join(_BY_NAME)}"
        )
    return values


def _convert(setting: Setting, value: Any, origin: str) -> Any:
    try:
        if setting.kind is Path:
            return Path(str(value)).expanduser()
        return setting.kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{origin}: {value!r} is not a valid {setting.kind.__name__} "
            f"for setting '{setting.name}'"
        ) from exc


def get(name: str) -> Any:
    """The effective value of one setting (file < environment)."""
    setting = _BY_NAME.get(name)
    if setting is None:
        raise ConfigError(f"unknown setting '{name}'")
    raw = os.environ.get(setting.env)
    if raw is not None and raw != "":
        return _convert(setting, raw, f"${setting.env}")
    file_values = _file_values()
    if name in file_values:
        return _convert(setting, file_values[name], str(config_file()))
    return _convert(setting, setting.default, "default")


def value(name: str, given: Any = None) -> Any:
    """``given`` (an explicit argument or CLI flag) unless it is None, else the effective
    setting: how every entry point that takes a setting (model, db, backend, ...) reads it."""
    return get(name) if given is None else given


def describe(name: str) -> str:
    """Where an unset option comes from, for ``--help``: "the model setting ($SEMKIT_MODEL or
    the config file; default 'default')"."""
    setting = _BY_NAME[name]
    return f"the {name} setting (${setting.env} or the config file; default {setting.default!r})"


def effective() -> list[tuple[Setting, Any]]:
    """Every setting with its effective value, in table order."""
    return [(s, get(s.name)) for s in SETTINGS]
