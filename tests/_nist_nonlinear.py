"""The 27 NIST StRD nonlinear regression problems: a reader and the models, written by hand.

Each model is transcribed from the "Model:" section of its file (``tests/data/nist_nonlinear``),
as a JAX function ``f(x, b)`` with ``b`` the parameter vector ``b1..bp`` (``b[0]..b[p-1]``).
Nelson's response is ``log(y)``: the reader returns ``log`` of the file's ``y`` for it.

The reader takes, from the file itself: both NIST starting points, the certified parameters and
standard deviations (and how many significant digits each is given to), the certified residual sum
of squares, and the data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

HERE = os.path.join(os.path.dirname(__file__), "data", "nist_nonlinear")
PI = 3.141592653589793238462643383279  # NIST writes pi to 31 digits in Roszman1 and ENSO


def _exp_class_3(x, b):
    return b[0] * jnp.exp(-b[1] * x) + b[2] * jnp.exp(-b[3] * x) + b[4] * jnp.exp(-b[5] * x)


def _gauss(x, b):
    return (b[0] * jnp.exp(-b[1] * x) + b[2] * jnp.exp(-((x - b[3]) ** 2) / b[4] ** 2)
            + b[5] * jnp.exp(-((x - b[6]) ** 2) / b[7] ** 2))


def _rational_33(x, b):
    return (b[0] + b[1] * x + b[2] * x ** 2 + b[3] * x ** 3) / (1 + b[4] * x + b[5] * x ** 2 + b[6] * x ** 3)


def _misra1a(x, b):
    return b[0] * (1 - jnp.exp(-b[1] * x))


# name -> (NIST level of difficulty, model)
MODELS = {
    "Misra1a": ("lower", _misra1a),
    "Chwirut2": ("lower", lambda x, b: jnp.exp(-b[0] * x) / (b[1] + b[2] * x)),
    "Chwirut1": ("lower", lambda x, b: jnp.exp(-b[0] * x) / (b[1] + b[2] * x)),
    "Lanczos3": ("lower", _exp_class_3),
    "Gauss1": ("lower", _gauss),
    "Gauss2": ("lower", _gauss),
    "DanWood": ("lower", lambda x, b: b[0] * x ** b[1]),
    "Misra1b": ("lower", lambda x, b: b[0] * (1 - (1 + b[1] * x / 2) ** (-2))),
    "Kirby2": ("average", lambda x, b: (b[0] + b[1] * x + b[2] * x ** 2) / (1 + b[3] * x + b[4] * x ** 2)),
    "Hahn1": ("average", _rational_33),
    "Nelson": ("average", lambda x, b: b[0] - b[1] * x[:, 0] * jnp.exp(-b[2] * x[:, 1])),
    "MGH17": ("average", lambda x, b: b[0] + b[1] * jnp.exp(-x * b[3]) + b[2] * jnp.exp(-x * b[4])),
    "Lanczos1": ("average", _exp_class_3),
    "Lanczos2": ("average", _exp_class_3),
    "Gauss3": ("average", _gauss),
    "Misra1c": ("average", lambda x, b: b[0] * (1 - (1 + 2 * b[1] * x) ** (-0.5))),
    "Misra1d": ("average", lambda x, b: b[0] * b[1] * x * ((1 + b[1] * x) ** (-1))),
    "Roszman1": ("average", lambda x, b: b[0] - b[1] * x - jnp.arctan(b[2] / (x - b[3])) / PI),
    "ENSO": ("average", lambda x, b: (b[0] + b[1] * jnp.cos(2 * PI * x / 12) + b[2] * jnp.sin(2 * PI * x / 12)
                                      + b[4] * jnp.cos(2 * PI * x / b[3]) + b[5] * jnp.sin(2 * PI * x / b[3])
                                      + b[7] * jnp.cos(2 * PI * x / b[6]) + b[8] * jnp.sin(2 * PI * x / b[6]))),
    "MGH09": ("higher", lambda x, b: b[0] * (x ** 2 + x * b[1]) / (x ** 2 + x * b[2] + b[3])),
    "Thurber": ("higher", _rational_33),
    "BoxBOD": ("higher", _misra1a),
    "Rat42": ("higher", lambda x, b: b[0] / (1 + jnp.exp(b[1] - b[2] * x))),
    "MGH10": ("higher", lambda x, b: b[0] * jnp.exp(b[1] / (x + b[2]))),
    "Eckerle4": ("higher", lambda x, b: (b[0] / b[1]) * jnp.exp(-0.5 * ((x - b[2]) / b[1]) ** 2)),
    "Rat43": ("higher", lambda x, b: b[0] / ((1 + jnp.exp(b[1] - b[2] * x)) ** (1 / b[3]))),
    "Bennett5": ("higher", lambda x, b: b[0] * (b[1] + x) ** (-1 / b[2])),
}
NAMES = list(MODELS)


@dataclass(frozen=True)
class Problem:
    name: str
    difficulty: str
    model: object
    x: np.ndarray
    y: np.ndarray
    start1: np.ndarray
    start2: np.ndarray
    certified: np.ndarray
    certified_sd: np.ndarray
    digits: np.ndarray  # significant digits of each certified parameter
    sd_digits: np.ndarray
    rss: float


def _sig_digits(token: str) -> int:
    mantissa = re.split("[eE]", token)[0].lstrip("+-").replace(".", "").lstrip("0")
    return len(mantissa)


def load(name: str, extended: bool = False) -> Problem:
    """Read ``tests/data/nist_nonlinear/<name>.dat``; with ``extended``, x and y are parsed
    from the file's decimals straight into ``numpy.longdouble`` (not through float64)."""
    with open(os.path.join(HERE, name + ".dat")) as fh:
        lines = fh.read().splitlines()
    rows = [ln.split() for ln in lines if re.match(r"^\s*b\d+\s*=", ln)]
    # "b1 = start1 start2 certified sd"
    start1 = np.array([float(r[2]) for r in rows])
    start2 = np.array([float(r[3]) for r in rows])
    cert = np.array([float(r[4]) for r in rows])
    sd = np.array([float(r[5]) for r in rows])
    rss = float(next(ln for ln in lines if ln.startswith("Residual Sum of Squares:")).split()[-1])
    head = next(i for i, ln in enumerate(lines) if re.match(r"^Data:\s+y\b", ln, re.IGNORECASE))
    num = np.longdouble if extended else float
    data = np.array([[num(v) for v in ln.split()] for ln in lines[head + 1:] if ln.strip()],
                    dtype=np.longdouble if extended else np.float64)
    y, x = data[:, 0], data[:, 1:]
    x = x[:, 0] if x.shape[1] == 1 else x
    if name == "Nelson":
        y = np.log(y)
    difficulty, model = MODELS[name]
    return Problem(name, difficulty, model, x, y, start1, start2, cert, sd,
                   np.array([_sig_digits(r[4]) for r in rows]), np.array([_sig_digits(r[5]) for r in rows]), rss)


def lre(est, cert, digits):
    """Log relative error -log10(|est - cert| / |cert|), capped at the digits certified (per entry)."""
    est, cert = np.asarray(est, dtype=float), np.asarray(cert, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(est - cert) / np.abs(cert)
        out = -np.log10(rel)
    out = np.where(np.isfinite(est), out, 0.0)
    return np.minimum(np.where(np.isnan(out), 0.0, out), digits)
