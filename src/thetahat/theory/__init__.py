"""Theory: SymPy derivations, Fisher information and the Cramér–Rao bound, simulation studies,
KL divergence, and ``explain`` (a fit told the way a textbook would).

Examples
--------
>>> import thetahat
>>> thetahat.derive("exponential").estimators["lam"]
n/Sum(x[i], (i, 1, n))
"""

from . import study
from .derive import Derivation, derive
from .cramer_rao import Information, cramer_rao, efficiency, fisher_information, fisher_information_of_fit
from .kl import Divergence, kl, kl_to_empirical, mle_by_kl

__all__ = ["Derivation", "Divergence", "Information", "cramer_rao", "derive", "efficiency", "fisher_information",
           "fisher_information_of_fit", "kl", "kl_to_empirical", "mle_by_kl", "study"]
from .explain import Explanation, explain  # noqa: E402

__all__ += ["Explanation", "explain"]
