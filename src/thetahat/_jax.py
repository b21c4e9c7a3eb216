"""JAX for thetahat: imported on first use, then set up once.

``import thetahat`` does not import JAX (about half a second of start-up): a closed-form fit
runs on NumPy alone (:mod:`thetahat.fitting.closed`). Modules that use JAX inside their
functions name it through the proxies here -- ``jax``, ``jnp`` (``jax.numpy``), ``lax``,
``jsp`` (``jax.scipy.special``), ``jss`` (``jax.scipy.stats``), ``jsl`` (``jax.scipy.linalg``)
-- which import the real module at their first attribute access, and a module-level
``@jit`` is :func:`jit`, compiled at its first call.

Set-up, once, at that first import (:func:`load`), and entered per thread by :class:`scope`:

* float64, inside thetahat's own calls only (:func:`x64`, :class:`scope`; see
  docs/design/x64.md), so that the user's own JAX code keeps its precision;
* a compilation cache on disk, likewise for thetahat's compiled functions only, so that a
  second process (a second ``thetahat fit`` from the shell) loads compiled code instead of
  compiling it again. Its folder is ``$THETAHAT_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/thetahat/jax``, else ``~/.cache/thetahat/jax``. The cache is an optimisation only: ``THETAHAT_CACHE_DIR=off``
  turns it off, a folder that cannot be created or written (a read-only home) leaves it
  off, and an entry that cannot be read (a corrupt or truncated file) is compiled again --
  without JAX's warnings about either, which would only be noise on a user's stderr.

Examples
--------
>>> import sys
>>> from thetahat._jax import jnp
>>> float(jnp.sum(jnp.arange(4.0)))   # the first use imports JAX
6.0
>>> "jax" in sys.modules
True
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import threading
import types
import warnings

_ready = False
_lock = threading.RLock()

# THETAHAT_GLOBAL_X64=1: float64 and the compile cache for the whole process, from thetahat's first use
# of JAX on (the old behaviour); by default both hold inside thetahat's own calls only (scope)
GLOBAL_X64 = os.environ.get("THETAHAT_GLOBAL_X64", "0").strip().lower() not in ("", "0", "false", "no")
_cache_folder = None  # the compile cache's folder, once load() has made sure it is writable
_here = threading.local()  # this thread's thetahat scope: depth, and the settings entered (an ExitStack)


def load():
    """The ``jax`` module, imported and set up on the first call; inside a :func:`scope` of
    this thread whose settings were deferred (JAX was not imported yet), they are entered now."""
    global _ready
    if not _ready:
        with _lock:
            import jax

            if not _ready:
                _configure(jax)
                _ready = True
    jax = sys.modules["jax"]
    if getattr(_here, "depth", 0) and getattr(_here, "stack", None) is None:
        _enter_settings(jax)
    return jax


def _configure(jax) -> None:
    global _cache_folder
    # JAX warns (UserWarning) for every cache entry it fails to read or write; it then compiles,
    # so the result is unaffected
    warnings.filterwarnings("ignore", message=r"Error (reading|writing) persistent compilation cache entry",
                            category=UserWarning)
    try:
        if os.environ.get("THETAHAT_CACHE_DIR", "").lower() == "off":
            raise OSError("the compile cache is turned off")
        os.makedirs(_cache_dir(), exist_ok=True)
        if os.access(_cache_dir(), os.W_OK | os.X_OK):
            _cache_folder = _cache_dir()
    except OSError:  # a read-only home: compile in memory only
        pass
    if GLOBAL_X64:
        jax.config.update("jax_enable_x64", True)
        if _cache_folder is not None:
            for name, value in _cache_settings():
                jax.config.update(name, value)


def _cache_settings():
    """``(JAX option, value)`` of the compile cache: thetahat's folder, and every compiled function
    written to it (a second ``thetahat fit`` from the shell then loads instead of compiling)."""
    return [("jax_compilation_cache_dir", _cache_folder), ("jax_persistent_cache_min_compile_time_secs", 0.0),
            ("jax_persistent_cache_min_entry_size_bytes", -1)]  # (-1: no size limit, and JAX sets none)


def _enter_settings(jax) -> None:
    """Enter thetahat's settings for this thread: float64 and (unless the user set a cache of
    their own) the compile cache; :class:`scope` leaves them when its outermost use ends."""
    stack = contextlib.ExitStack()
    _here.stack = stack
    if GLOBAL_X64:
        return
    stack.enter_context(jax.enable_x64(True))
    try:
        from jax._src import config as options  # (the thread-local form of the cache options)

        if _cache_folder is not None and options.compilation_cache_dir.value is None:
            for name, value in _cache_settings():
                stack.enter_context(getattr(options, name[len("jax_"):])(value))
    except (ImportError, AttributeError):  # another JAX: float64 alone, no cache
        pass


def _cache_dir() -> str:
    if os.environ.get("THETAHAT_CACHE_DIR"):
        return os.environ["THETAHAT_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "thetahat", "jax")


class _SetUpOnImport:
    """A finder on ``sys.meta_path`` until JAX is first imported: inside a thetahat
    :func:`scope` (an ``import jax`` in one of thetahat's functions) it lets the usual finders
    load ``jax``, then runs :func:`load`, which enters the scope's settings. The user's own
    ``import jax`` is left alone."""

    def find_spec(self, name, path=None, target=None):
        if name != "jax" or not getattr(_here, "depth", 0):
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = None
        for finder in sys.meta_path:  # (the finders after this one, as the import would have asked them)
            spec = getattr(finder, "find_spec", lambda *a: None)(name, path, target)
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            load()

        spec.loader.exec_module = exec_module
        return spec


if "jax" not in sys.modules:
    sys.meta_path.insert(0, _SetUpOnImport())


class _Lazy(types.ModuleType):
    """A stand-in for a module that imports it (after :func:`load`) at the first attribute
    access; each attribute is then kept on the stand-in, so later accesses cost a plain lookup."""

    def __init__(self, target: str):
        super().__init__(f"thetahat._jax.lazy({target})")
        self.__dict__["_target"] = target

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):  # (introspection: doctest, copy, pickle)
            raise AttributeError(attr)
        load()
        value = getattr(importlib.import_module(self._target), attr)
        self.__dict__[attr] = value
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self._target!r}>"


def lazy(target: str) -> types.ModuleType:
    """A stand-in for module ``target``, imported at its first use (see :class:`_Lazy`)."""
    return _Lazy(target)


jax = lazy("jax")
jnp = lazy("jax.numpy")
lax = lazy("jax.lax")
jsp = lazy("jax.scipy.special")
jss = lazy("jax.scipy.stats")
jsl = lazy("jax.scipy.linalg")


def jit(fun=None, **options):
    """``jax.jit(fun, **options)``, made at the first call: a decorator for module level that
    does not import JAX when the module is imported. Tracing it outside float64 (a thetahat
    entry point without :func:`x64`) is a bug, and raises :class:`OutsideFloat64`."""
    if fun is None:
        return functools.partial(jit, **options)
    compiled = []

    @functools.wraps(fun)
    def checked(*args, **kwargs):  # (runs when JAX traces: free at every later call)
        if not sys.modules["jax"].enable_x64.value:
            raise OutsideFloat64(f"{getattr(fun, '__qualname__', fun)} was traced without float64: a thetahat "
                                 "entry point lacks thetahat._jax.x64")
        return fun(*args, **kwargs)

    @functools.wraps(fun)
    def call(*args, **kwargs):
        if not compiled:
            compiled.append(load().jit(checked, **options))
        return compiled[0](*args, **kwargs)

    return call


class OutsideFloat64(RuntimeError):
    """thetahat's compiled code traced without float64: an internal error (a public entry point
    that does not enter :func:`x64`), never the user's."""


