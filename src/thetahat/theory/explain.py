"""``thetahat.explain``: a maximum likelihood fit told the way a textbook would.

The model, the likelihood and its logarithm (with the actual numbers showing why logs:
the product of densities underflows float64), the closed-form derivation where one
exists, Newton's iterations with the log-likelihood rising, the second-derivative
check, the Fisher information, the standard errors, Wald intervals and AIC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._jax import x64, x64_methods
from ..errors import OptionError

SIG = 10  # significant digits of the key numbers (estimates, SEs, intervals, loglik, AIC)


@x64_methods
@dataclass(frozen=True)
class Explanation:
    """A fit explained step by step. ``to_markdown()`` and ``to_rich()`` render it.

    Attributes
    ----------
    fit : Fit
        The final fit (``method="auto"``: the closed form where one exists).
    newton : Fit
        The same model fitted by Newton's method, whose iterations are shown.
    derivation : Derivation or None
    numbers : dict
        The quantities quoted in the text (product of densities, log-likelihood, ...).
    """

    fit: object
    newton: object
    derivation: object
    numbers: dict
    iterations: list  # dicts: iteration, params, loglik, increase
    source: str
    rough_start: bool = False

    def _blocks(self):
        """(title, [paragraph or ('table', header, rows) or ('math', latex, text)]), one per section."""
        sections = [self._model_section(), _likelihood_section(), self._logarithms_section(),
                    self._derivation_section(), self._iterations_section(), self._information_section(),
                    self._estimates_section()]
        return [sec for sec in sections if sec is not None]

    def _model_section(self):
        f, num = self.fit, self.numbers
        fam = f.family
        est = [k for k in f.estimated]
        model = [f"The data are {num['n']} observations{self.source}, modelled as independent draws from the "
                 f"**{fam.name}** family with parameters {', '.join(est)}"
                 + (f" (known: {', '.join(f'{k} = {_g(v)}' for k, v in f.fixed.items())})" if f.fixed else "")
                 + "."]
        if self.derivation is not None:
            model.append(("math", "f(x \\mid \\theta) = " + _latex(self.derivation.density),
                          "f(x | θ) = " + _sstr(self.derivation.density)))
        else:
            model.append(_first_line(fam))
        return ("The model", model)

    def _logarithms_section(self):
        """Why ℓ and not L: the product of the densities at θ̂, and when it underflows."""
        num = self.numbers
        why = [f"At θ̂ the {num['n']} densities f(x_i | θ̂) range from {_g(num['min_density'], 4)} to "
               f"{_g(num['max_density'], 4)}. Their product computed in float64 is "
               f"**{_g(num['product'], 4)}**"]
        if num["product"] == 0.0:
            why[0] += (f" (it underflows: the true value is about 10^{num['log10_L']:.1f}, below the smallest "
                       f"float64, about 10^-324), while the log-likelihood is a finite "
                       f"**{_g(num['loglik'], SIG)}**.")
        else:
            why[0] += (f"; the log-likelihood is {_g(num['loglik'], SIG)}. Here the product is still "
                       f"representable, but it shrinks geometrically with n: about "
                       f"{num['n_underflow']} observations like these would underflow it to 0.")
        why.append("Sums of logs also turn the derivative of a product into a sum of simple terms, and "
                   "their derivatives (the score) are what the optimiser needs.")
        return ("Why logarithms", why)

    def _derivation_section(self):
        """The closed form from the score equations, or why there is none (None without a derivation)."""
        d = self.derivation
        if d is None:
            return None
        if not d.regular:
            return ("The derivation (non-regular)", [d.reason + "."])
        if not d.closed_form:
            return ("No closed form", [d.reason[0].upper() + d.reason[1:] + "."])
        blk = ["Setting the score (the derivative of ℓ) to zero:"]
        for p, s in zip(d.params, d.score):
            blk.append(("math", f"\\frac{{\\partial \\ell}}{{\\partial {_latex(p)}}} = {_latex(s)} = 0",
                        f"dℓ/d{p} = {_sstr(s)} = 0"))
        blk.append("gives the closed form")
        vals = self.numbers["closed_form"]
        for k, e in d.estimators.items():
            blk.append(("math", f"\\hat{{{_tex_name(k)}}} = {_latex(e)} = {_g(vals.get(k), SIG)}",
                        f"{k}-hat = {_sstr(e)} = {_g(vals.get(k), SIG)}"))
        for k, (desc, _) in d._boundary.items():
            blk.append(f"{k}-hat = {desc} = {_g(vals.get(k), SIG)} (a boundary maximum, not a root of the "
                       "score).")
        for k in d._derived:
            blk.append(f"and by invariance {k}-hat = {_g(vals.get(k), SIG)}.")
        return ("The derivation", blk)

    def _iterations_section(self):
        """Newton's iterations as a table, ℓ rising at each."""
        f, nt = self.fit, self.newton
        rows = [[str(r["iteration"]), ", ".join(f"{k} = {_g(v, 8)}" for k, v in r["params"].items()),
                 _g(r["loglik"], SIG), "" if r["increase"] is None else _g(r["increase"], 3)]
                for r in self.iterations]
        start = ("a deliberately rough start (positive parameters at half the estimate, locations five "
                 "standard errors away; the moment start is already the answer here)" if self.rough_start
                 else "the method-of-moments estimate")
        it = [f"Newton's method, started from {start}, with the exact autodiff "
              f"Hessian: {nt.diagnostics.iterations} iterations; it stopped because: {nt.reason}. Each "
              "accepted step raises ℓ:", ("table", ["iteration", "θ", "log-likelihood", "increase"], rows)]
        if f.method == "closed":
            agree = max(abs(float(np.asarray(f.params[k])) - float(np.asarray(nt.params[k])))
                        / max(1.0, abs(float(np.asarray(f.params[k])))) for k in f.estimated)
            it.append(f"Newton reaches the closed-form estimate to a relative {agree:.1e}.")
        return ("The optimiser's iterations", it)

    def _information_section(self):
        """The gradient and Hessian at θ̂, and the observed and expected information."""
        f, num = self.fit, self.numbers
        hnd = f.diagnostics.hessian_negative_definite
        chk = [f"At θ̂ the gradient of ℓ is {_g(f.diagnostics.grad_norm, 3)} (max |component|) and the Hessian "
               + {True: "is negative definite: θ̂ is a maximum, not a minimum or saddle.",
                  False: "is NOT negative definite: this is not a strict maximum.",
                  None: "check does not apply here."}[hnd]]
        if num.get("observed") is not None:
            chk.append(("table", ["information", *num["info_labels"]],
                        [[f"observed −H(θ̂), row {k}", *[_g(v, 8) for v in row]]
                         for k, row in zip(num["info_labels"], num["observed"])]
                        + ([[f"expected n·I(θ̂), row {k}", *[_g(v, 8) for v in row]]
                            for k, row in zip(num["info_labels"], num["expected"])]
                           if num.get("expected") is not None else [])))
            chk.append("The observed information is minus the Hessian of ℓ at θ̂; the expected (Fisher) "
                       "information is n times E[−∂² log f] at θ̂. Its inverse estimates the covariance of θ̂.")
        return ("Second-derivative check and Fisher information", chk)

    def _estimates_section(self):
        """Estimates, standard errors, Wald intervals, ℓ(θ̂), AIC and BIC."""
        f = self.fit
        ci = f.confint(0.95)
        rows = []
        for k in f.estimated:
            se = f.se.get(k)
            lo, hi = (None, None) if ci.get(k) is None else ci[k]
            rows.append([k, _g(f.params[k], SIG), _g(se, SIG), _g(lo, SIG), _g(hi, SIG)])
        res = [("table", ["parameter", "estimate", "std err", "95% Wald low", "95% Wald high"], rows),
               "Standard error: the square root of the diagonal of the inverse information. Wald interval: "
               "estimate ± 1.959964 · SE.",
               f"Log-likelihood ℓ(θ̂) = {_g(f.loglik, SIG)}; AIC = −2ℓ + 2k = {_g(f.aic, SIG)} "
               f"(k = {f.n_estimated}); BIC = {_g(f.bic, SIG)}."]
        res += [f"Note: {n}" for n in f.notes]
        return ("Standard errors, intervals and AIC", res)

    def to_markdown(self) -> str:
        """The explanation as Markdown (maths in ``$$ ... $$``)."""
        lines = [f"# Maximum likelihood, step by step: {self.fit.family.name}", ""]
        for i, (title, items) in enumerate(self._blocks(), 1):
            lines += [f"## {i}. {title}", ""]
            for it in items:
                if isinstance(it, tuple) and it[0] == "math":
                    lines += [f"$$ {it[1]} $$", ""]
                elif isinstance(it, tuple) and it[0] == "table":
                    _, head, rows = it
                    lines.append("| " + " | ".join(head) + " |")
                    lines.append("|" + "---|" * len(head))
                    lines += ["| " + " | ".join(r) + " |" for r in rows]
                    lines.append("")
                else:
                    lines += [it, ""]
        return "\n".join(lines).rstrip() + "\n"

    def to_rich(self):
        """A rich renderable (``rich.console.Console().print(e.to_rich())``)."""
        from rich.console import Group
        from rich.markup import escape
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        parts = []
        for i, (title, items) in enumerate(self._blocks(), 1):
            body = []
            for it in items:
                if isinstance(it, tuple) and it[0] == "math":
                    body.append(Text("    " + it[2], style="cyan"))
                elif isinstance(it, tuple) and it[0] == "table":
                    _, head, rows = it
                    t = Table(show_edge=False)
                    for j, h in enumerate(head):
                        t.add_column(h, justify="left" if j == 0 else "right")
                    for r in rows:
                        t.add_row(*[escape(c) for c in r])
                    body.append(t)
                else:
                    body.append(Text.from_markup(escape(it).replace("\\*\\*", "**").replace("**", "")))
            parts.append(Panel(Group(*body), title=f"{i}. {title}", title_align="left"))
        return Group(*parts)

    def __str__(self) -> str:
        return self.to_markdown()


