"""Discovers plugins (entry-point group `gossamer`), collects their backends and ops.

Loading is lazy and forgiving: nothing is imported until backends or ops are first asked for; a
plugin that fails to import, or whose hook raises, is skipped with a logged reason (kept in
`plugin_state().failures` for `gossamer backends`). `GOSSAMER_BLOCK=a,b` blocks plugins or backends
by name; `GOSSAMER_BACKENDS=a,b` restricts which backends sessions use by default.

Entry points come from a cached scan (plugins/entry_points.py). A backend registered as a
`DeferredBackend` is imported only when a session selects it or `plugin_state()`/`all_backends()`
asks about every backend, so an opt-in backend costs a default session nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import pluggy

from ..refimpl.errors import GossamerError
from ..refimpl.registry import OpFunction, OpRegistry, default_registry, spec_of
from . import hookspecs, reference_backend
from .backend import Backend, BackendOptionError, DeferredBackend
from .entry_points import entry_points

log = logging.getLogger("gossamer.plugins")


class BackendSelectionError(GossamerError):
    """A requested backend does not exist, is blocked, or is unavailable."""


class PluginState:
    """The loaded plugins (a plain class: a dataclass costs ~0.5 ms to define on every start)."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager
        self.backends: dict[str, Backend] = {}
        self.deferred: dict[str, DeferredBackend] = {}  # not imported yet
        self.failures: dict[str, str] = {}  # plugin or backend name -> reason
        self.registry = OpRegistry()


_lock = threading.RLock()  # re-entrant: a deferred backend imported under it may ask for plugins
_state: PluginState | None = None
_extra_plugins: list[tuple[Any, str]] = []


def blocked_names() -> set[str]:
    return {n.strip() for n in os.environ.get("GOSSAMER_BLOCK", "").split(",") if n.strip()}


def plugin_state() -> PluginState:
    """The loaded plugins with every backend imported (built on first use, then cached until
    `reset_plugins()`)."""
    state = _plugin_state()
    if state.deferred:
        _materialize(state, list(state.deferred))
    return state


def _plugin_state() -> PluginState:
    """The loaded plugins; backends registered as DeferredBackend may not be imported yet."""
    global _state
    with _lock:
        if _state is None:
            _state = _load()
        return _state


def _materialize(state: PluginState, names: list[str]) -> None:
    """Imports the deferred backends `names`; one that fails is recorded in `failures`."""
    with _lock:
        for name in names:
            deferred = state.deferred.pop(name, None)
            if deferred is None:
                continue
            try:
                state.backends[name] = deferred.load()
            except BaseException as err:
                if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
                    raise
                state.failures[name] = f"failed to import: {type(err).__name__}: {err}"
                log.warning("backend %r skipped: %s", name, state.failures[name])


def reset_plugins() -> None:
    """Forgets loaded plugins; the next use loads them again (for tests and long-lived hosts)."""
    global _state
    with _lock:
        _state = None


def register_plugin(plugin: Any, name: str) -> None:
    """Adds a plugin object (module or instance with hookimpls) without an entry point."""
    _extra_plugins.append((plugin, name))
    reset_plugins()


def unregister_plugin(name: str) -> None:
    _extra_plugins[:] = [(p, n) for p, n in _extra_plugins if n != name]
    reset_plugins()


def op_registry() -> OpRegistry:
    """The reference ops plus every op that plugins registered."""
    return _plugin_state().registry


def all_backends() -> dict[str, Backend]:
    return dict(plugin_state().backends)


