"""Reference vs reference through the pytest plugin: every cell must pass (it proves the harness).

Run another backend with `pytest tests/conformance/test_reference_conformance.py
--gossamer-backend NAME` (the option overrides the marker below).
"""

import pytest

pytestmark = pytest.mark.gossamer_backends("reference")


def test_conformance(gossamer_cell):
    gossamer_cell.check()
