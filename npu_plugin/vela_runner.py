"""Runs Arm's Vela compiler on a .tflite model and reads back everything it reports.

Vela runs as its own CLI (`python -m ethosu.vela`) in a subprocess with a timeout: a compiler crash
or hang costs one partition, never the host process. From its output folder and stdout we keep:
- the optimised .tflite (NPU work as `ethos-u` custom ops holding the command stream, the rest as
  TFLite builtins, run by the CPU) — the file an Ethos-U board runs with TFLite Micro;
- which operators Vela left on the CPU, and its reason for each (its own operator constraint
  checks print them as `Warning (supported operators) operator: X, ofm: 'T'` / `Reason: ...`);
- the network summary (SRAM and flash use, cycles, inference time) and per-layer estimates.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..refimpl.errors import GossamerError
from .config import EthosUConfig, EthosUConfigError

_WARNING = re.compile(r"Warning \(supported operators\) operator: (.*?), ofm: '(.*)'")
_COUNT = re.compile(r"(CPU|NPU) operators = (\d+)")


class VelaError(GossamerError):
    """Vela could not compile a model (it failed, timed out, or is not installed). `semantic`:
    the operators (by output tensor) whose TFLite semantics Vela rejected, with its reason: Vela
    stops at the first such operator instead of leaving it to the CPU."""

    def __init__(self, message: str, semantic: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.semantic = dict(semantic or {})


_SEMANTIC = re.compile(
    r"Error: (\w+) '(.*)' Does not have valid TFLite Semantics\.\s*\n((?:[ \t]+.*\n?)*)"
)


def semantic_errors(output: str) -> dict[str, str]:
    """Vela's "does not have valid TFLite Semantics" errors: output tensor -> reason."""
    found = {}
    for op, tensor, detail in _SEMANTIC.findall(output):
        lines = [ln.strip(" -\t,") for ln in detail.splitlines() if ln.strip(" -\t,")]
        found[tensor] = f"{op}: invalid TFLite semantics for Vela: " + "; ".join(lines)
    return found


@dataclass(frozen=True)
class LayerEstimate:
    """Vela's estimate for one NPU operator of the compiled model."""

    name: str  # the operator's output tensor
    operator: str  # Vela's operator (e.g. Conv2D)
    cycles: int
    npu_cycles: int
    macs: int
    sram_bytes: int  # SRAM access cycles' bytes, as Vela counts them per layer
    flash_bytes: int


@dataclass
class VelaReport:
    """What one Vela run produced."""

    vela_version: str
    config: EthosUConfig
    model: bytes  # the optimised .tflite
    reasons: dict[str, str]  # output tensor of an operator left on the CPU -> Vela's reason
    cpu_operators: int  # Vela's own summary counts (every subgraph of the model)
    npu_operators: int
    summary: dict[str, str]  # Vela's summary CSV row
    layers: list[LayerEstimate] = field(default_factory=list)

    def number(self, key: str) -> float:
        try:
            return float(self.summary.get(key, "nan"))
        except ValueError:
            return float("nan")

    @property
    def clock_hz(self) -> float:
        return self.number("core_clock")

    @property
    def total_cycles(self) -> int:
        return int(self.number("cycles_total"))

    @property
    def inference_s(self) -> float:
        return self.number("inference_time")

    @property
    def sram_bytes(self) -> int:
        return int(self.number("sram_memory_used") * 1024)  # Vela reports KiB

    @property
    def flash_bytes(self) -> int:
        on, off = (
            self.number("on_chip_flash_memory_used"),
            self.number("off_chip_flash_memory_used"),
        )
        return int((on + off) * 1024)

    @property
    def dram_bytes(self) -> int:
        return int(self.number("dram_memory_used") * 1024)


def vela_missing() -> str | None:
    """None if Vela can be run here, else why not."""
    why = "Arm's Vela compiler is not installed (pip install 'gossamer[npu]' or ethos-u-vela)"
    try:
        found = importlib.util.find_spec("ethosu") and importlib.util.find_spec("ethosu.vela")
        if not found:
            return why
    except ImportError as err:  # a broken install
        return f"{why}: {err}"
    return None


