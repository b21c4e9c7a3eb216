"""Numerical kernels below the families: aligned buffers, row-block reductions, fused summaries."""
