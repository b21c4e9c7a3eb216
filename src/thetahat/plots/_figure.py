"""Figures on the Agg canvas, and saving them by file extension."""

from __future__ import annotations

import os

from ..errors import OptionError

SINGLE = (6.4, 4.8)
PANEL = (10.0, 8.0)
DPI = 100


def new_figure(figsize=None, dpi=None, nrows=1, ncols=1, ax=None):
    """``(figure, axes)``: a fresh Agg figure, or the figure of a given ``ax``."""
    if ax is not None:
        if nrows * ncols != 1:
            raise OptionError("a panel of several plots draws its own figure: pass no ax")
        return ax.figure, ax
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    size = figsize or (SINGLE if nrows * ncols == 1 else PANEL)
    fig = Figure(figsize=size, dpi=dpi or DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def finish(fig, path):
    """Write ``fig`` to ``path`` (format from the extension) and return it."""
    if path is None:
        return fig
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    formats = fig.canvas.get_supported_filetypes()
    if ext not in formats:
        raise OptionError(f"cannot write a plot to {path!r}: the extension {('.' + ext) if ext else '(none)'} is "
                          f"not a known image format; use one of {', '.join('.' + f for f in sorted(formats))}")
    fig.savefig(path, format=ext)
    return fig


def fit_data(fit, what):
    """The fit's data rows and weights, or an OptionError saying why a plot cannot use them."""
    ctx = getattr(fit, "context", None)
    if ctx is None:
        raise OptionError(f"this fit carries no data: the {what} needs it")
    if ctx.censored or ctx.family.censored:
        raise OptionError(f"the {what} of censored or truncated data is not supported (the plotted empirical "
                          "distribution would ignore the censoring)")
    if ctx.family.ndim:
        raise OptionError(f"the {what} applies to univariate families, not {ctx.family.name}")
    raw = ctx.rows(f"the {what}")
    return raw.x, raw.w