def _likelihood_section():
    """What L and ℓ are, and why they share a maximiser (the same for every fit)."""
    return ("The likelihood and the log-likelihood", [
        "The likelihood is the probability (density) of the whole sample as a function of θ:",
        ("math", "L(\\theta) = \\prod_{i=1}^{n} f(x_i \\mid \\theta), \\qquad "
                 "\\ell(\\theta) = \\log L(\\theta) = \\sum_{i=1}^{n} \\log f(x_i \\mid \\theta)",
         "L(θ) = ∏ f(x_i | θ),   ℓ(θ) = log L(θ) = Σ log f(x_i | θ)"),
        "The maximum likelihood estimate θ̂ maximises L, and so ℓ: the logarithm is increasing, "
        "so both have the same maximiser."])


@x64
def explain(data, family, *, fixed=None, source: str = "") -> Explanation:
    """Explain the maximum likelihood fit of ``family`` to ``data``.

    Parameters
    ----------
    data : array_like
    family : str or Family
    fixed : dict, optional
        Known values (binomial ``n``) or parameters held fixed.
    source : str
        Where the data came from, quoted in the text (e.g. ``" from rivers.csv [x]"``).

    Returns
    -------
    Explanation

    Examples
    --------
    >>> import thetahat
    >>> e = thetahat.explain([0.5, 1.2, 2.0, 0.3], "exponential")
    >>> e.numbers["closed_form"]["lam"] == 4 / 4.0
    True
    >>> e.to_markdown().splitlines()[0]
    '# Maximum likelihood, step by step: exponential'
    """
    from ..errors import ThetahatError
    from ..fitting import fit
    from ..engine.layout import Layout
    from ..families import get_family
    from . import symbolic
    from .derive import derive
    from .cramer_rao import fisher_information_of_fit

    fam = get_family(family)
    if fam.ndim:
        raise OptionError(f"explain handles univariate families; {fam.name} is multivariate")
    x = np.asarray(data, dtype=float)
    f = fit(x, fam, fixed=fixed)
    nonreg_fixed = {k: f.params[k] for k in fam.nonregular if k not in (fixed or {})}
    rough = _rough_start(f, x) if f.method == "closed" else None
    try:
        nt = fit(x, fam, fixed=fixed, method="newton", start=rough)
    except ThetahatError:
        nt = None
    if nt is None or (not nt.converged and nonreg_fixed):
        # the support moves with non-regular parameters: show Newton for the regular ones
        rough = None if rough is None else {k: v for k, v in rough.items() if k not in nonreg_fixed}
        nt = fit(x, fam, fixed={**(fixed or {}), **nonreg_fixed}, method="newton", start=rough or None)
    layout = Layout.build(nt.family, nt.family.param_shapes(x), nt.estimated)
    iters, prev = [], None
    import jax.numpy as jnp

    for i, (u, ll) in enumerate(zip(nt.path, nt.trace)):
        p = {k: float(np.asarray(v)) for k, v in layout.to_params(jnp.asarray(u)).items()}
        iters.append({"iteration": i, "params": p, "loglik": float(ll),
                      "increase": None if prev is None else float(ll) - prev})
        prev = float(ll)
    d = derive(fam.name) if symbolic.builtin(fam.name) is not None else None
    logf = np.asarray(f.logpdf(x), dtype=float)
    dens = np.exp(logf)
    num = {"n": int(x.size), "loglik": float(f.loglik), "product": float(np.prod(dens)),
           "min_density": float(dens.min()), "max_density": float(dens.max()),
           "log10_L": float(logf.sum() / np.log(10))}
    mean_log = float(logf.mean())
    num["n_underflow"] = int(np.ceil(-745.13 / mean_log)) if mean_log < 0 else None
    if d is not None and (d.estimators or d._boundary):
        known = {k: float(np.asarray(f.params[k])) for k in d._known if k in f.params}
        num["closed_form"] = d.evaluate(x, **known)
    else:
        num["closed_form"] = {}
    if f.cov is not None:
        num["info_labels"] = list(f.cov_labels)
        num["observed"] = fisher_information_of_fit(f, "observed").tolist()
        try:
            num["expected"] = fisher_information_of_fit(f, "expected").tolist()
        except ThetahatError:
            num["expected"] = None
    return Explanation(f, nt, d, num, iters, source, rough is not None)