def vela_version() -> str:
    import importlib.metadata  # ~20-50 ms: kept out of every process's plugin discovery

    try:
        return importlib.metadata.version("ethos-u-vela")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def base_ini() -> str:
    """Arm's vela.ini, shipped with Vela: the system configs and memory modes it knows."""
    spec = importlib.util.find_spec("ethosu")
    if spec is None or not spec.submodule_search_locations:
        raise VelaError(vela_missing() or "Vela is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    return (root / "config_files" / "Arm" / "vela.ini").read_text()


def check_config(config: EthosUConfig) -> None:
    """Raises EthosUConfigError if vela.ini has no such system config or memory mode."""
    ini = base_ini()
    for kind, name in (
        ("System_Config", config.system_config),
        ("Memory_Mode", config.memory_mode),
    ):
        known = re.findall(rf"^\[{kind}\.(\w+)\]", ini, re.MULTILINE)
        if name not in known:
            setting = "SYSTEM_CONFIG" if kind == "System_Config" else "MEMORY_MODE"
            raise EthosUConfigError(
                f"GOSSAMER_ETHOSU_{setting}={name!r} is not in Vela's vela.ini; "
                f"choose one of {', '.join(known)}"
            )


def run_vela(tflite: bytes, config: EthosUConfig, name: str = "model") -> VelaReport:
    """Compiles `tflite` with Vela for `config`; raises VelaError if Vela fails or times out."""
    missing = vela_missing()
    if missing:
        raise VelaError(missing)
    check_config(config)
    with tempfile.TemporaryDirectory(prefix="gossamer-vela-") as tmp:
        folder = Path(tmp)
        model = folder / f"{name}.tflite"
        model.write_bytes(tflite)
        ini = folder / "gossamer_vela.ini"
        ini.write_text(config.ini_text(base_ini()))
        out = folder / "out"
        command = [sys.executable, "-m", "ethosu.vela", str(model), "--output-dir", str(out),
                   "--config", str(ini), *config.vela_args()]  # fmt: skip
        if _subgraphs(tflite) == 1:  # Vela's per-layer table of a multi-subgraph model keeps
            command.append("--verbose-performance")  # one subgraph, and skews its summary
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=config.timeout_s, check=False
            )
        except subprocess.TimeoutExpired as err:
            raise VelaError(
                f"Vela took longer than {config.timeout_s:g} s (GOSSAMER_ETHOSU_TIMEOUT)"
            ) from err
        compiled = out / f"{name}_vela.tflite"
        if done.returncode != 0 or not compiled.is_file():
            raise VelaError(
                f"Vela failed (exit {done.returncode}): {_last_error(done)}",
                semantic_errors(done.stderr + "\n" + done.stdout),
            )
        return VelaReport(
            vela_version=vela_version(),
            config=config,
            model=compiled.read_bytes(),
            reasons=cpu_reasons(done.stdout),
            cpu_operators=_count(done.stdout, "CPU"),
            npu_operators=_count(done.stdout, "NPU"),
            summary=_summary(out),
            layers=_layers(out / f"{name}_per-layer.csv"),
        )


def _subgraphs(tflite: bytes) -> int:
    from ..converter.tflite.reader import read_tflite

    try:
        return len(read_tflite(tflite).subgraphs)
    except Exception:  # noqa: BLE001 - Vela will say what is wrong with the file
        return 0


def cpu_reasons(stdout: str) -> dict[str, str]:
    """Vela's constraint-check warnings: operator output tensor -> the reason(s) it gave."""
    reasons: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        found = _WARNING.match(line.strip())
        if found:
            current = reasons.setdefault(found.group(2), [])
            continue
        if current is not None and line.startswith("Reason:"):
            text = line[len("Reason:") :].strip()
            if text and text not in current:
                current.append(text)
            continue
        current = None
    return {ofm: "; ".join(texts) or "unsupported" for ofm, texts in reasons.items()}


def _count(stdout: str, kind: str) -> int:
    found = [int(n) for k, n in _COUNT.findall(stdout) if k == kind]
    return found[0] if found else 0


def _summary(out: Path) -> dict[str, str]:
    for path in sorted(out.glob("*_summary_*.csv")):
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        if rows:
            return dict(rows[0])
    return {}


def _layers(path: Path) -> list[LayerEstimate]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))

    def num(row: dict[str, str], key: str) -> int:
        try:
            return int(float(row.get(key) or 0))
        except ValueError:
            return 0

    return [
        LayerEstimate(
            name=row.get("Name", "").strip(),
            operator=row.get("NNG Operator", "").strip(),
            cycles=num(row, "Op Cycles"),
            npu_cycles=num(row, "NPU"),
            macs=num(row, "MAC Count"),
            sram_bytes=num(row, "SRAM AC"),
            flash_bytes=num(row, "OffFlash AC") + num(row, "OnFlash AC"),
        )
        for row in rows
        if row.get("Target", "").strip() == "NPU"
    ]


def _last_error(done: subprocess.CompletedProcess) -> str:
    lines = [ln.strip() for ln in (done.stderr + "\n" + done.stdout).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith("Warning")]
    return (useful or lines or ["no output"])[-1][:500]
