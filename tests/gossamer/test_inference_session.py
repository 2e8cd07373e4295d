"""gossamer.InferenceSession: onnxruntime's API, checked against onnxruntime itself."""

import gc
import json
import logging
import sys
import time
import warnings

import numpy as np
import onnx
import pytest
from gossamer.plugins import Backend, hookimpl
from gossamer.plugins import manager as plugin_manager
from gossamer.refimpl import model_format
from gossamer.refimpl.dtypes import ONNX_TYPE_CODES
from onnx import TensorProto, helper

import gossamer
from gossamer import builtin_models
from tests.conftest import ONNX_MODELS, make_model, tensor_info

ort = pytest.importorskip("onnxruntime")

BUILTIN = ["tiny_cnn", "mobilenet_v2", "resnet18", "resnet50", "squeezenet1_1", "minilm_encoder"]


@pytest.fixture(scope="module")
def tiny():
    return builtin_models.tiny_cnn()


@pytest.fixture(scope="module")
def tiny_bytes(tiny):
    return tiny.SerializeToString()


@pytest.fixture
def image():
    return np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)


def _args(node_args):
    return [(a.name, a.type, a.shape) for a in node_args]


def _same_dims(ours, theirs):
    """Equal dims, except that a derived symbolic dim may be spelt differently (both are str)."""
    if len(ours) != len(theirs):
        return False
    return all(
        isinstance(o, str) if isinstance(t, str) and ("(" in t or t.startswith("unk__")) else o == t
        for o, t in zip(ours, theirs)
    )


def _assert_same_signature(ours, theirs):
    for get in ("get_inputs", "get_outputs", "get_overridable_initializers"):
        mine, oracle = getattr(ours, get)(), getattr(theirs, get)()
        assert [(a.name, a.type) for a in mine] == [(a.name, a.type) for a in oracle], get
        for a, b in zip(mine, oracle):
            assert _same_dims(a.shape, b.shape), (get, a, b)


def _identity(elem_type, declared_in, declared_out=None):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_value_info("x", declared_in)],
        [helper.make_value_info("y", declared_out or onnx.TypeProto())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model.SerializeToString()


# ---- NodeArg: names, types, shapes as onnxruntime reports them ---------------------------------
@pytest.mark.parametrize("name", BUILTIN)
def test_node_args_of_builtin_models_match_onnxruntime(name):
    model = getattr(builtin_models, name)().SerializeToString()
    _assert_same_signature(gossamer.InferenceSession(model), ort.InferenceSession(model))


@pytest.mark.models
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_node_args_of_real_models_match_onnxruntime(models_dir, name):
    path = str(models_dir / name)
    ours = gossamer.InferenceSession(path, providers=["reference"])
    _assert_same_signature(ours, ort.InferenceSession(path))


def test_every_element_type_is_spelt_as_onnxruntime_spells_it():
    from gossamer.model_signature import ORT_ELEMENT_TYPES

    for code, name in ONNX_TYPE_CODES.items():
        assert ORT_ELEMENT_TYPES[name] == TensorProto.DataType.Name(code).lower(), name


@pytest.mark.parametrize(
    "code", [TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64, TensorProto.BOOL,
             TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.STRING, TensorProto.UINT8,
             TensorProto.FLOAT8E4M3FN],
)  # fmt: skip
def test_tensor_types_and_dims_match_onnxruntime(code):
    declared = helper.make_tensor_type_proto(code, [2, "n", None, "?"])
    model = _identity(code, declared, declared)
    ours, theirs = gossamer.InferenceSession(model), ort.InferenceSession(model)
    assert _args(ours.get_inputs()) == _args(theirs.get_inputs())
    assert _args(ours.get_outputs()) == _args(theirs.get_outputs())
    assert ours.get_inputs()[0].shape == [2, "n", None, "?"]


@pytest.mark.parametrize(
    "declared",
    [
        helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [2])),
        helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.INT64, [3])),
        helper.make_tensor_type_proto(TensorProto.FLOAT, None),  # rank unknown
        helper.make_tensor_type_proto(TensorProto.FLOAT, []),  # a scalar
    ],
    ids=["sequence", "optional", "no-shape", "scalar"],
)
def test_sequence_optional_and_unranked_node_args_match_onnxruntime(declared):
    out = declared if declared.WhichOneof("value") != "optional_type" else None
    model = _identity(None, declared, out)
    ours, theirs = gossamer.InferenceSession(model), ort.InferenceSession(model)
    assert _args(ours.get_inputs()) == _args(theirs.get_inputs())
    assert _args(ours.get_outputs()) == _args(theirs.get_outputs())


