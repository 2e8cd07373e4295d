"""Tallies fuzz results, dedups findings by signature, prints the summary, writes JSON, repros."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .runner import FINDINGS, Result

CLASSES = ("ok", "loaded", "typed", *FINDINGS, "fuzzer-error")


@dataclass
class Report:
    """Every result's summary, the typed-error breakdown and one representative per finding."""

    seed: int
    flags: str = ""  # the options that change what case N is (formats, mutators, seed models)
    counts: Counter = field(default_factory=Counter)
    typed: Counter = field(default_factory=Counter)
    findings: dict[str, list[Result]] = field(default_factory=dict)  # signature -> results
    cases: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, r: Result) -> bool:
        """Records a result; True when its workdir should be kept (first case of a finding)."""
        self.counts[r.klass] += 1
        if r.klass == "typed":
            self.typed[r.error] += 1
        self.cases.append(
            {
                "case": r.key,
                "klass": r.klass,
                "error": r.error,
                "signature": r.signature,
                "stage": r.stage,
                "seconds": r.seconds,
                "model": r.info.get("seed", ""),
                "fmt": r.info.get("fmt", ""),
                "mutations": r.info.get("mutations", []),
            }
        )
        if r.klass not in FINDINGS:
            return False
        group = self.findings.setdefault(r.signature, [])
        group.append(r)
        group.sort(key=lambda x: x.key)
        return group[0] is r

    @property
    def n_findings(self) -> int:
        return sum(len(g) for g in self.findings.values())

    def print(self, out: TextIO) -> None:
        total = sum(self.counts.values())
        rate = total / self.seconds if self.seconds else 0.0
        out.write(f"\n{total} cases in {self.seconds:.0f} s ({rate:.1f}/s), seed {self.seed}\n\n")
        out.write(f"{'outcome':<44}{'cases':>8}\n")
        for klass in CLASSES:
            if self.counts[klass] or klass in FINDINGS:
                out.write(f"{klass:<44}{self.counts[klass]:>8}\n")
            if klass == "typed":
                for error, n in self.typed.most_common():
                    out.write(f"  {error:<42}{n:>8}\n")
        out.write(f"\n{len(self.findings)} distinct findings ({self.n_findings} cases)\n")
        for signature, group in sorted(self.findings.items(), key=lambda kv: kv[1][0].klass):
            r = group[0]
            out.write(
                f"\n[{r.klass}] {signature}  x{len(group)}  (case {r.key}, seed {self.seed}"
                f"{self.flags}, {r.info.get('fmt')} seed model {r.info.get('seed')!r},"
                f" stage {r.stage})\n"
            )
            for m in r.info.get("mutations", []):
                out.write(f"    {m[:300]}\n")
            if r.message:
                out.write(f"    message: {r.message[:300]}\n")
            lines = [line for line in r.traceback.strip().splitlines() if line.strip()]
            tail = (
                lines[:8] if r.klass in ("crash", "hang") else lines[-6:]
            )  # dumps: innermost first
            out.write("".join(f"    | {line[:200]}\n" for line in tail))

    def to_json(self, args: dict[str, Any]) -> dict:
        findings = []
        for signature, group in self.findings.items():
            first = asdict(group[0])
            first.pop("workdir")
            findings.append(
                {
                    "signature": signature,
                    "count": len(group),
                    "cases": [r.key for r in group][:50],
                    **first,
                }
            )
        return {
            "args": args,
            "seconds": round(self.seconds, 1),
            "counts": dict(self.counts),
            "typed": dict(self.typed),
            "findings": findings,
            "cases": sorted(self.cases, key=lambda c: c["case"]),
        }

    def save_repros(self, folder: Path) -> list[Path]:
        """For each distinct finding: case_N.onnx/.gsm and case_N.py (in a case_N/ folder when
        the model needs side files such as external data)."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for signature, group in self.findings.items():
            r = group[0]
            src = Path(r.workdir)
            fmt = r.info.get("fmt", "onnx")
            model = src / f"model.{fmt}"
            if not model.exists():
                continue
            sides = [p for p in src.iterdir() if p.name not in (model.name, "child.log")]
            dest = folder / f"case_{r.key}" if sides else folder
            dest.mkdir(exist_ok=True)
            for p in sides:
                shutil.copy(p, dest / p.name)
            shutil.copy(model, dest / f"case_{r.key}.{fmt}")
            script = dest / f"case_{r.key}.py"
            script.write_text(
                _REPRO.format(
                    signature=signature,
                    klass=r.klass,
                    case=r.key,
                    seed=self.seed,
                    flags=self.flags,
                    mutations="\n".join(f"  {m[:300]}" for m in r.info.get("mutations", [])),
                    file=f"case_{r.key}.{fmt}",
                    from_bytes=bool(r.info.get("from_bytes")),
                )
            )
            written.append(script)
        return written


_REPRO = '''"""Fuzz finding {signature} ({klass}): case {case} of seed {seed}.

Mutations:
{mutations}

Re-run inside the fuzzer: python tools/fuzz_models.py --seed {seed} --case {case}{flags}
"""

import resource
from pathlib import Path

import gossamer
import numpy as np
from gossamer.tools.fuzz.feeds import make_feeds

resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # the fuzzer's cap
model = Path(__file__).with_name("{file}")
sess = gossamer.load(model.read_bytes() if {from_bytes} else model)
rng = np.random.default_rng({case})
for _ in range(2):
    feeds = make_feeds(sess.inputs, rng)
    if feeds is None:
        break
    sess.run(None, feeds)
print("no failure")
'''
