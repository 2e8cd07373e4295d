"""A pool of device buffers for a partition's intermediates, reused by liveness.

Each intermediate storage lives from the first launch that touches it to the last (partition
outputs to the end). Storages whose lifetimes do not overlap share a buffer: best fit among the
free buffers, else the largest free one grown, else a new one. Lifetimes are inclusive, so a
kernel never writes a buffer another storage still reads in the same launch.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PoolPlan:
    """slot_of: storage -> buffer index; sizes: bytes per buffer (before slack)."""

    slot_of: dict[str, int] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(self.sizes)


def plan_pool(lifetimes: dict[str, tuple[int, int, int]]) -> PoolPlan:
    """lifetimes: storage -> (first use, last use, bytes). Deterministic for equal input."""
    plan = PoolPlan()
    busy: list[tuple[int, int]] = []  # (last use, slot)
    free: list[int] = []
    order = sorted(lifetimes.items(), key=lambda kv: (kv[1][0], kv[1][1], kv[0]))
    for name, (first, last, nbytes) in order:
        still = []
        for end, slot in busy:
            if end < first:
                free.append(slot)
            else:
                still.append((end, slot))
        busy = still
        fits = [s for s in free if plan.sizes[s] >= nbytes]
        if fits:
            slot = min(fits, key=lambda s: (plan.sizes[s], s))
        elif free:
            slot = max(free, key=lambda s: (plan.sizes[s], -s))
            plan.sizes[slot] = nbytes
        else:
            slot = len(plan.sizes)
            plan.sizes.append(nbytes)
        if slot in free:
            free.remove(slot)
        plan.slot_of[name] = slot
        busy.append((last, slot))
    return plan
