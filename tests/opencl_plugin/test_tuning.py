"""Work-size tuning: searched per launch, persisted per device and kernel source, read back by
later sessions; a corrupt table is ignored; `gossamer tune` needs a tunable backend."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gossamer.opencl_plugin import tuning
from gossamer.opencl_plugin.tuning import TuningTable, candidates, rounded, search

from .test_kernels import one_node, rand


@pytest.mark.parametrize(
    ("costs", "chosen"),
    [
        ({(64,): 1.0, (8,): 0.95, (16,): 1.2}, (64,)),  # 5 % faster is noise: keep the default
        ({(64,): 1.0, (8,): 0.95, (16,): 0.5}, (16,)),  # clearly faster: taken
    ],
)
def test_the_default_is_kept_unless_clearly_beaten(monkeypatch, costs, chosen):
    clock = [0.0]
    monkeypatch.setattr(tuning.time, "perf_counter", lambda: clock[0])

    def run(option):  # each launch advances the clock by the option's cost
        clock[0] += costs[option]

    assert search(run, list(costs), budget=1e9) == chosen


def test_candidates_start_with_the_default_and_fit_the_device():
    found = candidates("gemm_f32", (8, 8, 1), max_wg=16)
    assert found[0] == (4, 4, 1)
    assert all(lx * ly <= 16 for lx, ly, _ in found)  # type: ignore[misc]


def test_global_sizes_are_rounded_up_to_the_local_size():
    assert rounded((10, 3, 2), (4, 4, 1)) == (12, 4, 2)
    assert rounded((10,), None) == (10,)


def test_a_corrupt_table_is_ignored(tmp_path):
    path = tmp_path / "tuning.json"
    path.write_text("{ not json")
    assert TuningTable(path).entries == {}
    path.write_text(json.dumps({"entries": {"k[1]()": [8]}}))
    assert TuningTable(path).local_size("k[1]()") == (8,)


@pytest.mark.usefixtures("device")
def test_tuned_sizes_persist_and_results_do_not_change(fresh_cache, monkeypatch):
    from gossamer.opencl_plugin.kernels import conv

    import gossamer

    monkeypatch.setenv(conv.ENV_ALGORITHM, "direct")  # one algorithm: only work sizes change
    graph, feeds = one_node("Conv", {"x": rand(1, 4, 10, 10)}, {"w": rand(8, 4, 3, 3)})
    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    before = sess.run(None, feeds)[0]
    (part,) = [o.impl for o in sess._program.overrides.values() if o.partition]
    found = part.tune(2.0)
    assert found  # every launch of the plan was searched
    stored = json.loads(next(fresh_cache.glob("tuning-*.json")).read_text())["entries"]
    assert set(found) <= set(stored)
    np.testing.assert_array_equal(sess.run(None, feeds)[0], before)
    tuning._TABLES.clear()  # a new process reads the table from disk
    again = gossamer.load(graph, backends=["opencl"], optimize=0)
    (part2,) = [o.impl for o in again._program.overrides.values() if o.partition]
    assert {key: list(local) for _, _, local, key in part2.plans()[0].launches} == stored


@pytest.mark.usefixtures("device")
def test_tune_command_reports_latency(tmp_path, capsys, fresh_cache):
    from gossamer.cli import main

    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(rand(4, 3, 3, 3), "w")
    model = helper.make_model(
        helper.make_graph(
            [helper.make_node("Conv", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
            [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
            [w],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    assert main(["tune", str(path), "--backends", "opencl", "--budget", "2", "--runs", "2"]) == 0
    assert "latency:" in capsys.readouterr().out
    assert main(["tune", str(path), "--backends", "reference"]) == 2
    assert "no compiled partition here can be tuned" in capsys.readouterr().err


@pytest.mark.usefixtures("device")
def test_tuned_convolution_algorithm_persists_and_results_still_match(fresh_cache, monkeypatch):
    """A 3x3 stride-1 convolution has three variants (Winograd F(4x4), F(2x2), direct or
    im2col): the tuner times each, keeps one per layer shape, and a later session uses it."""
    from gossamer.opencl_plugin.kernels import conv

    import gossamer

    monkeypatch.delenv(conv.ENV_ALGORITHM, raising=False)
    graph, feeds = one_node("Conv", {"x": rand(1, 16, 12, 12)}, {"w": rand(16, 16, 3, 3) * 0.2})
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, feeds)[0]
    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    (part,) = [o.impl for o in sess._program.overrides.values() if o.partition]
    ((site, (node, options, _)),) = part.plans()[0].variants.items()
    assert set(options) == {"winograd4", "winograd2", "direct"}
    found = part.tune(3.0)
    chosen = found[site][1]
    assert chosen in options
    stored = json.loads(next(fresh_cache.glob("tuning-*.json")).read_text())["choices"]
    assert stored == {site: chosen}
    np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=1e-4, atol=1e-4)
    tuning._TABLES.clear()  # a new process reads the table from disk
    again = gossamer.load(graph, backends=["opencl"], optimize=0)
    (part2,) = [o.impl for o in again._program.overrides.values() if o.partition]
    assert part2.plans()[0].variants[site][2] == chosen
    np.testing.assert_allclose(again.run(None, feeds)[0], expected, rtol=1e-4, atol=1e-4)


def _conv_partition(monkeypatch):
    from gossamer.opencl_plugin.kernels import conv

    import gossamer

    monkeypatch.delenv(conv.ENV_ALGORITHM, raising=False)
    graph, feeds = one_node("Conv", {"x": rand(1, 16, 12, 12)}, {"w": rand(16, 16, 3, 3) * 0.2})
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, feeds)[0]
    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    (part,) = [o.impl for o in sess._program.overrides.values() if o.partition]
    return sess, part, feeds, expected


@pytest.mark.usefixtures("device")
@pytest.mark.parametrize("plan_faster", [False, True])
def test_a_variant_is_kept_only_when_the_whole_plan_runs_faster(
    fresh_cache, monkeypatch, plan_faster
):
    """Timed alone, a node's variant can look faster and the run not be (launch costs):
    the plan with the new choices is timed against the plan before, and must win by 10 %."""
    from gossamer.opencl_plugin import partition_tuning as pt

    sess, part, feeds, expected = _conv_partition(monkeypatch)
    ((site, (_, _, before)),) = part.plans()[0].variants.items()
    assert before == "direct"  # a tiny layer: one launch

    def node_time(rt, plan, node):  # Winograd F(4x4) looks 10x faster alone
        return 0.1 if next(iter(plan.variants.values()))[2] == "winograd4" else 1.0

    monkeypatch.setattr(pt, "time_node", node_time)
    monkeypatch.setattr(pt, "plan_times", lambda rt, old, new: (1.0, 0.5 if plan_faster else 0.95))
    found = pt.tune_variants(part, 30.0)
    want = "winograd4" if plan_faster else "direct"
    assert found[site] == (before, want)
    assert part.tuning.choices[site] == want
    assert part.plans()[0].variants[site][2] == want
    np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.usefixtures("device")
@pytest.mark.parametrize("plan_faster", [False, True])
def test_local_sizes_are_kept_only_when_the_whole_plan_runs_faster(
    fresh_cache, monkeypatch, plan_faster
):
    from gossamer.opencl_plugin import partition_tuning as pt

    sess, part, feeds, expected = _conv_partition(monkeypatch)
    plan = part.plans()[0]
    defaults = [local for _, _, local in plan.enqueue]
    monkeypatch.setattr(pt, "search", lambda run, options, budget: options[-1])  # not the default
    monkeypatch.setattr(pt, "plan_times", lambda rt, old, new: (1.0, 0.5 if plan_faster else 0.95))
    found = pt.tune_local_sizes(part, 30.0)
    now = [local for _, _, local in plan.enqueue]
    assert (now != defaults) == plan_faster
    assert any(old != new for old, new in found.values()) == plan_faster
    for key, (_, new) in found.items():
        assert part.tuning.local_size(key) == (tuple(new) if new else None)
    np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.usefixtures("device")
def test_the_plan_check_runs_the_trial_plan_on_live_buffers(fresh_cache, monkeypatch):
    """plan_times runs the trial plan's launches for real (its pool must outlive them: a
    temporary trial plan released its buffers first and the run crashed)."""
    import gc

    from gossamer.opencl_plugin import partition_tuning as pt

    sess, part, feeds, expected = _conv_partition(monkeypatch)
    ((site, _),) = part.plans()[0].variants.items()
    monkeypatch.setattr(  # F(4x4) looks faster alone: the plan check runs the trial plan
        pt, "time_node", lambda rt, plan, node: 0.1 if plan.variants[site][2] == "winograd4" else 1
    )
    timed = []
    real = pt.plan_times
    monkeypatch.setattr(pt, "plan_times", lambda *a: timed.append(1) or real(*a))
    for _ in range(3):
        part.tuning.choices.pop(site, None)
        part.rebuild()
        pt.tune_variants(part, 30.0)
        gc.collect()
        np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=1e-4, atol=1e-4)
    assert len(timed) == 3
