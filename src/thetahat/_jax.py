"""JAX for thetahat: imported on first use, then set up once.

``import thetahat`` does not import JAX (about half a second of start-up): a closed-form fit
runs on NumPy alone (:mod:`thetahat.closed_fit`). Modules that use JAX inside their
functions name it through the proxies here -- ``jax``, ``jnp`` (``jax.numpy``), ``lax``,
``jsp`` (``jax.scipy.special``), ``jss`` (``jax.scipy.stats``), ``jsl`` (``jax.scipy.linalg``)
-- which import the real module at their first attribute access, and a module-level
``@jit`` is :func:`jit`, compiled at its first call.

Set-up, once, at that first import (:func:`load`):

* float64 -- see :mod:`docs/design/x64.md <thetahat._jax>` and :func:`x64`;
* a compilation cache on disk, so that a second process (a second ``thetahat fit`` from
  the shell) loads compiled code instead of compiling it again. Its folder is
  ``$THETAHAT_CACHE_DIR``, else ``$XDG_CACHE_HOME/thetahat/jax``, else
  ``~/.cache/thetahat/jax``. The cache is an optimisation only: ``THETAHAT_CACHE_DIR=off``
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

import functools
import importlib
import os
import sys
import threading
import types
import warnings

_ready = False
_lock = threading.RLock()


def load():
    """The ``jax`` module, imported and set up (compile cache, float64) on the first call."""
    global _ready
    if _ready:
        return sys.modules["jax"]
    with _lock:
        import jax

        if not _ready:
            _configure(jax)
            _ready = True
    return jax


def _configure(jax) -> None:
    jax.config.update("jax_enable_x64", True)
    # JAX warns (UserWarning) for every cache entry it fails to read or write; it then compiles,
    # so the result is unaffected
    warnings.filterwarnings("ignore", message=r"Error (reading|writing) persistent compilation cache entry",
                            category=UserWarning)
    try:
        if os.environ.get("THETAHAT_CACHE_DIR", "").lower() == "off":
            raise OSError("the compile cache is turned off")
        os.makedirs(_cache_dir(), exist_ok=True)
        if os.access(_cache_dir(), os.W_OK | os.X_OK):
            jax.config.update("jax_compilation_cache_dir", _cache_dir())
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    except (OSError, AttributeError):  # read-only home or an older JAX: compile in memory only
        pass


def _cache_dir() -> str:
    if os.environ.get("THETAHAT_CACHE_DIR"):
        return os.environ["THETAHAT_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "thetahat", "jax")


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
    does not import JAX when the module is imported."""
    if fun is None:
        return functools.partial(jit, **options)
    compiled = []

    @functools.wraps(fun)
    def call(*args, **kwargs):
        if not compiled:
            compiled.append(load().jit(fun, **options))
        return compiled[0](*args, **kwargs)

    return call


def is_jax(value) -> bool:
    """Whether ``value`` is a JAX array or tracer (without importing JAX to find out)."""
    array = getattr(sys.modules.get("jax"), "Array", None)
    return array is not None and isinstance(value, array)
