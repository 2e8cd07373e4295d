"""gossamer.train.Trainer: fit lowers the loss and raises accuracy, frozen weights stay put,
training-mode BatchNorm updates its running statistics, and the export runs in onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.grad.schedules import Schedule

from gossamer.train import Trainer

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tests.gossamer._train_models import small_cnn  # noqa: E402


def _blobs(n: int = 240, d: int = 8, classes: int = 3, seed: int = 0):
    """Gaussian blobs: a synthetic task a small MLP separates (sklearn is not a dependency)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, d)) * 2.0
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.standard_normal((n, d))).astype(np.float32)
    return x, y


def _mlp(d: int = 8, hidden: int = 16, classes: int = 3, seed: int = 1) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(
            (rng.standard_normal((d, hidden)) * 0.3).astype(np.float32), "fc1.w"
        ),
        numpy_helper.from_array(np.zeros(hidden, np.float32), "fc1.b"),
        numpy_helper.from_array(
            (rng.standard_normal((classes, hidden)) * 0.3).astype(np.float32), "fc2.w"
        ),
        numpy_helper.from_array(np.zeros(classes, np.float32), "fc2.b"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "fc1.w"], ["h0"], name="mm"),
        helper.make_node("Add", ["h0", "fc1.b"], ["h1"], name="add"),
        helper.make_node("Relu", ["h1"], ["h"], name="relu"),
        helper.make_node("Gemm", ["h", "fc2.w", "fc2.b"], ["logits"], transB=1, name="fc2"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", d])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", classes])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_fit_lowers_the_loss_and_accuracy_rises_well_above_chance():
    x, y = _blobs()
    trainer = Trainer(_mlp(), loss="sparse_cross_entropy", optimizer="adam", lr=0.02)
    before = trainer.evaluate({"x": x}, y)
    history = trainer.fit({"x": x}, y, epochs=8, batch_size=32, seed=0)
    after = trainer.evaluate({"x": x}, y)
    assert len(history["loss"]) == 8
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert after["loss"] < before["loss"]
    assert after["accuracy"] > 0.9  # chance: 1/3
    assert after["accuracy"] > before["accuracy"]


def test_frozen_weights_do_not_move_and_the_rest_do():
    x, y = _blobs(64)
    trainer = Trainer(
        _mlp(), loss="sparse_cross_entropy", optimizer="sgd", lr=0.1, frozen=["fc1.*"]
    )
    start = {k: np.array(v) for k, v in trainer.trained_graph().initializers.items()}
    trainer.fit({"x": x}, y, epochs=1, batch_size=16)
    assert trainer.trainable == ["fc2.w", "fc2.b"]
    after = trainer.trained_graph().initializers
    np.testing.assert_array_equal(after["fc1.w"], start["fc1.w"])
    np.testing.assert_array_equal(after["fc1.b"], start["fc1.b"])
    assert not np.allclose(after["fc2.w"], start["fc2.w"])


def test_a_step_is_the_optimiser_applied_to_the_backward_programs_gradient():
    x, y = _blobs(8)
    trainer = Trainer(_mlp(), loss="sparse_cross_entropy", optimizer="sgd", lr=0.5)
    start = {k: v.copy() for k, v in trainer.weights.items()}
    names = ["loss", *trainer._gradients.values()]
    feeds = {"x": x, **start, **trainer.loss.feeds(y, (8, 3), np.float32)}
    grads = dict(zip(names, trainer._train.run(names, feeds)))
    trainer.train_step({"x": x}, y)
    for w, g in trainer._gradients.items():
        np.testing.assert_allclose(trainer.weights[w], start[w] - 0.5 * grads[g], rtol=1e-6)


def test_a_schedule_and_clipping_run_and_same_seed_gives_same_weights():
    x, y = _blobs(48)

    def run():
        t = Trainer(
            _mlp(),
            loss="sparse_cross_entropy",
            optimizer="sgd",
            lr=Schedule(0.2, "cosine", warmup=2, total_steps=6),
            clip_norm=1.0,
        )
        t.fit({"x": x}, y, epochs=2, batch_size=16, seed=3)
        return t

    a, b = run(), run()
    assert a.optimizer.steps == 6
    for k in a.weights:
        np.testing.assert_array_equal(a.weights[k], b.weights[k])


def test_training_mode_batchnorm_updates_running_stats_and_export_runs_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 4, 4)).astype(np.float32) + 1.0
    y = (x.mean(axis=(1, 2, 3)) > 1.0).astype(np.int64) + (x[:, 0, 0, 0] > 2.0)
    trainer = Trainer(
        small_cnn(2, dropout=True, fc_bias=False),
        loss="sparse_cross_entropy",
        optimizer="adamw",
        lr=0.01,
    )
    assert set(trainer._stats.values()) == {"bn.mean", "bn.var"}
    trainer.fit({"x": x}, y, epochs=2, batch_size=16)
    assert not np.allclose(trainer.weights["bn.mean"], 0.0)  # running mean moved towards ~1
    path = tmp_path / "tuned.onnx"
    trainer.export(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = session.run(["logits"], {"x": x})[0]
    np.testing.assert_allclose(trainer.predict({"x": x}), want, rtol=1e-4, atol=1e-5)
    exported = onnx.load(str(path))
    stored = {i.name: numpy_helper.to_array(i) for i in exported.graph.initializer}
    np.testing.assert_array_equal(stored["bn.mean"], trainer.weights["bn.mean"])
    assert all(n.op_type != "Dropout" or len(n.input) < 3 for n in exported.graph.node)


def test_regression_with_mse_and_a_gsm_export(tmp_path):
    import gossamer

    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    target = (x @ rng.standard_normal((8, 3)) * 0.5).astype(np.float32)
    trainer = Trainer(_mlp(), loss="mse", optimizer="adam", lr=0.01)
    history = trainer.fit({"x": x}, target, epochs=10, batch_size=16)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    trainer.export(tmp_path / "reg.gsm")
    got = gossamer.load(tmp_path / "reg.gsm", optimize=0).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, trainer.predict({"x": x}), rtol=1e-5, atol=1e-6)


