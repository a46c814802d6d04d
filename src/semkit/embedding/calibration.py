"""Measuring the local inference paths on this machine, and choosing between them.

A choice measured on one CPU does not carry to another (bf16 is 2.5x faster than fp32 on
one AVX-512 BF16 CPU and slower on another; emulated bf16 on AVX2 is 5x slower), nor
from a busy machine to an idle one. So a calibration:

- is kept per *environment* (CPU model and the instruction sets that change kernels,
  cores, library versions, the calibration sample): any change re-measures;
- times each path in turns, several rounds, best value kept; around every timing it
  reads how much CPU other processes took (``/proc/stat`` minus this process) and times
  a short reference kernel, and discards the timing if either says the CPU was not ours;
- when too few undisturbed timings could be taken, is marked ``under_load`` and taken
  again (best values merged) the next ``MAX_ATTEMPTS - 1`` times a process needs it;
- also times each path's throughput while one core is taken by a busy process that
  the calibration starts itself (another job on the machine), because paths rank
  differently then: on a 2-core AMD EPYC, torch at batch 8 fell below
  sentence-transformers' batch 32 under such load while leading it idle;
- always includes sentence-transformers' own ``encode`` at its defaults, so ``auto`` is
  never slower than it: for bulk work, only paths at least as fast as it both idle and
  under load are candidates, and it is chosen when nothing beats it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

CALIBRATION_VERSION = 3
SENTENCE_TRANSFORMERS = "sentence-transformers"  # its encode at its defaults (batch 32, fp32)
DISTURBED_OTHERS = 0.15  # cores other processes used on average during a timing
DISTURBED_KERNEL = 1.3  # reference kernel this much slower than its best: disturbed
MAX_ATTEMPTS = 3  # calibrations under load before the best values are kept for good
_LIBRARIES = ("torch", "onnxruntime", "sentence-transformers", "transformers", "numpy")
_ISA_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_bf16",
    "amx_int8",
)


def _cpuinfo() -> tuple[str, set[str]]:
    """(model name with family/model/stepping, flags) of the first CPU."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), set()
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if not key.strip():
            break  # one CPU is enough
        fields.setdefault(key.strip(), value.strip())
    model = fields.get("model name") or platform.machine()
    ids = [fields.get(k) for k in ("cpu family", "model", "stepping")]
    if all(ids):
        model += " (family {}, model {}, stepping {})".format(*ids)
    return model, set(fields.get("flags", "").split())


def cpu_kind() -> str:
    """A short name for the kind of CPU, as far as inference speed goes:
    'amd-epyc-avx2', 'intel-xeon-avx512-bf16', 'intel-xeon-amx', ..."""
    model, flags = _cpuinfo()
    plain = model.replace("(R)", "").replace("(TM)", "").split(" (family")[0]
    words = [w.lower() for w in plain.split() if w.isalpha()]
    name = "-".join(w for w in words[:2] if w not in ("cpu", "processor")) or platform.machine()
    if "amx_bf16" in flags:
        isa = "amx"
    elif "avx512_bf16" in flags:
        isa = "avx512-bf16"
    elif "avx512f" in flags:
        isa = "avx512"
    elif "avx2" in flags:
        isa = "avx2"
    else:
        isa = "baseline"
    return f"{name}-{isa}"


def cpu_model() -> str:
    """The CPU's model name, as ``lscpu`` shows it."""
    return _cpuinfo()[0]


def native_bf16() -> bool:
    """Whether the CPU computes bf16 in hardware (AVX-512 BF16 or AMX); else bf16 is emulated."""
    flags = _cpuinfo()[1]
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def environment(sample: Sequence[str]) -> dict[str, Any]:
    """What a calibration holds for: when any of it changes, the paths are measured again."""
    model, flags = _cpuinfo()
    return {
        "calibration": CALIBRATION_VERSION,
        "cpu": model,
        "isa": sorted(f for f in _ISA_FLAGS if f in flags),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "libraries": {name: _version(name) for name in _LIBRARIES},
        "sample": hashlib.sha256("\n".join(sample).encode()).hexdigest()[:16],
    }


