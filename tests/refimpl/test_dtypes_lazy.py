"""refimpl/dtypes.py imports ml_dtypes only when one of its types is first needed; names,
membership and the numpy types work without it, and behaviour is otherwise unchanged."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from gossamer.refimpl.dtypes import DTYPE_NAMES, NUMPY_DTYPES, DtypeSet, name_of, to_numpy
from gossamer.refimpl.errors import GraphValidationError


def fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_numpy_types_names_and_membership_need_no_ml_dtypes():
    out = fresh(
        "import sys\n"
        "from gossamer.refimpl.dtypes import NUMPY_DTYPES, DTYPE_NAMES, name_of, to_numpy\n"
        "import numpy as np\n"
        "assert 'bfloat16' in NUMPY_DTYPES and 'int4' in DTYPE_NAMES and len(NUMPY_DTYPES) == 28\n"
        "assert to_numpy('float32') == np.float32 and name_of(np.int64) == 'int64'\n"
        "print('ml_dtypes' in sys.modules)\n"
    )
    assert out == "False"


def test_an_ml_dtypes_type_imports_it_on_first_use():
    out = fresh(
        "import sys\n"
        "from gossamer.refimpl.dtypes import to_numpy, name_of\n"
        "dt = to_numpy('bfloat16')\n"
        "print('ml_dtypes' in sys.modules, name_of(dt))\n"
    )
    assert out == "True bfloat16"


@pytest.mark.parametrize("name", sorted(DTYPE_NAMES))
def test_every_name_round_trips(name):
    dt = to_numpy(name)
    assert NUMPY_DTYPES[name] == dt
    assert name_of(dt) == name or (name == "string" and name_of(dt) == "string")


def test_the_table_keeps_its_order_numpy_types_first():
    names = list(NUMPY_DTYPES)
    assert names[0] == "float32" and names[-1] == "string"
    assert names.index("complex128") < names.index("bfloat16")


def test_unknown_names_and_types_are_refused():
    with pytest.raises(GraphValidationError, match="unknown dtype"):
        to_numpy("float128")
    with pytest.raises(KeyError):
        NUMPY_DTYPES["nope"]
    with pytest.raises(GraphValidationError, match="no Gossamer equivalent"):
        name_of(np.dtype(np.longdouble))


def test_a_byte_swapped_type_has_no_name():
    with pytest.raises(GraphValidationError):
        name_of(np.dtype(">i4"))


def test_dtype_sets_match_by_type_without_importing_ml_dtypes():
    quantised = DtypeSet({"int8", "uint8", "int4"})
    assert np.dtype(np.int8) in quantised
    assert np.dtype(np.int16) not in quantised
    assert to_numpy("int4") in quantised
    assert to_numpy("uint4") not in quantised
    assert np.dtype(">i1") in quantised  # a one-byte type has no byte order
    assert set(quantised | DtypeSet({"float32"})) == {
        np.dtype(np.int8),
        np.dtype(np.uint8),
        to_numpy("int4"),
        np.dtype(np.float32),
    }
