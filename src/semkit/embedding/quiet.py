"""Keep the ML libraries' own chatter (load reports, progress bars, warnings) off the terminal.

Safe from several threads at once: what is process-wide (``sys.stdout``/``sys.stderr``, the
library loggers' levels, progress bars, a warnings filter) is switched when the first
thread goes quiet and switched back when the last one leaves. While any thread is quiet,
standard output and error go through a router: a quiet thread's writes land in its own
buffer, every other thread's reach the real stream, and the warnings filter ignores
warnings of quiet threads only. (``contextlib.redirect_stdout`` and
``warnings.catch_warnings`` each save and restore one global, so two overlapping blocks
in two threads could leave the process redirected or with every warning ignored.)
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TextIO

_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "torch")

_lock = threading.Lock()
_depth = 0  # threads (and nested blocks) quiet right now
_undo: list[Callable[[], None]] = []
_local = threading.local()  # .buffers: the capture buffers of this thread's open blocks


def _buffers() -> list[io.StringIO]:
    buffers: list[io.StringIO] | None = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = []
    return buffers


class _Router:
    """Stands in for ``sys.stdout``/``sys.stderr``: quiet threads write to their buffer."""

    def __init__(self, real: TextIO) -> None:
        self.real = real

    def write(self, text: str) -> int:
        buffers = _buffers()
        return (buffers[-1] if buffers else self.real).write(text)

    def flush(self) -> None:
        if not _buffers():
            self.real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class _QuietThreads:
    """The message pattern of a warnings filter: it matches in quiet threads only."""

    def match(self, text: str) -> bool:
        return bool(_buffers())


_FILTER = ("ignore", _QuietThreads(), Warning, None, 0)


@contextlib.contextmanager
def quiet_libraries() -> Iterator[io.StringIO]:
    """Silence library logging, progress bars, warnings and prints inside the block.

    Yields this block's captured stdout/stderr text, so an error can still show it.
    """
    global _depth
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    captured = io.StringIO()
    with _lock:
        if _depth == 0:
            _undo[:] = _go_quiet()
        _depth += 1
    buffers = _buffers()
    buffers.append(captured)
    try:
        yield captured
    finally:
        buffers.pop()
        with _lock:
            _depth -= 1
            if _depth == 0:
                for fn in reversed(_undo):
                    fn()
                _undo.clear()


def _go_quiet() -> list[Callable[[], None]]:
    """Switch the process-wide state; returns how to switch each part back."""
    undo: list[Callable[[], None]] = []
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)

    def restore_levels() -> None:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)

    undo.append(restore_levels)
    undo.append(_disable_progress_bars())
    for name in ("stdout", "stderr"):
        router = _Router(getattr(sys, name))
        setattr(sys, name, router)
        undo.append(functools.partial(_restore_stream, name, router))
    warnings.filters.insert(0, _FILTER)  # type: ignore[attr-defined]
    warnings._filters_mutated()  # type: ignore[attr-defined]
    undo.append(_remove_filter)
    return undo


def _restore_stream(name: str, router: _Router) -> None:
    if getattr(sys, name) is router:  # someone else may have swapped it since: theirs stays
        setattr(sys, name, router.real)


def _remove_filter() -> None:
    with contextlib.suppress(ValueError):
        warnings.filters.remove(_FILTER)  # type: ignore[attr-defined]
        warnings._filters_mutated()  # type: ignore[attr-defined]


def _disable_progress_bars() -> Callable[[], None]:
    undo: list[Callable[[], None]] = []
    try:
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

        def _undo_transformers() -> None:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()

        undo.append(_undo_transformers)
    except ImportError:
        pass
    try:
        from huggingface_hub.utils import (
            are_progress_bars_disabled,
            disable_progress_bars,
            enable_progress_bars,
        )

        was_disabled = are_progress_bars_disabled()
        disable_progress_bars()
        if not was_disabled:
            undo.append(enable_progress_bars)
    except ImportError:
        pass

    def restore() -> None:
        for fn in undo:
            fn()

    return restore