def environment_key(env: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()[:16]


def onnx_available() -> bool:
    """Whether the ONNX paths can run here (onnxruntime is an optional extra)."""
    try:
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class LoadProbe:
    """Whether the CPU was ours while something ran: other processes' CPU time over the
    interval (Linux ``/proc/stat``, steal included) and a reference kernel timed before
    and after, compared with the best it ever took in this probe."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self._a = rng.standard_normal((192, 192), dtype=np.float32)
        self.best_kernel_ms = float("inf")
        self.discarded = 0
        self.timings = 0

    def kernel_ms(self) -> float:
        """Best of three runs of a ~1 ms matrix kernel on all cores."""
        times = []
        for _ in range(3):
            start = time.perf_counter()
            x = self._a
            for _ in range(8):
                x = np.tanh(x @ self._a)
            times.append(1e3 * (time.perf_counter() - start))
        self.best_kernel_ms = min(self.best_kernel_ms, *times)
        return min(times)

    @staticmethod
    def _cpu_ticks() -> tuple[int, int] | None:
        """(busy ticks of the whole machine, ticks of this process) or None off Linux."""
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        own = os.times()
        ticks = os.sysconf("SC_CLK_TCK")
        busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
        return busy, round((own.user + own.system) * ticks)

    @contextlib.contextmanager
    def watch(self) -> Iterator[dict[str, Any]]:
        """Yields a dict filled on exit: ``others`` (cores), ``kernel`` (ratio to best),
        ``disturbed`` (bool)."""
        result: dict[str, Any] = {}
        before_kernel = self.kernel_ms()
        ticks = self._cpu_ticks()
        start = time.perf_counter()
        yield result
        seconds = time.perf_counter() - start
        after = self._cpu_ticks()
        after_kernel = self.kernel_ms()
        others = 0.0
        if ticks is not None and after is not None and seconds > 0:
            used = (after[0] - ticks[0]) - (after[1] - ticks[1])
            others = max(0.0, used / (seconds * os.sysconf("SC_CLK_TCK")))
        kernel = max(before_kernel, after_kernel) / self.best_kernel_ms
        result.update(
            others=round(others, 3),
            kernel=round(kernel, 3),
            disturbed=others > DISTURBED_OTHERS or kernel > DISTURBED_KERNEL,
        )
        self.timings += 1
        self.discarded += bool(result["disturbed"])


@contextlib.contextmanager
def one_core_busy() -> Iterator[None]:
    """A process of our own spinning on one core for the duration."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        yield
    finally:
        proc.kill()
        proc.wait()


def measure_speeds(
    paths: Sequence[str],
    bulk: Callable[[str], int],
    single: Callable[[str], None],
    singles: int,
    rounds: int = 3,
    max_rounds: int = 8,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Throughput (texts/s of ``bulk(path)``, which returns how many texts it embedded) and
    single-text latency (median ms of ``singles`` calls of ``single(path)``) per path.

    Paths take turns; a timing during which the CPU was not ours is discarded and the
    round repeated, up to ``max_rounds``. Each path keeps its best undisturbed values (or
    its best disturbed ones if it never got a quiet moment, then ``under_load`` is set).
    Then each path's throughput with one core busy (``loaded_texts_per_s``, best of two
    turns). ``previous``: an earlier calibration under load whose best values are merged."""
    probe = LoadProbe()
    for _ in range(3):
        probe.kernel_ms()
    for path in paths:
        bulk(path)  # warm up: first calls allocate and compile
        single(path)
    best: dict[str, dict[str, float]] = {
        p: {"texts_per_s": 0.0, "latency_ms": float("inf")} for p in paths
    }
    fallback = {p: {"texts_per_s": 0.0, "latency_ms": float("inf")} for p in paths}
    clean = dict.fromkeys(paths, 0)
    loads: list[float] = []
    for _ in range(max_rounds):
        todo = [p for p in paths if clean[p] < rounds]
        if not todo:
            break
        for path in todo:
            with probe.watch() as load:
                start = time.perf_counter()
                n = bulk(path)
                throughput = n / (time.perf_counter() - start)
                times = []
                for _ in range(singles):
                    t0 = time.perf_counter()
                    single(path)
                    times.append(time.perf_counter() - t0)
            latency = 1e3 * float(np.median(times))
            loads.append(load["others"])
            target = fallback[path] if load["disturbed"] else best[path]
            target["texts_per_s"] = max(target["texts_per_s"], throughput)
            target["latency_ms"] = min(target["latency_ms"], latency)
            clean[path] += not load["disturbed"]
    under_load = any(clean[p] < rounds for p in paths)
    for p in paths:
        if clean[p] == 0:
            best[p] = fallback[p]
        best[p]["loaded_texts_per_s"] = 0.0
    with one_core_busy():
        for _ in range(2):
            for path in paths:
                start = time.perf_counter()
                n = bulk(path)
                throughput = n / (time.perf_counter() - start)
                best[path]["loaded_texts_per_s"] = max(best[path]["loaded_texts_per_s"], throughput)
    attempts = 1
    if previous and previous.get("under_load"):
        attempts += int(previous.get("attempts", 1))
        for p, old in previous.get("paths", {}).items():
            if p in best:
                for key in ("texts_per_s", "loaded_texts_per_s"):
                    best[p][key] = max(best[p][key], old.get(key, 0.0))
                best[p]["latency_ms"] = min(best[p]["latency_ms"], old["latency_ms"])
    return {
        "paths": {p: {k: round(v, 3) for k, v in best[p].items()} for p in paths},
        "under_load": under_load,
        "attempts": attempts,
        "timings": probe.timings,
        "discarded": probe.discarded,
        "others_max": round(max(loads, default=0.0), 3),
        "kernel_ms": round(probe.best_kernel_ms, 3),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def needs_remeasuring(speeds: dict[str, Any] | None, paths: Sequence[str]) -> bool:
    """No calibration yet, one for other paths, or one under load with attempts left."""
    if not speeds or set(speeds.get("paths", {})) != set(paths):
        return True
    return bool(speeds.get("under_load")) and int(speeds.get("attempts", 1)) < MAX_ATTEMPTS


def choose(
    rows: list[dict[str, Any]], n_texts: int, small_batch: int, *, loaded: bool = False
) -> str:
    """The usable path with the lowest latency for ``small_batch`` texts or fewer; for
    more, the highest throughput among those at least as fast as sentence-transformers
    with one core busy too (``loaded``: the highest throughput with one core busy, for
    a process whose cores do other work beside the model: a server). sentence-transformers
    wins ties (it is the reference)."""
    usable = [r for r in rows if r["usable"]]
    base = next((r for r in usable if r["path"] == SENTENCE_TRANSFORMERS), None)
    if n_texts > small_batch and base is not None:
        floor = base.get("loaded_texts_per_s", 0.0)
        usable = [r for r in usable if r.get("loaded_texts_per_s", 0.0) >= floor]
    if not usable:
        return SENTENCE_TRANSFORMERS
    order = {r["path"]: i for i, r in enumerate(rows)}

    def rank(r: dict[str, Any]) -> tuple[float, int, int]:
        tie = 0 if r["path"] == SENTENCE_TRANSFORMERS else 1
        speed = r.get("loaded_texts_per_s", 0.0) if loaded else r["texts_per_s"]
        value = r["latency_ms"] if n_texts <= small_batch else -speed
        return (value, tie, order[r["path"]])

    return str(min(usable, key=rank)["path"])


def explain(rows: list[dict[str, Any]], small_batch: int, min_fidelity: float) -> dict[str, str]:
    """Why each choice: the chosen path's figures against sentence-transformers'."""
    by_path = {r["path"]: r for r in rows}
    base = by_path.get(SENTENCE_TRANSFORMERS)
    why = {}
    for use, n in (("bulk", small_batch + 1), ("queries", 1)):
        path = choose(rows, n, small_batch)
        row = by_path[path]
        if use == "bulk":
            figure = f"{row['texts_per_s']:.1f} texts/s"
            if base and base["texts_per_s"]:
                figure += (
                    f", {row['texts_per_s'] / base['texts_per_s']:.2f}x sentence-transformers "
                    f"({base['texts_per_s']:.1f})"
                )
                if base.get("loaded_texts_per_s"):
                    figure += (
                        f"; with one core busy {row.get('loaded_texts_per_s', 0):.1f} vs "
                        f"{base['loaded_texts_per_s']:.1f}"
                    )
            how = "the highest throughput (and not behind sentence-transformers under load)"
        else:
            figure = f"{row['latency_ms']:.2f} ms per single text"
            if base and base["latency_ms"] not in (0, float("inf")):
                figure += f" (sentence-transformers {base['latency_ms']:.2f} ms)"
            how = "the lowest latency"
        why[use] = (
            f"{path}: {figure}; {how} of the paths whose min cosine to fp32 is >= {min_fidelity:g}"
        )
    return why