def test_undeclared_output_shape_is_the_inferred_one_and_declared_symbols_stay():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Relu", ["x"], ["z"])],
        [tensor_info("x", np.float32, [2, "n"])],
        [tensor_info("y", np.float32, None), tensor_info("z", np.float32, ["b", "m"])],
    ).SerializeToString()
    ours, theirs = gossamer.InferenceSession(model), ort.InferenceSession(model)
    assert _args(ours.get_outputs()) == _args(theirs.get_outputs())
    assert _args(ours.get_outputs()) == [
        ("y", "tensor(float)", [2, "n"]),
        ("z", "tensor(float)", [2, "m"]),  # an inferred size replaces a declared symbol
    ]


def test_initializers_listed_as_inputs_are_overridable_not_required():
    w = helper.make_tensor("w", TensorProto.FLOAT, [3], [1, 2, 3])
    model = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [tensor_info("x", np.float32, [3]), tensor_info("w", np.float32, [3])],
        [tensor_info("y", np.float32, [3])],
        [w],
    ).SerializeToString()
    ours, theirs = gossamer.InferenceSession(model), ort.InferenceSession(model)
    assert _args(ours.get_inputs()) == _args(theirs.get_inputs()) == [("x", "tensor(float)", [3])]
    assert _args(ours.get_overridable_initializers()) == [("w", "tensor(float)", [3])]
    assert _args(theirs.get_overridable_initializers()) == [("w", "tensor(float)", [3])]
    x = np.ones(3, np.float32)
    feed = {"x": x, "w": np.full(3, 10, np.float32)}
    np.testing.assert_array_equal(ours.run(None, feed)[0], theirs.run(None, feed)[0])


def test_node_arg_str_and_equality_follow_onnxruntime(tiny_bytes):
    ours = gossamer.InferenceSession(tiny_bytes).get_inputs()[0]
    assert str(ours) == str(ort.InferenceSession(tiny_bytes).get_inputs()[0])
    assert ours == gossamer.InferenceSession(tiny_bytes).get_inputs()[0]
    ours.shape.append(7)  # a copy: the session's description does not change
    assert ours.shape == ["batch", 3, 64, 64]


# ---- running -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "level", ["ORT_DISABLE_ALL", "ORT_ENABLE_BASIC", "ORT_ENABLE_EXTENDED", "ORT_ENABLE_ALL"]
)
def test_results_match_onnxruntime_at_every_optimisation_level(tiny_bytes, image, level):
    ours_opts, their_opts = gossamer.SessionOptions(), ort.SessionOptions()
    ours_opts.graph_optimization_level = getattr(gossamer.GraphOptimizationLevel, level)
    their_opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    ours = gossamer.InferenceSession(tiny_bytes, ours_opts).run(None, {"image": image})
    theirs = ort.InferenceSession(tiny_bytes, their_opts).run(None, {"image": image})
    assert isinstance(ours, list) and isinstance(ours[0], np.ndarray)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4, atol=1e-6)


@pytest.mark.models
@pytest.mark.parametrize("name", ["mtcnn_rnet.onnx", "silero_vad_v6_openvino_16k.onnx"])
def test_real_model_results_match_onnxruntime_with_default_options(models_dir, name):
    path = str(models_dir / name)
    ours, theirs = gossamer.InferenceSession(path), ort.InferenceSession(path)
    rng = np.random.default_rng(0)
    feed = {
        a.name: rng.standard_normal([d if isinstance(d, int) else 2 for d in a.shape]).astype(
            np.float32
        )
        for a in theirs.get_inputs()
    }
    for mine, oracle in zip(ours.run(None, feed), theirs.run(None, feed)):
        np.testing.assert_allclose(mine, oracle, rtol=1e-3, atol=1e-4)


def test_run_takes_output_names_positionally_or_by_keyword(tiny_bytes, image):
    sess = gossamer.InferenceSession(tiny_bytes)
    positional = sess.run(["probabilities"], {"image": image})
    keyword = sess.run(output_names=["probabilities"], input_feed={"image": image})
    everything = sess.run([], {"image": image}, None)
    np.testing.assert_array_equal(positional[0], keyword[0])
    np.testing.assert_array_equal(positional[0], everything[0])


