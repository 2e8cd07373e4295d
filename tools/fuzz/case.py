"""One fuzz case: pick a seed, mutate it, then load and run it and classify what came out.

The contract under test: `gossamer.load(model)` then `sess.run(None, feeds)` either succeeds or
raises a `GossamerError`. Anything else is a finding: an untyped exception, a MemoryError, a typed
error wrapping a MemoryError (it should be a budget error), or (seen by the runner) a crash or hang.
Case `index` under `seed` is fully determined by `random.Random(seed * 2**32 + index)`.
"""

from __future__ import annotations

import functools
import importlib
import random
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import gsm_mutators, onnx_mutators
from .common import BYTE_MUTATORS, Ctx
from .feeds import make_feeds
from .seeds import Seed

FUZZER = (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1] / "fuzz_models.py")
Send = Callable[[dict], None]


@dataclass
class Built:
    """A mutated model ready to load: its bytes, side files and what was done to it."""

    seed: str
    fmt: str
    data: bytes
    mutations: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    from_bytes: bool = False  # load(bytes) rather than load(path)


def mutator_names() -> dict[str, list[str]]:
    """Mutator names per format (byte mutators apply to both)."""
    return {
        "onnx": [*onnx_mutators.MUTATORS, *BYTE_MUTATORS],
        "gsm": [*gsm_mutators.MUTATORS, *BYTE_MUTATORS],
    }


def build_case(seeds: list[Seed], seed: int, index: int, allowed: set[str] | None = None) -> Built:
    """Case `index`: a seed picked by weight, 1-3 mutations of the allowed kinds (None: all)."""
    rng = random.Random(seed * 2**32 + index)
    ctx = Ctx(rng)
    names = mutator_names()
    usable = [s for s in seeds if any(allowed is None or m in allowed for m in names[s.fmt])]
    if not usable:
        raise ValueError("no seed of the chosen formats has any of the chosen mutators")
    base = rng.choices(usable, [s.weight for s in usable])[0]
    table: dict[str, Callable] = dict(
        onnx_mutators.MUTATORS if base.fmt == "onnx" else gsm_mutators.MUTATORS
    )
    weights = onnx_mutators.WEIGHTS if base.fmt == "onnx" else gsm_mutators.WEIGHTS
    table.update(BYTE_MUTATORS)
    pool = [m for m in table if allowed is None or m in allowed]
    model: Any = (
        onnx_mutators.onnx.ModelProto.FromString(base.data)
        if base.fmt == "onnx"
        else gsm_mutators.Gsm.parse(base.data)
    )
    done: list[str] = []
    byte_steps: list[str] = []
    for _ in range(rng.randint(1, 3)):
        name = rng.choices(
            pool, [weights.get(m, 1.0) * (0.3 if m in BYTE_MUTATORS else 1) for m in pool]
        )[0]
        if name in BYTE_MUTATORS:
            byte_steps.append(name)
            continue
        try:
            what = table[name](model, ctx)
        except Exception as err:  # a mutator that cannot apply here: recorded, not a finding
            what = f"(mutator failed: {type(err).__name__}: {err})"
        if what:
            done.append(f"{name}: {what}")
    data = model.SerializeToString() if base.fmt == "onnx" else model.pack()
    for name in byte_steps[:1]:
        data, what = BYTE_MUTATORS[name](data, rng)
        done.append(f"{name}: {what}")
    return Built(base.name, base.fmt, data, done or ["(none)"], ctx.files, rng.random() < 0.3)


def write_case(built: Built, folder: Path) -> Path:
    """Writes the model (model.onnx / model.gsm) and its side files into `folder`."""
    path = folder / f"model.{built.fmt}"
    path.write_bytes(built.data)
    for name, blob in built.files.items():
        (folder / name).write_bytes(blob)
    return path


