"""skgen benchmarks: ours and the baseline side by side in one run (see run.py)."""