def _rough_start(f, x):
    """A deliberately rough start for closed-form families (their moment start is often the answer
    itself): positive parameters halved, real ones moved by five standard errors,
    probabilities moved towards 1/2."""
    from .. import constraints as C

    out = {}
    for k in f.estimated:
        if k in f.family.nonregular:
            continue
        v, con = float(np.asarray(f.params[k])), f.family.params[k]
        if np.ndim(f.params[k]):
            return None
        if isinstance(con, C.Interval):
            out[k] = (v + 0.5) / 2 if abs(v - 0.5) > 0.05 else 0.25
        elif isinstance(con, C.GreaterThan):
            out[k] = v / 2
        else:
            se = f.se.get(k)
            out[k] = v + (5 * float(se) if se is not None else 1.0)
    return out


# ---------------------------------------------------------------------------------
def _g(v, digits=6):
    if v is None:
        return "n/a"
    a = np.asarray(v, dtype=float)
    if a.ndim:
        return "[" + ", ".join(_g(t, digits) for t in a.ravel()) + "]"
    return f"{float(a):.{digits}g}"


def _latex(e):
    import sympy as sp

    return sp.latex(e)


def _sstr(e):
    import sympy as sp

    return sp.sstr(e)


def _tex_name(k):
    return {"sigma2": "\\sigma^2", "lam": "\\lambda", "mu": "\\mu", "sigma": "\\sigma"}.get(k, "\\text{" + k + "}")


def _first_line(fam):
    doc = (type(fam).__doc__ or fam.name).strip().splitlines()[0]
    return f"Density: {doc}"