def test_outputs_come_in_the_order_asked():
    model = make_model(
        [helper.make_node("Neg", ["x"], ["a"]), helper.make_node("Abs", ["x"], ["b"])],
        [tensor_info("x", np.float32, [2])],
        [tensor_info("a", np.float32, [2]), tensor_info("b", np.float32, [2])],
    )
    x = np.array([-1, 2], np.float32)
    b, a = gossamer.InferenceSession(model).run(["b", "a"], {"x": x})
    np.testing.assert_array_equal(a, -x)
    np.testing.assert_array_equal(b, np.abs(x))


def test_scalar_outputs_are_arrays_as_in_onnxruntime():
    model = make_model(
        [helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0)],
        [tensor_info("x", np.float32, [3])],
        [tensor_info("y", np.float32, [])],
    ).SerializeToString()
    ours = gossamer.InferenceSession(model).run(None, {"x": np.ones(3, np.float32)})[0]
    theirs = ort.InferenceSession(model).run(None, {"x": np.ones(3, np.float32)})[0]
    assert type(ours) is type(theirs) is np.ndarray
    assert ours.shape == theirs.shape == ()


# ---- model sources -------------------------------------------------------------------------------
def test_every_model_source_gives_the_same_session(tmp_path, tiny, tiny_bytes, image):
    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(tiny_bytes)
    graph = gossamer.load(tiny, optimize=0).graph
    gsm_path = tmp_path / "m.gsm"
    model_format.save_gsm(graph, gsm_path)
    expected = gossamer.InferenceSession(tiny_bytes).run(None, {"image": image})[0]
    for source in (str(onnx_path), onnx_path, tiny, str(gsm_path), gsm_path.read_bytes(), graph):
        sess = gossamer.InferenceSession(source)
        assert _args(sess.get_inputs()) == [("image", "tensor(float)", ["batch", 3, 64, 64])]
        np.testing.assert_allclose(sess.run(None, {"image": image})[0], expected, rtol=1e-6)


def test_unloadable_sources_raise_typed_errors(tmp_path):
    with pytest.raises(TypeError, match="Unable to load from type"):
        gossamer.InferenceSession(42)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gossamer.InferenceSession(str(tmp_path / "missing.onnx"))
    with pytest.raises(gossamer.ModelFormatError, match="cannot read ONNX model"):
        gossamer.InferenceSession(b"not a model")


def test_load_takes_a_model_proto_without_serialising_it(monkeypatch, tiny, image):
    def refuse(*args, **kwargs):
        raise AssertionError("the ModelProto was serialised and parsed again")

    monkeypatch.setattr(onnx, "load_model_from_string", refuse)
    sess = gossamer.load(tiny)
    assert sess.run(None, {"image": image})[0].shape == (2, 10)


def test_session_given_a_path_says_to_use_load_or_inference_session(tmp_path):
    with pytest.raises(gossamer.InputError, match=r"gossamer\.load\(.*gossamer\.InferenceSession"):
        gossamer.Session(str(tmp_path / "model.onnx"))
    with pytest.raises(gossamer.InputError, match="got a bytes"):
        gossamer.Session(b"\x08\x07")


# ---- model metadata ------------------------------------------------------------------------------
def test_model_metadata_matches_onnxruntime():
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "gname",
        [tensor_info("x", np.float32, [2])],
        [tensor_info("y", np.float32, [2])],
        doc_string="what the graph does",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="prod",
        producer_version="1.2",
        domain="org.example",
        model_version=7,
        doc_string="what the model does",
    )
    helper.set_model_props(model, {"author": "me", "license": "MIT"})
    model.ir_version = 8
    fields = ["producer_name", "graph_name", "domain", "description", "graph_description",
              "version", "custom_metadata_map"]  # fmt: skip
    data = model.SerializeToString()
    ours = gossamer.InferenceSession(data).get_modelmeta()
    theirs = ort.InferenceSession(data).get_modelmeta()
    assert {f: getattr(ours, f) for f in fields} == {f: getattr(theirs, f) for f in fields}
    assert ours.custom_metadata_map == {"author": "me", "license": "MIT"}


