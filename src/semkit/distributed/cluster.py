"""Connecting to Ray, and turning its errors back into semkit's.

Ray is an optional extra (``pip install 'semkit[ray]'``) imported only here, only when a
command runs with ``--ray``. Ray's usage statistics stay off for clusters semkit starts
(``RAY_USAGE_STATS_ENABLED=0``; a cluster started by ``ray start`` follows its own).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from semkit import errors
from semkit.errors import ConfigError, SemkitError
from semkit.extras import require

LOCAL = "local"


def connect(address: str | None = "auto") -> Any:
    """The ``ray`` module, connected: to the cluster this process already joined, else to
    ``address`` ("auto": the running cluster, as ``RAY_ADDRESS`` or ``ray start`` left it;
    "local" or None: a new cluster of this machine; else ``host:port`` or ``ray://...``)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = require("ray", "ray", "running on a Ray cluster (--ray)")
    require("ray.data", "ray", "running on a Ray cluster (--ray)")
    if not ray.is_initialized():
        options: dict[str, Any] = {
            "logging_level": logging.WARNING,
            "log_to_driver": False,
            "configure_logging": True,
        }
        if address in (None, "", LOCAL):
            options.update(address="local", include_dashboard=False)  # never join another
        else:
            options["address"] = address
        try:
            ray.init(**options)
        except ConnectionError as exc:
            raise ConfigError(
                f"cannot reach a Ray cluster at {address!r}: {exc}; start one with "
                f"`ray start --head`, give its address, or use --ray local"
            ) from exc
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # output rows in input order
    context.enable_progress_bars = False  # semkit shows its own
    context.print_on_execution_start = False
    # Ray Data's newer Parquet reader lists files in a task that needs a whole CPU, which
    # the embedding pool holds on a busy cluster: reading would wait forever. The classic
    # reader reads with the resources it is given (none: reading is light).
    context.use_datasource_v2 = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


def _is_semkit_own(exc: BaseException) -> bool:
    """A semkit error as semkit raised it (Ray wraps a worker's error in a class derived
    from both its own error type and the original's, whose message is a traceback)."""
    return isinstance(exc, SemkitError) and type(exc).__module__.startswith("semkit.")


def semkit_error_in(exc: BaseException) -> SemkitError | None:
    """The semkit error a worker raised, inside Ray's wrappers (task errors, user code)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _is_semkit_own(current):
            return current  # type: ignore[return-value]
        todo += [current.__cause__, current.__context__, getattr(current, "cause", None)]
    return _from_traceback(str(exc))


# "semkit.errors.InputError: text #1 is empty ..." in a worker's traceback, as Ray prints it
_RAISED = re.compile(r"^\s*semkit\.errors\.(\w+): (.+?)$", re.MULTILINE)


def _from_traceback(text: str) -> SemkitError | None:
    """The semkit error named in a worker's traceback text. Ray Data wraps an error raised in
    a worker (``UserCodeException``) and sends the driver only the wrapper and the worker's
    traceback as text: the original is not among its causes."""
    for name, message in reversed(_RAISED.findall(text)):
        kind = getattr(errors, name, None)
        if isinstance(kind, type) and issubclass(kind, SemkitError):
            return kind(message)
    return None


@contextmanager
def semkit_errors() -> Iterator[None]:
    """Re-raise a semkit error that a Ray worker raised as itself (one clear line)."""
    try:
        yield
    except Exception as exc:
        if _is_semkit_own(exc):
            raise
        found = semkit_error_in(exc)
        if found is None:
            raise
        raise found from None
