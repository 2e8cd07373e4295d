"""The memory plan's Concat groups on and off (GOSSAMER_CONCAT_GROUPS, refimpl/memory_plan.py) in
one process: a model's session planned with the rule and one planned without it (the switch is
read when the arena is planned, at the first run), the two interleaved turn by turn (order
alternating, no other engine in the loop), wall and thread-CPU time per run (the CPU time is what
a shared machine's load disturbs least at 1 thread), the arena bytes and Concat parts of each.
With --rss each variant runs in a fresh process of its own instead (load, 20 runs) and reports
its peak RSS (ru_maxrss).

    .venv/bin/python benchmarks/concat_groups_ab.py --model nudenet_320n_yolov8n --threads 1 2

Models come from the side-by-side cache (~/.cache/gossamer/bench/<name>-*/O3.gsm, feeds.npz).
Not a test: nothing is asserted but equal outputs."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import gossamer

BENCH = Path.home() / ".cache" / "gossamer" / "bench"
SWITCH = "GOSSAMER_CONCAT_GROUPS"


def _program(session: gossamer.Session) -> Any:
    """The program that ran (the shape-arena variant of a model with symbolic dims)."""
    program = session._program
    if program.shape_arenas is not None:
        (program,) = [v for v in program.shape_arenas.variants.values() if v is not None][-1:]
    return program


def _session(gsm: Path, feeds: dict, threads: int, rule: bool) -> gossamer.Session:
    saved = os.environ.get(SWITCH)
    os.environ[SWITCH] = "1" if rule else "0"
    try:
        session = gossamer.load(str(gsm), backends=["cython"], threads=threads)
        for _ in range(4):  # planned on the first run, recorded on the second
            session.run(None, feeds)
    finally:
        if saved is None:
            os.environ.pop(SWITCH, None)
        else:
            os.environ[SWITCH] = saved
    return session


def _ab(model: str, threads: int, turns: int, per_turn: int) -> None:
    (folder,) = sorted(BENCH.glob(f"{model}-*"))[:1]
    feeds = dict(np.load(folder / "feeds.npz"))
    sessions = {
        "off": _session(folder / "O3.gsm", feeds, threads, False),
        "on": _session(folder / "O3.gsm", feeds, threads, True),
    }
    outs = {k: s.run(None, feeds) for k, s in sessions.items()}
    assert all(a.tobytes() == b.tobytes() for a, b in zip(outs["on"], outs["off"]))
    wall: dict[str, list[float]] = {k: [] for k in sessions}
    cpu: dict[str, list[float]] = {k: [] for k in sessions}
    load = os.getloadavg()[0]
    order = list(sessions)
    for turn in range(turns):
        for k in order if turn % 2 == 0 else order[::-1]:
            for _ in range(per_turn):
                t, c = time.perf_counter(), time.thread_time()
                sessions[k].run(None, feeds)
                cpu[k].append(time.thread_time() - c)
                wall[k].append(time.perf_counter() - t)
    print(f"{model}, {threads} thread(s), {turns}x{per_turn} runs each, "
          f"load {load:.2f} -> {os.getloadavg()[0]:.2f}")  # fmt: skip
    med = {k: statistics.median(wall[k]) for k in sessions}
    for k, s in sessions.items():
        plan = _program(s).arena.plan
        w, c = wall[k], cpu[k]
        print(f"  {k:>3}: arena {plan.arena_bytes / 1e6:.2f} MB, {plan.num_parts} parts; wall "
              f"median {med[k] * 1e3:.3f} min {min(w) * 1e3:.3f} ms; thread CPU median "
              f"{statistics.median(c) * 1e3:.3f} min {min(c) * 1e3:.3f} ms")  # fmt: skip
    print(f"  on/off wall median {med['on'] / med['off']:.3f}, thread CPU median "
          f"{statistics.median(cpu['on']) / statistics.median(cpu['off']):.3f}")  # fmt: skip


def _nodes(model: str, threads: int, turns: int) -> None:
    """Per-node times (node by node, in the arena: Session.run(timings=...)), both variants
    interleaved; the Concat and Split nodes' sum of per-node medians and minima."""
    (folder,) = sorted(BENCH.glob(f"{model}-*"))[:1]
    feeds = dict(np.load(folder / "feeds.npz"))
    sessions = {
        "off": _session(folder / "O3.gsm", feeds, threads, False),
        "on": _session(folder / "O3.gsm", feeds, threads, True),
    }
    times: dict[str, dict[str, list[float]]] = {k: {} for k in sessions}
    load = os.getloadavg()[0]
    for turn in range(turns):
        for k in ("off", "on") if turn % 2 == 0 else ("on", "off"):
            timings: dict[str, float] = {}
            sessions[k].run(None, feeds, timings=timings)
            for name, t in timings.items():
                times[k].setdefault(name, []).append(t)
    ops = {n.name: n.op_type for n in _program(sessions["on"]).graph.nodes}
    print(f"{model}, {threads} thread(s), node by node, {turns} runs each, "
          f"load {load:.2f} -> {os.getloadavg()[0]:.2f}")  # fmt: skip
    for k in sessions:
        for op in ("Concat", "Split"):
            mine = [v for n, v in times[k].items() if ops.get(n) == op]
            med = sum(statistics.median(v) for v in mine) * 1e3
            low = sum(min(v) for v in mine) * 1e3
            print(f"  {k:>3}: {len(mine)} {op} nodes: sum of medians {med:.3f} ms, "
                  f"of minima {low:.3f} ms")  # fmt: skip
        whole = sum(statistics.median(v) for v in times[k].values()) * 1e3
        print(f"  {k:>3}: all nodes: sum of medians {whole:.3f} ms")


def _rss_child(model: str, threads: int) -> None:
    (folder,) = sorted(BENCH.glob(f"{model}-*"))[:1]
    feeds = dict(np.load(folder / "feeds.npz"))
    session = gossamer.load(str(folder / "O3.gsm"), backends=["cython"], threads=threads)
    for _ in range(20):
        session.run(None, feeds)
    plan = _program(session).arena.plan
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak:.1f} {plan.arena_bytes} {plan.num_parts}")


def _rss(model: str, threads: int, repeats: int) -> None:
    rows: dict[str, list[str]] = {"off": [], "on": []}
    for _ in range(repeats):
        for k in ("off", "on"):
            env = dict(os.environ, **{SWITCH: "1" if k == "on" else "0"})
            args = [sys.executable, __file__, "--rss-child", "--model", model, "--threads",
                    str(threads)]  # fmt: skip
            out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
            peak, arena, parts = out.stdout.split()
            rows[k].append(peak)
            rows[k + " plan"] = [f"arena {int(arena) / 1e6:.2f} MB, {parts} parts"]
    for k in ("off", "on"):
        print(f"{model}, {threads} thread(s), {k:>3} ({rows[k + ' plan'][0]}): peak RSS MiB "
              f"{', '.join(rows[k])}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", nargs="+", default=["nudenet_320n_yolov8n"])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--per-turn", type=int, default=3)
    ap.add_argument("--rss", type=int, default=0, help="peak RSS of this many processes each")
    ap.add_argument("--nodes", action="store_true", help="per-node times, node by node")
    ap.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    for model in args.model:
        for threads in args.threads:
            if args.rss_child:
                _rss_child(model, threads)
            elif args.nodes:
                _nodes(model, threads, args.turns)
            elif args.rss:
                _rss(model, threads, args.rss)
            else:
                _ab(model, threads, args.turns, args.per_turn)


if __name__ == "__main__":
    main()
