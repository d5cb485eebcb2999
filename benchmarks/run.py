"""Run the benchmarks and write ``results.json`` and ``RESULTS.md``.

Usage::

    python benchmarks/run.py [--quick] [--data-home PATH] [--out DIR] [NAMES ...]
    python -m benchmarks.run ...          (the same)

NAMES are benchmark names (default: all). ``--quick`` runs small sizes, for the
test suite; the full run is what ``RESULTS.md`` records. ``--busy`` runs every
benchmark beside a CPU-bound background process (one core busy); its rows are
kept beside the quiet ones (column ``load``).
"""

import argparse
import importlib
import inspect
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODULES = ["benchmarks.bench_mixture", "benchmarks.bench_missing", "benchmarks.bench_decomposition",
           "benchmarks.bench_neural", "benchmarks.bench_manifold", "benchmarks.bench_compile",
           "benchmarks.bench_stream"]


def collect():
    """Every benchmark of every module: {name: function}."""
    found = {}
    for module in MODULES:
        found.update(importlib.import_module(module).BENCHMARKS)
    return found


def _describe(fn):
    """A benchmark function's docstring, on one line."""
    return " ".join((inspect.getdoc(fn) or "").split())


def to_markdown(rows, machine, seconds, quick, descriptions=None):
    machines = sorted({row.get("machine", machine) for row in rows})
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine}." if len(machines) == 1 else
        "Machines (each table names its own): " + "; ".join(machines) + ".",
        "",
        f"Run: `python -m benchmarks.run{' --quick' if quick else ''}`, {seconds:.0f} s. "
        "speedup = baseline seconds / skgen seconds (median of alternating repeats, same "
        "data, same process); quality figures beside the times.",
        "",
    ]
    by_bench = {}
    for row in rows:
        by_bench.setdefault(row["benchmark"], []).append(row)
    for bench, group in by_bench.items():
        keys = ["load"]
        for row in group:
            keys += [k for k in row
                     if k not in keys and k not in ("benchmark", "id", "machine")]
        group = [{**row, "load": row.get("load", "quiet")} for row in group]
        lines += [f"## {bench}", ""]
        if len(machines) > 1:
            lines += [f"Machine: {group[0].get('machine', machine)}.", ""]
        if descriptions and bench in descriptions:
            lines += [descriptions[bench], ""]
        lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        for row in group:
            cells = []
            for k in keys:
                v = row.get(k)
                cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _scale_section(out):
    """bench_scale.py's figures (run on their own: they need a 10 GB array), then
    the hand-written notes kept beside this file (NOTES)."""
    from benchmarks.bench_scale import markdown

    section = markdown(Path(out) / "scale_results.jsonl")
    text = "\n" + section if section else ""
    for name in NOTES:
        notes = Path(__file__).parent / name
        if notes.exists():
            text += "\n" + notes.read_text()
    return text


# Measured notes appended to RESULTS.md: the t-SNE profile (issue 12), the
# before/after timing of the row-source refactor (issue 20, ab_trees.py) and
# the head-to-head reruns of issue 23 and the GPU check (gpu_check.sh).
NOTES = ("tsne_profile.md", "row_source_ab.md", "head_to_head_ab.md", "gpu_check.md")


def main(argv=None):
    from benchmarks._common import busy_machine, machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default=str(Path(__file__).parent))
    parser.add_argument("--busy", action="store_true",
                        help="run beside a CPU-bound background process (one busy core)")
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite RESULTS.md from OUT/results.json without running")
    args = parser.parse_args(argv)
    benchmarks = collect()
    out = Path(args.out)
    if args.markdown_only:
        saved = json.loads((out / "results.json").read_text())
        text = to_markdown(saved["rows"], saved["machine"], saved["seconds"], saved["quick"],
                           saved.get("descriptions"))
        text += _scale_section(out)
        (out / "RESULTS.md").write_text(text)
        print(text)
        return 0
    unknown = set(args.names) - set(benchmarks)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; known: {sorted(benchmarks)}")
    names = args.names or list(benchmarks)
    start = time.perf_counter()
    rows, descriptions = [], {}
    for name in names:
        fn = benchmarks[name]
        kwargs = {"quick": args.quick}
        if "data_home" in inspect.signature(fn).parameters:
            kwargs["data_home"] = args.data_home
        print(f"running {name}{' (busy)' if args.busy else ''} ...", file=sys.stderr,
              flush=True)
        with busy_machine(args.busy):
            new_rows = fn(**kwargs)
        load = "busy" if args.busy else "quiet"
        for row in new_rows:
            row["id"] = f"{name}@{load}"
            row = {"load": load, **row, "machine": machine()}
            descriptions[row["benchmark"]] = _describe(fn)
            rows.append(row)
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    previous = out / "results.json"
    if args.names and previous.exists():
        # A partial run replaces its own benchmarks' rows and keeps the others.
        saved = json.loads(previous.read_text())
        # Keyed by (benchmark title, load): rows from before ids or loads were
        # recorded are replaced too (a missing load is a quiet run).
        new = {(r["benchmark"], r["load"]) for r in rows}
        kept = [{"machine": saved["machine"], **r} for r in saved["rows"]
                if (r["benchmark"], r.get("load", "quiet")) not in new]
        rows = kept + rows
        descriptions = {**saved.get("descriptions", {}), **descriptions}
        seconds += saved.get("seconds", 0.0) if kept else 0.0
    desc = machine()
    record = dict(machine=desc, seconds=seconds, quick=args.quick, rows=rows,
                  descriptions=descriptions)
    (out / "results.json").write_text(json.dumps(record, indent=1))
    text = to_markdown(rows, desc, seconds, args.quick, descriptions)
    text += _scale_section(out)
    (out / "RESULTS.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