class _Tracer:
    """An observer that marks each node before it runs: after a crash the mark names the node
    that crashed and, for a hang, the outermost node running (e.g. the Loop, not its body's ops).
    Observers turn the arena off, so it is used only to re-run a crash that left no frame."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.stack: list[Any] = []

    def before_node(self, node: Any, inputs: Any) -> None:
        self.stack.append(node)
        outer = self.stack[0]
        self.send({"type": "mark", "op": node.op_type, "node": node.name,
                   "outer_op": outer.op_type, "outer_node": outer.name})  # fmt: skip

    def after_node(self, node: Any, inputs: Any, outputs: Any) -> None:
        if self.stack:
            self.stack.pop()


def execute(
    built: Built,
    path: Path,
    feed_seed: int,
    send: Send = lambda msg: None,
    trace: bool = False,
    run_timeout: float | None = None,
) -> dict:
    """Loads and runs the case (twice, the second time with other symbolic dims); the result's
    `klass` is "ok" or "loaded" (inputs too large to feed). Exceptions propagate to `classify`.
    `trace` reports every node before it runs. `run_timeout` is passed to each run, as a server
    would: a model that loops for ever then stops with RunTimeoutError between nodes, and only
    what cannot be stopped (a hang inside one kernel or the loader) reaches the hard timeout."""
    import gossamer

    send({"type": "stage", "stage": "load"})
    sess = gossamer.load(built.data if built.from_bytes else path)
    rng = np.random.default_rng(feed_seed)
    for run in (1, 2):
        try:
            feeds = make_feeds(sess.inputs, rng)
        except Exception as err:  # the fuzzer's own failure, not the library's
            return {"klass": "fuzzer-error", "error": f"feeds: {type(err).__name__}: {err}"}
        if feeds is None:
            return {"klass": "loaded"}
        send({"type": "stage", "stage": f"run{run}"})
        sess.run(None, feeds, observers=[_Tracer(send)] if trace else (), timeout=run_timeout)
    return {"klass": "ok"}


def _frames(tb: Any) -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_tb(tb) if _in_repo(f.filename)]


@functools.cache
def _roots() -> list[Path]:
    """The folders of Gossamer's packages (source tree or installed copy), longest first."""
    roots = []
    for name in ("gossamer", "refimpl", "plugins", "converter", "cython_kernels", "tools"):
        try:
            module = importlib.import_module(
                "gossamer" if name == "gossamer" else f"gossamer.{name}"
            )
            roots.append(Path(module.__file__ or "").resolve().parent)
        except ImportError:
            pass
    return sorted(roots, key=lambda p: -len(p.parts))


def _in_repo(filename: str) -> bool:
    path = Path(filename).resolve()
    if path == FUZZER[1] or path.is_relative_to(FUZZER[0]):
        return False
    return any(path.is_relative_to(root) for root in _roots())


def where(filename: str, function: str) -> str:
    """'package-folder/path.py:function' for signatures, e.g. 'refimpl/ir.py:validate'."""
    path = Path(filename).resolve()
    root = next((r for r in _roots() if path.is_relative_to(r)), None)
    name = f"{root.name}/{path.relative_to(root)}" if root else path.name
    return f"{name}:{function}"


def classify(err: BaseException) -> dict:
    """An exception's outcome: klass "typed", "untyped", "memory" or "memory-wrapped" (a typed
    error other than MemoryBudgetError caused by a MemoryError), the error name, a dedup signature
    (class + innermost frame in the repository) and the traceback tail."""
    from gossamer.refimpl import errors

    cause = err.__cause__
    budget = getattr(errors, "MemoryBudgetError", ())  # the typed form a MemoryError should take
    if isinstance(err, errors.GossamerError):
        wrapped = isinstance(cause, MemoryError) and not isinstance(err, budget)
        klass = "memory-wrapped" if wrapped else "typed"
    else:
        klass = "memory" if isinstance(err, MemoryError) else "untyped"
    culprit = cause if klass == "memory-wrapped" else err
    frames = _frames(culprit.__traceback__) if culprit is not None else []
    frame = where(frames[-1].filename, frames[-1].name) if frames else "?"
    name = type(err).__name__
    error = f"{name}<-{type(cause).__name__}" if cause is not None else name
    tail = "".join(traceback.format_exception(err))[-3000:]
    return {
        "klass": klass,
        "error": error,
        "frame": frame,
        "signature": f"{name if klass != 'memory-wrapped' else 'MemoryError-wrapped'}@{frame}",
        "message": str(err)[:500],
        "traceback": tail,
    }
