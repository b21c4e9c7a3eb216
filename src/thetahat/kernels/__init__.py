"""Numerical kernels below the families: aligned buffers, row-block reductions, one-read summaries."""
