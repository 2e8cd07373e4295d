"""The op index (refimpl/ops/_index.py) lets sessions import only the ops their model uses."""

import subprocess
import sys

from gossamer.refimpl.ops._index import OP_MODULES
from gossamer.refimpl.registry import OpRegistry, default_registry, scan_op_index


def test_index_lists_exactly_the_ops_the_modules_define():
    # Out of date? Regenerate with `python -m gossamer.refimpl.registry`.
    assert OP_MODULES == scan_op_index()


def test_resolving_one_op_imports_only_its_module():
    code = (
        "import sys; from gossamer.refimpl.registry import default_registry as r; "
        "fn = r().resolve('', 'Relu', 17); "
        "print(fn.__module__); "
        "print(','.join(sorted(m for m in sys.modules if '.refimpl.ops.op_' in m)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    resolved_in, imported = out.stdout.split()
    assert resolved_in == "gossamer.refimpl.ops.op_relu"
    assert imported == "gossamer.refimpl.ops.op_relu"


def test_deferred_ops_are_listed_without_importing_and_copied():
    registry = OpRegistry()
    registry.defer(("", "Relu"), "gossamer.refimpl.ops.op_relu")
    assert registry.op_types() == [("", "Relu")]
    copy = registry.copy()
    assert copy.resolve("", "Relu", 17) is default_registry().resolve("", "Relu", 17)
