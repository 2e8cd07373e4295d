"""The disk cache of compiled partitions: one folder per (partition model, Vela version, target).

`<root>/<key>/` holds `model_vela.tflite` (the optimised model with the command stream) and
`report.json` (Vela's figures and verdicts, with the SHA-256 of the model file). An entry that is
missing a file, does not parse, or whose model does not match its checksum is corrupt: it is
deleted and rebuilt. Entries are written to a temporary folder and renamed into place, so a crash
mid-write leaves no half entry. `<key>.failed.json` records a file whose TFLite semantics Vela
rejected (the same Vela rejects it again). Root: $GOSSAMER_CACHE_DIR/npu, else
~/.cache/gossamer/npu.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from .config import EthosUConfig
from .vela_runner import LayerEstimate, VelaError, VelaReport

log = logging.getLogger("gossamer.npu_plugin")
FORMAT = 1


def cache_root() -> Path:
    base = os.environ.get("GOSSAMER_CACHE_DIR", "").strip()
    return (Path(base) if base else Path.home() / ".cache" / "gossamer") / "npu"


def cache_key(tflite: bytes, vela_version: str, config: EthosUConfig) -> str:
    digest = hashlib.sha256(tflite)
    digest.update(f"|vela {vela_version}|{config.key()}|format {FORMAT}".encode())
    return digest.hexdigest()[:32]


def load(key: str, config: EthosUConfig) -> VelaReport | None:
    """The cached report for `key`, or None (a corrupt entry is removed)."""
    folder = cache_root() / key
    if not folder.exists():
        return None
    try:
        meta = json.loads((folder / "report.json").read_text())
        model = (folder / "model_vela.tflite").read_bytes()
        if meta.get("format") != FORMAT or hashlib.sha256(model).hexdigest() != meta["sha256"]:
            raise ValueError("checksum or format mismatch")
        return VelaReport(
            vela_version=meta["vela_version"],
            config=config,
            model=model,
            reasons=dict(meta["reasons"]),
            cpu_operators=int(meta["cpu_operators"]),
            npu_operators=int(meta["npu_operators"]),
            summary=dict(meta["summary"]),
            layers=[LayerEstimate(**layer) for layer in meta["layers"]],
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("NPU cache entry %s is corrupt (%s): rebuilding it", folder, err)
        shutil.rmtree(folder, ignore_errors=True)
        return None


def store(key: str, report: VelaReport) -> Path | None:
    """Writes the entry atomically; returns its folder (None if the cache is not writable)."""
    root = cache_root()
    meta = {
        "format": FORMAT,
        "sha256": hashlib.sha256(report.model).hexdigest(),
        "vela_version": report.vela_version,
        "target": report.config.describe(),
        "reasons": report.reasons,
        "cpu_operators": report.cpu_operators,
        "npu_operators": report.npu_operators,
        "summary": report.summary,
        "layers": [dataclasses.asdict(layer) for layer in report.layers],
    }
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        (tmp / "model_vela.tflite").write_bytes(report.model)
        (tmp / "report.json").write_text(json.dumps(meta, indent=1))
        final = root / key
        try:
            tmp.rename(final)
        except OSError:  # another process stored it first: theirs is as good
            shutil.rmtree(tmp, ignore_errors=True)
        return final
    except OSError as err:
        log.warning("NPU cache %s is not writable (%s): compiled without caching", root, err)
        return None


def load_failure(key: str) -> VelaError | None:
    """The VelaError a file is known to raise (its semantic rejections), if recorded."""
    path = cache_root() / f"{key}.failed.json"
    try:
        meta = json.loads(path.read_text())
        return VelaError(
            str(meta["message"]), {str(k): str(v) for k, v in meta["semantic"].items()}
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        path.unlink(missing_ok=True)  # corrupt: Vela runs again
        return None


def store_failure(key: str, err: VelaError) -> None:
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{key}.failed.json.tmp"
        tmp.write_text(json.dumps({"message": str(err), "semantic": err.semantic}))
        tmp.replace(root / f"{key}.failed.json")
    except OSError as failure:
        log.warning("NPU cache %s is not writable (%s)", root, failure)
