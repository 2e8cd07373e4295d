"""The C kernel families of the CPU backend, found in the tree, and a source subset built from a
chosen few of them.

Standard library only: setup.py loads this file by path (GOSSAMER_KERNEL_FAMILIES) before
anything of gossamer is importable. A family is `src/<family>.h/.c/_kernels.inc` (plus its
`wrappers/<family>.pxi`); it is compiled once per SIMD level through `src/levels/all_kernels.inc`
and, if the header declares a `gk_<family>_kernels` table, dispatched through `src/dispatch.c`.
Nothing here names today's families: they are discovered, and so are their dependencies (a file
that includes another family's header, or uses a global symbol another family's C file defines,
e.g. `gk_polyphase_on`, defined in conv.c and read by pool.c).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

_INCLUDE = re.compile(r'#include\s+"(?:\.\./|src/)?([A-Za-z0-9_]+?)(?:_kernels\.inc|\.h)"')
_EXTERN_FROM = re.compile(r'cdef\s+extern\s+from\s+"src/([A-Za-z0-9_]+)\.h"')
# a global definition at column 0 of a .c file: `int gk_x = 1;`, `void gk_f(...) {`
_C_DEFINITION = re.compile(
    r"^(?!static\b|extern\b|typedef\b|return\b|#)"
    r"[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*(?:\(|=|;|\[)",
    re.M,
)
# what a wrapper file offers Python: def/cpdef functions, classes, constants
_PXI_NAME = re.compile(
    r"^(?:(?:cp)?def\s+(\w+)|(?:cdef\s+)?class\s+(\w+)|([A-Z_][A-Z0-9_]*)\s*=)", re.M
)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@dataclass
class Family:
    """One kernel family: its files (relative to cython_kernels/) and what it needs."""

    name: str
    files: list[str]
    dispatched: bool  # has a gk_<name>_kernels table in dispatch.h
    needs: set[str] = field(default_factory=set)  # other families, directly
    python_names: set[str] = field(default_factory=set)  # what wrappers/<name>.pxi defines


def discover(kernels_root: Path) -> dict[str, Family]:
    """Every family under `kernels_root` (the cython_kernels folder) with its direct needs."""
    src = kernels_root / "src"
    dispatch_h = (src / "dispatch.h").read_text()
    names = sorted(p.name[: -len("_kernels.inc")] for p in src.glob("*_kernels.inc"))
    families: dict[str, Family] = {}
    for name in names:
        files = [f"src/{name}{ext}" for ext in (".h", ".c", "_kernels.inc")]
        files += [f"wrappers/{name}.pxi"]
        files = [f for f in files if (kernels_root / f).exists()]
        dispatched = f"gk_{name}_kernels" in dispatch_h
        families[name] = Family(name, files, dispatched)
    defined = {n: _c_definitions(kernels_root, fam) for n, fam in families.items()}
    for fam in families.values():
        text = "\n".join((kernels_root / f).read_text() for f in fam.files)
        used = set(_IDENTIFIER.findall(text))
        needs = set(_INCLUDE.findall(text)) | set(_EXTERN_FROM.findall(text))
        needs |= {other for other, symbols in defined.items() if symbols & used}
        fam.needs = (needs & set(families)) - {fam.name}
        pxi = kernels_root / f"wrappers/{fam.name}.pxi"
        if pxi.exists():
            fam.python_names = {a or b or c for a, b, c in _PXI_NAME.findall(pxi.read_text())}
    return families


def _c_definitions(kernels_root: Path, fam: Family) -> set[str]:
    """Global symbols the family's .c file defines (static ones are private to it)."""
    c_file = kernels_root / f"src/{fam.name}.c"
    if not c_file.exists():
        return set()
    text = re.sub(r"/\*.*?\*/", "", c_file.read_text(), flags=re.S)
    return {m for m in _C_DEFINITION.findall(text) if m.startswith(("gk_", "sp_"))}


