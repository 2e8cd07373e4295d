"""The kernels' thread pool (src/threadpool.h): every chunk once, the caller takes back the chunks
of a worker that has not started, concurrent callers, and results that do not depend on who ran
which chunk."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext

import gossamer

from ._helpers import one_node


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("chunks", [1, 7, 1000])
def test_every_chunk_runs_exactly_once_on_a_seat_below_the_thread_count(threads, chunks):
    bad, by_caller, by_workers, _, max_seat = ext().pool_check(chunks, threads, 2)
    assert bad == 0
    assert by_caller + by_workers == chunks
    assert 0 <= max_seat < threads


def test_one_thread_runs_every_chunk_on_the_caller():
    bad, by_caller, by_workers, _, max_seat = ext().pool_check(50, 1, 0)
    assert (bad, by_caller, by_workers, max_seat) == (0, 50, 0, 0)


def test_the_caller_takes_back_the_chunks_of_a_worker_that_has_not_started():
    ext().threads_start(2)
    stall_us = 1_000_000  # every worker naps 1 s after it sees the call, before it may claim
    bad, by_caller, by_workers, elapsed_us, _ = ext().pool_check(64, 2, 50, stall_us)
    assert bad == 0
    assert (by_caller, by_workers) == (64, 0)
    assert elapsed_us < stall_us // 2  # 64 x 50 us on the caller, not a wait for the nap


def test_concurrent_callers_each_run_every_chunk_once():
    results: list[tuple] = []
    lock = threading.Lock()

    def caller() -> None:
        for _ in range(20):
            out = ext().pool_check(100, 2, 5)
            with lock:
                results.append(out)

    workers = [threading.Thread(target=caller) for _ in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert len(results) == 80
    assert all(bad == 0 and c + w == 100 for bad, c, w, _, _ in results)


def test_a_forked_child_starts_workers_of_its_own():
    ext().threads_start(2)
    pid = os.fork()
    if pid == 0:  # the parent's workers did not survive the fork
        try:
            bad, by_caller, by_workers, _, _ = ext().pool_check(200, 2, 5)
            os._exit(0 if bad == 0 and by_caller + by_workers == 200 else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def _models() -> dict[str, tuple[bytes, dict[str, np.ndarray]]]:
    rng = np.random.default_rng(0)

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    x = r(1, 32, 40, 40)
    return {
        "conv3x3": (
            one_node("Conv", {"x": x}, {"w": r(48, 32, 3, 3), "b": r(48)}, pads=[1, 1, 1, 1]),
            {"x": x},
        ),
        # Winograd F(4x4): 13 panels of 16 tiles (chunks of 2 panels at 2 threads, phases spread
        # at 4); 49 tiles in 4 panels (2 or 4 chunks of evenly spread tiles: other lanes than at
        # one thread); a strided 3x3 conv whose im2col packing is pooled
        "winograd_56": (
            one_node(
                "Conv",
                {"x": r(1, 32, 56, 56)},
                {"w": r(32, 32, 3, 3) * 0.1, "b": r(32)},
                pads=[1, 1, 1, 1],
            ),
            {"x": r(1, 32, 56, 56)},
        ),  # fmt: skip
        "winograd_28": (
            one_node(
                "Conv", {"x": r(1, 48, 28, 28)}, {"w": r(40, 48, 3, 3) * 0.1}, pads=[1, 1, 1, 1]
            ),
            {"x": r(1, 48, 28, 28)},
        ),  # fmt: skip
        "conv3x3_strided": (
            one_node(
                "Conv",
                {"x": r(1, 64, 28, 28)},
                {"w": r(64, 64, 3, 3) * 0.1},
                pads=[1, 1, 1, 1],
                strides=[2, 2],
            ),
            {"x": r(1, 64, 28, 28)},
        ),  # fmt: skip
        "conv1x1_strided": (
            one_node("Conv", {"x": x}, {"w": r(64, 32, 1, 1)}, strides=[2, 2]),
            {"x": x},
        ),
        "depthwise": (
            one_node("Conv", {"x": x}, {"w": r(32, 1, 3, 3)}, group=32, pads=[1, 1, 1, 1]),
            {"x": x},
        ),
        "depthwise5x5_s2": (
            one_node(
                "Conv",
                {"x": x},
                {"w": r(32, 1, 5, 5)},
                group=32,
                pads=[2, 2, 2, 2],
                strides=[2, 2],
            ),
            {"x": x},
        ),  # fmt: skip
        "gemm": (one_node("Gemm", {"a": r(300, 200)}, {"b": r(200, 260)}), {"a": r(300, 200)}),
        "matmul_batched": (
            one_node("MatMul", {"a": r(6, 70, 90), "b": r(6, 90, 50)}),
            {"a": r(6, 70, 90), "b": r(6, 90, 50)},
        ),
        "maxpool": (one_node("MaxPool", {"x": x}, kernel_shape=[3, 3], strides=[2, 2]), {"x": x}),
        "avgpool_padded": (
            one_node("AveragePool", {"x": x}, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            {"x": x},
        ),
        "softmax": (one_node("Softmax", {"x": r(512, 300)}), {"x": r(512, 300)}),
        "lstm": (
            one_node(
                "LSTM",
                {"x": r(20, 1, 32)},
                {"w": r(1, 512, 32) * 0.1, "r": r(1, 512, 128) * 0.1},
                hidden_size=128,
            ),
            {"x": r(20, 1, 32)},
        ),  # fmt: skip
    }


MODELS = _models()


def _run(name: str, threads: int) -> list[np.ndarray]:
    model, feeds = MODELS[name]
    session = gossamer.load(model, backends=["cython"], threads=threads)
    assert set(session.placement.backend_of.values()) == {"cython"}
    return session.run(None, feeds)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_results_are_bit_identical_at_1_2_and_4_threads(name):
    one = _run(name, 1)
    for threads in (2, 4):
        for a, b in zip(one, _run(name, threads)):
            np.testing.assert_array_equal(a, b)


@pytest.fixture(params=[0, 1], ids=["even", "guided"])
def guided(request):
    old = ext().pool_guided(request.param)
    yield request.param
    ext().pool_guided(old)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_even_and_guided_ranges_give_the_one_thread_results_at_2_and_3_threads(name, guided):
    one = _run(name, 1)
    for threads in (2, 3):
        for a, b in zip(one, _run(name, threads)):
            np.testing.assert_array_equal(a, b)


def _affinities(tids: list[str] | None = None) -> set[str]:
    """The allowed CPUs of these threads of this process (default: all; /proc/self/task)."""
    out = set()
    for tid in os.listdir("/proc/self/task") if tids is None else tids:
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                out |= {
                    ln.split(":", 1)[1].strip() for ln in f if ln.startswith("Cpus_allowed_list")
                }
        except OSError:  # the thread ended meanwhile
            pass
    return out


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="pulling is Linux-only")
def test_a_worker_off_its_cpu_mid_chunk_is_pulled_and_takes_its_affinity_back():
    ext().threads_start(2)
    old = ext().pool_pull(1)
    try:
        before = ext().pool_pulls()
        allowed = _affinities([str(threading.get_native_id())])  # the calling thread's
        # the caller's chunks spin 2 ms each; a worker's chunk sleeps 30 ms first (off the CPU,
        # as if the OS took it off its core): the waiting caller sees no CPU time go to it and
        # pins it (tries for ~1.6 s: workers may still nap from an earlier test's 1 s stall).
        # A worker that joins may also finish its chunk unpulled when another process holds the
        # caller's CPU through the worker's sleep (seen at load ~4): calls go on until a pull,
        # so only a pool that never pulls a sleeping worker in 100 joined calls fails
        joined = 0
        for _ in range(100):
            bad, by_caller, by_workers, _, _ = ext().pool_check(8, 2, 2000, 0, 0, 30_000)
            assert bad == 0 and by_caller + by_workers == 8
            joined += by_workers > 0
            if by_workers and ext().pool_pulls() > before:
                break
        if not joined:
            pytest.skip("no worker joined a call in 100 (machine too busy)")
        assert ext().pool_pulls() > before, f"no pull in {joined} calls a worker joined"
        # the pin was undone when the chunk was done (a worker that then finds itself on the
        # caller's CPU moves off it: its mask leaves that CPU out for a moment; up to 1 s, as
        # the worker may wait that long for a CPU on a busy machine)
        for _ in range(500):
            if _affinities() == allowed:
                break
            time.sleep(0.002)
        assert _affinities() == allowed
    finally:
        ext().pool_pull(old)


def test_no_worker_is_pulled_with_pulling_off():
    ext().threads_start(2)
    old = ext().pool_pull(0)
    try:
        before = ext().pool_pulls()
        for _ in range(3):
            assert ext().pool_check(2, 2, 2000, 0, 0, 20_000)[0] == 0
        assert ext().pool_pulls() == before
    finally:
        ext().pool_pull(old)


def test_sessions_in_concurrent_python_threads_get_the_single_thread_results():
    names = ["conv3x3", "depthwise", "gemm", "maxpool", "lstm"]
    expected = {n: _run(n, 1) for n in names}
    sessions = {n: gossamer.load(MODELS[n][0], backends=["cython"], threads=2) for n in names}
    failures: list[str] = []

    def run(name: str) -> None:
        for _ in range(15):
            got = sessions[name].run(None, MODELS[name][1])
            if not all(np.array_equal(a, b) for a, b in zip(got, expected[name])):
                failures.append(name)

    workers = [threading.Thread(target=run, args=(n,)) for n in names for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert failures == []


@pytest.fixture
def backoff_on():
    ext().threads_start(2)
    old = ext().pool_backoff(1)
    yield
    ext().pool_backoff(old)


def _held_up_call() -> bool:
    """2-chunk calls whose worker's chunk takes 6 ms longer than the caller's 1 ms one (as if
    the OS took the worker off its core mid-chunk) until one makes the pool back off (a call no
    worker joined, or whose caller the OS held up as long, does not): False if none did in 20."""
    for _ in range(20):
        bad, by_caller, by_workers, _, _ = ext().pool_check(2, 2, 1000, 0, 6000)
        assert bad == 0 and by_caller + by_workers == 2
        if ext().pool_backoff_state()[0]:
            assert by_workers == 1
            return True
    return False


def test_a_call_held_up_by_a_worker_makes_the_next_calls_run_alone(backoff_on):
    if not _held_up_call():
        pytest.skip("no call was held up by its worker in 20 (machine too busy)")
    backing_off, alone = ext().pool_backoff_state()
    assert backing_off
    bad, by_caller, by_workers, _, _ = ext().pool_check(16, 2, 50)
    assert (bad, by_caller, by_workers) == (0, 16, 0)
    assert ext().pool_backoff_state()[1] == alone + 1
    ext().pool_backoff(1)  # setting the policy ends the back-off in progress
    assert ext().pool_backoff_state()[0] is False


def test_the_back_off_ends_after_a_few_calls(backoff_on):
    if not _held_up_call():
        pytest.skip("no call was held up by its worker in 20 (machine too busy)")
    for _ in range(4):  # the first back-off is 4 calls, all on the caller
        assert ext().pool_check(8, 2, 0)[2] == 0
    assert ext().pool_backoff_state()[0] is False


def test_without_the_back_off_a_held_up_call_changes_nothing():
    ext().threads_start(2)
    old = ext().pool_backoff(0)
    try:
        assert not _held_up_call()
        assert ext().pool_backoff_state()[0] is False
    finally:
        ext().pool_backoff(old)
