"""Keep the ML libraries' own chatter (load reports, progress bars, warnings) off the terminal."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Callable, Iterator

_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub", "torch")


@contextlib.contextmanager
def quiet_libraries() -> Iterator[io.StringIO]:
    """Silence library logging, progress bars, warnings and prints inside the block.

    Yields the captured stdout/stderr text, so an error can still show it.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    restore_bars = _disable_progress_bars()
    captured = io.StringIO()
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(captured),
            contextlib.redirect_stderr(captured),
        ):
            warnings.simplefilter("ignore")
            yield captured
    finally:
        restore_bars()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


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
