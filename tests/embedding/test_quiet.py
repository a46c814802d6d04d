"""Library chatter is silenced per thread, and overlapping quiet blocks restore everything."""

from __future__ import annotations

import sys
import threading
import warnings

import pytest

from semkit.embedding.quiet import quiet_libraries


def test_overlapping_blocks_in_two_threads_restore_streams_and_warnings(capsys):
    stdout, filters = sys.stdout, list(warnings.filters)
    entered, leave_first = threading.Barrier(2, timeout=30), threading.Event()
    captured: dict[str, str] = {}

    def quiet(name: str, first: bool) -> None:
        with quiet_libraries() as text:
            print(f"chatter from {name}")
            warnings.warn(f"warning from {name}", UserWarning, stacklevel=1)  # ignored here
            entered.wait()
            if first:
                leave_first.set()  # a leaves while b is still quiet
            else:
                leave_first.wait(30)
                print("still quiet")
        captured[name] = text.getvalue()

    threads = [
        threading.Thread(target=quiet, args=("a", True)),
        threading.Thread(target=quiet, args=("b", False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert captured == {"a": "chatter from a\n", "b": "chatter from b\nstill quiet\n"}
    assert sys.stdout is stdout and warnings.filters == filters
    print("heard")
    assert capsys.readouterr().out == "heard\n"
    with pytest.warns(UserWarning, match="heard too"):
        warnings.warn("heard too", UserWarning, stacklevel=1)


def test_other_threads_are_heard_while_one_is_quiet(capsys):
    inside, done = threading.Event(), threading.Event()

    def quiet() -> None:
        with quiet_libraries():
            inside.set()
            done.wait(30)

    t = threading.Thread(target=quiet)
    t.start()
    try:
        inside.wait(30)
        print("not silenced")
        with pytest.warns(UserWarning, match="not ignored"):
            warnings.warn("not ignored", UserWarning, stacklevel=1)
    finally:
        done.set()
        t.join(30)
    assert capsys.readouterr().out == "not silenced\n"
