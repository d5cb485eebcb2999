"""Data-parallel training over a device mesh, on 4 simulated CPU devices.

XLA's device count is fixed when JAX starts, so each test runs a script in a
subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``.

Tolerance: the 4-device fit takes the same batches, padding rows and noise as
the 1-device fit; only the order of the float32 reductions differs (the
gradient is summed per device, then all-reduced), so parameters agree to
2e-6 absolute and the loss curve to 1e-6 relative after 3 epochs.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent("""
    import json, pickle, sys, warnings
    import jax, numpy as np
    from sklearn.datasets import load_digits
    from skgen import VAE, DenoisingAE
    warnings.simplefilter("ignore")
    X = (load_digits().data / 16).astype(np.float32)
    out = {"devices": len(jax.devices())}
    cases = {"scanned": (np.concatenate([X] * 3), 200), "scanned-odd-batch": (np.concatenate([X] * 3), 30),
             "host-batched-odd": (X[:1000], 30)}
    for name, (data, bs) in cases.items():
        for cls, extra in ((VAE, {"likelihood": "bernoulli"}), (DenoisingAE, {})):
            kw = dict(n_components=4, hidden_layer_sizes=(32,), max_iter=3, random_state=0,
                      batch_size=bs, **extra)
            one = cls(n_devices=1, **kw).fit(data)
            four = cls(n_devices=4, **kw).fit(data)
            diff = max(float(np.abs(a - b).max()) for a, b in zip(
                jax.tree_util.tree_leaves(one.params_), jax.tree_util.tree_leaves(four.params_)))
            out[f"{cls.__name__} {name}"] = [diff, one.loss_curve_, four.loss_curve_]
    four = VAE(n_devices=4, n_components=4, hidden_layer_sizes=(32,), max_iter=2,
               random_state=0).fit(X)
    out["score4"] = four.score(X[:200])
    with open(sys.argv[1], "wb") as f:
        pickle.dump(four, f)
    try:
        VAE(n_devices=5).fit(X[:50])
    except ValueError as error:
        out["too_many"] = str(error)
    print(json.dumps(out))
""")

SCORE = textwrap.dedent("""
    import pickle, sys, json, jax, numpy as np
    from sklearn.datasets import load_digits
    X = (load_digits().data / 16).astype(np.float32)
    model = pickle.load(open(sys.argv[1], "rb"))
    print(json.dumps({"devices": len(jax.devices()), "score": model.score(X[:200])}))
""")


def _run(script, args, devices):
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    if devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def four_devices(tmp_path_factory):
    path = tmp_path_factory.mktemp("devices") / "vae4.pkl"
    return _run(SCRIPT, [str(path)], 4), path


def test_four_devices_equal_one_device(four_devices):
    out, _ = four_devices
    assert out["devices"] == 4
    cases = {k: v for k, v in out.items() if isinstance(v, list)}
    assert len(cases) == 6  # VAE and DenoisingAE x 3 batchings
    for name, (diff, one, four) in cases.items():
        assert diff <= 2e-6, name
        assert four == pytest.approx(one, rel=1e-6), name


def test_a_model_fitted_on_four_devices_pickles_and_scores_on_one(four_devices):
    out, path = four_devices
    single = _run(SCORE, [str(path)], 1)
    assert single["devices"] == 1
    assert single["score"] == pytest.approx(out["score4"], rel=1e-6)


def test_more_devices_than_visible_is_refused(four_devices):
    out, _ = four_devices
    assert "n_devices=5" in out["too_many"] and "sees 4 cpu device" in out["too_many"]
