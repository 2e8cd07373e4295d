"""The op index is trusted without a scan, and an out-of-date index costs time, never an op
(refimpl/op_index.py): each way it can go stale, on a throwaway op package."""

import importlib
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from gossamer.refimpl import op_index, ops
from gossamer.refimpl import registry as registry_module
from gossamer.refimpl.errors import GraphValidationError
from gossamer.refimpl.grad.contract import GRAD_DOMAIN
from gossamer.refimpl.ops._index import OP_FILE_SIZES, OP_MODULES
from gossamer.refimpl.registry import default_registry, indexed_registry, scan_op_index

OP = """\
from gossamer.refimpl.registry import reference_op


@reference_op("{op}", since=1)
def {fn}_1(x):
    \"\"\"y = x\"\"\"
    return x
"""


class OpPackage:
    """A package of op_* modules under a fresh name, with the index a full scan writes."""

    def __init__(self, root: Path, ops: dict[str, str]) -> None:
        self.name = f"fake_ops_{uuid.uuid4().hex[:10]}"
        self.folder = root / self.name
        self.folder.mkdir()
        (self.folder / "__init__.py").write_text("")
        for module, op in ops.items():
            self.write(module, op)
        sys.path.insert(0, str(root))
        self.package = importlib.import_module(self.name)
        self.modules = scan_op_index(self.package)  # the index as generated now
        self.sizes = op_index.op_file_sizes(self.package)
        for module in list(sys.modules):  # the scan imported them: start fresh
            if module.startswith(f"{self.name}."):
                del sys.modules[module]

    def write(self, module: str, op: str, extra: str = "") -> None:
        fn = op.lower() + ("_renamed" if extra else "")
        (self.folder / f"{module}.py").write_text(OP.format(op=op, fn=fn) + extra)
        importlib.invalidate_caches()

    def registry(self):  # type: ignore[no-untyped-def]
        return indexed_registry(self.package, self.modules, self.sizes)

    def imported(self) -> set[str]:
        return {m.rpartition(".")[2] for m in sys.modules if m.startswith(f"{self.name}.")}


@pytest.fixture
def fake(tmp_path: Path):  # type: ignore[no-untyped-def]
    made: list[OpPackage] = []

    def make(ops: dict[str, str]) -> OpPackage:
        made.append(OpPackage(tmp_path, ops))
        return made[-1]

    yield make
    sys.path[:] = [p for p in sys.path if p != str(tmp_path)]
    for pkg in made:
        for module in list(sys.modules):
            if module == pkg.name or module.startswith(f"{pkg.name}."):
                del sys.modules[module]


def test_the_generated_index_records_a_size_for_every_op_file():
    # Out of date? Regenerate with `python -m gossamer.refimpl.registry`. A size that went stale
    # (an op file edited since) costs only time: that file is imported when the index is checked
    assert set(op_index.op_file_sizes(ops)) == set(OP_FILE_SIZES) == set(OP_MODULES.values())


def test_a_current_index_is_trusted_without_importing_any_op_module(fake):
    pkg = fake({"op_foo": "Foo", "op_bar": "Bar"})
    registry = pkg.registry()
    assert pkg.imported() == set()
    assert registry.resolve("", "Foo", 13).__name__ == "foo_1"
    assert pkg.imported() == {"op_foo"}


def test_an_op_module_added_after_the_index_is_found(fake):
    pkg = fake({"op_foo": "Foo"})
    pkg.write("op_new", "New")
    assert pkg.registry().resolve("", "New", 13).__name__ == "new_1"


def test_an_op_renamed_in_place_is_found_by_the_size_check(fake):
    pkg = fake({"op_foo": "Foo", "op_bar": "Bar"})
    pkg.write("op_foo", "Baz", extra="\n# renamed\n")  # the index still says op_foo defines Foo
    registry = pkg.registry()
    assert registry.resolve("", "Baz", 13).__name__ == "baz_renamed_1"
    assert registry.resolve("", "Foo", 13) is None
    assert pkg.imported() == {"op_foo"}  # op_bar's size is unchanged: not imported


