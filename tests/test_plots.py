"""Plots (thetahat.plots): written for real data (R's rivers and faithful), read back as
images of the expected pixel size, and their plotted data checked against scipy.stats."""

import struct

import numpy as np
import pytest
from scipy import stats as st

import thetahat
from thetahat.errors import OptionError
from thetahat.plots import loglik_grid, plot_contour, plot_fit, plot_profile, plot_trace

RIVERS = np.loadtxt("tests/data/rivers.csv", skiprows=1)
ERUPTIONS = np.loadtxt("tests/data/faithful.csv", skiprows=1, delimiter=",")[:, 0]


def png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def weibull_fit():
    return thetahat.fit(RIVERS, "weibull")


@pytest.mark.parametrize("kind,size", [("density", (640, 480)), ("qq", (640, 480)), ("pp", (640, 480)),
                                       ("cdf", (640, 480)), ("panel", (1000, 800))])
def test_png_of_expected_size(weibull_fit, tmp_path, kind, size):
    path = tmp_path / f"{kind}.png"
    fig = plot_fit(weibull_fit, kind=kind, path=path)
    assert png_size(path) == size
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    assert img.shape[:2] == (size[1], size[0]) and img.std() > 0  # not a blank image
    assert len(fig.axes) == (4 if kind == "panel" else 1)


def test_qq_pp_cdf_data_equal_scipy(weibull_fit):
    c, s = weibull_fit.params["shape"], weibull_fit.params["scale"]
    d = st.weibull_min(c, scale=s)
    xs = np.sort(RIVERS)
    n = xs.size
    pos = (np.arange(1, n + 1) - 0.5) / n
    qx, qy = plot_fit(weibull_fit, "qq").axes[0].lines[0].get_data()
    np.testing.assert_allclose(qx, d.ppf(pos), rtol=1e-10)
    np.testing.assert_array_equal(qy, xs)
    px, py = plot_fit(weibull_fit, "pp").axes[0].lines[0].get_data()
    np.testing.assert_allclose(px, d.cdf(xs), rtol=1e-10)
    np.testing.assert_allclose(py, pos, rtol=1e-14)
    ax = plot_fit(weibull_fit, "cdf").axes[0]
    ex, ey = ax.lines[0].get_data()
    np.testing.assert_array_equal(ex, xs)
    np.testing.assert_allclose(ey, np.arange(1, n + 1) / n, rtol=1e-14)
    gx, gy = ax.lines[1].get_data()
    np.testing.assert_allclose(gy, d.cdf(gx), rtol=1e-10, atol=1e-300)


def test_density_histogram_and_curve_equal_numpy_and_scipy():
    f = thetahat.fit(ERUPTIONS, "normal")
    ax = plot_fit(f, "density").axes[0]
    heights = np.array([p.get_height() for p in ax.patches])
    edges = np.histogram_bin_edges(ERUPTIONS, bins="auto")
    np.testing.assert_allclose(heights, np.histogram(ERUPTIONS, bins=edges, density=True)[0], rtol=1e-12)
    gx, gy = ax.lines[0].get_data()
    np.testing.assert_allclose(gy, st.norm(ERUPTIONS.mean(), ERUPTIONS.std()).pdf(gx), rtol=1e-9)


def test_discrete_pmf_equals_scipy(tmp_path):
    y = np.random.default_rng(0).poisson(3.0, 300)
    f = thetahat.fit(y, "poisson")
    fig = plot_fit(f, "density", path=tmp_path / "pmf.png")
    ax = fig.axes[0]
    ks, pmf = ax.lines[0].get_data()
    np.testing.assert_allclose(pmf, st.poisson(y.mean()).pmf(ks), rtol=1e-10)
    props = {p.get_x() + p.get_width() / 2: p.get_height() for p in ax.patches}
    for k, prop in props.items():
        assert prop == pytest.approx(np.mean(y == round(k)))
    assert png_size(tmp_path / "pmf.png") == (640, 480)
    plot_fit(f, "panel", path=tmp_path / "panel.png")
    assert png_size(tmp_path / "panel.png") == (1000, 800)


def test_profile_plot_data_and_cutoff(weibull_fit, tmp_path):
    path = tmp_path / "profile.png"
    fig = plot_profile(weibull_fit, "shape", path=path, figsize=(5, 4), dpi=80)
    assert png_size(path) == (400, 320)
    ax = fig.axes[0]
    prof = weibull_fit.profile("shape")
    vx, vy = ax.lines[0].get_data()
    np.testing.assert_array_equal(vx, prof.values)
    np.testing.assert_array_equal(vy, prof.loglik)
    cut = ax.lines[1].get_ydata()[0]
    assert cut == pytest.approx(weibull_fit.loglik - st.chi2.ppf(0.95, 1) / 2, rel=1e-12)
    # the profile log-likelihood at each grid point, by scipy: maximise over the scale for
    # that shape (weibull: the scale has the closed form (mean x^c)^(1/c))
    for c, ll in list(zip(prof.values, prof.loglik))[::10]:
        scale = np.mean(RIVERS ** c) ** (1 / c)
        assert ll == pytest.approx(st.weibull_min.logpdf(RIVERS, c, scale=scale).sum(), rel=1e-9)
    dev = plot_profile(weibull_fit, "shape", deviance=True).axes[0]
    np.testing.assert_allclose(dev.lines[0].get_ydata(), 2 * (prof.loglik_max - prof.loglik))
    assert dev.lines[1].get_ydata()[0] == pytest.approx(st.chi2.ppf(0.95, 1))


