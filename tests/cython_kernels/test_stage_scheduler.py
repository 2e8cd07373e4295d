"""The stage scheduler (src/stage_scheduler.h) keeps its contract on a synthetic workload: every
unit of every stage runs (exactly once without redo), no stage starts before the previous one has
ended, and a thread that stops in the middle of a stage (as if the OS took its core) has its
unclaimed items run by the others (and, with redo, its claimed one too)."""

from __future__ import annotations

import pytest
from gossamer.cython_kernels._native import ext


@pytest.fixture(autouse=True)
def _no_pool_backoff():
    """The pool's back-off (a call held up by a descheduled worker: the next calls run alone)
    would run a check's ranks on one thread: these tests are about the team."""
    old = ext().pool_backoff(0)
    yield
    ext().pool_backoff(old)


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
@pytest.mark.parametrize(("stages", "units"), [(1, 1), (5, 3), (40, 32), (7, 100)])
@pytest.mark.parametrize("redo", [False, True])
def test_every_unit_runs_once_and_stages_are_ordered(
    stages: int, units: int, threads: int, redo: bool
) -> None:
    bad, stolen, twice, team, _ = ext().stage_scheduler_check(stages, units, threads, redo)
    assert bad == 0
    assert team == min(threads, units)
    # without redo every unit runs exactly once; with it a thread the OS takes off its core for a
    # few microseconds (this machine is busy under pytest -n 2) may have a claimed item run again
    if not redo:
        assert twice == 0
    assert stolen >= 0


def test_no_stages_runs_nothing() -> None:
    assert ext().stage_scheduler_check(0, 8, 2)[0] == 0


@pytest.mark.parametrize("redo", [False, True])
def test_a_stalled_thread_has_its_items_run_by_the_others(redo: bool) -> None:
    # rank 1 sleeps 200 ms inside its first item of stage 1; stalling counts after a few us
    bad, stolen, twice, team, slept = ext().stage_scheduler_check(
        6, 32, 2, redo, stall_rank=1, stall_us=200_000
    )
    assert team == 2 and bad == 0
    # its three unclaimed items of that stage at least (without redo the claimed one waits for
    # it); if the busy machine kept rank 1 off its core for all of it, rank 0 ran everything
    assert stolen >= 3
    if not redo:
        assert twice == 0
    elif slept:  # the sleeping thread's item was run by the other thread and then by itself
        assert twice >= 1


def test_a_team_larger_than_the_units_is_cut_down() -> None:
    assert ext().stage_scheduler_check(3, 2, 8)[3] == 2


@pytest.mark.parametrize(
    "args",
    [(-1, 4, 2), (2, 0, 2), (2, 4, 0)],
)
def test_bad_arguments_are_refused(args: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="stage_scheduler_check"):
        ext().stage_scheduler_check(*args)
