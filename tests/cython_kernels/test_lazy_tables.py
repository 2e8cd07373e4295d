"""The cython backend imports a kernel table only when a model needs it, and its kernels equal
the eager composition of every table."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
from gossamer.cython_kernels import lazy_tables
from gossamer.cython_kernels.backend import TABLES, CythonBackend
from gossamer.cython_kernels.kernel_index import TABLES_OF
from gossamer.cython_kernels.lazy_tables import LazyKernels, index_of, table_name
from gossamer.plugins import KernelBackend
from gossamer.refimpl.ops.op_conv import conv_1
from gossamer.refimpl.ops.op_lstm import lstm_14

PACKAGE = "gossamer.cython_kernels"


def _eager() -> type[KernelBackend]:
    """The backend as it was composed before: one class with every table as a base."""
    bases = tuple(getattr(importlib.import_module(f"{PACKAGE}.{m}"), c) for m, c in TABLES)
    return type("EagerCythonBackend", bases, {})


def test_the_static_index_equals_what_the_tables_register():
    tables = {
        table_name(m, c): getattr(importlib.import_module(f"{PACKAGE}.{m}"), c) for m, c in TABLES
    }
    assert index_of(tables) == TABLES_OF, (
        "cython_kernels/kernel_index.py is stale: run python -m gossamer.cython_kernels.backend"
    )


def test_the_index_file_is_what_the_generator_writes():
    from pathlib import Path

    written = Path(lazy_tables.__file__).with_name("kernel_index.py").read_text()
    assert written == lazy_tables.index_text(TABLES_OF)


def test_the_lazy_kernels_equal_the_eager_composition_in_order():
    eager = _eager().kernels
    assert list(CythonBackend.kernels.items()) == list(eager.items())
    assert CythonBackend().op_count() == len({k.op_type for k in eager.values()})


def test_each_kernel_looked_up_alone_is_the_eager_one():
    eager = _eager().kernels
    for reference, expected in eager.items():
        fresh = LazyKernels(PACKAGE, TABLES)
        assert fresh.get(reference) is expected


def test_a_lookup_imports_only_the_tables_of_that_op():
    fresh = LazyKernels(PACKAGE, TABLES)
    assert fresh.get(lstm_14) is not None
    assert fresh.loaded_modules() == ["rnn_kernels"]
    assert fresh.module_of(conv_1) == f"{PACKAGE}.conv_kernels"
    assert fresh.loaded_modules() == ["conv_kernels", "rnn_kernels"]


def test_a_lookup_loads_only_its_op_family_of_a_module_with_several():
    from gossamer.refimpl.ops.op_flatten import flatten_1

    fresh = LazyKernels(PACKAGE, TABLES)
    assert fresh.get(flatten_1) is not None
    assert fresh.loaded_tables() == ["layout_kernels.FlattenKernels"]
    assert fresh.loaded_modules() == ["layout_kernels"]
    assert fresh.module_of(flatten_1) == f"{PACKAGE}.layout_kernels"


def test_every_table_class_is_a_module_attribute_built_once():
    for module, cls in TABLES:
        found = importlib.import_module(f"{PACKAGE}.{module}")
        table = getattr(found, cls)
        assert issubclass(table, KernelBackend) and table.kernels
        assert getattr(found, cls) is table and table.__module__ == found.__name__
        assert table.__qualname__ == cls


def test_a_module_of_tables_built_on_access_refuses_other_names():
    from gossamer.cython_kernels import layout_kernels

    try:
        layout_kernels.NoSuchKernels  # noqa: B018
    except AttributeError as err:
        assert "NoSuchKernels" in str(err)
    else:
        raise AssertionError("an unknown table name must raise AttributeError")


def test_a_table_built_from_threads_at_once_is_one_class():
    import threading

    from gossamer.cython_kernels.lazy_tables import tables_on_access

    calls, barrier, seen = [], threading.Barrier(8), []
    module = type(sys)("gossamer_test_tables")
    sys.modules[module.__name__] = module
    try:

        def build() -> dict:
            calls.append(1)
            return {}

        module.__getattr__ = tables_on_access(module.__name__, {"OneKernels": build})  # type: ignore[attr-defined]

        def ask() -> None:
            barrier.wait()
            seen.append(module.OneKernels)  # type: ignore[attr-defined]

        workers = [threading.Thread(target=ask) for _ in range(8)]
        [w.start() for w in workers]
        [w.join() for w in workers]
    finally:
        del sys.modules[module.__name__]
    assert len(calls) == 1 and len({id(t) for t in seen}) == 1 and len(seen) == 8


def test_a_reference_without_a_kernel_imports_nothing():
    from gossamer.refimpl.ops.op_einsum import einsum_12

    fresh = LazyKernels(PACKAGE, TABLES)
    assert einsum_12 not in fresh and fresh.get(len) is None
    assert fresh.loaded_modules() == []


def test_a_removed_kernel_stays_removed_when_the_other_tables_load():
    fresh = LazyKernels(PACKAGE, TABLES)
    removed = fresh.pop(conv_1)
    assert conv_1 not in fresh
    fresh[lstm_14] = removed
    fresh.load_all()
    assert conv_1 not in dict(fresh) and fresh[lstm_14] is removed


def test_a_table_left_out_of_a_cropped_build_is_never_imported():
    kept = tuple(t for t in TABLES if t[0] != "rnn_kernels")
    fresh = LazyKernels(PACKAGE, kept)
    assert lstm_14 not in fresh and fresh.loaded_modules() == []


# a fresh process: the reference-op modules one layout op's lookup imports
_ONE_LAYOUT_OP = """
import json, sys
from gossamer.cython_kernels.backend import CythonBackend
from gossamer.refimpl.ops.op_transpose import transpose_1

