"""Benchmark of the empirical NTK methods of :func:`deeptheory.ntk.empirical_ntk`.

What is measured
----------------
For a scalar :class:`~deeptheory.models.FCNet` (NTK parametrisation, ReLU, no bias,
float64, input dimension d = 10) and p inputs, the symmetric Gram matrix
``empirical_ntk(net, params, x, method=m)`` (``x2=None``) is timed for

* one hidden layer: p ∈ {256, 1024, 4096} × width h ∈ {100, 1000, 10000};
* deep MLPs: 3 and 5 hidden layers × width {256, 1024} × p ∈ {256, 1024};

and the methods ``structured`` (the layer-wise Gram factorisation, the fast path),
``jacobian`` (``vmap(jacrev)`` Jacobian blocks contracted: the *baseline*) and
``ntk_vp`` (NTK-vector products). ``loop`` (the slow oracle) only runs in ``--smoke``.

Every (cell, method) runs in a fresh subprocess (this script with a hidden ``--worker``
argument), which isolates the cells and gives a clean peak-memory figure. In the worker
the method is first called once on 8 inputs (warm-up), then timed: repeated until at
least 3 runs and ``--budget`` seconds (default 5 s), a single run when the first one
already takes more than half the budget. The structured worker then times a float64
torch matmul ``(p×h) @ (h×p)`` into a preallocated output, the shape of the structured
path's big Gram products, the same way: that is the reference rate for "% of matmul".
All structured measurements run before the baselines, whose multi-GB workers would
otherwise leave the next worker to fault its memory in again (slow in a VM).

The workers run with glibc malloc "warm" (``--malloc``, :data:`MALLOC_ENV`): a fresh
process maps and page-faults every tensor above 128 KiB anew on each call, which on
this VM made the small structured cells about 2× slower than in a process that has
been running for a while; "warm" sets the state such a process reaches.

The machine may be shared: the CPU time other processes take during a measurement is
read from /proc/stat (column ``bg CPU %``); above ``--max-background`` (10 %) the
measurement is repeated (``--retries``, after waiting for a quiet machine, at most
``--max-wait`` s in all) and the least disturbed one kept.

Slow methods are *estimated* first (flops at an assumed rate, memory from the Jacobian
size, see :func:`estimate_cost`) and skipped when the estimate exceeds
``--max-baseline-seconds`` or 70 % of the available RAM; the table then says
"skipped (est. …)". No number in the table is extrapolated.

How to read the table
---------------------
* ``time``: median wall-clock seconds of the runs (number of runs in brackets).
* ``speed-up``: median time of the method / median time of ``structured``, both measured
  in this run. ``jacobian`` is the baseline of the targets.
* ``GFLOP``: the floating-point operations the structured path actually performs
  (:func:`flops`; the worker counts the feature rows and Gram entries the path really
  computes, so for ``x2=None`` and several sample blocks only the blocks on and above
  the diagonal are counted, and a single block is counted as the full p × p product it
  is).
* ``% mm``: achieved structured GFLOP/s divided by the ``(p×h) @ (h×p)`` matmul GFLOP/s
  measured in the same worker.
* ``faults``: minor page faults of the structured worker per run, in MiB: memory the
  call mapped afresh (each costs time; see ``--malloc``).
* ``ΔRSS``: peak resident memory of the worker during the timed calls minus its
  resident memory just before them (inputs, parameters and libraries already loaded),
  in MiB: the memory the method itself needs, result included. The peak is the
  kernel's VmHWM, reset just before the calls (``/proc/self/clear_refs``), so an
  earlier peak (imports, warm-up) cannot hide it; where that is impossible it falls
  back to ``ru_maxrss`` (the header says which).
* ``rel. diff``: ‖K_m v − K_s v‖ / ‖K_s v‖ for a fixed random vector v, method m against
  ``structured`` (a sanity check that the timed runs computed the same kernel).

The second table compares a Gram matrix A Aᵀ by torch (``A @ A.T``, MKL gemm) with
OpenBLAS via SciPy: ``dgemm`` and ``dsyrk`` (which computes one triangle only, half the
flops; "+ mirror" adds the tile-wise copy of that triangle into the other half).

Usage::

    PYTHONPATH=. python benchmarks/ntk.py            # full run, ~10 min on 2 cores
    PYTHONPATH=. python benchmarks/ntk.py --quick    # a subset, < 2 min
    PYTHONPATH=. python benchmarks/ntk.py --smoke    # tiny, checks that methods agree

The Markdown table goes to stdout and to ``--out`` (default
``benchmarks/results/ntk.md``; ``--smoke`` writes no file unless ``--out`` is given).
"""

import argparse
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

import deeptheory
from deeptheory import ntk as ntk_module
from deeptheory.models import FCNet
from deeptheory.ntk import BLOCK_BYTES, empirical_ntk
from deeptheory.ntk_fc import fc_feature_bytes

INPUT_DIM = 10
DTYPE = torch.float64
ITEMSIZE = 8
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "ntk.md"

