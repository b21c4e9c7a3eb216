"""``thetahat.fit``: one family fitted to one sample, in memory or streamed.

The front door (:mod:`.api`) opens the data -- an array, files, a Dask collection --
builds the objective and calls the estimation core; :mod:`.streamed` and
:mod:`.passes` hold the streamed objective, :mod:`.update` refits with more data.
"""

from .api import fit
from .estimate import FitContext

__all__ = ["FitContext", "fit"]