def test_an_op_moved_to_another_module_is_found(fake):
    pkg = fake({"op_foo": "Foo", "op_bar": "Bar"})
    pkg.write("op_foo", "Qux", extra="\n")  # Foo left op_foo ...
    pkg.write("op_bar", "Foo", extra="\n# moved here\n")  # ... for op_bar (Bar left too)
    assert pkg.registry().resolve("", "Foo", 13).__name__ == "foo_renamed_1"


def test_a_removed_op_module_is_neither_listed_nor_fatal(fake):
    pkg = fake({"op_foo": "Foo", "op_bar": "Bar"})
    (pkg.folder / "op_bar.py").unlink()
    importlib.invalidate_caches()
    registry = pkg.registry()
    assert registry.resolve("", "Bar", 13) is None
    assert registry.op_types() == [("", "Foo")]


def test_listing_every_op_checks_the_index_first(fake):
    pkg = fake({"op_foo": "Foo"})
    pkg.write("op_foo", "Renamed", extra="\n\n")
    registry = pkg.registry()
    assert ("", "Renamed") in registry.op_types()
    assert [fn.__name__ for fn in registry.functions()] == ["renamed_renamed_1"]


def test_the_size_check_runs_once_and_not_for_ops_the_index_lists(fake, monkeypatch):
    pkg = fake({"op_foo": "Foo"})
    checks: list[int] = []
    real = registry_module._recheck
    monkeypatch.setattr(registry_module, "_recheck", lambda *a: checks.append(1) or real(*a))
    registry = pkg.registry()
    registry.resolve("", "Foo", 13)
    assert checks == []
    assert registry.resolve("", "Missing", 13) is None
    assert registry.resolve("", "AlsoMissing", 13) is None
    assert checks == [1]


def test_a_broken_edited_module_does_not_break_resolving_other_ops(fake, caplog):
    pkg = fake({"op_foo": "Foo", "op_bar": "Bar"})
    (pkg.folder / "op_bar.py").write_text("raise RuntimeError('half-written')\n")
    importlib.invalidate_caches()
    registry = pkg.registry()
    assert registry.resolve("", "Missing", 13) is None  # runs the check, which imports op_bar
    assert "op_bar failed to import" in caplog.text
    assert registry.resolve("", "Foo", 13).__name__ == "foo_1"


def test_op_modules_that_cannot_be_listed_are_all_imported(fake, monkeypatch):
    pkg = fake({"op_foo": "Foo", "op_bar": "Bar"})
    monkeypatch.setattr(op_index, "op_files", lambda package: None)
    registry = pkg.registry()
    assert pkg.imported() == {"op_foo", "op_bar"}
    assert registry.resolve("", "Bar", 13).__name__ == "bar_1"


def test_the_scan_refuses_an_op_defined_in_two_modules(fake):
    pkg = fake({"op_foo": "Foo"})
    pkg.write("op_foo_too", "Foo")
    with pytest.raises(GraphValidationError, match="defined in two modules"):
        scan_op_index(pkg.package)


def test_the_grad_domain_named_by_the_index_is_the_gradients_domain():
    assert op_index.GRAD_DOMAIN == GRAD_DOMAIN
    vjp = default_registry().resolve(GRAD_DOMAIN, "ReluGrad", 17)
    assert vjp is not None and vjp.__module__.endswith(".grad.grad_relu")


def test_resolving_a_forward_op_imports_neither_the_gradients_nor_pkgutil():
    code = textwrap.dedent(
        """
        import sys
        from gossamer.refimpl.registry import default_registry
        assert default_registry().resolve("", "Relu", 17) is not None
        print(sorted(m for m in ("gossamer.refimpl.grad", "pkgutil") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
