"""The main job, ``skgen compare``."""

import subprocess
import sys

import pytest

from skgen._cli import main
from skgen.compare import COMPARISONS, format_table, load_data, run_compare


def test_compare_on_digits_prints_table_and_report(tmp_path, capsys):
    assert main(["compare", "--report", str(tmp_path / "rep"), "--no-progress",
                 "--max-samples", "500"]) == 0
    out = capsys.readouterr().out
    assert "GaussianMixtureEM" in out and "GaussianMixture" in out
    assert "BernoulliMixture" in out and "BernoulliNB" in out
    for name in ("PCA", "SparseCoder", "DictionaryLearning", "VAE", "VAE-bernoulli",
                 "DenoisingAE", "LLE", "TSNE"):
        assert f"\n{name} " in out
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "| estimator |" in report
    pngs = sorted(p.name for p in (tmp_path / "rep").glob("*.png"))
    assert "GaussianMixtureEM_bic.png" in pngs and "BernoulliMixture_means.png" in pngs
    assert "BernoulliMixture_samples.png" in pngs
    assert {"PCA_components.png", "PCA_samples.png",
            "DictionaryLearning_atoms.png", "VAE_gaussian_samples.png",
            "VAE_bernoulli_samples.png", "VAE_latent_map.png",
            "DenoisingAE_pairs.png", "LLE_embedding.png", "LLE_samples.png",
            "TSNE_embedding.png", "TSNE_samples.png"} <= set(pngs)


def test_rows_hold_same_split_scores():
    X, shape = load_data("digits", max_samples=400)
    rows = run_compare(X, shape, comparisons=COMPARISONS[:1], progress=False)
    (row,) = rows
    # Same model, same split: the held-out log-likelihoods agree.
    assert row["score"] == pytest.approx(row["baseline_score"], rel=1e-6)
    assert row["speedup"] == pytest.approx(row["baseline_fit_s"] / row["fit_s"])
    assert "GaussianMixtureEM" in format_table(rows)


def test_decomposition_rows_match_their_baselines():
    X, shape = load_data("digits", max_samples=400)
    names = {"PCA", "SparseCoder", "DictionaryLearning"}
    rows = run_compare(X, shape, comparisons=[c for c in COMPARISONS if c.name in names],
                       progress=False)
    assert [r["estimator"] for r in rows] == ["PCA", "SparseCoder", "DictionaryLearning"]
    for row in rows:
        # Same model or algorithm, same start, same split: the same held-out score.
        assert row["score"] == pytest.approx(row["baseline_score"], rel=1e-6)
    assert "rel_error" in rows[1]["metrics"] and "nonzeros" in rows[1]["metrics"]


def test_embedding_rows_score_the_same_way():
    X, shape, y = load_data("digits", max_samples=500, return_labels=True)
    rows = run_compare(X, shape, y=y, progress=False,
                       comparisons=[c for c in COMPARISONS if c.name in ("LLE", "TSNE")])
    by = {(r["estimator"], r["baseline"]): r for r in rows}
    lle = by[("LLE", "LocallyLinearEmbedding")]
    # Same algorithm, same neighbours: the same embedding's trustworthiness.
    assert lle["score"] == pytest.approx(lle["baseline_score"], abs=1e-6)
    tsne = by[("TSNE", "TSNE (scikit-learn)")]
    assert tsne["score"] > 0.95 and tsne["baseline_score"] > 0.95
    assert "kl " in tsne["metrics"] and "knn_acc" in tsne["metrics"]
    knn = float(tsne["metrics"].split("knn_acc ")[1].split(" vs")[0])
    assert knn > 0.9


def test_python_dash_m(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "skgen", "compare", "--estimators", "BernoulliMixture",
         "--max-samples", "300", "--report", ""],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )
    assert "BernoulliMixture" in result.stdout


