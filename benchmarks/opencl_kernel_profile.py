"""Where a model's time goes on the opencl backend: every launch of its compiled partitions run
alone (enqueue, finish), best of --repeats, summed per kernel family, and the slowest launches
with their global / local size and tuning key (which carries the kernel's integer arguments:
the shapes). The sum is close to one run's kernel time; a run adds the host side and, on a CPU
device, PoCL's scheduling between launches. Not a test: nothing is asserted.

    .venv/bin/python benchmarks/opencl_kernel_profile.py resnet18 [--repeats 5] [--top 20]
        [--precision fp16]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from opencl_vs_cython import model_and_feeds  # noqa: E402

import gossamer  # noqa: E402


def launch_times(sess: gossamer.Session, repeats: int) -> list[tuple[float, str, Any, Any, str]]:
    """(best seconds, kernel, global size, local size, key) for every launch of every plan."""
    parts = [o.impl for o in sess._program.overrides.values() if o.partition]  # noqa: SLF001
    rows = []
    for part in parts:
        if not hasattr(part, "plans"):
            continue
        cl, queue = part.device.cl, part.device.queue
        for plan in part.plans():
            for (kernel, gsize, local), (_, g0, _, key) in zip(plan.enqueue, plan.launches):
                best = float("inf")
                for _ in range(repeats):
                    start = time.perf_counter()
                    cl.enqueue_nd_range_kernel(queue, kernel, gsize, local)
                    queue.finish()
                    best = min(best, time.perf_counter() - start)
                rows.append((best, kernel.function_name, g0, local, key))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a benchmark model name (benchmarks/bench_models.py)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--top", type=int, default=20, help="how many of the slowest launches")
    p.add_argument("--precision", choices=["fp32", "fp16"], default="fp32")
    args = p.parse_args()
    model, feeds = model_and_feeds(args.model)
    backend = "opencl" if args.precision == "fp32" else "opencl-fp16"
    sess = gossamer.load(model, backends=[backend])
    sess.run(None, feeds)  # plans built, PoCL's work-group functions compiled
    rows = launch_times(sess, args.repeats)
    total = sum(r[0] for r in rows) or 1.0
    families: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for seconds, kernel, *_ in rows:
        family = kernel
        if re.fullmatch(r"\w+_[0-9a-f]{16}", kernel):  # generated: named kind_<source hash>
            family = kernel.rsplit("_", 1)[0] + " (generated)"
        if kernel.startswith("ew_"):
            family = "fused element-wise"
        families[family][0] += seconds
        families[family][1] += 1
    print(f"{args.model}: {len(rows)} launches, {total * 1e3:.2f} ms summed")
    for family, (seconds, count) in sorted(families.items(), key=lambda f: -f[1][0]):
        print(f"  {family:28s} {count:4d} {seconds * 1e3:9.2f} ms {seconds / total:6.1%}")
    print("slowest launches:")
    for seconds, kernel, g0, local, key in sorted(rows, key=lambda r: -r[0])[: args.top]:
        print(f"  {seconds * 1e3:8.3f} ms {kernel:24s} global {g0} local {local} {key[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
