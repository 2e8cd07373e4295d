"""Which op versions and dtypes each backend implements, known without a model (`gossamer ops`).

The reference implements every version in the op registry (refimpl's ops plus the ops plugins
register); its dtype constraint is what each op's `@reference_op(dtypes=...)` declares for input 0.
A `KernelBackend` that keeps the stock `compile` runs a node only through a kernel registered for
the node's reference function (one op version) and only for the kernel's dtypes of input 0 (within
the reference's): its table is exact up to the per-node `supports` checks (attributes, shapes),
which are marked. Any other backend claims per model (`get_capability`) and cannot be enumerated:
the listing says so instead of guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..refimpl.dtypes import ALL, FLOAT, INT, NUMPY_DTYPES
from ..refimpl.errors import InputError
from ..refimpl.registry import spec_of
from .backend import Backend, KernelBackend
from .manager import availability, op_registry, plugin_state
from .reference_backend import REFERENCE

OpKey = tuple[str, str]  # (domain, op_type); "" is the default ONNX domain

# Named dtype groups, largest first, used to write a dtype set compactly.
_FLOAT8 = frozenset({"float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"})
DTYPE_GROUPS: dict[str, frozenset[str]] = {
    "all": ALL,
    "all but string": ALL - {"string"},
    "float": FLOAT,
    "int": INT,
    "float8": _FLOAT8 & ALL,
}
_ORDER = {name: i for i, name in enumerate(NUMPY_DTYPES)}
CONDITIONAL = "*"  # marks a kernel that may still decline a node for its attributes or shapes


@dataclass(frozen=True)
class VersionSupport:
    """One op version a backend implements: its `since`, the dtypes input 0 may have (None: the
    op does not constrain them) and whether a per-node check may still decline a node."""

    since: int
    dtypes: frozenset[str] | None
    conditional: bool = False


@dataclass
class BackendOps:
    """A backend and the op versions it implements (None: it cannot list them without a model)."""

    name: str
    priority: int
    unavailable: str | None  # why it cannot run here (None: available)
    ops: dict[OpKey, list[VersionSupport]] | None
    note: str = ""

    @property
    def enumerable(self) -> bool:
        return self.ops is not None


@dataclass
class OpTable:
    """Every op Gossamer runs and, per listed backend, what it implements of it."""

    ops: list[OpKey]
    backends: list[BackendOps] = field(default_factory=list)

    def rows(self) -> list[OpKey]:
        """The ops at least one listed enumerable backend implements."""
        return [k for k in self.ops if any(b.ops and k in b.ops for b in self.backends)]


def op_table(backends: list[str] | None = None) -> OpTable:
    """The table for the named backends (default: every registered one, the reference first, then
    by priority). Unknown names raise InputError listing the registered backends."""
    registered = plugin_state().backends
    if backends is not None:
        unknown = [n for n in backends if n not in registered]
        if unknown:
            raise InputError(f"unknown backend(s) {unknown}; registered: {sorted(registered)}")
        chosen = [registered[n] for n in dict.fromkeys(backends)]
    else:
        chosen = sorted(
            registered.values(), key=lambda b: (b.name != REFERENCE, -b.priority, b.name)
        )
    keys = sorted(op_registry().op_types(), key=lambda k: (k[0] != "", k[0], k[1]))
    return OpTable(keys, [backend_ops(b) for b in chosen])


def backend_ops(backend: Backend) -> BackendOps:
    """What one backend implements, read from the registry (reference) or its kernel table."""
    unavailable = availability(backend)
    if backend.name == REFERENCE:
        reference: dict[OpKey, list[VersionSupport]] = {}
        for fn in op_registry().functions():  # imports every op module: fine for a listing
            spec = spec_of(fn)
            reference.setdefault((spec.domain, spec.op_type), []).append(
                VersionSupport(spec.since, spec.dtypes)
            )
        for versions in reference.values():
            versions.sort(key=lambda v: v.since)
        return BackendOps(backend.name, backend.priority, unavailable, reference)
    if not isinstance(backend, KernelBackend) or type(backend).compile is not KernelBackend.compile:
        note = (
            "claims subgraphs per model: it cannot list its ops without one "
            f"(`gossamer explain MODEL --backends {backend.name}` shows what it takes)"
        )
        return BackendOps(backend.name, backend.priority, unavailable, None, note)
    ops: dict[OpKey, list[VersionSupport]] = {}
    for fn, k in backend.kernels.items():
        spec = spec_of(fn)
        allowed = spec.dtypes
        if k.dtypes is not None:
            allowed = k.dtypes if allowed is None else k.dtypes & allowed
        ops.setdefault((spec.domain, spec.op_type), []).append(
            VersionSupport(spec.since, allowed, k.supports is not None)
        )
    for versions in ops.values():
        versions.sort(key=lambda v: v.since)
    return BackendOps(backend.name, backend.priority, unavailable, dict(sorted(ops.items())))


def describe_dtypes(dtypes: frozenset[str] | None) -> str:
    """A dtype set, compactly: named groups (DTYPE_GROUPS) first, then single dtypes."""
    if dtypes is None:
        return "any"
    left, parts = set(dtypes), []
    for name, group in DTYPE_GROUPS.items():
        if group and group <= left:
            parts.append(name)
            left -= group
    parts += _sorted(frozenset(left)) or []
    return ", ".join(parts) or "none"


def _groups(versions: list[VersionSupport]) -> list[tuple[str, str]]:
    """(versions, dtypes) cells: versions with the same dtypes and conditions share one."""
    cells: dict[tuple[frozenset[str] | None, bool], list[int]] = {}
    for v in versions:
        cells.setdefault((v.dtypes, v.conditional), []).append(v.since)
    out = []
    for (dtypes, conditional), sinces in cells.items():
        mark = f" {CONDITIONAL}" if conditional else ""
        out.append((", ".join(map(str, sinces)), describe_dtypes(dtypes) + mark))
    return out


def domain_name(domain: str) -> str:
    return domain or "ai.onnx"


def legend(mark: str = CONDITIONAL) -> list[str]:
    """What the columns mean; `mark` is how the conditional marker is written (escaped in
    Markdown, where a leading `*` starts a list)."""
    groups = [
        f"  {name} = {describe_members(members)}"
        for name, members in DTYPE_GROUPS.items()
        if name not in ("all", "all but string") and members
    ]
    return [
        "versions: the opset versions (`since`) a backend implements; dtypes: what input 0 may be",
        *groups,
        "  any = the op does not constrain it",
        f"{mark} the kernel also checks the node's attributes and shapes and may decline it",
        "  (the node then runs on the reference; `gossamer explain MODEL` says why)",
    ]


def describe_members(group: frozenset[str]) -> str:
    return ", ".join(_sorted(group) or [])


def _sorted(dtypes: frozenset[str] | None) -> list[str] | None:
    return None if dtypes is None else sorted(dtypes, key=lambda d: (_ORDER.get(d, len(_ORDER)), d))


def format_ops_text(table: OpTable) -> str:
    """The table for a terminal: one row per op and backend, grouped by domain."""
    lines = [_headline(table)]
    for b in table.backends:
        status = "available" if b.unavailable is None else f"unavailable here: {b.unavailable}"
        lines.append(f"  {b.name} ({_rank(b)}, {status}): {_implements(b)}")
    lines += [*legend(), ""]
    rows = table.rows()
    width = max([len(k[1]) for k in rows] + [2]) + 2
    name_width = max([len(b.name) for b in table.backends] + [7]) + 2
    for domain in dict.fromkeys(k[0] for k in rows):
        in_domain = [k for k in rows if k[0] == domain]
        lines.append(f"{domain_name(domain)} ({len(in_domain)} op type(s))")
        lines.append(f"{'op':<{width}}{'backend':<{name_width}}{'versions':<14}dtypes (input 0)")
        for key in in_domain:
            first = True
            for b in table.backends:
                for versions, dtypes in _groups((b.ops or {}).get(key, [])):
                    op = key[1] if first else ""
                    lines.append(f"{op:<{width}}{b.name:<{name_width}}{versions:<14}{dtypes}")
                    first = False
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def format_ops_markdown(table: OpTable, regenerate: str) -> str:
    """The table as a Markdown page: a column per backend, a section per domain. `regenerate`
    is the command that writes the page (stated at its top)."""
    lines = [
        "# Operators and where they run",
        "",
        f"Generated by `{regenerate}`: regenerate with `{regenerate} > docs/ops.md`, do not edit "
        "by hand (tests/gossamer/test_ops_command.py fails when docs/ops.md is out of date).",
        "",
        _headline(table) + ".",
        "The reference runs every op; a faster backend runs the versions and dtypes listed in its "
        "column, and any node it declines falls back to the reference.",
        "",
        *(f"{line}  " for line in legend(mark="\\" + CONDITIONAL)),
        "",
        "| backend | rank | implements |",
        "|---|---|---|",
    ]
    lines += [f"| {b.name} | {_rank(b)} | {_implements(b)} |" for b in table.backends]
    listed = [b for b in table.backends if b.ops is not None]
    for domain in dict.fromkeys(k[0] for k in table.rows()):
        lines += ["", f"## {domain_name(domain)}", ""]
        lines.append("| op | " + " | ".join(b.name for b in listed) + " |")
        lines.append("|---|" + "---|" * len(listed))
        for key in (k for k in table.rows() if k[0] == domain):
            cells = [
                "<br>".join(f"{v}: {d}" for v, d in _groups((b.ops or {}).get(key, []))) or "–"
                for b in listed
            ]
            lines.append(f"| {key[1]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def format_ops_json(table: OpTable) -> str:
    """The table as JSON: backends (with `ops` null when they cannot be listed) and per op the
    versions each listed backend implements (`dtypes` null: not constrained)."""
    data = {
        "backends": [
            {
                "name": b.name,
                "priority": b.priority,
                "unavailable": b.unavailable,
                "enumerable": b.enumerable,
                "note": b.note,
            }
            for b in table.backends
        ],
        "ops": [
            {
                "domain": domain_name(key[0]),
                "op_type": key[1],
                "backends": {
                    b.name: [
                        {
                            "since": v.since,
                            "dtypes": _sorted(v.dtypes),
                            "conditional": v.conditional,
                        }
                        for v in b.ops[key]
                    ]
                    for b in table.backends
                    if b.ops is not None and key in b.ops
                },
            }
            for key in table.rows()
        ],
    }
    return json.dumps(data, indent=1)


def _headline(table: OpTable) -> str:
    rows = table.rows()
    versions = {
        (k, v.since) for b in table.backends for k in rows for v in (b.ops or {}).get(k, [])
    }
    domains = len({k[0] for k in rows})
    names = ", ".join(b.name for b in table.backends)
    return (
        f"{len(rows)} op types ({len(versions)} versions) in {domains} domain(s); backends: {names}"
    )


def _implements(b: BackendOps) -> str:
    if b.ops is None:
        return b.note
    versions = sum(len(v) for v in b.ops.values())
    return f"{versions} versions of {len(b.ops)} op types"


def _rank(b: BackendOps) -> str:
    return "the fallback for every node" if b.name == REFERENCE else f"priority {b.priority}"
