"""``thetahat.derive``: the maximum likelihood estimator worked out with SymPy.

The log-likelihood of n i.i.d. observations is the sum of log-densities. Expanding
``log f(x | θ)`` into terms ``a_j(θ) T_j(x)`` shows which sums ``S_j = Σ_i T_j(x_i)``
the likelihood depends on (the sufficient statistics); the score equations are then
ordinary equations in θ and the ``S_j``, which SymPy solves where a closed form exists.

The expected Fisher information uses the first Bartlett identity: ``E[score] = 0``
determines ``E[T_j(X)]``, and the negative Hessian, linear in the ``T_j``, has
expectation ``-H(θ; S_j = n E[T_j])``. Where that system is not square it falls back
to integrating (or summing) ``-∂² log f`` against ``f`` over the support.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .._jax import x64, x64_methods
from ..errors import OptionError
from . import symbolic

N = sp.Symbol("n", positive=True, integer=True)
I_ = sp.Symbol("i", integer=True, positive=True)
XI = sp.IndexedBase("x")


@x64_methods
@dataclass(frozen=True)
class Derivation:
    """What :func:`derive` found, as SymPy expressions and in words.

    Attributes
    ----------
    name : str
    density : sympy.Expr
    params : list of sympy.Symbol
    loglik : sympy.Expr
        The log-likelihood of n observations, with sums ``Sum(T(x[i]), (i, 1, n))``.
    score : list of sympy.Expr
        ∂ℓ/∂θ_k for each parameter.
    hessian : sympy.Matrix
    estimators : dict
        name -> SymPy expression of the MLE (empty where there is no closed form).
    closed_form : bool
    reason : str
        Why there is (or is not) a closed form, or why the case is non-regular.
    hessian_at_solution : sympy.Matrix or None
        The Hessian at the solution, written in terms of the estimates.
    negative_definite : bool or None
    fisher_information : sympy.Matrix or None
        Expected information of ONE observation.
    cramer_rao : sympy.Matrix or None
        ``(n I(θ))⁻¹``, the lower bound on the covariance of unbiased estimators.
    """

    name: str
    density: sp.Expr
    x: sp.Symbol
    params: list
    names: list
    loglik: sp.Expr
    score: list
    hessian: sp.Matrix
    estimators: dict
    closed_form: bool
    reason: str
    hessian_at_solution: sp.Matrix | None
    negative_definite: bool | None
    negative_definite_how: str
    fisher_information: sp.Matrix | None
    fisher_how: str
    cramer_rao: sp.Matrix | None
    regular: bool = True
    notes: tuple = ()
    _stat_exprs: tuple = ()  # T_j(x), in the order of the statistic symbols
    _stat_symbols: tuple = ()
    _stat_estimators: dict = field(default_factory=dict)
    _known: dict = field(default_factory=dict)
    _derived: dict = field(default_factory=dict)
    _boundary: dict = field(default_factory=dict)

    # ---- numbers -----------------------------------------------------------------
    def evaluate(self, data, **known) -> dict:
        """The closed-form estimates for ``data`` (floats).

        Known constants are passed by name (binomial ``n=10``; pareto ``scale=...``,
        by default the sample minimum, which is its MLE).

        Examples
        --------
        >>> import thetahat
        >>> thetahat.derive("poisson").evaluate([2, 4, 3])
        {'lam': 3.0}
        """
        if not self.estimators and not self._boundary:
            raise OptionError(f"{self.name} has no closed-form MLE: {self.reason}")
        x = np.asarray(data, dtype=float).ravel()
        if x.size == 0:
            from ..errors import EmptyDataError

            raise EmptyDataError("evaluate needs at least one observation")
        out = {}
        for name, (_, fn) in self._boundary.items():
            out[name] = float(known.get(name, fn(x)))
        subs = {N: x.size}
        for name, sym in self._known.items():
            if name in out:
                subs[sym] = out[name]
            elif name in known:
                subs[sym] = float(known[name])
            else:
                raise OptionError(f"{self.name}: pass the known value of {name!r}, e.g. evaluate(x, {name}=...)")
        for T, S in zip(self._stat_exprs, self._stat_symbols):
            vals = sp.lambdify(self.x, T, "numpy")(x)
            subs[S] = float(np.sum(np.broadcast_to(vals, x.shape)))
        for name, expr in self._stat_estimators.items():
            out[name] = float(sp.N(expr.subs(subs), 17))
        by_sym = {p: out[nm] for p, nm in zip(self.params, self.names) if nm in out}
        for name, expr in self._derived.items():
            out[name] = float(sp.N(expr.subs(by_sym), 17))
        return out

    # ---- text ------------------------------------------------------------------------
    def _sections(self):
        """(title, [(label, sympy expr or str)]) pieces shared by the three renderings."""
        out = [("Model", [("f(x)", self.density)])]
        out.append(("Log-likelihood of n observations", [("l", self.loglik)]))
        if self.notes:
            out.append(("Notes", [(None, n) for n in self.notes]))
        if not self.regular:
            est = [(f"{k}-hat", desc) for k, (desc, _) in self._boundary.items()]
            out.append(("Non-regular: the maximum is on the boundary", [(None, self.reason)] + est))
            return out
        out.append(("Score equations", [(f"dl/d{p}", s) for p, s in zip(self.params, self.score)]))
        if self.closed_form:
            out.append(("Solution (the MLE)", [(f"{nm}-hat", e) for nm, e in self.estimators.items()]))
            if self._boundary:
                out[-1][1].extend((f"{k}-hat", desc) for k, (desc, _) in self._boundary.items())
            verdict = {True: "negative definite: a maximum", False: "NOT negative definite",
                       None: "sign undetermined"}[self.negative_definite]
            out.append(("Second-derivative check", [("H at the MLE", self.hessian_at_solution),
                                                    (None, f"{verdict} ({self.negative_definite_how})")]))
        else:
            out.append(("No closed form", [(None, self.reason)]))
        if self.fisher_information is not None:
            out.append(("Expected Fisher information (one observation)",
                        [("I", _simple(self.fisher_information)), (None, self.fisher_how)]))
            out.append(("Cramer-Rao bound (n observations)", [("(n I)^-1", _simple(self.cramer_rao))]))
        return out

    def to_text(self) -> str:
        """Plain text (SymPy's string form of each expression).

        Examples
        --------
        >>> import thetahat
        >>> print(thetahat.derive("exponential").to_text().splitlines()[0])
        Derivation of the MLE: exponential
        """
        lines = [f"Derivation of the MLE: {self.name}", ""]
        for title, items in self._sections():
            lines.append(title)
            for label, e in items:
                body = e if isinstance(e, str) else sp.sstr(_simple(e))
                lines.append(f"  {label} = {body}" if label else f"  {body}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def to_markdown(self) -> str:
        """Markdown with ``$...$`` LaTeX maths."""
        lines = [f"## Derivation of the MLE: {self.name}", ""]
        for title, items in self._sections():
            lines.append(f"**{title}**")
            lines.append("")
            for label, e in items:
                if isinstance(e, str):
                    lines.append(f"- {e}" if label is None else f"- ${_tex_label(label)}$: {e}")
                else:
                    lhs = "" if label is None else _tex_label(label) + " = "
                    lines.append(f"$$ {lhs}{sp.latex(_simple(e))} $$")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def to_latex(self) -> str:
        """A LaTeX fragment (``\\section*`` headings and ``align*`` blocks)."""
        lines = [f"\\section*{{Derivation of the MLE: {self.name}}}"]
        for title, items in self._sections():
            lines.append(f"\\subsection*{{{title}}}")
            for label, e in items:
                if isinstance(e, str):
                    lines.append(_tex_escape(e) + "\n")
                else:
                    lhs = "" if label is None else _tex_label(label) + " &= "
                    lines.append(f"\\begin{{align*}}\n{lhs}{sp.latex(_simple(e))}\n\\end{{align*}}")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_text()


@x64
def derive(family, *, x=None, params=None, support=None, discrete=False, name=None) -> Derivation:
    """Derive the maximum likelihood estimator, its Hessian check and Fisher information with SymPy.

    Parameters
    ----------
    family : str or sympy.Expr
        A built-in family name (bernoulli, binomial, geometric, poisson, exponential,
        normal, lognormal, rayleigh, halfnormal, pareto, gamma, weibull, beta, uniform)
        or a density written in SymPy.
    x : sympy.Symbol
        The observation symbol of a SymPy density.
    params : list of sympy.Symbol
        The parameters to estimate (other symbols are known constants).
    support : tuple, optional
        ``(lower, upper)`` of one observation, for the Fisher information where it must
        be integrated; default (0, ∞) when ``x`` is declared positive, else (−∞, ∞).
    discrete : bool
        Whether the support is the integers between its bounds (sums, not integrals).

    Returns
    -------
    Derivation

    Examples
    --------
    >>> import thetahat
    >>> d = thetahat.derive("bernoulli")
    >>> d.estimators["p"]
    Sum(x[i], (i, 1, n))/n
    >>> d.fisher_information[0, 0]          # 1 / (p (1 - p))
    -1/(p*(p - 1))

    A density of your own:

    >>> import sympy as sp
    >>> x, th = sp.symbols("x theta", positive=True)
    >>> d = thetahat.derive(th * x ** (th - 1), x=x, params=[th], support=(0, 1))
    >>> d.estimators["theta"]
    -n/Sum(log(x[i]), (i, 1, n))
    """
    if isinstance(family, sp.Basic):
        if x is None or not params:
            raise OptionError("a SymPy density needs x=<observation symbol> and params=[<parameter symbols>]")
        if x not in family.free_symbols:
            raise OptionError(f"the density does not contain the observation symbol {x}")
        params = list(params)
        for p in params:
            if p not in family.free_symbols:
                raise OptionError(f"the density does not contain the parameter {p}")
        if support is None:
            support = (0, sp.oo) if x.is_positive else (-sp.oo, sp.oo)
        unit = ()
        spec = symbolic.SymbolicFamily(name or "custom density", family, x, params, [str(p) for p in params],
                                       tuple(support), bool(discrete), unit)
    else:
        from ..families import get_family

        fam_name = get_family(family).name
        spec = symbolic.builtin(fam_name)
        if spec is None:
            raise OptionError(f"derive has no SymPy density for {fam_name!r}; it knows "
                              f"{', '.join(symbolic.names())}, or pass a SymPy expression with x= and params=")
    return _derive(spec)


# ---------------------------------------------------------------------------------------
def _derive(spec) -> Derivation:
    x, params = spec.x, spec.params
    logf = sp.expand(sp.expand_log(sp.expand_func(sp.log(spec.density)), force=True))
    stats, rest, h, curved = _decompose(logf, x, params)
    notes = [spec.note] if spec.note else []
    # a sum of non-negative terms is positive (data not all zero): lets SymPy pick the positive root
    S = [sp.Symbol(f"S_{j + 1}", positive=True) if T.is_nonnegative else sp.Symbol(f"S_{j + 1}")
         for j, T in enumerate(stats)]
    sums = {s: sp.Sum(T.subs(x, XI[I_]), (I_, 1, N)) for s, T in zip(S, stats)}
    if curved is None:
        ll_stat = sum((coef * s for s, coef in zip(S, stats.values())), sp.Integer(0)) + N * rest
        # terms free of the parameters (Σ h(x_i)) are shown but play no part in the derivatives
        ll_display = ll_stat.subs(sums) + (sp.Sum(h.subs(x, XI[I_]), (I_, 1, N)) if h != 0 else 0)
    else:
        ll_stat = None
        ll_display = sp.Sum(logf.subs(x, XI[I_]), (I_, 1, N))
    common = dict(name=spec.name, density=spec.density, x=x, params=params, names=spec.names,
                  loglik=ll_display, _known=spec.known, _derived=spec.derived, _boundary=spec.boundary_estimators)

    if spec.nonregular:
        return Derivation(**common, score=[sp.diff(ll_display, p) for p in params],
                          hessian=sp.hessian(ll_display, params), estimators={}, closed_form=True,
                          reason=spec.nonregular, hessian_at_solution=None, negative_definite=None,
                          negative_definite_how="", fisher_information=None,
                          fisher_how="", cramer_rao=None, regular=False, notes=tuple(notes))
    if ll_stat is None:
        score = [sp.diff(ll_display, p) for p in params]
        H = sp.hessian(ll_display, params)
        info, how = _info_by_integration(spec, logf)
        reason = ("no closed form: " + curved + "; the score equations must be solved numerically "
                  "(thetahat.fit does this by Newton's method)")
        return Derivation(**common, score=score, hessian=H, estimators={}, closed_form=False, reason=reason,
                          hessian_at_solution=None, negative_definite=None, negative_definite_how="",
                          fisher_information=info, fisher_how=how, cramer_rao=_crb(info), notes=tuple(notes))

    score_s = [sp.diff(ll_stat, p) for p in params]
    H_s = sp.hessian(ll_stat, params)
    score = [s.subs(sums) for s in score_s]
    H = H_s.subs(sums)
    info, how = _info_by_bartlett(score_s, H_s, S, params)
    if info is None:
        info, how = _info_by_integration(spec, logf)
    special = _special_functions(score_s)
    solutions, reason = None, ""
    if special:
        reason = (f"no closed form: the score equations contain {', '.join(special)} of the parameters "
                  "(transcendental equations with no solution in elementary functions); they are solved "
                  "numerically (thetahat.fit uses Newton's method)" + _profile(score_s, params, sums))
    else:
        try:
            solutions = sp.solve(score_s, params, dict=True)
        except (NotImplementedError, ValueError) as exc:
            reason = f"no closed form: SymPy cannot solve the score equations ({exc})"
        if solutions is not None and not solutions:
            reason = "no closed form: SymPy finds no solution of the score equations inside the parameter space"
        if solutions and len(solutions) > 1:
            solutions = [s for s in solutions if _admissible(s, params)] or solutions
    if not solutions:
        return Derivation(**common, score=score, hessian=H, estimators={}, closed_form=False, reason=reason,
                          hessian_at_solution=None, negative_definite=None, negative_definite_how="",
                          fisher_information=info, fisher_how=how, cramer_rao=_crb(info), notes=tuple(notes),
                          _stat_exprs=tuple(stats), _stat_symbols=tuple(S))
    sol = solutions[0]
    if len(solutions) > 1:
        notes.append(f"SymPy found {len(solutions)} solutions; the first admissible one is shown")
    stat_est = {nm: sp.simplify(sol[p]) for p, nm in zip(params, spec.names) if p in sol}
    estimators = {nm: e.subs(sums) for nm, e in stat_est.items()}
    H_hat, nd, nd_how = _hessian_check(H_s, score_s, S, sol, params, spec.unit)
    return Derivation(**common, score=score, hessian=H, estimators=estimators, closed_form=True,
                      reason="the score equations have the closed-form solution shown", hessian_at_solution=H_hat,
                      negative_definite=nd, negative_definite_how=nd_how, fisher_information=info, fisher_how=how,
                      cramer_rao=_crb(info), notes=tuple(notes), _stat_exprs=tuple(stats), _stat_symbols=tuple(S),
                      _stat_estimators=stat_est)


def _decompose(logf, x, params):
    """log f = Σ_j a_j(θ) T_j(x) + c(θ) + h(x). Returns ({T_j: a_j}, c, None), or (.., .., why) if it
    does not split (a statistic that depends on θ)."""
    stats, rest, h = {}, sp.Integer(0), sp.Integer(0)
    pset = set(params)
    for term in sp.Add.make_args(logf):
        coef, xpart = term.as_independent(x, as_Add=False)
        if xpart == 1:
            rest += coef
            continue
        if xpart.free_symbols & pset:
            return {}, rest, h, (f"the term {sp.sstr(term)} does not separate into a function of the parameters "
                              f"times a function of {x} (the sum over observations depends on the "
                              f"parameters, so there is no finite set of sufficient statistics)")
        if not (coef.free_symbols & pset):
            h += term  # h(x): constant in the parameters
            continue
        stats[xpart] = stats.get(xpart, 0) + coef
    return stats, sp.expand(sp.expand_log(rest, force=True)), h, None


def _profile(score_s, params, sums):
    """Solve the score equations that are elementary for one parameter each and say what remains."""
    solved, rest = {}, list(score_s)
    inside = set().union(*[f.free_symbols for e in score_s for f in e.atoms(sp.Function)
                           if isinstance(f, (sp.polygamma, sp.gamma, sp.loggamma, sp.beta))])
    order = [p for p in params if p not in inside] + [p for p in params if p in inside]
    for eq in score_s:
        if _special_functions([eq]):
            continue
        for p in order:
            if p in solved or not eq.has(p):
                continue
            try:
                sol = sp.solve(eq.subs(solved), p)
            except NotImplementedError:
                continue
            if len(sol) == 1:
                solved[p] = sol[0]
                rest.remove(eq)
                break
    if not solved or not rest:
        return ""
    given = "; ".join(f"{sp.sstr(p)} = {sp.sstr(e.subs(sums))}" for p, e in solved.items())
    left = "; ".join(f"0 = {sp.sstr(sp.simplify(eq.subs(solved)).subs(sums))}" for eq in rest)
    return (f". Partly: {given}; substituting leaves the one-dimensional (profile) equation {left}, "
            "whose root is found numerically")


def _special_functions(exprs):
    found = set()
    for e in exprs:
        for f in e.atoms(sp.Function):
            if isinstance(f, (sp.polygamma, sp.gamma, sp.loggamma, sp.beta)):
                found.add("digamma" if isinstance(f, sp.polygamma) and f.args[0] == 0 else
                          "the gamma function" if isinstance(f, sp.gamma) else sp.sstr(f.func))
    return sorted(found)


def _admissible(sol, params):
    for p in params:
        v = sol.get(p)
        if v is None:
            continue
        if p.is_positive and v.is_positive is False:
            return False
        if p.is_real and v.is_real is False:
            return False
    return True


def _hessian_check(H_s, score_s, S, sol, params, unit):
    """The Hessian at the solution, in terms of the estimates, and whether it is negative definite."""
    how = "symbolic"
    try:
        back = sp.solve(score_s, S, dict=True) if len(S) == len(params) else []
    except NotImplementedError:
        back = []
    if back:
        # eliminate the statistics: at the MLE they are functions of the estimates
        H_hat = sp.simplify(H_s.subs(back[0]))
    else:
        H_hat = sp.simplify(H_s.subs(sol))
    nd = _negative_definite(H_hat, unit)
    if nd is None:
        nd = _negative_definite_numeric(H_hat, params, unit)
        how = "checked numerically at 25 random points of the parameter space" if nd is not None else \
            "could not be decided"
    else:
        how = "leading principal minors alternate in sign, decided symbolically"
    return H_hat, nd, how


def _negative_definite(H, unit):
    subs = {p: sp.Symbol(f"q_{p}", positive=True) / (1 + sp.Symbol(f"q_{p}", positive=True)) for p in unit}
    k = H.shape[0]
    for m in range(1, k + 1):
        minor = sp.simplify(sp.factor(H[:m, :m].det().subs(subs)))
        want_negative = m % 2 == 1
        sign = minor.is_negative if want_negative else minor.is_positive
        if sign is None:
            return None
        if not sign:
            return False
    return True


def _negative_definite_numeric(H, params, unit):
    free = sorted(H.free_symbols, key=str)
    rng = np.random.default_rng(0)
    f = sp.lambdify(free, H, "numpy")
    for _ in range(25):
        vals = []
        for s in free:
            if s in unit:
                vals.append(rng.uniform(0.01, 0.99))
            elif s.is_positive:
                vals.append(rng.uniform(0.1, 10.0) if s != N else float(rng.integers(1, 100)))
            else:
                vals.append(rng.normal(0, 5))
        M = np.asarray(f(*vals), dtype=float)
        if not np.all(np.isfinite(M)):
            return None
        if np.max(np.linalg.eigvalsh((M + M.T) / 2)) >= 0:
            return False
    return True


def _info_by_bartlett(score_s, H_s, S, params):
    """Expected information from E[score] = 0 (first Bartlett identity), when it pins down E[T_j]."""
    if len(S) != len(params) or not S:
        return None, ""
    try:
        ET = sp.solve(score_s, S, dict=True)
    except NotImplementedError:
        return None, ""
    if len(ET) != 1:
        return None, ""
    info = sp.simplify(-H_s.subs(ET[0]) / N)
    if info.has(N):
        return None, ""
    return info, ("from E[score] = 0 (first Bartlett identity), which gives the expected sufficient statistics "
                  "E[T_j]; the negative Hessian is linear in them")


def _info_by_integration(spec, logf):
    """Expected information by integrating (or summing) -d2 log f times f over the support."""
    x, params = spec.x, spec.params
    lo, hi = spec.support
    k = len(params)
    M = sp.zeros(k, k)
    if spec.name in symbolic.names():
        # the built-in curved families (weibull): SymPy's integrator does not finish
        return None, ("not derived symbolically (the sums over observations depend on the parameters); "
                      "thetahat.fisher_information gives it from the family's formula or numerically")
    try:
        for a in range(k):
            for b in range(a, k):
                g = sp.simplify(-sp.diff(logf, params[a], params[b]) * spec.density)
                if spec.discrete:
                    v = _timed(lambda: sp.summation(g, (x, lo, hi)))
                else:
                    v = _timed(lambda: sp.integrate(g, (x, lo, hi), conds="none"))
                v = sp.simplify(v)
                if v.has(sp.Integral, sp.Sum):
                    return None, ("SymPy could not integrate the information in closed form; use "
                                  "thetahat.fisher_information(..., kind='expected'), which integrates numerically")
                M[a, b] = M[b, a] = v
    except _Timeout:
        return None, (f"SymPy did not integrate the information within {INTEGRATION_SECONDS} s; "
                      "thetahat.fisher_information computes it numerically")
    except (NotImplementedError, ValueError, TypeError) as exc:
        return None, f"SymPy could not integrate the information ({type(exc).__name__})"
    return M, "by integrating -d2 log f / d theta2 against f over the support"


INTEGRATION_SECONDS = 20


class _Timeout(Exception):
    pass


def _timed(fn):
    """Run ``fn`` with a wall-clock limit (SIGALRM, main thread only): SymPy's integrator can run forever."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return fn()

    def handler(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, INTEGRATION_SECONDS)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _crb(info):
    if info is None:
        return None
    try:
        return sp.simplify((N * info).inv())
    except (ValueError, ZeroDivisionError):
        return None


def _simple(e):
    if isinstance(e, sp.MatrixBase) and e.shape == (1, 1):
        return e[0, 0]
    return e


def _tex_label(label):
    import re

    label = label.replace("^-1", "^{-1}")
    label = re.sub(r"^(.*)-hat$", lambda m: r"\hat{" + _greek(m.group(1)) + "}", label)
    label = re.sub(r"^dl/d(.*)$", lambda m: r"\frac{\partial \ell}{\partial " + sp.latex(sp.Symbol(m.group(1)))
                   + "}", label)
    return {"l": r"\ell(\theta)", "H at the MLE": r"H(\hat\theta)", "I": r"\mathcal{I}(\theta)",
            "f(x)": "f(x)"}.get(label, label)


def _greek(name):
    return {"sigma2": r"\sigma^2", "lam": r"\lambda"}.get(name, sp.latex(sp.Symbol(name)))


def _tex_escape(s):
    return s.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("^", r"\^{}").replace("%", r"\%")