def test_model_without_version_reports_onnxruntimes_no_version(tiny_bytes):
    ours = gossamer.InferenceSession(tiny_bytes).get_modelmeta()
    theirs = ort.InferenceSession(tiny_bytes).get_modelmeta()
    assert ours.version == theirs.version == 2**63 - 1
    assert (ours.graph_name, ours.producer_name) == (theirs.graph_name, theirs.producer_name)


def test_optimisation_does_not_leak_into_custom_metadata(tiny_bytes):
    opts = gossamer.SessionOptions()
    opts.graph_optimization_level = gossamer.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = gossamer.InferenceSession(tiny_bytes, opts)
    assert "gossamer.optimize" in sess.session.graph.metadata
    assert sess.get_modelmeta().custom_metadata_map == {}


# ---- SessionOptions ------------------------------------------------------------------------------
SHARED_OPTIONS = [
    "intra_op_num_threads", "inter_op_num_threads", "enable_profiling", "log_severity_level",
    "log_verbosity_level", "logid", "optimized_model_filepath", "enable_mem_pattern",
    "enable_cpu_mem_arena", "enable_mem_reuse", "use_deterministic_compute",
]  # fmt: skip


def test_session_options_defaults_are_onnxruntimes():
    ours, theirs = gossamer.SessionOptions(), ort.SessionOptions()
    assert {n: getattr(ours, n) for n in SHARED_OPTIONS} == {
        n: getattr(theirs, n) for n in SHARED_OPTIONS
    }
    assert int(ours.graph_optimization_level) == int(theirs.graph_optimization_level) == 99
    assert int(ours.execution_mode) == int(theirs.execution_mode)


def test_enum_names_and_values_are_onnxruntimes():
    for ours, theirs in [
        (gossamer.GraphOptimizationLevel, ort.GraphOptimizationLevel),
        (gossamer.ExecutionMode, ort.ExecutionMode),
    ]:
        assert {m.name: int(m) for m in ours} == {
            name: int(value) for name, value in theirs.__members__.items()
        }


@pytest.mark.parametrize("options_class", ["SessionOptions", "RunOptions"])
def test_unknown_option_attributes_raise_attribute_error_as_in_onnxruntime(options_class):
    for module in (gossamer, ort):
        options = getattr(module, options_class)()
        with pytest.raises(AttributeError):
            options.no_such_option = 1
        with pytest.raises(AttributeError):
            options.no_such_option  # noqa: B018


def test_options_of_the_wrong_type_raise_type_error():
    opts = gossamer.SessionOptions()
    with pytest.raises(TypeError, match="intra_op_num_threads must be int"):
        opts.intra_op_num_threads = "2"
    with pytest.raises(TypeError, match="must be GraphOptimizationLevel"):
        opts.graph_optimization_level = 3  # as onnxruntime: the enum, not a bare int
    with pytest.raises(TypeError, match="str -> str"):
        opts.add_session_config_entry("key", 1)


def test_config_entries_round_trip_and_a_missing_one_is_a_typed_error():
    opts, run_opts = gossamer.SessionOptions(), gossamer.RunOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    run_opts.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert run_opts.get_run_config_entry("memory.enable_memory_arena_shrinkage") == "cpu:0"
    with pytest.raises(gossamer.SessionConfigError, match="no configuration entry 'nope'"):
        opts.get_session_config_entry("nope")


@pytest.mark.parametrize(
    "level, o_level",
    [("ORT_DISABLE_ALL", 0), ("ORT_ENABLE_BASIC", 1), ("ORT_ENABLE_EXTENDED", 2),
     ("ORT_ENABLE_LAYOUT", 2), ("ORT_ENABLE_ALL", 3)],
)  # fmt: skip
def test_optimisation_levels_map_to_gossamer_levels(tiny_bytes, level, o_level):
    opts = gossamer.SessionOptions()
    opts.graph_optimization_level = getattr(gossamer.GraphOptimizationLevel, level)
    graph = gossamer.InferenceSession(tiny_bytes, opts).session.graph
    if o_level == 0:
        assert "gossamer.optimize" not in graph.metadata
        assert len(graph.nodes) == len(gossamer.load(tiny_bytes, optimize=0).graph.nodes)
    else:
        assert json.loads(graph.metadata["gossamer.optimize"])["level"] == o_level


def test_intra_op_threads_cap_the_session_threads(tiny_bytes):
    opts = gossamer.SessionOptions()
    assert gossamer.InferenceSession(tiny_bytes, opts).session.threads is None  # 0: default
    opts.intra_op_num_threads = 1
    assert gossamer.InferenceSession(tiny_bytes, opts).session.threads == 1


