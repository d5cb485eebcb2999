"""The benchmark runner's quick mode writes its JSON and markdown table."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_run_quick(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(tmp_path), "gaussian"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    results = json.loads((tmp_path / "results.json").read_text())
    rows = results["rows"]
    assert len(rows) == 4  # two sizes x two dtypes
    for row in rows:
        # The ratio is what the table says it is: baseline seconds over ours.
        assert abs(row["speedup"] - row["baseline_s_per_iter"] / row["ours_s_per_iter"]) \
            < 1e-9 * row["speedup"]
        # Same start, same iterations: the same lower bound as scikit-learn.
        assert abs(row["ours_quality"] - row["baseline_quality"]) < 1e-3 * abs(row["baseline_quality"])
    table = (tmp_path / "RESULTS.md").read_text()
    assert "GaussianMixtureEM" in table and "Machine:" in table


def test_unknown_benchmark_rejected(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(tmp_path), "nope"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode != 0 and "unknown benchmarks" in result.stderr


def test_run_quick_sparse_encode_merges(tmp_path):
    for name in ("gaussian", "sparse_encode"):
        subprocess.run(
            [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(tmp_path),
             name],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    # The second partial run kept the first one's rows.
    assert {row["id"] for row in rows} == {"gaussian@quiet", "sparse_encode@quiet"}
    for row in rows:
        if row["id"] == "sparse_encode@quiet":
            assert row["ours_quality"] < 1e-8  # the same codes as scikit-learn
            assert abs(row["speedup"] - row["baseline_s"] / row["ours_s"]) \
                < 1e-9 * row["speedup"]


def test_busy_rows_kept_beside_quiet_ones(tmp_path, monkeypatch, capsys):
    """--busy rows (run inside busy_machine) join the quiet ones; no burner here."""
    import contextlib

    import benchmarks._common as common
    from benchmarks import run

    entered = []

    @contextlib.contextmanager
    def recorder(enabled=True):
        entered.append(enabled)
        yield

    monkeypatch.setattr(common, "busy_machine", recorder)
    for extra in ([], ["--busy"]):
        assert run.main(["--quick", "--out", str(tmp_path), *extra, "gaussian"]) == 0
    assert entered == [False, True]
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert sorted({row["load"] for row in rows}) == ["busy", "quiet"]
    assert len(rows) == 8
    table = (tmp_path / "RESULTS.md").read_text()
    assert "| busy |" in table and "| quiet |" in table


def test_busy_machine_starts_and_stops_its_process(monkeypatch):
    """The background process lives exactly as long as the body (a sleeping
    stand-in for the burner: the plumbing, not the load, is under test)."""
    import subprocess as sp

    import benchmarks._common as common

    started = []
    real_popen = sp.Popen

    def popen(args, **kwargs):
        started.append(real_popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return started[-1]

    monkeypatch.setattr(common.subprocess, "Popen", popen)
    with common.busy_machine(False):
        assert not started
    try:
        with common.busy_machine(True):
            assert len(started) == 1 and started[0].poll() is None
            raise KeyError("body failed")
    except KeyError:
        pass
    assert started[0].poll() is not None  # terminated although the body raised


def test_gpu_check_runs_end_to_end_on_the_cpu(tmp_path):
    # The prepared GPU check must work before the first GPU comes: the CPU dry
    # run, with 2 simulated devices so that the multi-device fit runs too.
    import json
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    import sys

    # The script's "python" is this interpreter, also when its venv is not activated.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {**os.environ, "SKGEN_GPU_CHECK_CPU": "1", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "PATH": path}
    out = tmp_path / "gpu_check.json"
    done = subprocess.run(["bash", str(root / "benchmarks" / "gpu_check.sh"), "--out", str(out)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["VAE batch 1024: s per epoch"] > 0
    assert "VAE batch 1024 on 2 devices: s per epoch (incl. compile)" in figures
    assert figures["pickled model scored in a CPU-only process"].startswith("cpu: ")
    lines = [line for line in done.stdout.splitlines() if ": " in line]
    assert len(lines) == len(figures)  # one printed line per figure
