"""`gossamer backends`: each backend's line, then the options it declares (name, choices, doc)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from gossamer.plugins import Backend, BackendOption, hookimpl
from gossamer.plugins import manager as plugin_manager

from gossamer.cli import main


class WithOptions(Backend):
    name = "tuned"
    priority = 5
    options = (
        BackendOption("mode", "how hard to try (default: fast)", choices=("fast", "exact")),
        BackendOption("threads", "worker threads (default: all cores)", parse=int),
    )


class WithoutOptions(Backend):
    name = "plain"
    priority = 4


class Plugin:
    @hookimpl
    def gossamer_register_backends(self, register: Callable[[Backend], None]) -> None:
        register(WithOptions())
        register(WithoutOptions())


@pytest.fixture
def two_backends(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(plugin_manager, "entry_points", lambda group: [])
    monkeypatch.delenv("GOSSAMER_BLOCK", raising=False)
    plugin_manager.register_plugin(Plugin(), "options_listing_test")
    plugin_manager.reset_plugins()
    yield
    plugin_manager.unregister_plugin("options_listing_test")
    plugin_manager.reset_plugins()


def test_backends_lists_each_backends_options_under_it(two_backends, capsys):
    assert main(["backends"]) == 0
    lines = capsys.readouterr().out.splitlines()
    tuned = next(i for i, line in enumerate(lines) if line.startswith("tuned "))
    assert lines[tuned + 1 : tuned + 3] == [
        "    option mode (one of fast, exact): how hard to try (default: fast)",
        "    option threads: worker threads (default: all cores)",
    ]
    plain = next(i for i, line in enumerate(lines) if line.startswith("plain "))
    assert plain == tuned + 3
    assert not lines[plain + 1 :] or not lines[plain + 1].startswith(" ")  # "plain" has none


def test_opencl_lists_its_device_and_precision_options(capsys):
    plugin_manager.reset_plugins()
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    if "opencl " not in out:
        pytest.skip("the opencl backend is not installed here")
    lines = out.splitlines()
    opencl = next(i for i, line in enumerate(lines) if line.startswith("opencl "))
    options = [line.split()[1].rstrip(":") for line in lines[opencl + 1 : opencl + 3]]
    assert options == ["device", "precision"]
    assert "(one of fp32, fp16)" in lines[opencl + 2]
