"""The GPU check (issue 13): one short run that proves the autoencoders on a GPU.

Prints one line per figure (``figure: value``) and writes them to ``--out`` as
JSON. Run by ``benchmarks/gpu_check.sh``; with ``SKGEN_GPU_CHECK_CPU=1`` the same
run happens on the CPU with fewer epochs, so the script is known to work before
the first GPU comes.

Figures: VAE 784-512-20 (Bernoulli decoder, binarized MNIST) seconds per epoch
at batch 128 and 1024 after compilation, the first fit's compilation, test
minus-ELBO after 10 and 30 epochs at batch 128 (the CPU run's figures are in
RESULTS.md: 102.6 and 99.94 nats); DenoisingAE (784-512-32, masking 0.25) seconds
per epoch; a fit on every visible GPU when there are several; a GPU-trained
model pickled and scored in a CPU-only process.
"""

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

warnings.simplefilter("ignore")


def _data(data_home, cpu):
    from skgen.datasets import load_binarized_mnist

    try:
        train = load_binarized_mnist(data_home, subset="train", download_if_missing=False).data
        test = load_binarized_mnist(data_home, subset="test", download_if_missing=False).data
        name = "binarized MNIST"
    except FileNotFoundError:
        from sklearn.datasets import load_digits

        X = (load_digits().data / 16 > 0.5).astype(np.float32)
        train, test, name = X[:1500], X[1500:], "binarized digits (no MNIST found)"
    if cpu:  # the CPU dry run: the same steps on a tenth of the data
        train, test = train[:5000], test[:1000]
    return train.astype(np.float32), test.astype(np.float32), name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=str(Path(__file__).resolve().parents[2]
                                                   / "shared" / "data"))
    parser.add_argument("--out", default="gpu_check.json")
    args = parser.parse_args(argv)
    cpu = os.environ.get("SKGEN_GPU_CHECK_CPU") == "1"
    import jax

    from skgen import VAE, DenoisingAE

    figures = {}

    def report(name, value):
        figures[name] = value
        print(f"{name}: {value}", flush=True)

    platform = "cpu" if cpu else "gpu"
    devices = jax.devices("cpu") if cpu else jax.devices("gpu")
    report("devices", [str(d) for d in devices])
    report("device kind", devices[0].device_kind)
    train, test, name = _data(args.data_home, cpu)
    report("data", f"{name}: {len(train)} train, {len(test)} test")
    epochs = (2, 3) if cpu else (10, 30)

    def vae(batch, max_iter, **kw):
        return VAE(20, likelihood="bernoulli", hidden_layer_sizes=(512,), batch_size=batch,
                   max_iter=max_iter, tol=0, n_iter_no_change=10**6, random_state=0,
                   device=platform, n_devices=1, **kw)

    for batch in (128, 1024):
        model = vae(batch, 1)
        start = time.perf_counter()
        model.fit(train)
        first = time.perf_counter() - start
        model.set_params(warm_start=True, max_iter=epochs[0])
        start = time.perf_counter()
        model.fit(train)
        per_epoch = (time.perf_counter() - start) / epochs[0]
        report(f"VAE batch {batch}: s per epoch", round(per_epoch, 4))
        report(f"VAE batch {batch}: first fit compile s", round(first - per_epoch, 3))
        report(f"VAE batch {batch}: samples per s", round(len(train) / per_epoch))
    model = vae(128, epochs[0])
    model.fit(train)
    report(f"VAE batch 128: test minus-ELBO after {epochs[0]} epochs", round(-model.score(test), 3))
    model.set_params(warm_start=True, max_iter=epochs[1] - epochs[0])
    model.fit(train)
    report(f"VAE batch 128: test minus-ELBO after {epochs[1]} epochs", round(-model.score(test), 3))

    dae = DenoisingAE(32, hidden_layer_sizes=(512,), corruption="masking", noise_level=0.25,
                      batch_size=128, max_iter=1, tol=0, random_state=0, device=platform,
                      n_devices=1)
    dae.fit(train)
    dae.set_params(warm_start=True, max_iter=epochs[0])
    start = time.perf_counter()
    dae.fit(train)
    report("DenoisingAE batch 128: s per epoch", round((time.perf_counter() - start) / epochs[0], 4))

    if len(devices) > 1:
        many = vae(1024, epochs[0]).set_params(n_devices="auto")
        start = time.perf_counter()
        many.fit(train)
        report(f"VAE batch 1024 on {len(devices)} devices: s per epoch (incl. compile)",
               round((time.perf_counter() - start) / epochs[0], 4))
        report(f"VAE on {len(devices)} devices: test minus-ELBO", round(-many.score(test), 3))
    else:
        report("multi-device fit", f"skipped: {len(devices)} {platform} device visible")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vae.pkl"
        path.write_bytes(pickle.dumps(model))
        here = -model.score(test[:1000])
        code = ("import pickle, sys, numpy as np, jax; m = pickle.load(open(sys.argv[1], 'rb')); "
                "X = np.load(sys.argv[2]); print(jax.devices()[0].platform, -m.score(X))")
        np.save(Path(tmp) / "test.npy", test[:1000])
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}
        done = subprocess.run([sys.executable, "-c", code, str(path), str(Path(tmp) / "test.npy")],
                              capture_output=True, text=True, env=env, timeout=300)
        if done.returncode:
            report("pickled model scored in a CPU-only process", "FAILED " + done.stderr[-300:])
        else:
            where, value = done.stdout.split()
            report("pickled model scored in a CPU-only process",
                   f"{where}: {float(value):.4f} nats vs {here:.4f} on {platform}")
    Path(args.out).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
