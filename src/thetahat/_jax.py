"""JAX set-up shared by every module: float64, and a compilation cache on disk.

The cache means a second process (a second ``thetahat fit`` from the shell) loads
compiled code instead of compiling it again. Its folder is ``$THETAHAT_CACHE_DIR``,
else ``$XDG_CACHE_HOME/thetahat/jax``, else ``~/.cache/thetahat/jax``.

The cache is an optimisation only: ``THETAHAT_CACHE_DIR=off`` turns it off (the test
suite does: XLA has twice aborted a test process while serialising or deserialising a
cached executable under two concurrent workers), a folder that cannot be created or
written (a read-only home) leaves it off, and an entry that cannot be read (a corrupt or truncated
file) is compiled again -- without JAX's warnings about either, which would only be noise
on a user's stderr.
"""

import os
import warnings

import jax

jax.config.update("jax_enable_x64", True)

# JAX warns (UserWarning) for every cache entry it fails to read or write; it then compiles,
# so the result is unaffected
warnings.filterwarnings("ignore", message=r"Error (reading|writing) persistent compilation cache entry",
                        category=UserWarning)


def _cache_dir() -> str:
    if os.environ.get("THETAHAT_CACHE_DIR"):
        return os.environ["THETAHAT_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "thetahat", "jax")


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
