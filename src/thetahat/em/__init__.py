"""Latent-variable maximum likelihood by EM: finite mixtures and hidden Markov models.

``thetahat.mixture`` fits a mixture of k components of any family; ``thetahat.hmm``
fits a hidden Markov model by Baum-Welch. Both report standard errors from the
observed information of the marginal log-likelihood (autodiff through the mixture
density and through the forward algorithm), and a log-likelihood trace that never
decreases.

Example
-------
>>> import numpy as np, thetahat
>>> x = np.concatenate([np.linspace(-1, 1, 40), np.linspace(5, 7, 60)])
>>> np.round(thetahat.mixture(x, 2).params["weights"], 3).tolist()
[0.4, 0.6]
"""

from .hmm import hmm
from .hmm_result import HMMFit
from .mixture import mixture
from .mixture_result import MixtureFit, MixtureSelection

__all__ = ["HMMFit", "MixtureFit", "MixtureSelection", "hmm", "mixture"]