#: Cost model of the slow methods, used only to decide whether to skip them (see
#: :func:`estimate_cost`). Rates in flop/s; the per-element costs are memory-bound work,
#: set from measurements on this 2-core machine (within about 2× of the real times).
ASSUMED_RATE = {"jacobian": 30e9, "ntk_vp": 20e9}
#: vmap(jacrev) building the Jacobian: seconds per Jacobian entry (~10–30 ns measured).
JACOBIAN_SECONDS_PER_ENTRY = 25e-9
#: ntk_vp: seconds per (kernel entry × hidden unit), the batched jvp/vjp activations.
NTK_VP_SECONDS_PER_ENTRY_UNIT = 25e-9
#: glibc malloc settings of the workers (``--malloc``). A fresh process starts with a
#: 128 KiB mmap threshold and trims its heap eagerly, so every tensor of a repeated call
#: is mapped and page-faulted anew (costly in a VM: it made small structured cells ~2×
#: slower here). "warm" is the state glibc reaches in a long-running process (dynamic
#: threshold at its 32 MiB maximum, no trimming); "keep" never returns memory to the
#: kernel (no mmap at all); "glibc" leaves the defaults.
MALLOC_ENV: dict[str, dict[str, str]] = {
    "warm": {
        "MALLOC_MMAP_THRESHOLD_": str(2**25),
        "MALLOC_TRIM_THRESHOLD_": str(2**40),
    },
    "keep": {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**40)},
    "glibc": {},
}
#: Skip a method whose estimated memory exceeds this fraction of the available RAM.
RAM_FRACTION = 0.7
#: A computation is "large" (and must reach TARGET_MATMUL_PERCENT) from this many flops.
LARGE_FLOPS = 1e10
TARGET_SPEEDUP_SHALLOW = 20.0
TARGET_SPEEDUP_DEEP = 50.0
TARGET_MATMUL_PERCENT = 70.0
SLOW_METHODS = ("jacobian", "ntk_vp", "loop")


# -- cells and flop counts -------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One benchmark configuration: p inputs, L hidden layers of width h."""

    p: int
    width: int
    hidden_layers: int

    @property
    def net(self) -> FCNet:
        return FCNet(
            input_dim=INPUT_DIM, width=self.width, hidden_layers=self.hidden_layers
        )

    @property
    def label(self) -> str:
        return f"L={self.hidden_layers} h={self.width} p={self.p}"


def flops(
    p: int,
    d: int,
    h: int,
    hidden_layers: int,
    outputs: int = 1,
    *,
    feature_rows: int | None = None,
    gram_entries: int | None = None,
) -> int:
    """Floating-point operations of the structured NTK path for an FCNet.

    With L hidden layers, layer sizes n_0 = d, n_1 = … = n_L = h and k outputs, for
    r input rows whose features are computed and m kernel entries computed:

        forward    2·r·(d·h + (L−1)·h² + h·k)        (z^{l+1} = a^l W^lᵀ, every layer)
        backward   2·r·k·(L−1)·h²                     (δ^l = δ^{l+1} W^l, hidden→hidden)
        Gram       2·m·(Σ_{l=0}^{L} n_l + L·k·h)      (a^l a^lᵀ for every weight layer,
                                                       δ δᵀ for every hidden layer)

    i.e. Gram = 2·m·(d + L·h + L·k·h). By default r = p (features computed once) and
    m = p² (the full Gram matrix); pass the numbers actually computed otherwise (for
    ``x2=None`` with several sample blocks only the blocks on and above the diagonal are
    computed). Elementwise work (φ, φ', the Hadamard products and sums) is not counted.
    """
    r = p if feature_rows is None else feature_rows
    m = p * p if gram_entries is None else gram_entries
    L, k = hidden_layers, outputs
    forward = 2 * r * (d * h + (L - 1) * h * h + h * k)
    backward = 2 * r * k * (L - 1) * h * h
    gram = 2 * m * (d + L * h + L * k * h)
    return forward + backward + gram


def block_sizes(n: int, block: int) -> list[int]:
    """Sizes of the consecutive sample blocks of ``blocked_gram``."""
    return [min(block, n - s) for s in range(0, n, block)]


def symmetric_entries(n: int, block: int) -> int:
    """Kernel entries computed for x2=None: Σ_{j ≥ i} b_i·b_j over the sample blocks."""
    sizes = block_sizes(n, block)
    return sum(
        sizes[i] * sizes[j] for i in range(len(sizes)) for j in range(i, len(sizes))
    )