def _load() -> PluginState:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    state = PluginState(manager=pm)
    blocked = blocked_names()
    plugins: list[tuple[Any, str]] = [(reference_backend, reference_backend.REFERENCE)]
    for ep in sorted(entry_points(group=hookspecs.ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name == reference_backend.REFERENCE:
            continue  # the built-in module is registered above (also when running from a checkout)
        if ep.name in blocked:
            state.failures[ep.name] = "blocked by GOSSAMER_BLOCK"
            continue
        try:
            plugins.append((ep.load(), ep.name))
        except BaseException as err:  # a broken plugin must not take the host down
            if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
                raise
            state.failures[ep.name] = f"failed to import: {type(err).__name__}: {err}"
            log.warning("plugin %r skipped: %s", ep.name, state.failures[ep.name])
    plugins.extend(_extra_plugins)
    for plugin, name in plugins:
        try:
            pm.register(plugin, name=name)
            pm.check_pending()  # a misspelt hook name is reported, not silently never called
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
                raise
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            state.failures[name] = f"failed to register: {type(err).__name__}: {err}"
            log.warning("plugin %r skipped: %s", name, state.failures[name])
    _collect_ops(state)
    _collect_backends(state, blocked)
    return state


def _call_each(state: PluginState, hook_name: str, register: Any) -> None:
    """Calls one hook on every plugin separately, so one raising plugin is skipped, not fatal."""
    hook = getattr(state.manager.hook, hook_name)
    for impl in hook.get_hookimpls():
        try:
            impl.function(register=register)
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
                raise
            state.failures[impl.plugin_name] = f"{hook_name} raised {type(err).__name__}: {err}"
            log.warning("plugin %r: %s", impl.plugin_name, state.failures[impl.plugin_name])


def _collect_ops(state: PluginState) -> None:
    registry = default_registry().copy()
    builtin = default_registry()  # asked per op a plugin adds: listing every op costs imports

    def register(fn: OpFunction) -> None:
        spec = spec_of(fn)
        if builtin.knows(spec.domain, spec.op_type):
            raise GossamerError(
                f"{spec.domain or 'ai.onnx'}::{spec.op_type} is a built-in op; plugins may add "
                "ops, not redefine them"
            )
        registry.register(fn)

    _call_each(state, "gossamer_register_ops", register)
    state.registry = registry


def _collect_backends(state: PluginState, blocked: set[str]) -> None:
    def register(backend: Backend | DeferredBackend) -> None:
        if not isinstance(backend, (Backend, DeferredBackend)) or not backend.name:
            raise GossamerError(f"{backend!r} is not a named gossamer.plugins.Backend")
        if backend.name in state.backends or backend.name in state.deferred:
            raise GossamerError(f"a backend named {backend.name!r} is already registered")
        if backend.name in blocked and backend.name != reference_backend.REFERENCE:
            state.failures[backend.name] = "blocked by GOSSAMER_BLOCK"
            return
        if isinstance(backend, DeferredBackend):
            state.deferred[backend.name] = backend
        else:
            state.backends[backend.name] = backend

    _call_each(state, "gossamer_register_backends", register)


def availability(backend: Backend) -> str | None:
    """None if usable, else why not (is_available() raising counts as unavailable)."""
    try:
        return backend.is_available()
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
            raise
        return f"is_available() raised {type(err).__name__}: {err}"


def select_backends(requested: list[str] | None = None) -> tuple[list[Backend], dict[str, str]]:
    """The backends a session uses (reference always included, last) and why others are left out.

    `requested` (or else GOSSAMER_BACKENDS) restricts the set; naming an unknown, blocked or
    unavailable backend is an error that says what exists.
    """
    state = _plugin_state()
    if requested is None:
        env = os.environ.get("GOSSAMER_BACKENDS", "")
        requested = [n.strip() for n in env.split(",") if n.strip()] or None
    with _lock:  # another thread may be importing deferred backends
        wanted = [  # the deferred backends this selection may use: only those are imported
            name
            for name, d in state.deferred.items()
            if (name in requested if requested is not None else d.default_selected)
        ]
    if wanted:
        _materialize(state, wanted)
    excluded: dict[str, str] = {}
    chosen: list[Backend] = []
    with _lock:
        candidates: list[tuple[str, Backend | DeferredBackend]] = [
            *state.backends.items(),
            *state.deferred.items(),
        ]
    for name, backend in sorted(candidates, key=lambda kv: kv[0]):
        if requested is not None and name not in requested and name != reference_backend.REFERENCE:
            excluded[name] = "not selected"
            continue
        if requested is None and not backend.default_selected:
            excluded[name] = "not selected (runs only when named)"
            continue
        assert isinstance(backend, Backend)  # a selectable deferred one was imported above
        reason = availability(backend)
        if reason is not None:
            excluded[name] = f"unavailable: {reason}"
            if requested is not None and name in requested:
                raise BackendSelectionError(f"backend {name!r} is unavailable: {reason}")
            continue
        chosen.append(backend)
    if requested is not None:
        unknown = [n for n in requested if n not in state.backends]
        if unknown:
            why = {n: state.failures[n] for n in unknown if n in state.failures}
            raise BackendSelectionError(
                f"unknown backend(s) {unknown}"
                + (f" ({'; '.join(f'{k}: {v}' for k, v in why.items())})" if why else "")
                + f"; registered: {sorted(state.backends)}"
            )
    chosen.sort(key=lambda b: (-b.priority, b.name))
    return chosen, excluded


def configure_backends(
    selected: list[Backend], backend_options: Mapping[str, Mapping[str, Any]] | None
) -> list[Backend]:
    """`selected` with each backend named in `backend_options` replaced by its configured copy
    (`Backend.configure`): the options reach this session's partitions only.

    Raises BackendOptionError, naming what is accepted, for options of an unknown backend or of
    one not in `selected`, an option the backend does not declare, or a value it refuses.
    """
    if not backend_options:
        if backend_options is not None and not isinstance(backend_options, Mapping):
            raise BackendOptionError(_not_a_mapping(backend_options))
        return selected
    if not isinstance(backend_options, Mapping):
        raise BackendOptionError(_not_a_mapping(backend_options))
    state = _plugin_state()
    in_session = {b.name: b for b in selected}
    known = set(state.backends) | set(state.deferred)
    configured = dict(in_session)
    for name, given in backend_options.items():
        if name not in known:
            raise BackendOptionError(
                f"backend_options names unknown backend {name!r}; registered: {sorted(known)}"
            )
        if name not in in_session:
            raise BackendOptionError(
                f"backend_options for {name!r}, which is not in this session (its backends: "
                f"{sorted(in_session)}); name it in backends= too"
            )
        if not isinstance(given, Mapping):
            raise BackendOptionError(
                f"backend_options[{name!r}] must be a dict of option name to value, got "
                f"{type(given).__name__}"
            )
        backend = in_session[name]
        declared = {o.name: o for o in backend.options}
        accepted = (
            "; ".join(o.describe() for o in backend.options) if declared else "it takes no options"
        )
        values: dict[str, Any] = {}
        for key, value in given.items():
            option = declared.get(key)
            if option is None:
                raise BackendOptionError(
                    f"backend {name!r} has no option {key!r}; accepted: {accepted}"
                )
            try:
                parsed = option.parse(value)
            except (ValueError, TypeError) as err:
                raise BackendOptionError(
                    f"backend {name!r} option {key!r}: bad value {value!r} ({err}); "
                    f"{option.describe()}"
                ) from None
            if option.choices is not None and parsed not in option.choices:
                raise BackendOptionError(
                    f"backend {name!r} option {key!r}: bad value {value!r}; {option.describe()}"
                )
            values[key] = parsed
        try:
            configured[name] = backend.configure(values)
        except BackendOptionError:
            raise
        except BaseException as err:  # a refusal, or a plugin's bug: the user's error either way
            if isinstance(err, KeyboardInterrupt):
                raise
            why = str(err) if isinstance(err, (GossamerError, ValueError, TypeError)) else (
                f"configure() raised {type(err).__name__}: {err}"
            )  # fmt: skip
            raise BackendOptionError(
                f"backend {name!r} refused options {dict(given)}: {why}; accepted: {accepted}"
            ) from err
        if not isinstance(configured[name], Backend):
            raise BackendOptionError(
                f"backend {name!r}: configure() returned {type(configured[name]).__name__}, "
                "not a Backend (a backend bug)"
            )
    return [configured[b.name] for b in selected]


def _not_a_mapping(value: Any) -> str:
    return (
        "backend_options must be a dict of backend name to a dict of options, e.g. "
        f"{{'opencl': {{'device': '0:0'}}}}; got {type(value).__name__}"
    )
