"""Plots of a fit: the fitted distribution against the data, and the likelihood surface.

Every function returns a :class:`matplotlib.figure.Figure` drawn with the Agg canvas
(no window, no change to pyplot's global state) and writes it to ``path`` when one is
given, in the format its extension names (``.png``, ``.svg``, ``.pdf``, ...).
matplotlib is imported only when a plot is made.

* :func:`plot_fit` -- density/PMF over a histogram, QQ, PP, CDF, or the four as a panel;
* :func:`plot_profile` -- a profile log-likelihood with its χ² cutoff and interval;
* :func:`plot_contour` -- the log-likelihood over two parameters, the optimiser's path on it;
* :func:`plot_trace` -- the log-likelihood per iteration.
"""

from .distribution import plot_fit
from .likelihood import loglik_grid, plot_contour, plot_profile, plot_trace

__all__ = ["loglik_grid", "plot_contour", "plot_fit", "plot_profile", "plot_trace"]