def test_log_severity_sets_the_gossamer_logger_level(tiny_bytes):
    logger = logging.getLogger("gossamer")
    before = logger.level
    try:
        opts = gossamer.SessionOptions()
        for severity, level in [(0, logging.DEBUG), (3, logging.ERROR)]:
            opts.log_severity_level = severity
            gossamer.InferenceSession(tiny_bytes, opts)
            assert logger.level == level
        opts.log_severity_level = 9
        with pytest.raises(gossamer.SessionConfigError, match="log_severity_level"):
            gossamer.InferenceSession(tiny_bytes, opts)
    finally:
        logger.setLevel(before)


@pytest.mark.parametrize("suffix", [".onnx", ".gsm"])
def test_optimized_model_filepath_writes_the_optimised_graph(tmp_path, tiny_bytes, image, suffix):
    opts = gossamer.SessionOptions()
    opts.optimized_model_filepath = str(tmp_path / f"optimised{suffix}")
    sess = gossamer.InferenceSession(tiny_bytes, opts)
    written = gossamer.load(tmp_path / f"optimised{suffix}", optimize=0)
    assert [n.op_type for n in written.graph.nodes] == [n.op_type for n in sess.session.graph.nodes]
    assert any(n.domain == "gossamer" for n in written.graph.nodes)  # fused at ORT_ENABLE_ALL
    np.testing.assert_allclose(
        written.run(None, {"image": image})[0], sess.run(None, {"image": image})[0], rtol=1e-6
    )


def test_optimized_model_filepath_in_ort_format_is_refused(tmp_path, tiny_bytes):
    opts = gossamer.SessionOptions()
    opts.optimized_model_filepath = str(tmp_path / "model.ort")
    with pytest.raises(gossamer.SessionConfigError, match=r"\.ort.*\.onnx or \.gsm"):
        gossamer.InferenceSession(tiny_bytes, opts)


def test_max_memory_config_entry_is_the_memory_budget(tiny_bytes, image):
    opts = gossamer.SessionOptions()
    opts.add_session_config_entry("gossamer.max_memory", "1K")
    sess = gossamer.InferenceSession(tiny_bytes, opts)
    assert sess.session.max_memory == 1024
    with pytest.raises(gossamer.MemoryBudgetError, match="over the memory budget of 1.0 KiB"):
        sess.run(None, {"image": image})


def test_get_session_options_is_a_copy(tiny_bytes):
    opts = gossamer.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = gossamer.InferenceSession(tiny_bytes, opts)
    opts.intra_op_num_threads = 2
    assert sess.get_session_options().intra_op_num_threads == 1


def test_run_timeout_config_entry_stops_the_run(tiny_bytes, image):
    sess = gossamer.InferenceSession(tiny_bytes)
    run_opts = gossamer.RunOptions()
    run_opts.add_run_config_entry("gossamer.timeout", "1e-9")
    with pytest.raises(gossamer.RunTimeoutError):
        sess.run(None, {"image": image}, run_opts)
    run_opts.add_run_config_entry("gossamer.timeout", "soon")
    with pytest.raises(gossamer.SessionConfigError, match="number of seconds"):
        sess.run(None, {"image": image}, run_opts)


# ---- providers -----------------------------------------------------------------------------------
class _Unavailable(Backend):
    name = "absent_npu"

    def is_available(self):
        return "no NPU on this machine"


class _Registers:
    @hookimpl
    def gossamer_register_backends(self, register):
        register(_Unavailable())


@pytest.fixture
def absent_backend():
    plugin_manager.register_plugin(_Registers(), "absent_npu_plugin")
    yield "absent_npu"
    plugin_manager.unregister_plugin("absent_npu_plugin")


def _backends_used(sess):
    return set(sess.session.placement.backend_of.values())


def test_available_providers_are_the_backends_then_cpu():
    providers = gossamer.get_available_providers()
    assert providers[-1] == "CPUExecutionProvider"
    assert "reference" in providers
    assert gossamer.get_device() == "CPU"


