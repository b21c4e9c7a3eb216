"""The ``thetahat`` command line: ``fit``, ``compare`` and ``families`` (see :mod:`thetahat.cli.main`)."""
