"""onnxruntime's InferenceSession, run by Gossamer: swap `import onnxruntime as ort` for
`import gossamer as ort` and the usual code runs unchanged.

    sess = gossamer.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    x = np.zeros([d if isinstance(d, int) else 1 for d in sess.get_inputs()[0].shape], np.float32)
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]

The session layer over `gossamer.Session` (reachable as `.session`): NodeArg types and shapes as
onnxruntime reports them (gossamer/model_signature.py), providers mapped to backends
(gossamer/providers.py), SessionOptions mapped to load options (gossamer/session_options.py),
profiles as Chrome traces. Errors stay
Gossamer's typed errors; docs/onnxruntime-compat.md lists what maps to what.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .model_signature import NodeArg, node_arg, read_with_signature
from .profiling import TraceRecorder
from .providers import ProviderChoice, resolve_providers
from .refimpl import model_format
from .refimpl.errors import InputError
from .refimpl.ir import Graph
from .session import Session, prepared_for_running
from .session_options import OPTIMIZE_LEVEL, RunOptions, SessionConfigError, SessionOptions

log = logging.getLogger("gossamer")

NO_VERSION = 2**63 - 1  # ModelMetadata.version of a model that sets none (onnxruntime's value)
# onnxruntime's log severities (0 verbose .. 4 fatal) as logging levels
_LOG_LEVELS = {
    0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR, 4: logging.CRITICAL
}  # fmt: skip
_KNOWN_KWARGS = frozenset({"enable_fallback", "read_config_from_model", "disabled_optimizers"})


@dataclass(frozen=True)
class ModelMetadata:
    """What the model file says about itself (onnxruntime.ModelMetadata's fields)."""

    producer_name: str = ""
    graph_name: str = ""
    domain: str = ""
    description: str = ""
    graph_description: str = ""
    version: int = NO_VERSION
    custom_metadata_map: dict[str, str] = field(default_factory=dict)


class InferenceSession:
    """A model loaded for inference, with onnxruntime.InferenceSession's API.

    `path_or_bytes`: an ONNX or .gsm file path, its bytes, an onnx.ModelProto or a Gossamer Graph.
    `providers` / `provider_options`: as onnxruntime takes them (names or (name, options) pairs);
    CPUExecutionProvider is Gossamer's default backend choice, "cython" or "reference" name one
    backend. A backend's provider options are its backend options (load's `backend_options`,
    checked the same way: `("opencl", {"device": "0:0"})`); for a backend that declares none
    they are ignored with a warning. onnxruntime's keyword arguments (enable_fallback,
    read_config_from_model, disabled_optimizers) are accepted and have no effect. Not available:
    run_with_iobinding, io_binding, run_with_ort_values and run_async (Gossamer has no OrtValue
    or device memory); `run` takes numpy arrays.
    """

    def __init__(
        self,
        path_or_bytes: Any,
        sess_options: SessionOptions | None = None,
        providers: Sequence[Any] | None = None,
        provider_options: Sequence[dict[Any, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - _KNOWN_KWARGS)
        if unknown:
            raise TypeError(f"InferenceSession() got unexpected keyword argument(s) {unknown}")
        if sess_options is not None and not isinstance(sess_options, SessionOptions):
            raise TypeError(
                f"sess_options must be a gossamer.SessionOptions, got {type(sess_options).__name__}"
            )
        options: SessionOptions = (sess_options or SessionOptions())._copy()
        choice = resolve_providers(providers, provider_options)
        _apply_log_severity(options.log_severity_level)
        graph, signature = read_with_signature(path_or_bytes)
        self._options = options
        self._meta = _metadata(graph)
        self._level = OPTIMIZE_LEVEL[options.graph_optimization_level]
        if options.optimized_model_filepath:  # the portable optimised graph, as onnxruntime writes
            if self._level:
                from .converter.optimizer import optimize

                graph, _ = optimize(graph, self._level)
            _write_model(graph, options.optimized_model_filepath)
        self._graph = graph
        self._signature = signature
        self._threads = options.intra_op_num_threads if options.intra_op_num_threads > 0 else None
        self._max_memory = options._config.get("gossamer.max_memory")
        self._profile: _Profile | None = None
        self._flush: weakref.finalize | None = None  # writes the profile when self goes
        self._start(choice)

    def _start(self, choice: ProviderChoice) -> None:
        session = Session(
            prepared_for_running(self._graph, self._level, choice.backends),
            backends=choice.backends,
            threads=self._threads,
            max_memory=self._max_memory,
            backend_options=choice.backend_options or None,
        )
        if self._flush is not None:
            self._flush()  # the old session's profile is written, as onnxruntime does
        self.session = session
        self._choice = choice
        sig = self._signature
        inferred = {v.name: v for v in session.outputs}
        self._inputs = [node_arg(d) for d in sig.inputs if d.name not in sig.initialized]
        self._overridable = [node_arg(d) for d in sig.inputs if d.name in sig.initialized]
        self._outputs = [node_arg(d, inferred.get(d.name)) for d in sig.outputs]
        if self._options.enable_profiling:
            self._profile = _Profile(session, self._options.profile_file_prefix)
            self._flush = weakref.finalize(self, _write_at_exit, self._profile)

    # ---- model description -------------------------------------------------------------------
    def get_inputs(self) -> list[NodeArg]:
        """The inputs a run must (or may) feed, initializers excluded."""
        return list(self._inputs)

    def get_outputs(self) -> list[NodeArg]:
        return list(self._outputs)

    def get_overridable_initializers(self) -> list[NodeArg]:
        """Initializers that are also graph inputs: a feed may replace them."""
        return list(self._overridable)

    def get_modelmeta(self) -> ModelMetadata:
        return self._meta

    def get_session_options(self) -> SessionOptions:
        """The options the session was made with (a copy: changing it changes nothing)."""
        return self._options

    # ---- providers -----------------------------------------------------------------------------
    def get_providers(self) -> list[str]:
        """The providers in use, in precedence order; the reference, which runs what the others
        do not take, is listed unless CPUExecutionProvider (which includes it) is."""
        return list(self._choice.providers)

    def get_provider_options(self) -> dict[str, dict[str, str]]:
        return {name: dict(opts) for name, opts in self._choice.options.items()}

    def set_providers(
        self,
        providers: Sequence[Any] | None = None,
        provider_options: Sequence[dict[Any, Any]] | None = None,
    ) -> None:
        """Rebuilds the session on other providers (None: the default choice); a profile in
        progress is written and a new one started, as onnxruntime does."""
        self._start(resolve_providers(providers, provider_options))

    # ---- running -------------------------------------------------------------------------------
    def run(
        self,
        output_names: Sequence[str] | None,
        input_feed: dict[str, Any],
        run_options: RunOptions | None = None,
    ) -> list[Any]:
        """The outputs named (None or []: all), in order, for the feeds {input name: array}."""
        if isinstance(output_names, str):
            raise InputError(f"output_names must be a list of names, got the str {output_names!r}")
        if run_options is not None and not isinstance(run_options, RunOptions):
            raise TypeError(
                f"run_options must be a gossamer.RunOptions, got {type(run_options).__name__}"
            )
        names = list(output_names) if output_names else None
        profile = self._profile if self._profile is not None and self._profile.active else None
        try:
            results = self.session.run(
                names,
                input_feed,
                observers=(profile.recorder,) if profile is not None else (),
                timeout=_timeout(run_options),
            )
        finally:
            if profile is not None:
                profile.recorder.end_run()
        return [np.asarray(r) if isinstance(r, np.generic) else r for r in results]

    def reset_state(self) -> None:
        """A stateful model's kept values (e.g. a TFLite model's resource variables) back to their
        initial ones (Gossamer's; onnxruntime models have no state). set_providers starts a new
        session, whose state is the initial one too."""
        self.session.reset_state()

    # ---- profiling -----------------------------------------------------------------------------
    def end_profiling(self) -> str:
        """Writes the profile (Chrome trace JSON, one track per run) and returns its file name;
        "" when profiling is off or already ended."""
        return self._profile.write() if self._profile is not None else ""

    def get_profiling_start_time_ns(self) -> int:
        """When profiling started, in ns since the epoch (onnxruntime's clock); 0 if it is off."""
        return self._profile.start_ns if self._profile is not None else 0


# ---- profiles ------------------------------------------------------------------------------------
class _Profile:
    """One session's trace: written once, by end_profiling(), set_providers() or when the session
    is garbage-collected or the interpreter exits (onnxruntime writes it at those points too)."""

    def __init__(self, session: Session, prefix: str) -> None:
        self.recorder = TraceRecorder(session, name=f"gossamer {session.graph.name}")
        self.prefix = prefix
        self.start_ns = time.time_ns()
        self.written: str | None = None

    @property
    def active(self) -> bool:
        return self.written is None

    def write(self) -> str:
        if self.written is not None:
            return ""
        now = time.time()
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(now))
        base = f"{self.prefix}_{stamp}_{int(now * 1000) % 1000:03d}"
        path, n = Path(f"{base}.json"), 0
        while path.exists():  # two sessions ending in the same millisecond
            n += 1
            path = Path(f"{base}_{n}.json")
        self.written = self.recorder.write(path)
        return self.written


def _write_at_exit(profile: _Profile) -> None:
    try:
        profile.write()
    except OSError as err:  # the folder may be gone by then; nothing to raise to
        log.warning("profile of a gossamer.InferenceSession not written: %s", err)


def _metadata(graph: Graph) -> ModelMetadata:
    info = graph.model_info
    custom = dict(graph.metadata)
    producer = f"{info.get('producer_name', '')} {info.get('producer_version', '')}".strip()
    if producer and custom.get("producer") == producer:
        del custom["producer"]  # the importer's note of producer_name, not a metadata_props entry
    return ModelMetadata(
        producer_name=info.get("producer_name", ""),
        graph_name=graph.name,
        domain=info.get("domain", ""),
        description=info.get("doc_string", ""),
        graph_description=info.get("graph_doc_string", ""),
        version=int(info["model_version"]) if "model_version" in info else NO_VERSION,
        custom_metadata_map=custom,
    )


# ---- options -------------------------------------------------------------------------------------
def _apply_log_severity(level: int) -> None:
    """onnxruntime's severity (0 verbose .. 4 fatal) becomes the `gossamer` logger's level;
    -1 leaves it as it is."""
    if level == -1:
        return
    if level not in _LOG_LEVELS:
        raise SessionConfigError(f"log_severity_level must be -1 or 0..4, got {level}")
    log.setLevel(_LOG_LEVELS[level])


def _timeout(run_options: RunOptions | None) -> float | None:
    if run_options is None or "gossamer.timeout" not in run_options._config:
        return None
    raw = run_options._config["gossamer.timeout"]
    try:
        return float(raw)
    except ValueError:
        raise SessionConfigError(
            f"run config entry gossamer.timeout must be a number of seconds, got {raw!r}"
        ) from None


def _write_model(graph: Graph, path: str) -> None:
    """optimized_model_filepath: the optimised graph as ONNX, or as .gsm by that suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".ort":
        raise SessionConfigError(
            f"optimized_model_filepath {path!r}: Gossamer cannot write onnxruntime's .ort "
            "format; give a .onnx or .gsm path"
        )
    if suffix == ".gsm":
        model_format.save_gsm(graph, path)
        return
    from .converter.onnx_export import OnnxExportError, save_onnx

    try:
        save_onnx(graph, path)
    except OnnxExportError as err:
        raise OnnxExportError(
            f"the optimised model cannot be written to optimized_model_filepath {path!r}: {err}"
        ) from err