def test_cpu_provider_is_the_default_backend_choice(tiny_bytes, monkeypatch):
    monkeypatch.setenv("GOSSAMER_BACKENDS", "reference")
    for providers in (None, [], ["CPUExecutionProvider"]):
        sess = gossamer.InferenceSession(tiny_bytes, providers=providers)
        assert sess.get_providers() == ["CPUExecutionProvider"]
        assert sess.get_provider_options() == {"CPUExecutionProvider": {}}
        assert _backends_used(sess) == {"reference"}


def test_a_backend_is_named_as_a_provider_and_the_reference_completes_it(tiny_bytes):
    sess = gossamer.InferenceSession(tiny_bytes, providers=["reference"])
    assert sess.get_providers() == ["reference"]
    assert _backends_used(sess) == {"reference"}
    if "cython" in gossamer.get_available_providers():
        sess = gossamer.InferenceSession(tiny_bytes, providers=["cython"])
        assert sess.get_providers() == ["cython", "reference"]
        assert "cython" in _backends_used(sess)


def test_provider_options_come_as_pairs_or_a_parallel_list(tiny_bytes):
    with pytest.warns(UserWarning, match="have no effect"):
        pairs = gossamer.InferenceSession(tiny_bytes, providers=[("reference", {"level": 1})])
    with pytest.warns(UserWarning, match="have no effect"):
        parallel = gossamer.InferenceSession(
            tiny_bytes, providers=["reference"], provider_options=[{"level": 1}]
        )
    assert (
        pairs.get_provider_options()
        == parallel.get_provider_options()
        == {
            "reference": {"level": "1"}  # str -> str, as onnxruntime normalises them
        }
    )


def test_a_provider_onnxruntime_knows_but_gossamer_lacks_is_skipped_with_a_warning(tiny_bytes):
    for engine in (ort, gossamer):
        with pytest.warns(UserWarning, match="'CUDAExecutionProvider' is not in available"):
            sess = engine.InferenceSession(
                tiny_bytes, providers=["CUDAExecutionProvider", "CPUExecutionProvider"]
            )
        assert sess.get_providers() == ["CPUExecutionProvider"]


def test_an_unavailable_backend_is_skipped_with_its_reason(tiny_bytes, absent_backend):
    assert absent_backend not in gossamer.get_available_providers()
    with pytest.warns(UserWarning, match="no NPU on this machine"):
        sess = gossamer.InferenceSession(tiny_bytes, providers=[absent_backend])
    assert sess.get_providers() == ["CPUExecutionProvider"]


def test_a_blocked_backend_is_skipped_with_its_reason(tiny_bytes, monkeypatch):
    monkeypatch.setenv("GOSSAMER_BLOCK", "cython")
    plugin_manager.reset_plugins()
    try:
        with pytest.warns(UserWarning, match="cython.*blocked by GOSSAMER_BLOCK"):
            sess = gossamer.InferenceSession(tiny_bytes, providers=["cython"])
        assert sess.get_providers() == ["CPUExecutionProvider"]
    finally:
        monkeypatch.delenv("GOSSAMER_BLOCK")
        plugin_manager.reset_plugins()


def test_an_unknown_provider_name_is_a_value_error(tiny_bytes):
    with pytest.raises(gossamer.SessionConfigError, match="unknown provider 'CPUExecutionProvidr'"):
        gossamer.InferenceSession(tiny_bytes, providers=["CPUExecutionProvidr"])
    assert issubclass(gossamer.SessionConfigError, ValueError)


@pytest.mark.parametrize(
    "providers, options, message",
    [
        ([("reference", "fast")], None, "strings or \\(string, dict\\) tuples"),
        (["reference"], [{}, {}], "same length"),
        ([("reference", {})], [{}], "Only string values"),
        (["reference"], ["fast"], "must be dicts"),
    ],
)
def test_malformed_providers_are_refused_as_onnxruntime_refuses_them(
    tiny_bytes, providers, options, message
):
    with pytest.raises(gossamer.SessionConfigError, match=message):
        gossamer.InferenceSession(tiny_bytes, providers=providers, provider_options=options)
    with pytest.raises(ValueError, match=message):
        ort.InferenceSession(
            tiny_bytes, providers=providers, provider_options=options, enable_fallback=0
        )


def test_providers_that_are_not_a_sequence_are_refused(tiny_bytes):
    with pytest.raises(gossamer.SessionConfigError, match="should be a sequence"):
        gossamer.InferenceSession(tiny_bytes, providers=7)