def x64(fn):
    """Decorator for thetahat's entry points: ``fn`` runs in a :class:`scope` -- JAX's float64
    (``jax.enable_x64``, thread-local) and thetahat's compile cache -- and the caller's settings
    are back on return. JAX is imported only where ``fn`` uses it (a closed-form fit on NumPy
    never does). Under THETAHAT_GLOBAL_X64=1 both are on for the whole process instead.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from thetahat._jax import x64
    >>> @x64
    ... def ones():
    ...     return jnp.ones(2).dtype.name
    >>> ones(), jnp.ones(2).dtype.name == ("float64" if GLOBAL_X64 else "float32")
    ('float64', True)
    """
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with scope():
            return fn(*args, **kwargs)

    run.__thetahat_x64__ = True
    return run


class scope:
    """The context manager of :func:`x64`: within it, for this thread, JAX computes in float64
    and compiles into thetahat's cache folder; the caller's settings are back at its outermost
    end. Nested uses cost a counter. Where JAX is not imported yet the settings wait for
    :func:`load` (an import of JAX inside the scope calls it too)."""

    __slots__ = ()

    def __enter__(self):
        depth = getattr(_here, "depth", 0)
        _here.depth = depth + 1
        if depth == 0:
            _here.stack = None
            if _ready or "jax" in sys.modules:  # (imported already, by thetahat or by the user)
                load()
        return self

    def __exit__(self, *exc):
        _here.depth -= 1
        if _here.depth == 0:
            stack, _here.stack = _here.stack, None
            if stack is not None:
                stack.__exit__(*exc)
        return False


def x64_methods(cls):
    """Class decorator: :func:`x64` on every public method (and property) that ``cls`` defines,
    for the result objects whose methods compute (profiles, bootstraps, tests of fit)."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_") and name not in ("__call__", "__iter__"):
            continue
        if isinstance(value, property) and value.fget is not None:
            setattr(cls, name, property(x64(value.fget), value.fset, value.fdel, value.__doc__))
        elif isinstance(value, (staticmethod, classmethod)):
            setattr(cls, name, type(value)(x64(value.__func__)))
        elif callable(value) and not isinstance(value, type):
            setattr(cls, name, x64(value))
    cls.__thetahat_x64__ = True
    return cls


def in_thread(fn):
    """``fn`` as a task for another thread (a pool, Dask): float64 there too, which
    ``jax.enable_x64`` keeps per thread."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with scope():
            return fn(*args, **kwargs)

    return run


def is_jax(value) -> bool:
    """Whether ``value`` is a JAX array or tracer (without importing JAX to find out)."""
    array = getattr(sys.modules.get("jax"), "Array", None)
    return array is not None and isinstance(value, array)