def structured_plan(cell: Cell) -> tuple[int, int]:
    """(feature rows, kernel entries) the structured path computes for x2=None.

    Mirrors the block choice of ``deeptheory.ntk._fc_structured``; the worker counts the
    real numbers and only falls back to this if it cannot.
    """
    net = cell.net
    block = max(1, BLOCK_BYTES // fc_feature_bytes(net, 1, None, ITEMSIZE))
    sizes = block_sizes(cell.p, block)
    cached = fc_feature_bytes(net, cell.p, None, ITEMSIZE) <= 4 * BLOCK_BYTES
    if cached:
        rows = cell.p
    else:  # row features once per row block, column features again for every j > i
        rows = cell.p + sum(j * b for j, b in enumerate(sizes))
    return rows, symmetric_entries(cell.p, block)


def estimate_cost(method: str, cell: Cell) -> tuple[float, float]:
    """Rough (seconds, bytes) of a slow method, only used to decide whether to skip it.

    With P parameters, k outputs and m kernel entries computed (blocks j ≥ i):

    * ``jacobian``: the Jacobian rows of all p inputs are cached (p·k·P·8 bytes, plus
      two blocks in flight) and contracted block by block: 2·m·k·P flops at
      ``ASSUMED_RATE``, plus ``JACOBIAN_SECONDS_PER_ENTRY`` per Jacobian entry.
    * ``ntk_vp``: blocks of 64; every column costs a vjp and a jvp, about 6·m·k·P
      flops, plus ``NTK_VP_SECONDS_PER_ENTRY_UNIT`` per (entry × hidden unit); it
      holds the 64 tangents (64·k·P·8 bytes) and 64 × 64 × L·h activations a few times.
    * ``loop``: like ``jacobian`` but 50× slower (only used by ``--smoke``).
    """
    net = cell.net
    n_params, k = net.num_params(), net.outputs
    units = cell.hidden_layers * cell.width
    if method in ("jacobian", "loop"):
        block = max(1, BLOCK_BYTES // (k * n_params * ITEMSIZE))
        entries = symmetric_entries(cell.p, block)
        seconds = 2 * entries * k * n_params / ASSUMED_RATE["jacobian"]
        seconds += JACOBIAN_SECONDS_PER_ENTRY * cell.p * k * n_params
        seconds *= 50 if method == "loop" else 1
        memory = (cell.p + 2 * min(block, cell.p)) * k * n_params * ITEMSIZE
    elif method == "ntk_vp":
        entries = symmetric_entries(cell.p, 64)
        seconds = 6 * entries * k * n_params / ASSUMED_RATE["ntk_vp"]
        seconds += NTK_VP_SECONDS_PER_ENTRY_UNIT * entries * units
        memory = (4 * 64 * k * n_params + 3 * 64 * 64 * units) * ITEMSIZE
    else:
        return 0.0, 0.0
    memory += 2 * cell.p * cell.p * ITEMSIZE
    return seconds, float(memory)


def jacobian_contraction_flops(cell: Cell) -> int:
    """2·m·k·P: the ``jacobian`` method's Gram products for x2=None (blocks j ≥ i)."""
    net = cell.net
    n_params, k = net.num_params(), net.outputs
    block = max(1, BLOCK_BYTES // (k * n_params * ITEMSIZE))
    return 2 * symmetric_entries(cell.p, block) * k * n_params


def malloc_text(mode: str) -> str:
    env = MALLOC_ENV[mode]
    return ", ".join(f"{k}={v}" for k, v in env.items()) or "glibc defaults"


def available_bytes() -> float:
    """MemAvailable from /proc/meminfo (or the physical memory if that is missing)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# -- the worker (runs in a fresh process) ----------------------------------------------
def time_runs(
    fn: Callable[[], Any], budget: float, min_runs: int = 3, max_runs: int = 50
) -> list[float]:
    """Wall-clock seconds of repeated calls: ≥ min_runs and ≥ budget seconds in total,
    or a single run if the first one takes more than half the budget."""
    times: list[float] = []
    while True:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if times[0] > budget / 2 or len(times) >= max_runs:
            return times
        if len(times) >= min_runs and sum(times) >= budget:
            return times


def proc_status_kib(key: str) -> int | None:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in KiB, None if missing."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the peak RSS (VmHWM) to the current RSS (Linux ≥ 4.0); True on success."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return proc_status_kib("VmHWM") is not None


def max_rss_kib() -> int:
    """``ru_maxrss`` in KiB: the peak RSS over the life of the process."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS


class _Counter:
    """Counts the feature rows and Gram entries of the structured path by wrapping the
    functions ``deeptheory.ntk`` calls (looked up at call time, so patchable)."""

    def __init__(self) -> None:
        self.rows = 0
        self.entries = 0
        self.calls = 0
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> "_Counter":
        features, gram = ntk_module.fc_features, ntk_module.fc_gram
        self._saved = {"fc_features": features, "fc_gram": gram}

        def counted_features(net: FCNet, params: Any, x: torch.Tensor) -> Any:
            self.rows += x.shape[-2]
            return features(net, params, x)

        def counted_gram(net: FCNet, f1: Any, f2: Any, **kwargs: Any) -> torch.Tensor:
            self.calls += 1
            self.entries += f1.inputs[0].shape[-2] * f2.inputs[0].shape[-2]
            return gram(net, f1, f2, **kwargs)

        ntk_module.fc_features = counted_features
        ntk_module.fc_gram = counted_gram
        return self

    def __exit__(self, *exc: object) -> None:
        for name, value in self._saved.items():
            setattr(ntk_module, name, value)


def matmul_times(m: int, inner: int, budget: float) -> list[float]:
    """Times of a float64 (m×inner) @ (inner×m) product, as ``a1 @ a2.T`` in fc_gram,
    into a preallocated output (the GEMM rate itself, without allocation)."""
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(m, inner, dtype=DTYPE, generator=gen)
    b = torch.randn(m, inner, dtype=DTYPE, generator=gen)
    out = torch.mm(a, b.T)  # warm-up
    return time_runs(lambda: torch.mm(a, b.T, out=out), budget)


def run_method(task: dict[str, Any]) -> dict[str, Any]:
    """Time one method on one cell (in this process) and return what the table needs."""
    cell = Cell(task["p"], task["width"], task["hidden_layers"])
    method, budget = task["method"], task["budget"]
    net = cell.net
    params = net.init(generator=torch.Generator().manual_seed(0))
    x = torch.randn(
        cell.p, INPUT_DIM, dtype=DTYPE, generator=torch.Generator().manual_seed(1)
    )
    empirical_ntk(net, params, x[:8], method=method)  # warm-up: libraries, thread pools
    gc.collect()
    # Peak memory of the calls: VmHWM reset to the current RSS just before them; without
    # that (not Linux), ru_maxrss, which may still hold an earlier, higher peak.
    hwm = reset_peak_rss()
    rss_before = proc_status_kib("VmRSS") if hwm else max_rss_kib()
    result: dict[str, torch.Tensor] = {}

    def call() -> None:
        result["K"] = empirical_ntk(net, params, x, method=method)

    faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with _Counter() as counter:
        times = time_runs(call, budget)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
    peak = proc_status_kib("VmHWM") if hwm else max_rss_kib()
    out: dict[str, Any] = {
        "times": times,
        "fault_mib_per_run": faults * resource.getpagesize() / 2**20 / len(times),
        "delta_rss_kib": (peak or 0) - (rss_before or 0),
        "peak_rss_kib": peak,
        "peak_source": "VmHWM" if hwm else "ru_maxrss",
    }
    if method == "structured" and counter.calls:
        out["feature_rows"] = counter.rows // len(times)
        out["gram_entries"] = counter.entries // len(times)
    v = torch.randn(cell.p, dtype=DTYPE, generator=torch.Generator().manual_seed(3))
    out["sketch"] = (result.pop("K") @ v).tolist()
    if method == "structured":
        out["matmul_times"] = matmul_times(cell.p, cell.width, budget)
    return out


def mirror_upper(c: Any, tile: int = 512) -> Any:
    """Copy the upper triangle of the square array ``c`` into its lower one, in place,
    tile by tile (transposed tile copies; triu + triu(1)ᵀ on the diagonal tiles)."""
    import numpy as np

    n = len(c)
    for i in range(0, n, tile):
        e = min(i + tile, n)
        diag = c[i:e, i:e]
        diag[...] = np.triu(diag) + np.triu(diag, 1).T
        for j in range(e, n, tile):
            je = min(j + tile, n)
            c[j:je, i:e] = c[i:e, j:je].T
    return c


def run_syrk(task: dict[str, Any]) -> dict[str, Any]:
    """Time A Aᵀ by torch, SciPy dgemm and SciPy dsyrk for (p, inner) shapes."""
    import numpy as np
    from scipy.linalg import blas

    rows = []
    rng = np.random.default_rng(4)
    for p, inner in task["shapes"]:
        a = rng.standard_normal((p, inner))  # C order; a.T is Fortran-ordered, no copy
        at = torch.from_numpy(a)
        at @ at.T
        t_torch = time_runs(lambda at=at: at @ at.T, task["budget"])
        # dgemm(a.T, a.T, trans_a=1): (aᵀ)ᵀ aᵀ = a aᵀ with a Fortran view, no copies
        t_gemm = time_runs(
            lambda a=a: blas.dgemm(1.0, a.T, a.T, trans_a=1), task["budget"]
        )
        c = blas.dsyrk(1.0, a.T, trans=1)  # upper triangle of a aᵀ
        ref = a @ a.T
        err = float(np.max(np.abs(np.triu(c) - np.triu(ref))) / np.max(np.abs(ref)))
        t_syrk = time_runs(lambda a=a: blas.dsyrk(1.0, a.T, trans=1), task["budget"])

        def syrk_full(a: np.ndarray = a) -> np.ndarray:
            upper = blas.dsyrk(1.0, a.T, trans=1)  # upper triangle, rest untouched
            return mirror_upper(upper)

        t_full = time_runs(syrk_full, task["budget"])
        rows.append(
            {
                "p": p,
                "inner": inner,
                "torch": statistics.median(t_torch),
                "dgemm": statistics.median(t_gemm),
                "dsyrk": statistics.median(t_syrk),
                "dsyrk_full": statistics.median(t_full),
                "err": err,
            }
        )
    return {"rows": rows}


def run_reference(task: dict[str, Any]) -> dict[str, Any]:
    n = task["n"]
    return {"times": matmul_times(n, n, task["budget"])}


def worker(task: dict[str, Any]) -> dict[str, Any]:
    if task.get("threads"):
        torch.set_num_threads(task["threads"])
    kind = task["kind"]
    if kind == "method":
        out = run_method(task)
    elif kind == "syrk":
        out = run_syrk(task)
    else:
        out = run_reference(task)
    out["threads"] = torch.get_num_threads()
    return out


def spawn(task: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``task`` in a fresh interpreter; return its JSON answer or an error."""
    env = dict(os.environ)
    package_root = str(Path(deeptheory.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root, *filter(None, [env.get("PYTHONPATH")])]
    )
    if task.get("threads"):  # SciPy's OpenBLAS does not follow torch.set_num_threads
        env["OPENBLAS_NUM_THREADS"] = str(task["threads"])
    for name, value in MALLOC_ENV.get(task.get("malloc", "glibc"), {}).items():
        env.setdefault(name, value)  # an explicit setting by the user wins
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(task)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        if proc.returncode < 0:
            why = f"killed by signal {-proc.returncode} (out of memory?)"
        else:
            tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
            why = f"exit {proc.returncode}: {tail[0][:120]}"
        return {"error": why}
    return json.loads(lines[-1])


# -- the driver ------------------------------------------------------------------------
class CpuMeter:
    """CPU used by *other* processes since creation: the machine's busy time from
    /proc/stat (user, nice, system, irq, softirq and steal) minus the CPU time of this
    process and its finished children, as a fraction of wall time × cores."""

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as fh:
                values = [int(v) for v in fh.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        busy = (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")
        ours = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            ours += usage.ru_utime + usage.ru_stime
        return time.perf_counter(), busy, ours

    def background(self) -> float | None:
        end = self._read()
        if self.start is None or end is None:
            return None
        wall = end[0] - self.start[0]
        other = (end[1] - self.start[1]) - (end[2] - self.start[2])
        return max(0.0, other) / max(wall * (os.cpu_count() or 1), 1e-9)


def wait_until_quiet(threshold: float, timeout: float) -> float:
    """Wait (at most ``timeout`` s) for a 2 s window with background CPU ≤ threshold;
    return the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        meter = CpuMeter()
        time.sleep(min(2.0, max(0.0, timeout - (time.perf_counter() - start))))
        load = meter.background()
        if load is None or load <= threshold:
            break
    return time.perf_counter() - start


@dataclass
class Outcome:
    """The result of one (cell, method) or the reason it was not measured."""

    times: list[float] = field(default_factory=list)
    delta_rss_mib: float | None = None
    sketch: list[float] | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: fraction of the machine's CPU used by other processes during the measurement
    background: float | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def cells_for(mode: str) -> list[Cell]:
    if mode == "smoke":
        return [Cell(24, 16, 1), Cell(20, 12, 3)]
    if mode == "quick":
        shallow = [Cell(p, h, 1) for p in (256, 1024) for h in (100, 1000)]
        return [*shallow, Cell(256, 256, 3)]
    shallow = [Cell(p, h, 1) for p in (256, 1024, 4096) for h in (100, 1000, 10000)]
    deep = [Cell(p, w, L) for L in (3, 5) for w in (256, 1024) for p in (256, 1024)]
    return shallow + deep


def run_task(task: dict[str, Any], timeout: float, in_process: bool) -> dict[str, Any]:
    """Run a worker task in a fresh subprocess, or here (``--smoke``, for speed)."""
    return worker(task) if in_process else spawn(task, timeout)


def measure(
    cell: Cell,
    method: str,
    args: argparse.Namespace,
    budget: float,
    in_process: bool = False,
) -> Outcome:
    """Measure (cell, method) in a worker; repeat it (up to ``--retries`` times, after
    waiting for the machine to go quiet) when other processes took more than
    ``--max-background`` of the CPU meanwhile, and keep the least disturbed result."""
    if method in SLOW_METHODS:
        seconds, memory = estimate_cost(method, cell)
        too_slow = seconds > args.max_baseline_seconds
        too_big = memory > RAM_FRACTION * available_bytes()
        if too_slow or too_big:
            why = [f"{seconds:.0f} s"] if too_slow else []
            why += [f"{memory / 2**30:.0f} GiB"] if too_big else []
            return Outcome(note=f"skipped (est. {', '.join(why)})")
    best = measure_once(cell, method, args, budget, in_process)
    for _ in range(0 if in_process or args.smoke else args.retries):
        if best.background is None or best.background <= args.max_background:
            break
        if args.wait_left <= 0:
            break
        timeout = min(60.0, args.wait_left)
        args.wait_left -= wait_until_quiet(args.max_background / 2, timeout)
        again = measure_once(cell, method, args, budget, in_process)
        if again.background is not None and again.background < best.background:
            best = again
    return best


def measure_once(
    cell: Cell,
    method: str,
    args: argparse.Namespace,
    budget: float,
    in_process: bool,
) -> Outcome:
    task = {
        "kind": "method",
        "p": cell.p,
        "width": cell.width,
        "hidden_layers": cell.hidden_layers,
        "method": method,
        "budget": budget,
        "threads": args.threads,
        "malloc": args.malloc,
    }
    timeout = max(600.0, 5 * args.max_baseline_seconds)
    meter = CpuMeter()
    answer = run_task(task, timeout, in_process)
    background = meter.background()
    if "error" in answer:
        return Outcome(note=f"failed: {answer['error']}", background=background)
    return Outcome(
        times=answer["times"],
        delta_rss_mib=answer["delta_rss_kib"] / 1024,
        sketch=answer["sketch"],
        extra=answer,
        background=background,
    )


def fmt_time(outcome: Outcome) -> str:
    if outcome.median is None:
        return outcome.note
    t = outcome.median
    text = f"{t:.3g}" if t < 100 else f"{t:.0f}"
    return f"{text} ({len(outcome.times)})"


def fmt_mem(outcome: Outcome | None) -> str:
    if outcome is None or outcome.delta_rss_mib is None:
        return "–"
    return f"{outcome.delta_rss_mib:.0f}"


def rel_diff(a: Sequence[float], b: Sequence[float]) -> float:
    num = math.sqrt(sum((u - v) ** 2 for u, v in zip(a, b, strict=True)))
    return num / max(math.sqrt(sum(v * v for v in b)), 1e-300)


@dataclass
class Row:
    cell: Cell
    outcomes: dict[str, Outcome]
    gflop: float | None = None
    gflops: float | None = None
    matmul_gflops: float | None = None

    def speedup(self, method: str) -> float | None:
        base, fast = self.outcomes.get(method), self.outcomes.get("structured")
        if base is None or fast is None or base.median is None or fast.median is None:
            return None
        return base.median / fast.median

    @property
    def percent(self) -> float | None:
        if self.gflops is None or not self.matmul_gflops:
            return None
        return 100 * self.gflops / self.matmul_gflops


def summarise(cell: Cell, outcomes: dict[str, Outcome]) -> Row:
    row = Row(cell, outcomes)
    fast = outcomes.get("structured")
    if fast is None or fast.median is None:
        return row
    if "feature_rows" in fast.extra:
        rows, entries = fast.extra["feature_rows"], fast.extra["gram_entries"]
    else:
        rows, entries = structured_plan(cell)
    work = flops(
        cell.p,
        INPUT_DIM,
        cell.width,
        cell.hidden_layers,
        feature_rows=rows,
        gram_entries=entries,
    )
    row.gflop = work / 1e9
    row.gflops = work / fast.median / 1e9
    mm = fast.extra.get("matmul_times")
    if mm:
        row.matmul_gflops = (
            2 * cell.p * cell.p * cell.width / statistics.median(mm) / 1e9
        )
    return row


def cell_table(rows: list[Row], methods: Sequence[str]) -> list[str]:
    slow = [m for m in methods if m != "structured"]
    head = ["L", "h", "p", "params"]
    head += [f"{m} s (runs)" for m in methods]
    head += [f"speed-up {m}" for m in slow]
    head += ["GFLOP", "GFLOP/s", "matmul GFLOP/s", "% mm", "faults MiB/run"]
    head += [f"ΔRSS {m} MiB" for m in methods]
    head += [f"rel. diff {m}" for m in slow]
    head += ["bg CPU %"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        c, out = row.cell, row.outcomes
        cols = [str(c.hidden_layers), str(c.width), str(c.p), f"{c.net.num_params():,}"]
        cols += [fmt_time(out[m]) for m in methods]
        for m in slow:
            s = row.speedup(m)
            cols.append("–" if s is None else f"{s:.1f}×")
        cols.append("–" if row.gflop is None else f"{row.gflop:.3g}")
        cols.append("–" if row.gflops is None else f"{row.gflops:.1f}")
        cols.append("–" if row.matmul_gflops is None else f"{row.matmul_gflops:.1f}")
        cols.append("–" if row.percent is None else f"{row.percent:.0f} %")
        fast = out.get("structured")
        faults = None if fast is None else fast.extra.get("fault_mib_per_run")
        cols.append("–" if faults is None else f"{faults:.0f}")
        cols += [fmt_mem(out.get(m)) for m in methods]
        for m in slow:
            o = out.get(m)
            if o is None or o.sketch is None or fast is None or fast.sketch is None:
                cols.append("–")
            else:
                cols.append(f"{rel_diff(o.sketch, fast.sketch):.1e}")
        loads = [o.background for o in out.values() if o.background is not None]
        cols.append(f"{100 * max(loads):.0f}" if loads else "–")
        lines.append("| " + " | ".join(cols) + " |")
    return lines


def syrk_table(answer: dict[str, Any]) -> list[str]:
    if "error" in answer:
        return [f"syrk comparison failed: {answer['error']}"]
    lines = [
        "| p | inner | torch A@A.T s | SciPy dgemm s | SciPy dsyrk s "
        "| dsyrk + mirror s | torch / dsyrk | torch / (dsyrk + mirror) "
        "| dgemm / dsyrk | dsyrk rel. err |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in answer["rows"]:
        lines.append(
            f"| {r['p']} | {r['inner']} | {r['torch']:.3g} | {r['dgemm']:.3g} "
            f"| {r['dsyrk']:.3g} | {r['dsyrk_full']:.3g} "
            f"| {r['torch'] / r['dsyrk']:.2f} | {r['torch'] / r['dsyrk_full']:.2f} "
            f"| {r['dgemm'] / r['dsyrk']:.2f} | {r['err']:.1e} |"
        )
    return lines


def headline(rows: list[Row]) -> list[str]:
    lines = []

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("PASS" if ok else "MISS")

    target_a = [
        r
        for r in rows
        if (r.cell.hidden_layers, r.cell.width, r.cell.p) == (1, 10000, 1024)
    ]
    if target_a and target_a[0].speedup("jacobian") is not None:
        row = target_a[0]
        s = row.speedup("jacobian")
        assert s is not None
        ratio = ""
        if row.gflop:
            jac = jacobian_contraction_flops(row.cell) / 1e9
            ratio = (
                f"; for reference, the baseline's contraction alone is {jac:.0f} GFLOP "
                f"= {jac / row.gflop:.1f}× the structured flops"
            )
        lines.append(
            f"- (a) p=1024, h=10⁴, one hidden layer: speed-up vs jacobian {s:.1f}× "
            f"(target ≥ {TARGET_SPEEDUP_SHALLOW:.0f}×): "
            f"{verdict(s >= TARGET_SPEEDUP_SHALLOW)}{ratio}"
        )
    else:
        why = "cell not run" if not target_a else target_a[0].outcomes["jacobian"].note
        lines.append(f"- (a) p=1024, h=10⁴, one hidden layer: n/a ({why})")
    deep = [r for r in rows if r.cell.hidden_layers > 1]
    measured = [(r, r.speedup("jacobian")) for r in deep]
    ran = [(r, s) for r, s in measured if s is not None]
    if ran:
        parts = ", ".join(f"{r.cell.label}: {s:.0f}×" for r, s in ran)
        ok = all(s >= TARGET_SPEEDUP_DEEP for _, s in ran)
        not_run = len(deep) - len(ran)
        lines.append(
            f"- (b) deep MLPs, speed-up vs jacobian where it ran ({parts}; "
            f"{not_run} deep cell(s) without baseline) "
            f"(target ≥ {TARGET_SPEEDUP_DEEP:.0f}×): {verdict(ok)}"
        )
    else:
        lines.append("- (b) deep MLPs: n/a (no deep cell with a baseline)")
    large = [r for r in rows if r.gflop is not None and r.gflop * 1e9 >= LARGE_FLOPS]
    with_rate = [r for r in large if r.percent is not None]
    if with_rate:
        parts = ", ".join(f"{r.cell.label}: {r.percent:.0f} %" for r in with_rate)
        ok = all((r.percent or 0) >= TARGET_MATMUL_PERCENT for r in with_rate)
        lines.append(
            f"- (c) structured % of matmul rate in large cells (≥ 1e10 flops) "
            f"({parts}) (target ≥ {TARGET_MATMUL_PERCENT:.0f} %): {verdict(ok)}"
        )
    else:
        lines.append("- (c) no large cell (≥ 1e10 flops) in this run: n/a")
    return lines


# -- smoke check ---------------------------------------------------------------------
def agreement(tolerance: float = 1e-10) -> tuple[bool, list[str]]:
    """Every method on tiny nets, x2=None and x2 given, against the ``loop`` oracle:
    max |K_m − K_loop| / max |K_loop| ≤ tolerance."""
    lines = ["| net | x2 | method | rel. error vs loop |", "|---|---|---|---|"]
    ok = True
    gen = torch.Generator().manual_seed(5)
    for cell in (Cell(9, 7, 1), Cell(8, 6, 3)):
        net = cell.net
        params = net.init(generator=torch.Generator().manual_seed(0))
        x1 = torch.randn(cell.p, INPUT_DIM, dtype=DTYPE, generator=gen)
        x2 = torch.randn(cell.p - 2, INPUT_DIM, dtype=DTYPE, generator=gen)
        for second in (None, x2):
            ref = empirical_ntk(net, params, x1, second, method="loop")
            for method in ("structured", "jacobian", "ntk_vp"):
                kernel = empirical_ntk(net, params, x1, second, method=method)
                err = float((kernel - ref).abs().max() / ref.abs().max())
                ok &= err <= tolerance
                which = "None" if second is None else "given"
                lines.append(f"| {cell.label} | {which} | {method} | {err:.1e} |")
    return ok, lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark of deeptheory.ntk.empirical_ntk (see module docstring)."
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a subset, < 2 min")
    mode.add_argument(
        "--smoke", action="store_true", help="tiny sizes, all methods, agreement check"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument(
        "--max-baseline-seconds",
        type=float,
        default=120.0,
        help="skip a slow method whose estimated time exceeds this (default 120)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds of repeated runs per measurement (5; --quick 1; --smoke 0.05)",
    )
    parser.add_argument(
        "--methods",
        default="structured,jacobian,ntk_vp",
        help="comma-separated methods (structured is always run; smoke adds loop)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"Markdown output file (default {DEFAULT_OUT}; none for --smoke)",
    )
    parser.add_argument(
        "--max-background",
        type=float,
        default=0.1,
        help="repeat a measurement during which other processes used more than this "
        "fraction of the CPU (default 0.1)",
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="at most this many repeats (default 2)"
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=600.0,
        help="total seconds to wait for a quiet machine before repeats (default 600)",
    )
    parser.add_argument(
        "--malloc",
        choices=tuple(MALLOC_ENV),
        default="warm",
        help="glibc malloc settings of the workers (see the module docstring; "
        "default warm)",
    )
    parser.add_argument("--no-syrk", action="store_true", help="skip the syrk table")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.wait_left = args.max_wait
    if args.worker is not None:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    run_meter = CpuMeter()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    budget = args.budget or {"smoke": 0.05, "quick": 1.0, "full": 5.0}[mode]
    methods = ["structured"] + [
        m for m in args.methods.split(",") if m and m != "structured"
    ]
    if args.smoke and "loop" not in methods:
        methods.append("loop")
    unknown = set(methods) - {"structured", "jacobian", "ntk_vp", "loop"}
    if unknown:
        raise SystemExit(f"unknown method(s): {sorted(unknown)}")

    ok, agree_lines = agreement() if args.smoke else (True, [])
    cells = cells_for(mode)
    ref_n = 256 if args.smoke else 4096
    reference = run_task(
        {"kind": "reference", "n": ref_n, "budget": budget, "threads": args.threads},
        timeout=600,
        in_process=args.smoke,
    )
    # All structured measurements first: the big baseline workers that follow leave the
    # VM's memory to be faulted in again (slow here), which would disturb them.
    tasks = [(cell, m) for m in methods for cell in cells]
    results: dict[Cell, dict[str, Outcome]] = {cell: {} for cell in cells}
    with tqdm(tasks, desc="ntk benchmark", file=sys.stderr, unit="run") as bar:
        for cell, method in bar:
            bar.set_postfix_str(f"{cell.label} {method}")
            # --smoke: only the first task goes through a subprocess (to test that
            # path); the others run in this process, which keeps it to a few seconds.
            in_process = args.smoke and (cell, method) != tasks[0]
            results[cell][method] = measure(cell, method, args, budget, in_process)
    rows = [summarise(cell, results[cell]) for cell in cells]
    syrk: dict[str, Any] | None = None
    if not args.no_syrk:
        if args.smoke:
            shapes = [(64, 16), (64, 64)]
        elif args.quick:
            shapes = [(p, n) for p in (256, 1024) for n in (100, 1000)]
        else:
            shapes = [(p, n) for p in (256, 1024, 4096) for n in (100, 1000, 10000)]
        syrk = run_task(
            {
                "kind": "syrk",
                "shapes": shapes,
                "budget": min(budget, 2.0),
                "threads": args.threads,
            },
            timeout=1800,
            in_process=args.smoke,
        )
    elapsed = time.perf_counter() - start
    run_background = run_meter.background()

    threads = reference.get("threads", torch.get_num_threads())
    sources = {
        o.extra.get("peak_source", "?") for r in results.values() for o in r.values()
    }
    sources.discard("?")
    peak_source = "/".join(sorted(sources)) or "n/a"
    if args.smoke:
        peak_source += "; --smoke: one subprocess, the rest in-process"
    if "error" in reference:
        ref_text = f"failed: {reference['error']}"
    else:
        ref_t = statistics.median(reference["times"])
        ref_text = f"{2 * ref_n**3 / ref_t / 1e9:.1f} GFLOP/s"
    lines = [
        f"# Empirical NTK benchmark ({mode})",
        "",
        f"- torch {torch.__version__}, {threads} thread(s)"
        f"{' (--threads)' if args.threads else ' (torch default)'}, float64",
        f"- CPU: {cpu_model()} ({os.cpu_count()} logical cores)",
        f"- float64 matmul rate ({ref_n}×{ref_n} @ {ref_n}×{ref_n}, median): "
        f"{ref_text}",
        f"- scalar FCNet, d={INPUT_DIM}, ReLU, NTK parametrisation, no bias, x2=None; "
        f"budget {budget:g} s per measurement; slow methods skipped above "
        f"{args.max_baseline_seconds:g} s (estimated)",
        f"- total runtime {elapsed:.0f} s; other processes used "
        + (
            "an unknown share"
            if run_background is None
            else f"{100 * run_background:.0f} %"
        )
        + " of the machine's CPU meanwhile (bg CPU %: the worst measurement of a row; "
        f"measurements above {100 * args.max_background:.0f} % were repeated up to "
        f"{args.retries}× and the least disturbed kept; "
        f"{args.max_wait - args.wait_left:.0f} s spent waiting for a quiet machine)",
        "",
        "Time: median seconds (runs). Speed-up: method time / structured time. "
        "GFLOP: structured flops actually performed (`flops()`; symmetric blocks j ≥ i "
        "only). % mm: structured GFLOP/s over a (p×h)@(h×p) torch matmul in the same "
        f"worker. ΔRSS: worker peak RSS ({peak_source}) minus its RSS before the "
        "calls, MiB. "
        "rel. diff: ‖(K_m − K_structured) v‖ / ‖K_structured v‖. faults: minor page "
        "faults of the structured worker per run (memory freshly mapped by the calls)."
        + f" Workers' malloc: {args.malloc} ({malloc_text(args.malloc)}).",
        "",
        *cell_table(rows, methods),
        "",
    ]
    if syrk is not None:
        lines += [
            "## Gram matrix A Aᵀ, A of shape (p, inner): torch gemm vs BLAS syrk",
            "",
            "torch uses MKL; SciPy uses its bundled OpenBLAS. dsyrk computes the upper "
            "triangle only; + mirror adds the tile-wise copy into the lower triangle "
            "(the NTK needs the full matrix). Median seconds; ratios > 1: syrk faster.",
            "",
            *syrk_table(syrk),
            "",
        ]
    if args.smoke:
        lines += ["## Agreement of the methods (smoke)", "", *agree_lines, ""]
        lines.append(f"Methods agree to 1e-10: {'yes' if ok else 'NO'}")
        lines.append("")
    lines += ["## Targets", "", *headline(rows), ""]
    text = "\n".join(lines)
    print(text)
    out = args.out if args.out is not None else (None if args.smoke else DEFAULT_OUT)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