def test_a_single_provider_name_is_taken_as_a_list_of_one(tiny_bytes):
    # onnxruntime would read each letter as a provider name, warn 20 times and use its CPU provider
    sess = gossamer.InferenceSession(tiny_bytes, providers="reference")
    assert sess.get_providers() == ["reference"]


def test_duplicate_providers_are_ignored_with_a_warning(tiny_bytes):
    with pytest.warns(UserWarning, match="Duplicate provider 'reference'"):
        sess = gossamer.InferenceSession(tiny_bytes, providers=["reference", "reference"])
    assert sess.get_providers() == ["reference"]


def test_set_providers_rebuilds_the_session(tiny_bytes, image, monkeypatch):
    monkeypatch.setenv("GOSSAMER_BACKENDS", "reference")
    sess = gossamer.InferenceSession(tiny_bytes, providers=["reference"])
    before = sess.run(None, {"image": image})[0]
    old = sess.session
    sess.set_providers(["CPUExecutionProvider"])
    assert sess.session is not old and sess.get_providers() == ["CPUExecutionProvider"]
    np.testing.assert_array_equal(sess.run(None, {"image": image})[0], before)


# ---- errors --------------------------------------------------------------------------------------
def test_feed_errors_are_gossamer_input_errors(tiny_bytes, image):
    sess = gossamer.InferenceSession(tiny_bytes)
    cases = [
        (["nope"], {"image": image}, "not outputs"),
        (None, {"image": image.astype(np.float64)}, "expects dtype float32, got float64"),
        (None, {"image": image[:, :, :32]}, "axis 2 must be 64"),
        (None, {}, "needs input"),
        (None, {"image": image, "extra": image}, "no input"),
        ("probabilities", {"image": image}, "list of names"),
    ]
    for names, feed, message in cases:
        with pytest.raises(gossamer.InputError, match=message):
            sess.run(names, feed)


def test_missing_inputs_are_a_value_error_in_both_engines(tiny_bytes):
    for engine in (ort, gossamer):
        with pytest.raises(ValueError):
            engine.InferenceSession(tiny_bytes).run(None, {})


def test_wrong_argument_types_raise_type_error(tiny_bytes, image):
    with pytest.raises(TypeError, match="sess_options must be a gossamer.SessionOptions"):
        gossamer.InferenceSession(tiny_bytes, ort.SessionOptions())
    with pytest.raises(TypeError, match="unexpected keyword"):
        gossamer.InferenceSession(tiny_bytes, providers_list=["reference"])
    with pytest.raises(TypeError, match="run_options must be a gossamer.RunOptions"):
        gossamer.InferenceSession(tiny_bytes).run(None, {"image": image}, {"log": 1})


def test_onnxruntime_keyword_arguments_are_accepted(tiny_bytes, image):
    sess = gossamer.InferenceSession(
        tiny_bytes, enable_fallback=0, read_config_from_model=0, disabled_optimizers=["X"]
    )
    assert sess.run(None, {"image": image})[0].shape == (2, 10)


# ---- profiling -----------------------------------------------------------------------------------
def _profiling(tmp_path, name="prof"):
    opts = gossamer.SessionOptions()
    opts.enable_profiling = True
    opts.profile_file_prefix = str(tmp_path / name)
    return opts


def test_profile_is_a_chrome_trace_with_one_track_per_run(tmp_path, tiny_bytes, image):
    sess = gossamer.InferenceSession(tiny_bytes, _profiling(tmp_path), providers=["reference"])
    started = sess.get_profiling_start_time_ns()
    assert abs(started - time.time_ns()) < 60e9  # onnxruntime's clock: ns since the epoch
    sess.run(None, {"image": image})
    sess.run(None, {"image": image})
    path = sess.end_profiling()
    assert path.startswith(str(tmp_path / "prof_")) and path.endswith(".json")
    events = json.loads(open(path).read())["traceEvents"]
    runs = [e for e in events if e.get("cat") == "run"]
    nodes = [e for e in events if e["ph"] == "X" and e.get("cat") != "run"]
    assert len(runs) == 2
    assert len(nodes) == 2 * len(sess.session.graph.nodes)
    first = next(e for e in nodes if e["name"] == sess.session.graph.nodes[0].name)
    assert first["args"]["backend"] == "reference"
    assert first["args"]["inputs"][0] == "float32[2,3,64,64]"
    assert sess.end_profiling() == ""  # ended: nothing more is written
    sess.run(None, {"image": image})  # and nothing more is recorded
    assert len(list(tmp_path.glob("prof_*.json"))) == 1


