"""Output helpers shared by every CLI command: JSON that never holds NaN, rich consoles, number formats."""

from __future__ import annotations

import json
import math
import sys


def clean(v):
    """JSON-safe: NaN and infinities become null, NumPy scalars and arrays plain Python."""
    if isinstance(v, dict):
        return {str(k): clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        return clean(v.tolist())
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return str(v)


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(clean(obj), allow_nan=False) + "\n")


def console():
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1 itself; main() exits as for --json
            self.quiet = True
            raise BrokenPipeError

    tty = getattr(sys.stdout, "isatty", lambda: False)()
    # piped output is read by people too (and grep): don't squeeze tables to 80 columns
    return _Console(file=sys.stdout, highlight=False, width=None if tty else 200)


def g(v, digits=6):
    if v is None:
        return "n/a"
    try:
        fv = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{fv:.{digits}g}"


def esc(s):
    """Escape rich markup and control characters (ANSI escapes) in user-provided text."""
    from rich.markup import escape

    from ._messages import printable

    return escape(printable(s))
