"""onnxruntime execution providers, mapped onto Gossamer backends.

`CPUExecutionProvider` is the default backend choice (GOSSAMER_BACKENDS, else every available
backend); a Gossamer backend is named by its own name ("cython", "reference"). As onnxruntime
does, a provider that exists elsewhere but not here (CUDAExecutionProvider, or a Gossamer backend
that is unavailable or blocked) is skipped with a UserWarning; a name nobody knows is an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .plugins.reference_backend import REFERENCE
from .session_options import SessionConfigError

CPU = "CPUExecutionProvider"
# Every provider onnxruntime 1.2x/1.3x names (its get_all_providers()), for telling "exists, not
# here" (skipped with a warning) from a misspelt name (an error).
ONNXRUNTIME_PROVIDERS = frozenset(
    """TensorrtExecutionProvider NvTensorRTRTXExecutionProvider CUDAExecutionProvider
    MIGraphXExecutionProvider ROCMExecutionProvider OpenVINOExecutionProvider
    DnnlExecutionProvider TvmExecutionProvider VitisAIExecutionProvider QNNExecutionProvider
    NnapiExecutionProvider VSINPUExecutionProvider JsExecutionProvider CoreMLExecutionProvider
    ArmNNExecutionProvider ACLExecutionProvider DmlExecutionProvider RknpuExecutionProvider
    WebNNExecutionProvider WebGpuExecutionProvider XnnpackExecutionProvider SNPEExecutionProvider
    CANNExecutionProvider AzureExecutionProvider CPUExecutionProvider""".split()
)


def get_available_providers() -> list[str]:
    """The providers usable here: the available Gossamer backends, highest priority first, then
    CPUExecutionProvider (onnxruntime lists it last too)."""
    from .plugins.manager import all_backends, availability  # plugins load on first use

    usable = [b for b in all_backends().values() if availability(b) is None]
    usable.sort(key=lambda b: (-b.priority, b.name))
    return [b.name for b in usable] + [CPU]


def get_device() -> str:
    """The device sessions run on, as onnxruntime.get_device() names it."""
    return "CPU"


@dataclass(frozen=True)
class ProviderChoice:
    """What a providers argument resolves to."""

    providers: list[str]  # as get_providers() reports them, in precedence order
    options: dict[str, dict[str, str]]  # as get_provider_options() reports them
    backends: list[str] | None  # for gossamer.load (None: the default choice)
    # the options of providers that are Gossamer backends declaring options (Backend.options),
    # for Session(backend_options=...), which checks them
    backend_options: dict[str, dict[str, str]] = field(default_factory=dict)


def resolve_providers(
    providers: Sequence[str | tuple[str, Mapping[Any, Any]]] | str | None,
    provider_options: Sequence[Mapping[Any, Any]] | None = None,
) -> ProviderChoice:
    """The backends that `providers` (and `provider_options`) stand for; warns for each provider
    skipped. A listing without CPUExecutionProvider still ends with the reference, which runs
    every node the named backends do not take (as onnxruntime appends its CPU provider)."""
    available = get_available_providers()
    chosen: dict[str, dict[str, str]] = {}
    backend_options: dict[str, dict[str, str]] = {}
    for name, options in _normalize(providers, provider_options):
        if name not in available:
            _skip_or_refuse(name, available)
            continue
        if name in chosen:
            warnings.warn(f"Duplicate provider '{name}' encountered, ignoring.", stacklevel=3)
            continue
        if options and _declares_options(name):
            backend_options[name] = options
        elif options:
            warnings.warn(
                f"provider options {options} for {name!r} have no effect: it takes no options",
                stacklevel=3,
            )
        chosen[name] = options
    if not chosen:
        chosen[CPU] = {}
    named = [n for n in chosen if n != CPU]
    if CPU not in chosen:
        backends: list[str] | None = named
        if REFERENCE not in chosen:
            chosen[REFERENCE] = {}
    elif named:
        from .plugins.manager import select_backends

        default = {b.name for b in select_backends(None)[0]}
        backends = sorted(default | set(named))
    else:
        backends = None
    return ProviderChoice(list(chosen), chosen, backends, backend_options)


def _declares_options(name: str) -> bool:
    from .plugins.manager import all_backends

    backend = all_backends().get(name)
    return backend is not None and bool(backend.options)


def _skip_or_refuse(name: str, available: list[str]) -> None:
    from .plugins.manager import availability, plugin_state

    state = plugin_state()
    backend = state.backends.get(name)
    if backend is not None:
        why = f" (backend {name!r} is unavailable: {availability(backend)})"
    elif name in state.failures:
        why = f" (backend {name!r}: {state.failures[name]})"
    elif name in ONNXRUNTIME_PROVIDERS:
        why = ""
    else:
        raise SessionConfigError(
            f"unknown provider {name!r}: usable here are {available} (the other providers "
            "onnxruntime knows, such as CUDAExecutionProvider, are skipped with a warning)"
        )
    warnings.warn(
        f"Specified provider '{name}' is not in available provider names. "
        f"Available providers: '{', '.join(available)}'{why}",
        stacklevel=4,
    )


def _normalize(
    providers: Sequence[str | tuple[str, Mapping[Any, Any]]] | str | None,
    provider_options: Sequence[Mapping[Any, Any]] | None,
) -> list[tuple[str, dict[str, str]]]:
    """(name, options) pairs, checked as onnxruntime checks them (options become str -> str)."""
    if providers is None:
        return []
    if isinstance(providers, str):  # onnxruntime would read each letter as a provider name
        providers = [providers]
    if not isinstance(providers, Sequence):
        raise SessionConfigError(
            f"'providers' should be a sequence, got {type(providers).__name__}"
        )
    pairs: list[tuple[Any, Any]]
    if provider_options is not None:
        if not isinstance(provider_options, Sequence) or isinstance(provider_options, str):
            raise SessionConfigError("'provider_options' should be a sequence.")
        if len(providers) != len(provider_options):
            raise SessionConfigError(
                "'providers' and 'provider_options' should be the same length if both are given."
            )
        if not all(isinstance(p, str) for p in providers):
            raise SessionConfigError(
                "Only string values for 'providers' are supported if 'provider_options' is given."
            )
        if not all(isinstance(o, Mapping) for o in provider_options):
            raise SessionConfigError("'provider_options' values must be dicts.")
        pairs = list(zip(providers, provider_options))
    else:
        pairs = []
        for p in providers:
            if isinstance(p, str):
                pairs.append((p, {}))
            elif (
                isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                and isinstance(p[1], Mapping)
            ):  # fmt: skip
                pairs.append(p)
            else:
                raise SessionConfigError(
                    f"'providers' values must be either strings or (string, dict) tuples, got {p!r}"
                )
    return [(name, {str(k): str(v) for k, v in opts.items()}) for name, opts in pairs]