@pytest.mark.usefixtures("x64")  # (the test calls thetahat's internals itself)
def test_contour_grid_equals_scipy_and_path_is_drawn(tmp_path):
    f = thetahat.fit(RIVERS, "gamma")  # Newton from the moment start: several iterates
    assert len(f.path) > 2
    va, vb, Z = loglik_grid(f, "shape", "rate", points=15)
    for i, j in [(0, 0), (7, 7), (14, 3), (2, 12)]:
        ref = st.gamma.logpdf(RIVERS, va[j], scale=1 / vb[i]).sum()
        assert Z[i, j] == pytest.approx(ref, rel=1e-10)
    assert np.nanmax(Z) <= f.loglik + 1e-9
    path = tmp_path / "contour.png"
    fig = plot_contour(f, "shape", "rate", path=path, points=25)
    assert png_size(path) == (640, 480)
    line = next(ln for ln in fig.axes[0].lines if ln.get_label() == "optimiser path")
    lay = f.context.layout
    shapes = [float(lay.to_params(u)["shape"]) for u in f.path]
    np.testing.assert_allclose(line.get_xdata(), shapes, rtol=1e-12)
    np.testing.assert_allclose(line.get_xdata()[-1], f.params["shape"], rtol=1e-8)


def test_contour_three_parameters_says_others_held(tmp_path):
    x = np.random.default_rng(2).standard_t(5, 300) * 2 + 1
    f = thetahat.fit(x, "t")
    fig = plot_contour(f, "loc", "scale", points=12)
    assert "df held at θ̂" in fig.axes[0].get_title()
    va, vb, Z = loglik_grid(f, "loc", "scale", points=6)
    ref = st.t.logpdf(x, f.params["df"], loc=va[2], scale=vb[4]).sum()
    assert Z[4, 2] == pytest.approx(ref, rel=1e-10)


def test_trace_plot(tmp_path):
    f = thetahat.fit(RIVERS, "gamma")
    fig = plot_trace(f, path=tmp_path / "trace.png")
    assert png_size(tmp_path / "trace.png") == (640, 480)
    y = fig.axes[0].lines[0].get_ydata()
    np.testing.assert_array_equal(y, f.trace)
    # the last point is the log-likelihood at the estimate, by scipy
    assert y[-1] == pytest.approx(st.gamma.logpdf(RIVERS, f.params["shape"], scale=1 / f.params["rate"]).sum(),
                                  rel=1e-12)


def test_other_formats_and_given_axes(weibull_fit, tmp_path):
    plot_fit(weibull_fit, "qq", path=tmp_path / "q.svg")
    assert b"<svg" in (tmp_path / "q.svg").read_bytes()[:500]
    plot_trace(weibull_fit, path=tmp_path / "t.pdf")
    assert (tmp_path / "t.pdf").read_bytes()[:5] == b"%PDF-"
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    assert plot_fit(weibull_fit, "cdf", ax=ax) is fig and len(ax.lines) == 2


def test_mistakes_raise_option_error(weibull_fit, tmp_path):
    with pytest.raises(OptionError, match="unknown plot kind"):
        plot_fit(weibull_fit, "violin")
    with pytest.raises(OptionError, match="not a known image format"):
        plot_fit(weibull_fit, "qq", path=tmp_path / "plot.xyz")
    with pytest.raises(OptionError, match="pass no ax"):
        from matplotlib.figure import Figure

        plot_fit(weibull_fit, "panel", ax=Figure().subplots())
    with pytest.raises(OptionError, match="is fixed"):
        plot_contour(thetahat.fit(RIVERS, "weibull", fixed={"shape": 1.2}), "shape", "scale")
    with pytest.raises(OptionError, match="two different"):
        plot_contour(weibull_fit, "shape", "shape")
    cens = thetahat.fit(RIVERS, "weibull", event=np.r_[np.ones(100), np.zeros(RIVERS.size - 100)])
    with pytest.raises(OptionError, match="censored"):
        plot_fit(cens, "qq")
    y = np.random.default_rng(0).poisson(2.0, 100)
    y[:20] = 0
    with pytest.raises(OptionError, match="ppf"):
        plot_fit(thetahat.fit(y, "zip"), "qq")  # the zero-inflated poisson has no quantile function
