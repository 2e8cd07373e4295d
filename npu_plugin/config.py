"""The Ethos-U target a session compiles for, read from GOSSAMER_ETHOSU_* environment variables.

Sessions have no per-backend options, so the target is set in the environment (as
GOSSAMER_BACKENDS is):

| variable | meaning | default |
|---|---|---|
| GOSSAMER_ETHOSU_ACCELERATOR | Vela's `--accelerator-config` | `ethos-u55-128` |
| GOSSAMER_ETHOSU_SYSTEM_CONFIG | a `System_Config` of Vela's vela.ini | per family (below) |
| GOSSAMER_ETHOSU_MEMORY_MODE | a `Memory_Mode` of vela.ini | per family (below) |
| GOSSAMER_ETHOSU_CLOCK | NPU clock in Hz (`500e6`, `1GHz`, `400MHz`) | the system config's |
| GOSSAMER_ETHOSU_MIN_PARTITION | fewest nodes a partition may have | 1 |
| GOSSAMER_ETHOSU_TIMEOUT | seconds one Vela run may take | 300 |
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..refimpl.errors import InputError

ACCELERATORS = (
    "ethos-u55-32",
    "ethos-u55-64",
    "ethos-u55-128",
    "ethos-u55-256",
    "ethos-u65-256",
    "ethos-u65-512",
    "ethos-u85-128",
    "ethos-u85-256",
    "ethos-u85-512",
    "ethos-u85-1024",
    "ethos-u85-2048",
)
# family -> (system config, memory mode): the configurations Arm's vela.ini describes for it
FAMILY_DEFAULTS = {
    "ethos-u55": ("Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "ethos-u65": ("Ethos_U65_High_End", "Dedicated_Sram"),
    "ethos-u85": ("Ethos_U85_SYS_DRAM_Mid", "Dedicated_Sram_384KB"),
}
CLOCKED_SYSTEM = "Gossamer_Clocked"  # the derived system config when a clock is set
_UNITS = {"": 1.0, "hz": 1.0, "khz": 1e3, "mhz": 1e6, "ghz": 1e9}


class EthosUConfigError(InputError):
    """A GOSSAMER_ETHOSU_* setting names no Ethos-U configuration Vela knows."""


@dataclass(frozen=True)
class EthosUConfig:
    """One Ethos-U target: what Vela compiles for."""

    accelerator: str = "ethos-u55-128"
    system_config: str = FAMILY_DEFAULTS["ethos-u55"][0]
    memory_mode: str = FAMILY_DEFAULTS["ethos-u55"][1]
    clock_hz: float | None = None  # None: the system config's core_clock
    min_partition_size: int = 1
    timeout_s: float = 300.0

    @property
    def family(self) -> str:
        return self.accelerator.rsplit("-", 1)[0]

    def key(self) -> str:
        """What a compiled partition depends on, besides the model and Vela's version."""
        text = f"{self.accelerator}|{self.system_config}|{self.memory_mode}|{self.clock_hz}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self) -> str:
        clock = f", {self.clock_hz / 1e6:g} MHz" if self.clock_hz else ""
        return f"{self.accelerator} ({self.system_config}, {self.memory_mode}{clock})"

    def ini_text(self, base_ini: str) -> str:
        """Vela's vela.ini plus, when a clock is set, a system config inheriting the chosen one
        at that clock (Vela has no clock option: its clock is part of the system config)."""
        if self.clock_hz is None:
            return base_ini
        return (
            f"{base_ini}\n[System_Config.{CLOCKED_SYSTEM}]\n"
            f"inherit=System_Config.{self.system_config}\ncore_clock={self.clock_hz:.6g}\n"
        )

    def vela_args(self) -> list[str]:
        system = CLOCKED_SYSTEM if self.clock_hz is not None else self.system_config
        return [
            "--accelerator-config",
            self.accelerator,
            "--system-config",
            system,
            "--memory-mode",
            self.memory_mode,
        ]


def config_from_env(env: dict[str, str] | None = None) -> EthosUConfig:
    """The target the GOSSAMER_ETHOSU_* variables describe (defaults where unset)."""
    env = dict(os.environ if env is None else env)

    def get(name: str) -> str | None:
        value = env.get(f"GOSSAMER_ETHOSU_{name}", "").strip()
        return value or None

    accelerator = (get("ACCELERATOR") or "ethos-u55-128").lower()
    if accelerator not in ACCELERATORS:
        raise EthosUConfigError(
            f"GOSSAMER_ETHOSU_ACCELERATOR={accelerator!r} is not an Ethos-U configuration; "
            f"choose one of {', '.join(ACCELERATORS)}"
        )
    system, memory = FAMILY_DEFAULTS[accelerator.rsplit("-", 1)[0]]
    return EthosUConfig(
        accelerator=accelerator,
        system_config=get("SYSTEM_CONFIG") or system,
        memory_mode=get("MEMORY_MODE") or memory,
        clock_hz=_clock(get("CLOCK")),
        min_partition_size=_positive_int(get("MIN_PARTITION"), "MIN_PARTITION", 1),
        timeout_s=float(_positive_int(get("TIMEOUT"), "TIMEOUT", 300)),
    )


OPTIONS = ("accelerator", "system_config", "memory_mode", "clock")  # a deploy's options


def config_from_options(
    options: Mapping[str, str], env: dict[str, str] | None = None
) -> EthosUConfig:
    """The target `options` describe (keys of OPTIONS, e.g. from `gossamer compile --accelerator`),
    the GOSSAMER_ETHOSU_* variables where an option is unset. Errors name the option."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise EthosUConfigError(
            f"unknown ethos-u option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}"
        )
    merged = dict(os.environ if env is None else env)
    given = {k: str(v) for k, v in options.items() if v is not None and str(v).strip()}
    if "accelerator" in given:  # a new family: its own defaults, not the environment's
        for key in ("SYSTEM_CONFIG", "MEMORY_MODE"):
            merged.pop(f"GOSSAMER_ETHOSU_{key}", None)
    merged.update({f"GOSSAMER_ETHOSU_{k.upper()}": v for k, v in given.items()})
    try:
        return config_from_env(merged)
    except EthosUConfigError as err:
        raise named_by_options(err, given) from err


def named_by_options(err: EthosUConfigError, options: Mapping[str, str]) -> EthosUConfigError:
    """`err` with the settings it names that came from `options` named as options."""
    text = str(err)
    for key in options:
        text = text.replace(f"GOSSAMER_ETHOSU_{key.upper()}=", f"ethos-u option {key}=")
    return EthosUConfigError(text)


def _clock(text: str | None) -> float | None:
    if text is None:
        return None
    match = re.fullmatch(r"([0-9.]+(?:e[0-9]+)?)\s*([kmg]?hz)?", text.lower())
    value = float(match.group(1)) * _UNITS[match.group(2) or ""] if match else 0.0
    if not 1e6 <= value <= 1e10:
        raise EthosUConfigError(
            f"GOSSAMER_ETHOSU_CLOCK={text!r}: give the NPU clock in Hz between 1 MHz and "
            "10 GHz, e.g. 500e6 or 400MHz"
        )
    return value


def _positive_int(text: str | None, name: str, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise EthosUConfigError(f"GOSSAMER_ETHOSU_{name}={text!r}: need a whole number >= 1")
    return int(text)
