"""Tuning a compiled partition on its device: first the variant of every variant site (a
convolution's algorithm per layer shape), then the local size of every launch. Choices and sizes
go to the device's tuning table (tuning.py), which later sessions read."""

from __future__ import annotations

import time
from typing import Any

from .tuning import MARGIN, LocalSize, candidates, default_local, rounded, search


def tune(rt: Any, budget: float) -> dict[str, tuple[Any, Any]]:
    """Variants within half of `budget` seconds, local sizes within the rest; site or launch key
    -> (before, after). The table is saved."""
    deadline = time.perf_counter() + budget
    changed: dict[str, tuple[Any, Any]] = dict(tune_variants(rt, budget / 2))
    changed.update(tune_local_sizes(rt, deadline - time.perf_counter()))
    rt.tuning.save()
    return changed


def tune_variants(rt: Any, budget: float) -> dict[str, tuple[str, str]]:
    """Per plan, one trial plan per option rank (every site on its k-th option), each site's
    node timed in each (best of five); another option must beat the current one by 10 %, and the
    plan with the new choices must run 10 % faster than before (`plan_times`), else the plan keeps
    its choices. The plans are then rebuilt with the choices."""
    deadline = time.perf_counter() + budget
    times: dict[str, dict[str, float]] = {}
    current: dict[str, str] = {}
    for plan in rt.plans():
        ranks = max((len(v[1]) for v in plan.variants.values()), default=0)
        for k in range(ranks):
            if time.perf_counter() > deadline:
                break
            sites = {s: v for s, v in plan.variants.items() if k < len(v[1])}
            trial = rt.trial(plan, {s: options[k] for s, (_, options, _) in sites.items()})
            for site, (node, options, chosen) in sites.items():
                times.setdefault(site, {})[options[k]] = time_node(rt, trial, node)
                current[site] = chosen
    proposed: dict[str, str] = {}
    for site, found in times.items():
        best = min(found, key=found.__getitem__)
        now = current[site]
        keep = now in found and found[best] >= MARGIN * found[now]
        proposed[site] = now if keep else best
    for plan in rt.plans():  # the plan as a whole must be faster with the new choices
        mine = {s: c for s, c in proposed.items() if s in plan.variants and c != current[s]}
        if mine:
            trial = rt.trial(plan, mine)  # held while it runs: its pool is this plan's memory
            old, new = plan_times(rt, plan.enqueue, trial.enqueue)
            del trial
            if new > MARGIN * old:
                proposed.update({s: current[s] for s in mine})
    changed: dict[str, tuple[str, str]] = {}
    for site, choice in proposed.items():
        rt.tuning.choices[site] = choice
        changed[site] = (current[site], choice)
    if any(old != new for old, new in changed.values()):
        rt.rebuild()
    return changed


def time_node(rt: Any, plan: Any, node: str) -> float:
    """The best of five runs of `node`'s launches in `plan` (after one that PoCL compiles in)."""
    cl, queue = rt.device.cl, rt.device.queue
    picked = [e for e, n in zip(plan.enqueue, plan.nodes) if n == node]
    best = float("inf")
    for i in range(6):
        start = time.perf_counter()
        for kernel, gsize, local in picked:
            cl.enqueue_nd_range_kernel(queue, kernel, gsize, local)
        queue.finish()
        if i:
            best = min(best, time.perf_counter() - start)
    return best


def tune_local_sizes(rt: Any, budget: float) -> dict[str, tuple[LocalSize, LocalSize]]:
    """Searches the local size of every launch of every plan within `budget` seconds."""
    cl, queue = rt.device.cl, rt.device.queue
    max_wg = int(rt.device.device.max_work_group_size)
    launches = [launch for plan in rt.plans() for launch in plan.launches]
    changed: dict[str, tuple[LocalSize, LocalSize]] = {}
    deadline = time.perf_counter() + budget
    for i, (kernel, gsize, local, key) in enumerate(launches):
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        if key in changed or not key:  # no key: the kernel requires its local size
            continue

        def run(option: LocalSize, kernel: Any = kernel, gsize: Any = gsize) -> None:
            cl.enqueue_nd_range_kernel(queue, kernel, rounded(gsize, option), option)
            queue.finish()

        options = candidates(kernel.function_name, gsize, max_wg)
        best = search(run, options, left / max(len(launches) - i, 1))
        rt.tuning.entries[key] = list(best) if best else None
        changed[key] = (local, best)
    with rt.lock:
        for plan in rt.plans():
            before = (plan.launches, plan.enqueue)
            plan.launches = [
                (k, g, rt.tuning.local_size(key) or default_local(k.function_name, g), key)
                if key
                else (k, g, lz, key)
                for k, g, lz, key in plan.launches
            ]
            plan.enqueue = [(k, rounded(g, lz), lz) for k, g, lz, _ in plan.launches]
            if plan.enqueue == before[1]:
                continue
            old, new = plan_times(rt, before[1], plan.enqueue)
            if new > MARGIN * old:  # the plan as a whole is not faster: keep the defaults
                for _, _, lz, key in before[0]:
                    if key in changed:
                        rt.tuning.entries[key] = list(lz) if lz else None
                        changed[key] = (changed[key][0], changed[key][0])
                plan.launches, plan.enqueue = before
    return changed


def plan_times(rt: Any, old: list, new: list, rounds: int = 9) -> tuple[float, float]:
    """The best time of a plan's launches chained (as a run enqueues them, one finish) with the
    old and with the new local sizes, interleaved. Each launch tuned alone can mislead: alone, a
    single work-group on one core skips waking the second, which a chain of launches pays once
    (measured: mtcnn_rnet's and mtcnn_onet's launches each "faster" alone, the runs 1.2x slower)."""
    cl, queue = rt.device.cl, rt.device.queue
    best = [float("inf"), float("inf")]
    for i in range(rounds + 1):
        for j, enqueue in enumerate((old, new)):
            start = time.perf_counter()
            for kernel, gsize, local in enqueue:
                cl.enqueue_nd_range_kernel(queue, kernel, gsize, local)
            queue.finish()
            if i:  # the first round compiles PoCL's work-group functions
                best[j] = min(best[j], time.perf_counter() - start)
    return best[0], best[1]
