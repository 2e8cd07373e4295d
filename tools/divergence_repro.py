"""The repro `gossamer compare` leaves behind for the first divergent node.

Written into one folder:
    node.gsm                the divergent node alone (or, if side A ran it inside a fused partition,
                            that whole partition), its constant inputs embedded as initializers
    inputs_<side B>/*.npy   every input it read on the trusted side
    inputs_gossamer/*.npy   side A's inputs, only where they already differ from side B's
    expected_<side B>/*.npy side B's outputs for it
    node.onnx               the single ONNX node, when side B is onnxruntime
    repro.py                loads the above and runs the node on the reference and on the backend
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..plugins.partition import extract_partition
from ..refimpl.dtypes import name_of
from ..refimpl.interpreter import describe_value
from ..refimpl.ir import PARTITION_DOMAIN, Graph, Node, Value
from ..refimpl.model_format import save_gsm
from ..session import Session
from .tensor_diff import TensorDiff, diff_values, merge_diffs

if TYPE_CHECKING:
    from .first_divergence import Comparison

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def write_repro(
    out: Path,
    graph: Graph,
    sess_a: Session,
    node: Node,
    producer: Node,
    env_a: dict[str, Any],
    env_b: dict[str, Any],
    result: Comparison,
    model: Any,
) -> tuple[str | None, str]:
    """Writes the repro; returns (folder, what it holds), or (None, why it was not written)."""
    unit, backend, why = replay_unit(graph, sess_a, node, producer, env_b)
    if why:
        return None, f"not written: {why}"
    fed = [v.name for v in unit.inputs]
    reads = fed + list(unit.initializers)
    files = {name: f"{i:02d}_{_UNSAFE.sub('_', name)[:60]}.npy" for i, name in enumerate(reads)}
    out.mkdir(parents=True, exist_ok=True)
    side_b = result.side_b
    folders = [f"inputs_{side_b}"]
    _save(out / folders[0], {n: env_b.get(n, unit.initializers.get(n)) for n in reads}, files)
    differing = [n for n in fed if n in env_a and not _same(env_a[n], env_b[n])]
    if differing:
        folders.append("inputs_gossamer")
        _save(out / folders[1], {n: env_a[n] for n in fed if n in env_a}, files)
        if any(n not in env_a for n in fed):  # a partition-internal value: fall back to side B's
            _save(out / folders[1], {n: env_b[n] for n in fed if n not in env_a}, files)
    outputs = [v.name for v in unit.outputs]
    out_files = {
        name: f"{i:02d}_{_UNSAFE.sub('_', name)[:60]}.npy" for i, name in enumerate(outputs)
    }
    _save(out / f"expected_{side_b}", {n: env_b.get(n) for n in outputs}, out_files)
    save_gsm(unit, out / "node.gsm")
    wrote_onnx = False
    if side_b == "onnxruntime" and producer.domain != PARTITION_DOMAIN:
        from .ort_intermediates import single_node_onnx

        blob = single_node_onnx(
            model, node, {n: env_b.get(n, unit.initializers.get(n)) for n in reads}
        )
        if blob is not None:
            (out / "node.onnx").write_bytes(blob)
            wrote_onnx = True
    # names and paths come from the model: in the docstring only as escaped text, in code as reprs
    script = _SCRIPT.format(
        model=_doc_text(result.model),
        node=_doc_text(node.name),
        op=_doc_text(node.op_type),
        value=_doc_text(result.first.value if result.first else ""),
        unit=f"partition {_doc_text(producer.name)} ({len(unit.nodes)} nodes)"
        if producer.domain == PARTITION_DOMAIN
        else f"node {_doc_text(node.name)}",
        backend=backend,
        backend_doc=_doc_text(backend),
        side_b=side_b,
        side_b_doc=_doc_text(side_b),
        feeds={n: files[n] for n in fed},
        all_inputs={n: files[n] for n in reads},
        outputs=out_files,
        folders=folders,
        rtol=result.rtol,
        atol=result.atol,
    )
    (out / "repro.py").write_text(script)
    held = ["node.gsm", f"{len(reads)} input(s) in {', '.join(folders)}", "repro.py"]
    if wrote_onnx:
        held.insert(1, "node.onnx")
    if differing:
        held.append(f"side A's inputs already differ: {', '.join(differing)}")
    return str(out), "; ".join(held) + f"; run: python {out / 'repro.py'}"


def replay_unit(
    graph: Graph, sess: Session, node: Node, producer: Node, env_b: dict[str, Any]
) -> tuple[Graph, str, str]:
    """What to replay for the divergent node, typed from side B's inputs: (the node alone, or the
    partition side A ran it in; the backend it ran on; "" or why it cannot be replayed)."""
    if producer.domain == PARTITION_DOMAIN:
        found = _partition_unit(graph, sess, node, producer)
        if found is None:
            return Graph([], [], []), "?", f"no partition of side A holds node {node.name!r}"
        unit, backend = found
    else:  # side A's own node (after optimisation it may be a fused node of another name)
        unit = extract_partition(graph, (producer.name,), _UNSAFE.sub("_", producer.name) or "node")
        unit.outputs = [Value(o) for o in producer.outputs if o]
        backend = sess.placement.backend_of.get(producer.name, "reference")
    for v in unit.inputs:
        if not isinstance(env_b.get(v.name), np.ndarray):
            what = describe_value(env_b.get(v.name)) if v.name in env_b else "not visible on side B"
            return unit, backend, f"input {v.name!r} is {what}, not a tensor"
    unit.inputs = [Value(v.name, name_of(env_b[v.name].dtype), env_b[v.name].shape)
                   for v in unit.inputs]  # fmt: skip
    return unit, backend, ""


def _partition_unit(
    graph: Graph, sess: Session, node: Node, producer: Node
) -> tuple[Graph, str] | None:
    """The partition side A ran `node` in: the claim that holds it, or that writes its outputs."""
    wanted = {o for o in node.outputs if o}
    by_name = {n.name: n for n in graph.nodes}
    for backend, claim in sess.placement.partitions:
        writes = {o for name in claim.nodes if name in by_name for o in by_name[name].outputs}
        if node.name in claim.nodes or wanted & writes:
            return extract_partition(graph, claim.nodes, producer.name), backend.name
    return None


def replay_locally(
    graph: Graph,
    sess: Session,
    node: Node,
    producer: Node,
    env_b: dict[str, Any],
    *,
    rtol: float,
    atol: float,
) -> tuple[TensorDiff | None, str]:
    """Runs the divergent node (or side A's partition holding it) alone on side A's backend, fed
    side B's inputs, and diffs its outputs with side B's: does the node itself compute
    differently, or does it only carry in a difference its inputs already had?
    Returns (the diff, or None if it could not be replayed; a one-line note)."""
    unit, backend, why = replay_unit(graph, sess, node, producer, env_b)
    if why:
        return None, f"not replayed: {why}"
    names = [v.name for v in unit.outputs if isinstance(env_b.get(v.name), np.ndarray)]
    if not names:
        return None, "not replayed: side B has none of its outputs as a tensor"
    try:
        alone = Session(unit, backends=[] if backend == "reference" else [backend])
        ran = {alone.placement.backend_of.get(n.name, "reference") for n in unit.nodes}
        if ran != {backend}:
            return None, f"not replayed: {backend} does not take the node alone (ran on {ran})"
        got = alone.run(names, {v.name: env_b[v.name] for v in unit.inputs})
    except Exception as err:  # a replay is a diagnosis: its failure must not hide the report
        return None, f"not replayed: {type(err).__name__}: {str(err).splitlines()[0][:200]}"
    parts = [diff_values(g, env_b[n], rtol=rtol, atol=atol) for n, g in zip(names, got)]
    return merge_diffs(parts), ""


def _save(folder: Path, arrays: dict[str, Any], files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in arrays.items():
        if isinstance(value, np.ndarray):
            np.save(folder / files[name], value, allow_pickle=False)


def _doc_text(value: Any) -> str:
    """`value` as text that cannot end or escape the generated script's docstring: its repr (no
    raw newlines), every double quote backslash-escaped."""
    return repr(str(value)).replace('"', '\\"')


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a is b


_SCRIPT = '''"""Repro written by `gossamer compare` for {model}.