def closure(families: dict[str, Family], chosen: set[str]) -> set[str]:
    """`chosen` with every family they need, transitively."""
    unknown = chosen - set(families)
    if unknown:
        raise ValueError(
            f"unknown kernel famil{'y' if len(unknown) == 1 else 'ies'} {sorted(unknown)}; "
            f"known: {sorted(families)}"
        )
    todo, done = list(chosen), set()
    while todo:
        name = todo.pop()
        if name not in done:
            done.add(name)
            todo.extend(families[name].needs)
    return done


def families_for_python_names(families: dict[str, Family], names: set[str]) -> set[str]:
    """The families whose wrappers define these extension attributes (e.g. `gemm_a`)."""
    return {f.name for f in families.values() if f.python_names & names}


def write_subset(kernels_root: Path, chosen: set[str], out: Path) -> list[str]:
    """Writes a copy of the extension's sources with only `chosen` (closed under their needs)
    into `out` (laid out as cython_kernels/ is: _ext.pyx, src/, wrappers/); returns the sources
    to compile, relative to `out`'s parent's working directory as absolute paths. The tree's own
    files are only read."""
    families = discover(kernels_root)
    keep = closure(families, chosen)
    drop = set(families) - keep
    family_files = {f for fam in families.values() for f in fam.files}
    kept_files = {f for name in keep for f in families[name].files}
    if out.exists():
        shutil.rmtree(out)
    for path in sorted(kernels_root.rglob("*")):
        rel = path.relative_to(kernels_root).as_posix()
        if not path.is_file() or not rel.startswith(("src/", "wrappers/")):
            continue
        if rel in family_files and rel not in kept_files:
            continue
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    _filter_lines(out / "src/levels/all_kernels.inc", drop, r'#include\s+"\.\./{}_kernels\.inc"')
    _write_dispatch(kernels_root, out, keep, families)
    pyx = (kernels_root / "_ext.pyx").read_text()
    (out / "_ext.pyx").write_text(_without_lines(pyx, drop, r'include\s+"wrappers/{}\.pxi"'))
    return [str(out / "_ext.pyx")] + sorted(str(p) for p in (out / "src").rglob("*.c"))


def _without_lines(text: str, drop: set[str], pattern: str) -> str:
    for name in drop:
        text = re.sub(r"^[ \t]*" + pattern.format(re.escape(name)) + r".*\n", "", text, flags=re.M)
    return text


def _filter_lines(path: Path, drop: set[str], pattern: str) -> None:
    path.write_text(_without_lines(path.read_text(), drop, pattern))


def _write_dispatch(
    kernels_root: Path, out: Path, keep: set[str], families: dict[str, Family]
) -> None:
    """dispatch.h / dispatch.c with the dropped families' headers, table members and per-level
    tables removed; the level-table initialiser is regenerated in the struct's member order."""
    dropped = [f for f in families.values() if f.name not in keep]
    header = (kernels_root / "src/dispatch.h").read_text()
    for fam in dropped:
        header = _without_lines(header, {fam.name}, r'#include\s+"{}\.h"')
        header = re.sub(rf"^[ \t]*const gk_{fam.name}_kernels \*\w+;.*\n", "", header, flags=re.M)
    (out / "src/dispatch.h").write_text(header)
    members = re.findall(r"^[ \t]*const (gk_\w+_kernels) \*\w+;", header, flags=re.M)
    source = (kernels_root / "src/dispatch.c").read_text()
    for fam in dropped:
        source = re.sub(
            rf"^[ \t]*GK_FAMILY_TABLES\(gk_{fam.name}_kernels\).*\n", "", source, flags=re.M
        )
    table = re.compile(r"#define GK_LEVEL_TABLE\(SFX\)(?:[^\n]*\\\n)*[^\n]*\n")
    if not table.search(source):
        raise ValueError("src/dispatch.c: no `#define GK_LEVEL_TABLE(SFX)` initialiser to rewrite")
    entries = ", ".join(f"&{m}_##SFX" for m in members)
    source = table.sub(lambda _: f"#define GK_LEVEL_TABLE(SFX) {{{entries}}}\n", source, count=1)
    (out / "src/dispatch.c").write_text(source)