before = set(sys.modules)
assert CythonBackend.kernels.get(transpose_1) is not None
print(json.dumps(sorted(m for m in set(sys.modules) - before if ".refimpl.ops.op_" in m)))
"""


def test_a_layout_op_imports_no_other_layout_reference_module():
    done = subprocess.run([sys.executable, "-c", _ONE_LAYOUT_OP], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


# a fresh process: the reference-op modules the lookup of one op (argv: its module, function)
# imports, beyond its own, after the tables that plugin discovery imports (the bf16 backend's
# modules import gemm_kernels and elementwise_kernels, which pool, rnn and maths tables use)
_ONE_OP = """
import importlib, json, sys
from gossamer.cython_kernels import elementwise_kernels, gemm_kernels
from gossamer.cython_kernels.backend import CythonBackend

reference = getattr(importlib.import_module(sys.argv[1]), sys.argv[2])
before = set(sys.modules)
assert CythonBackend.kernels.get(reference) is not None
print(json.dumps(sorted(m for m in set(sys.modules) - before if ".refimpl.ops.op_" in m)))
"""


@pytest.mark.parametrize(
    "module, function",
    [
        ("op_max_pool", "max_pool_12"),  # pool_kernels: not the average pools'
        ("op_global_average_pool", "global_average_pool_1"),
        ("op_lstm", "lstm_14"),  # rnn_kernels: not GRU's
        ("op_sqrt", "sqrt_6"),  # maths_kernels: not Log's or Pow's
        ("op_pow", "pow_7"),
    ],
)
def test_one_op_of_a_module_with_several_tables_imports_no_other_reference_module(
    module: str, function: str
) -> None:
    script = [sys.executable, "-c", _ONE_OP, f"gossamer.refimpl.ops.{module}", function]
    done = subprocess.run(script, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


# a fresh process: the tables a tiny float CNN's load and first run import
_TINY_CNN = """
import json, sys, threading
import numpy as np
import gossamer
from gossamer.builtin_models import tiny_cnn

model = tiny_cnn().SerializeToString()
x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
outs, errors = [], []

def run():
    try:
        s = gossamer.load(model, backends=["cython"])
        outs.append((s.placement.summary(), s.run(None, {s.get_inputs()[0].name: x})[0]))
    except BaseException as err:
        errors.append(repr(err))

workers = [threading.Thread(target=run) for _ in range(int(sys.argv[1]))]
[w.start() for w in workers]
[w.join() for w in workers]
r = gossamer.load(model, backends=[])
ref = r.run(None, {r.get_inputs()[0].name: x})[0]
print(json.dumps({
    "errors": errors,
    "placed": [p for p, _ in outs],
    "close": [bool(np.allclose(y, ref, rtol=1e-4, atol=1e-5)) for _, y in outs],
    "same": [bool(np.array_equal(y, outs[0][1])) for _, y in outs],
    "modules": sorted(m for m in sys.modules if m.startswith("gossamer.cython_kernels.")),
}))
"""


def _tiny_cnn_in_a_fresh_process(sessions: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _TINY_CNN, str(sessions)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_tiny_float_cnn_does_not_import_the_training_tflite_int8_or_rnn_tables():
    result = _tiny_cnn_in_a_fresh_process(1)
    assert result["errors"] == [] and result["placed"] == [{"cython": 13}]
    loaded = {m.rpartition(".")[2] for m in result["modules"]}
    # its convs run in the blocked layout (channel_blocking): nchwc_kernels, not conv_kernels
    assert {"nchwc_kernels", "gemm_kernels", "elementwise_kernels"} <= loaded
    unwanted = {"grad_kernels", "grad_elementwise_kernels", "tflite_kernels"}
    unwanted |= {"tflite_table_kernels", "qconv_kernels", "qgemm_kernels"}
    unwanted |= {"qelementwise_kernels", "rnn_kernels", "resize_kernels"}
    assert loaded.isdisjoint(unwanted), sorted(loaded & unwanted)


def test_sessions_created_in_threads_at_once_claim_and_compute_alike():
    result = _tiny_cnn_in_a_fresh_process(4)
    assert result["errors"] == []
    assert result["placed"] == [{"cython": 13}] * 4
    assert all(result["close"]) and all(result["same"])
