"""The model fuzzer (tools/fuzz_models.py): its sandbox classifies planted failures correctly, its
cases are reproducible, and a bounded deterministic sample of 200 cases finds nothing.

The sample runs in a fresh process (the fuzzer forks per case, and a process that forks should
not have run BLAS or kernel thread pools first), with the library's default backends and only the
seed models built in code, so it needs no download.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gossamer.refimpl.errors import InputError, NodeExecutionError
from gossamer.tools.fuzz.case import build_case
from gossamer.tools.fuzz.runner import run_in_sandbox
from gossamer.tools.fuzz.seeds import build_seeds

SAMPLE_CASES = 200


def _raise(error: BaseException):
    def fn() -> None:
        raise error

    return fn


def _wrapped_memory_error() -> None:
    try:
        raise MemoryError("planted")
    except MemoryError as err:
        raise NodeExecutionError("planted node failed") from err


@pytest.mark.parametrize(
    ("fn", "klass", "error"),
    [
        (lambda: None, "ok", ""),
        (lambda: os.kill(os.getpid(), signal.SIGSEGV), "crash", "SIGSEGV"),
        (lambda: os.kill(os.getpid(), signal.SIGFPE), "crash", "SIGFPE"),
        (os.abort, "crash", "SIGABRT"),
        (lambda: os._exit(3), "crash", "exit 3"),
        (_raise(KeyError("planted")), "untyped", "KeyError"),
        (_raise(RecursionError("planted")), "untyped", "RecursionError"),
        (_raise(InputError("planted")), "typed", "InputError"),
        (_raise(MemoryError("planted")), "memory", "MemoryError"),
        (_wrapped_memory_error, "memory-wrapped", "NodeExecutionError<-MemoryError"),
        (lambda: bytearray(8 << 30), "memory", "MemoryError"),  # over the 1 GiB cap below
    ],
    ids=[
        "ok",
        "segv",
        "fpe",
        "abort",
        "exit",
        "untyped",
        "recursion",
        "typed",
        "memory",
        "memory-wrapped",
        "address-space-cap",
    ],
)
def test_the_sandbox_classifies_planted_outcomes(fn, klass, error):
    result = run_in_sandbox(fn, timeout=10, mem_bytes=1 << 30)
    assert (result.klass, result.error) == (klass, error), result


def test_a_hang_is_killed_at_the_timeout_and_located():
    started = time.monotonic()
    result = run_in_sandbox(lambda: time.sleep(60), timeout=1.5)
    assert result.klass == "hang"
    assert time.monotonic() - started < 10
    assert "Timeout" in result.traceback  # faulthandler dumped the stack before the kill


def test_an_untyped_error_is_signed_by_its_innermost_repository_frame():
    import gossamer.refimpl

    planted = Path(gossamer.refimpl.__file__).parent / "ops" / "op_planted.py"  # never written
    namespace: dict = {}
    exec(
        compile("def planted_op():\n    raise KeyError('planted')\n", str(planted), "exec"),
        namespace,
    )
    result = run_in_sandbox(lambda: namespace["planted_op"]())
    assert result.signature == "KeyError@refimpl/ops/op_planted.py:planted_op", result


def test_every_case_is_reproducible_from_seed_and_index():
    seeds = build_seeds(real_models=False)
    for index in (0, 7, 123):
        first, again = build_case(seeds, 5, index), build_case(seeds, 5, index)
        assert (first.data, first.mutations) == (again.data, again.mutations)
    assert build_case(seeds, 5, 1).data != build_case(seeds, 5, 2).data


def test_a_bounded_sample_finds_nothing(tmp_path):
    """200 deterministic cases (seed 0) on the default backends: no untyped error, crash, hang or
    MemoryError. A failure lists each distinct finding; reproduce one with
    `python tools/fuzz_models.py --no-real-models --seed 0 --case N`."""
    out = tmp_path / "fuzz.json"
    env = {k: v for k, v in os.environ.items() if k not in ("GOSSAMER_BACKENDS", "GOSSAMER_BLOCK")}
    cmd = [
        sys.executable,
        "-m",
        "gossamer.tools.fuzz_models",
        "--cases",
        str(SAMPLE_CASES),
        "--seed",
        "0",
        "-j",
        "2",
        "--timeout",
        "5",
        "--no-real-models",
        "-q",
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.exists(), proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert sum(report["counts"].values()) == SAMPLE_CASES
    assert report["counts"].get("fuzzer-error", 0) == 0, report["counts"]
    assert report["counts"].get("ok", 0) > SAMPLE_CASES // 10  # the mutants still reach the kernels
    findings = [
        f"{f['signature']} x{f['count']} (case {f['key']}: {'; '.join(f['info']['mutations'])})"
        for f in report["findings"]
    ]
    assert not findings, "fuzz findings:\n" + "\n".join(findings)
    assert proc.returncode == 0, proc.stdout[-3000:]