def test_unknown_estimator_and_data(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--estimators", "NoSuchThing"])
    with pytest.raises(SystemExit):
        main(["compare", "--data", "cifar"])
    with pytest.raises(ValueError, match="Unknown data set"):
        load_data("cifar")


def test_compare_on_mnist(data_home, capsys):
    assert main(["compare", "--data", "mnist", "--data-home", str(data_home),
                 "--max-samples", "3000", "--report", "", "--no-progress",
                 "--estimators", "BernoulliMixture", "PCA", "SparseCoder"]) == 0
    assert "784 features" in capsys.readouterr().out


def test_table_columns_stay_aligned_and_skip_missing_metrics():
    """Regression: a long baseline name shifted every later column, and LLE printed
    'kl nan vs nan'."""
    from skgen.compare._runner import _metrics_text

    base = dict(fit_s=0.5, baseline_fit_s=1.0, speedup=2.0, score=-1.0, baseline_score=-1.5,
                score_diff=0.5, metrics="")
    rows = [dict(base, estimator="PCA", baseline="PCA"),
            dict(base, estimator="DictionaryLearning",
                 baseline="DictionaryLearning (MiniBatch above 5000) with a long name")]
    lines = format_table(rows).splitlines()
    starts = {line.index("0.500") for line in lines[2:]}
    assert len(starts) == 1  # fit_s starts at the same column in every row
    assert len({len(line.split("  ")[0]) for line in lines}) >= 1
    assert _metrics_text({"kl": float("nan"), "trust": 0.9},
                         {"kl": float("nan"), "trust": 0.8}) == "trust 0.9 vs 0.8"
    assert _metrics_text({"kl": 1.0}, {"kl": float("nan")}) == "kl 1 vs n/a"


def test_compare_dask_runs_mixtures_and_pca_on_a_local_cluster(capsys):
    pytest.importorskip("distributed")
    assert main(["compare", "--dask", "2", "--report", "", "--no-progress",
                 "--max-samples", "400", "--random-state", "1"]) == 0
    out = capsys.readouterr().out
    for name in ("GaussianMixtureEM", "BernoulliMixture", "PCA"):
        assert f"{name} (dask, 2 workers)" in out
        assert f"{name} (in memory)" in out
    assert "TSNE" not in out and "SparseCoder" not in out


def test_compare_dask_rows_equal_the_in_memory_scores():
    pytest.importorskip("dask")
    from skgen.compare._dask import dask_comparisons

    X, shape = load_data("digits", None, 400, 0)
    comparisons = dask_comparisons(COMPARISONS, 1)
    rows = run_compare(X, shape, comparisons=comparisons, report=None, progress=False)
    in_memory = {r["estimator"]: r for r in rows if r["baseline"].endswith("(in memory)")}
    assert set(in_memory) == {f"{n} (dask, 1 workers)" for n in
                              ("GaussianMixtureEM", "BernoulliMixture", "PCA")}
    # PCA and the mixtures' 'kmeans' start differ on dask only in the mixtures'
    # k-means (a sample plus Lloyd passes): PCA's held-out score is the same.
    assert in_memory["PCA (dask, 1 workers)"]["score_diff"] == pytest.approx(0, abs=1e-8)


# ------------------------------------------------ the front door (issue 19)
def test_help_is_instant_and_lists_names():
    """`skgen --help` imported scikit-learn before parsing (2.6 s)."""
    code = ("import sys, skgen._cli as c; "
            "assert 'sklearn' not in sys.modules and 'numba' not in sys.modules; "
            "c.main(['compare', '--help'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "sklearn" not in out.stderr, out.stderr
    for name in ("GaussianMixtureEM", "TSNE", "VAE-bernoulli", "olivetti", "--data-home"):
        assert name in out.stdout


def test_cli_names_are_the_comparisons_names():
    from skgen import _cli
    from skgen.compare import DATASETS

    assert list(_cli.ESTIMATOR_NAMES) == [c.name for c in COMPARISONS]
    assert tuple(_cli.DATASETS) == tuple(DATASETS)


def test_unknown_estimator_lists_the_valid_names(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--estimators", "foo"])
    err = capsys.readouterr().err
    assert "unknown estimators: foo" in err and "GaussianMixtureEM" in err
    assert "TSNE" in err


def test_missing_data_is_one_line_naming_data_home(tmp_path, capsys, monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setenv("SKGEN_DATA", str(tmp_path / "nothing"))
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--data", "mnist", "--report", ""])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert "--data mnist" in err[-1] and "--data-home" in err[-1]
    assert str(tmp_path / "nothing") in err[-1]


def test_rows_print_as_they_complete_and_report_is_replaced(tmp_path, capsys):
    report = tmp_path / "rep"
    report.mkdir()
    (report / "stale_old_figure.png").write_bytes(b"old")
    (report / "mine.txt").write_text("kept")
    assert main(["compare", "--estimators", "GaussianMixtureEM", "TSNE", "--report",
                 str(report), "--no-progress", "--max-samples", "400"]) == 0
    out = capsys.readouterr().out
    # Each row printed before the final table, openTSNE's absence noted.
    assert out.index("  GaussianMixtureEM vs GaussianMixture on ") < out.index("estimator ")
    if "openTSNE" not in [r for r in out.splitlines() if r.startswith("TSNE ")]:
        assert "not run" in out or "openTSNE" in out
    assert not (report / "stale_old_figure.png").exists()
    assert (report / "mine.txt").read_text() == "kept"
    text = (report / "report.md").read_text()
    assert "Rows run: GaussianMixtureEM, TSNE." in text
    assert "DenoisingAE" not in text and "SparseCoder" not in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rep-")]


def test_interrupted_run_keeps_the_previous_report(tmp_path, monkeypatch):
    from skgen.compare import _runner

    report = tmp_path / "rep"
    run_compare(*load_data("digits", max_samples=300), report=report, progress=False,
                comparisons=COMPARISONS[:1])
    before = sorted(p.name for p in report.iterdir())

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_runner, "_fit_and_score", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_compare(*load_data("digits", max_samples=300), report=report,
                    progress=False, comparisons=COMPARISONS[2:3])
    assert sorted(p.name for p in report.iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rep-")]


def test_bic_curve_shows_its_minimum(tmp_path):
    import numpy as np
    from sklearn.datasets import make_blobs

    from skgen import GaussianMixtureEM
    from skgen.utils._plotting import plot_bic

    X, _ = make_blobs(600, centers=12, cluster_std=0.3, random_state=0)
    bics = plot_bic(GaussianMixtureEM(random_state=0), X, [1, 2, 4, 6], tmp_path / "b.png")
    best = min(bics, key=bics.get)
    assert best < max(bics), bics  # the grid grew past 6 until the minimum was inside
    assert (tmp_path / "b.png").stat().st_size > 0


def test_short_calls_are_timed_as_the_median_of_repeats(monkeypatch):
    """A fit of a few milliseconds is repeated and its median reported (one call
    is mostly noise); a long one runs once."""
    import time

    from skgen.compare import _runner

    class Timed:
        def __init__(self, seconds):
            self.seconds, self.fits = seconds, 0

        def fit(self, X):
            self.fits += 1
            # The first two calls are slow (a cold cache, a thread pool started):
            # the first is left out, the median of the rest leaves the second out.
            time.sleep(self.seconds * (5 if self.fits <= 2 else 1))
            return self

        def score(self, X):
            return 0.0

    short = Timed(0.002)
    seconds, _ = _runner._fit_and_score(short, None, None)
    assert 1 + _runner._MIN_REPEATS <= short.fits <= 1 + _runner._MAX_REPEATS
    assert seconds < 0.006
    # A first call of 0.3 s and a second of 0.15 s (LLE on the digits in a fresh
    # environment: 0.30, 0.14, then 0.06 s): the first two would have set the
    # median of four calls; the repeats after the first give the warm time.
    warming = Timed(0.03)
    warming.fit = lambda X: (setattr(warming, "fits", warming.fits + 1),
                             time.sleep({1: 0.3, 2: 0.15}.get(warming.fits, 0.03)))
    seconds, _ = _runner._fit_and_score(warming, None, None)
    assert seconds < 0.05, seconds
    monkeypatch.setattr(_runner, "_SHORT_CALL_S", 0.02)
    long = Timed(0.02)
    _runner._fit_and_score(long, None, None)
    assert long.fits == 1
    once = Timed(0.002)
    _runner._fit_and_score(once, None, None, repeat=False)
    assert once.fits == 1
    # Timing the transform: the fit before it runs once, the transform repeats.
    coder = Timed(0.002)
    coder.transforms = 0

    def transform(X):
        coder.transforms += 1

    coder.transform = transform
    _runner._fit_and_score(coder, None, None, timed="transform")
    assert coder.fits == 1 and coder.transforms >= 3
