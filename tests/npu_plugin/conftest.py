"""Fixtures for the ethos-u delegate's tests: skipped when Vela is not installed; the backend
registered without entry points; a compile cache per test session (a fresh one for the cache
tests); the shared int8 model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gossamer.npu_plugin import plugin as npu_plugin
from gossamer.npu_plugin.backend import EthosUBackend
from gossamer.plugins import manager as plugin_manager

from tests.conftest import MODELS_DIR

HERE = Path(__file__).resolve().parent
MWW = MODELS_DIR / "mww_okay_nabu_int8.tflite"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Vela (or the tflite package) every test here is skipped, with the reason."""
    why = EthosUBackend().is_available()
    if why is None:
        return
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.skip(reason=f"ethos-u unavailable: {why}"))


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("npu-cache")


@pytest.fixture(autouse=True)
def npu_settings(shared_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No GOSSAMER_ETHOSU_* from outside; compiled partitions go to a cache shared by this test
    session (tests of the cache itself take `npu_cache`, a fresh one)."""
    for name in ("ACCELERATOR", "SYSTEM_CONFIG", "MEMORY_MODE", "CLOCK", "MIN_PARTITION"):
        monkeypatch.delenv(f"GOSSAMER_ETHOSU_{name}", raising=False)
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(shared_cache))


@pytest.fixture
def npu_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty compile cache for this test; its npu folder."""
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "npu"


@pytest.fixture
def ethos_u(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ethos-u plugin registered by hand (no installed entry points), removed afterwards."""
    monkeypatch.setattr(plugin_manager, "entry_points", lambda group: [])
    plugin_manager.reset_plugins()
    plugin_manager.register_plugin(npu_plugin, "ethos-u")
    yield
    plugin_manager.unregister_plugin("ethos-u")
    plugin_manager.reset_plugins()


@pytest.fixture
def mww() -> Path:
    if not MWW.exists():
        pytest.skip(f"{MWW} is not in the model cache (tests/fetch_models.sh)")
    return MWW
