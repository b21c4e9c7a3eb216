"""``thetahat.mixture``: finite mixtures of any family by EM, with standard errors."""

from __future__ import annotations

import numpy as np

from .._jax import x64
from ..errors import OptionError
from . import _common as cm
from . import polish as pl
from .mixture_fit import MAX_ITER, TOL
from .mixture_memory import fit_in_memory, memory_columns
from .mixture_result import MixtureSelection
from .streamed import stream_mixture


@x64
def mixture(data, k, family="normal", *, cov_type="full", starts=1, seed=0, max_iter=MAX_ITER, tol=TOL,
            start=None, cov_prior="auto", se=True, column=None, columns=None, dropna=False, dask=False,
            newton_steps=pl.NEWTON_STEPS):
    """Fit a finite mixture of ``k`` components of one family by EM, finished by Newton steps.

    EM converges linearly, and slowly where components overlap: its stopping rule (a small
    change of the objective) is met while the estimates are still short of the maximum. So
    after EM the fit takes damped Newton steps on the marginal (observed-data) objective,
    with its exact gradient and Hessian, and ``converged`` is True
    only if the gradient test then passes (:mod:`thetahat.em.polish`: the gain a further
    Newton step predicts is at most 1e-12 of the objective, and the point is not a saddle);
    ``reason`` gives the gradient either way.

    Parameters
    ----------
    data : array_like
        1-D observations, or a 2-D table (rows = observations) for multivariate normal,
        Bernoulli (binary items) or categorical (label items) components.
    k : int or iterable of int
        Number of components. An iterable (``range(1, 7)``) fits each and chooses k by
        BIC, returning a :class:`MixtureSelection`.
    family : str or Family
        Any thetahat family. ``"normal"`` (``"mvnormal"`` for 2-D data is implied) and
        ``"bernoulli"``/``"categorical"`` over several columns have their own closed-form
        M-steps; a family with sufficient statistics and a closed-form MLE (poisson,
        exponential, geometric, lognormal, rayleigh, ...) takes that closed form on the
        responsibility-weighted statistics; any other a weighted Newton M-step on its log-density.
    cov_type : {"full", "diag", "spherical", "tied"}
        Covariance structure of multivariate normal components.
    starts : int
        Number of EM runs from different k-means++ initialisations; the run with the
        highest objective is kept.
    seed : int
        Seed of the initialisations.
    max_iter, tol : int, float
        EM stops when the objective changes by less than ``tol`` per observation, or after
        ``max_iter`` iterations; either way the Newton steps follow, and the fit has
        converged only if the gradient test passes after them.
    newton_steps : int
        At most this many Newton steps after EM. 0: none; the gradient is then still
        tested if EM stopped by its rule, and a fit stopped at ``max_iter`` is not
        converged (plain EM for a fixed number of iterations).
    start : dict, optional
        Starting values instead of k-means++: ``weights`` plus the per-component
        parameters as reported (``mu``, ``sigma``/``cov``/``var``, ``lam``, ``p``, ...),
        each with the component axis first.
    cov_prior : "auto", float, array or None
        Weak prior ψ on normal covariances (see ``docs/design/em.md``): the M-step becomes
        (scatter + diag ψ) / N_j, which keeps a component from collapsing onto a point.
        ``"auto"`` is 1e-6 times each column's variance; ``0``/``None`` is plain
        maximum likelihood.
    se : bool
        Compute standard errors (observed information of the mixture log-likelihood).
    column, columns : str or list of str, optional
        The column(s) to fit when ``data`` names Parquet/CSV files (a path, glob, folder
        or list) or is a Dask collection -- then the data are streamed, one pass per EM
        iteration (see :mod:`thetahat.em.streamed`) -- or is a pandas DataFrame.
    dropna : bool
        Streamed data only: drop (and count) rows with NaN instead of raising.
    dask : bool
        Streamed files are read by the Dask workers of the active scheduler.

    Returns
    -------
    MixtureFit or MixtureSelection

    Examples
    --------
    >>> import numpy as np, thetahat
    >>> x = np.concatenate([np.linspace(-1, 1, 300), np.linspace(5, 7, 200)])
    >>> f = thetahat.mixture(x, 2)
    >>> np.round(f.params["mu"], 3).tolist(), np.round(f.params["weights"], 3).tolist()
    ([0.0, 6.0], [0.6, 0.4])
    >>> f.converged
    True
    """
    run = dict(cov_type=cov_type, starts=starts, seed=seed, max_iter=max_iter, tol=tol, start=start,
               cov_prior=cov_prior, se=se, newton_steps=newton_steps)
    return _route(data, k, family, run, column=column, columns=columns, dropna=dropna, dask=dask)


def _route(data, k, family, run, *, column, columns, dropna, dask):
    """Streamed data to :func:`~thetahat.em.streamed.stream_mixture`; in-memory data
    to :func:`~thetahat.em.mixture_memory.fit_in_memory`, once for an int ``k`` or for each of several (chosen by BIC).
    ``run`` holds the options both routes share."""
    from ..scale.sources import is_stream_input

    if is_stream_input(data):
        return stream_mixture(data, k, family, column=column, columns=columns, dropna=dropna, dask=dask, **run)
    if dropna or dask:
        raise OptionError("dropna and dask apply to streamed data (files or a Dask collection); drop NaN rows "
                          "before an in-memory mixture")
    if column is not None or columns is not None:
        data = memory_columns(data, column, columns)
    if not isinstance(k, (int, np.integer)) and not isinstance(k, bool):
        ks = cm.check_ks(k)
        fits = {kk: fit_in_memory(data, kk, family, **dict(run, start=None)) for kk in ks}
        return MixtureSelection.from_fits(fits)
    return fit_in_memory(data, k, family, **run)
