"""Atomic file writes: write under a temporary name beside the target, then rename.

A reader sees the old file or the new one, never half of one; a failed write leaves
no temporary file behind. The temporary name keeps the target's suffix, so writers
that pick a format by suffix (matplotlib, plotly) write the right one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def replace_into(target: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)``, then rename ``tmp`` over ``target``; returns ``target``."""
    target = Path(target)
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_bytes(target: str | Path, data: bytes) -> Path:
    return replace_into(target, lambda tmp: tmp.write_bytes(data))


def write_text(target: str | Path, text: str) -> Path:
    return replace_into(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