First divergence: node {node} ({op}), output {value}, ran on backend {backend_doc}.
This replays {unit} (node.gsm) on the reference and on {backend_doc}, with each folder of saved
inputs, and prints how far apart the outputs are; then checks the reference against the outputs
the {side_b_doc} side produced. The backend must be registered (installed by entry point).
Run: python repro.py
"""

from pathlib import Path

import numpy as np

import gossamer
from gossamer.tools.tensor_diff import diff_values

HERE = Path(__file__).resolve().parent
BACKEND = {backend!r}
SIDE_B = {side_b!r}
FEEDS = {feeds!r}  # node.gsm input -> file in each inputs folder
ALL_INPUTS = {all_inputs!r}  # constants included (for node.onnx)
OUTPUTS = {outputs!r}  # output -> file in expected_<SIDE_B>/
INPUT_FOLDERS = {folders!r}
RTOL, ATOL = {rtol!r}, {atol!r}


def load(folder, files):
    return {{name: np.load(HERE / folder / file) for name, file in files.items()}}


def show(label, names, got, want):
    for name, g, w in zip(names, got, want):
        d = diff_values(g, w, rtol=RTOL, atol=ATOL)
        verdict = "DIVERGES" if d.diverges else "agrees"
        print(f"  {{label}} {{name}}: {{verdict}}  max-abs {{d.max_abs:.3g}}"
              f"  max-rel {{d.max_rel:.3g}}  cosine {{d.cosine:.6f}}"
              f"  outside tolerance {{d.mismatches}}/{{d.size}} {{d.problem}}")


def main():
    reference = gossamer.load(HERE / "node.gsm", backends=[])
    names = list(OUTPUTS)
    try:
        chosen = [] if BACKEND == "reference" else [BACKEND]
        backend = gossamer.load(HERE / "node.gsm", backends=chosen)
    except gossamer.GossamerError as err:  # e.g. a test-only backend, not installed here
        print(f"cannot load backend {{BACKEND!r}} here: {{err}}")
    else:
        print("placement:", backend.placement.backend_of)
        for folder in INPUT_FOLDERS:
            feeds = load(folder, FEEDS)
            print(f"with {{folder}}:")
            got, want = backend.run(names, feeds), reference.run(names, feeds)
            show(f"{{BACKEND}} vs reference:", names, got, want)
    saved = f"expected_{{SIDE_B}}"
    expected = load(saved, {{n: f for n, f in OUTPUTS.items() if (HERE / saved / f).exists()}})
    want = reference.run(names, load(INPUT_FOLDERS[0], FEEDS))
    print(f"saved {{SIDE_B}} outputs:")
    have = list(expected)
    mine = [want[names.index(n)] for n in have]
    show(f"reference vs {{SIDE_B}}:", have, mine, list(expected.values()))
    if (HERE / "node.onnx").exists():
        import onnxruntime as ort

        sess = ort.InferenceSession(str(HERE / "node.onnx"), providers=["CPUExecutionProvider"])
        got = sess.run(names, load(INPUT_FOLDERS[0], ALL_INPUTS))
        show("onnxruntime vs reference:", names, got, want)


if __name__ == "__main__":
    main()
'''