def test_user_errors_are_typed():
    x, y = _blobs(8)
    with pytest.raises(InputError, match="nothing to train"):
        Trainer(_mlp(), frozen=["*"])
    trainer = Trainer(_mlp(), loss="sparse_cross_entropy")
    with pytest.raises(InputError, match="same number of samples"):
        trainer.fit({"x": x}, y[:5])
    with pytest.raises(InputError, match="batch_size"):
        trainer.fit({"x": x}, y, batch_size=0)
    with pytest.raises(InputError, match=".onnx or .gsm"):
        trainer.export("model.pt")


def test_the_loss_can_apply_to_a_named_output():
    model = _mlp()
    model.graph.node.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=1, name="sm"))
    model.graph.output.insert(0, helper.make_tensor_value_info("probs", TensorProto.FLOAT, None))
    x, y = _blobs(64)
    trainer = Trainer(model, loss="sparse_cross_entropy", output="logits", lr=0.05)
    history = trainer.fit({"x": x}, y, epochs=3, batch_size=16)
    assert history["loss"][-1] < history["loss"][0]
    assert trainer.evaluate({"x": x}, y)["accuracy"] > 0.8
    with pytest.raises(InputError, match="no output 'scores'"):
        Trainer(model, output="scores")


def test_resuming_from_a_checkpoint_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    x, y = _blobs(48)

    def trainer():
        return Trainer(_mlp(), loss="sparse_cross_entropy", optimizer="adam", lr=0.02)

    straight = trainer()
    straight.fit({"x": x}, y, epochs=4, batch_size=16, seed=7)
    first = trainer()
    first.fit({"x": x}, y, epochs=2, batch_size=16, seed=7, checkpoint_dir=tmp_path, keep=1)
    assert [p.name for p in tmp_path.iterdir()] == ["epoch-000002.npz"]
    (tmp_path / ".partial-crashed.npz").write_bytes(b"half a checkpoint")  # a killed save
    resumed = trainer()
    history = resumed.fit(
        {"x": x}, y, epochs=4, batch_size=16, seed=7, checkpoint_dir=tmp_path, resume=True
    )
    assert resumed.epochs_done == 4 and history == straight.history
    assert resumed.optimizer.steps == straight.optimizer.steps == 12
    for k in straight.weights:
        np.testing.assert_array_equal(resumed.weights[k], straight.weights[k])
    kept = sorted(p.name for p in tmp_path.iterdir())  # keep=3; the partial file is swept
    assert kept == ["epoch-000002.npz", "epoch-000003.npz", "epoch-000004.npz"]


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    x, y = _blobs(16)
    other = Trainer(_mlp(), loss="sparse_cross_entropy", frozen=["fc1.*"])
    other.fit({"x": x}, y, epochs=1, checkpoint_dir=tmp_path)
    with pytest.raises(InputError, match="another model"):
        Trainer(_mlp(), loss="sparse_cross_entropy").fit(
            {"x": x}, y, epochs=2, checkpoint_dir=tmp_path, resume=True
        )


def test_an_op_without_a_gradient_is_gossamers_typed_error():
    import gossamer

    model = _mlp()
    model.graph.node[2].op_type = "Erf"  # relu -> erf: no VJP between fc1 and the loss
    with pytest.raises(gossamer.GradientNotDefinedError, match=r"Erf \(relu\)") as err:
        Trainer(model, loss="sparse_cross_entropy")
    assert isinstance(err.value, gossamer.UnsupportedModelError)
    assert "GradientNotDefinedError" in gossamer.__all__
    Trainer(model, loss="sparse_cross_entropy", frozen=["fc1.*"])  # frozen: no gradient needed


def test_gradients_are_those_a_step_applies_and_change_nothing():
    x, y = _blobs(32)
    trainer = Trainer(_mlp(), loss="sparse_cross_entropy", optimizer="sgd", lr=0.5)
    before = {k: v.copy() for k, v in trainer.weights.items()}
    loss, grads = trainer.gradients({"x": x}, y)
    assert set(grads) == set(trainer.trainable)
    for k, v in before.items():
        np.testing.assert_array_equal(trainer.weights[k], v)
    assert trainer.train_step({"x": x}, y) == loss
    for k in trainer.trainable:  # plain SGD: w <- w - lr g
        np.testing.assert_allclose(trainer.weights[k], before[k] - 0.5 * grads[k], rtol=1e-6)