def test_profiling_off_writes_nothing(tmp_path, tiny_bytes, image):
    sess = gossamer.InferenceSession(tiny_bytes)
    sess.run(None, {"image": image})
    assert sess.end_profiling() == ""
    assert sess.get_profiling_start_time_ns() == 0


def test_profile_is_written_when_the_session_goes_away_as_in_onnxruntime(tmp_path, tiny_bytes):
    for engine in (ort, gossamer):
        opts = engine.SessionOptions()
        opts.enable_profiling = True
        opts.profile_file_prefix = str(tmp_path / engine.__name__)
        sess = engine.InferenceSession(tiny_bytes, opts)
        sess.run(None, {"image": np.zeros((1, 3, 64, 64), np.float32)})
        del sess
        gc.collect()
        assert len(list(tmp_path.glob(f"{engine.__name__}_*.json"))) == 1, engine.__name__


def test_set_providers_writes_the_profile_so_far_and_starts_another(tmp_path, tiny_bytes, image):
    sess = gossamer.InferenceSession(tiny_bytes, _profiling(tmp_path))
    sess.run(None, {"image": image})
    sess.set_providers(["reference"])
    assert len(list(tmp_path.glob("prof_*.json"))) == 1
    sess.run(None, {"image": image})
    second = json.loads(open(sess.end_profiling()).read())["traceEvents"]
    assert len([e for e in second if e.get("cat") == "run"]) == 1
    assert len(list(tmp_path.glob("prof_*.json"))) == 2


# ---- an onnxruntime script, unchanged ------------------------------------------------------------
USER_SCRIPT = """
import numpy as np
import onnxruntime as ort

opts = ort.SessionOptions()
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
opts.intra_op_num_threads = 1
opts.inter_op_num_threads = 1
opts.log_severity_level = 3
opts.enable_mem_pattern = True
opts.enable_profiling = True
opts.profile_file_prefix = PROFILE_PREFIX
opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
assert "CPUExecutionProvider" in ort.get_available_providers()
sess = ort.InferenceSession(MODEL_PATH, sess_options=opts, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
shape = [d if isinstance(d, int) else 2 for d in inp.shape]
dtype = {"tensor(float)": np.float32, "tensor(int64)": np.int64}[inp.type]
x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
first = sess.run([sess.get_outputs()[0].name], {inp.name: x})[0]
every = sess.run(None, input_feed={inp.name: x}, run_options=ort.RunOptions())
meta = sess.get_modelmeta()
profile = sess.end_profiling()
result = {
    "providers": sess.get_providers(),
    "inputs": [(a.name, a.type, a.shape) for a in sess.get_inputs()],
    "outputs": [(a.name, a.type, a.shape) for a in sess.get_outputs()],
    "first": first,
    "every": every,
    "meta": (meta.producer_name, meta.graph_name, meta.version, meta.custom_metadata_map),
    "profile": profile,
}
"""


def _run_script(engine, monkeypatch, **values):
    monkeypatch.setitem(sys.modules, "onnxruntime", engine)
    namespace = {k.upper(): v for k, v in values.items()}
    exec(USER_SCRIPT, namespace)
    return namespace["result"]


def test_an_onnxruntime_script_runs_unchanged_on_both_engines(tmp_path, tiny_bytes, monkeypatch):
    model = tmp_path / "tiny.onnx"
    model.write_bytes(tiny_bytes)
    logger = logging.getLogger("gossamer")
    level = logger.level
    results = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # neither engine has anything to warn about
            for engine in (ort, gossamer):
                prefix = str(tmp_path / engine.__name__)
                results[engine] = _run_script(
                    engine, monkeypatch, model_path=str(model), profile_prefix=prefix
                )
    finally:
        logger.setLevel(level)
    ours, theirs = results[gossamer], results[ort]
    for key in ("providers", "inputs", "outputs", "meta"):
        assert ours[key] == theirs[key], key
    np.testing.assert_allclose(ours["first"], theirs["first"], rtol=1e-4, atol=1e-6)
    assert len(ours["every"]) == len(theirs["every"])
    for a, b in zip(ours["every"], theirs["every"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for result in (ours, theirs):
        assert json.loads(open(result["profile"]).read())  # both wrote a readable trace
