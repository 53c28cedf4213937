"""Record-linkage benchmark: carenet's engine and Splink 5 on the same generated data, in the same run.

    .venv/bin/python bench/linkage_bench.py                          # 1,000,000 x 1,000,000
    .venv/bin/python bench/linkage_bench.py --reference 100000 --list 100000
    .venv/bin/python bench/linkage_bench.py --no-splink

Data: carenet.linkage.synth (registry people; list records that are corrupted copies — ID missing, ID digit
typo, adjacent transposition, 15-digit form, homophone name, other name typo, day/month swapped, date typo,
date missing, shortened or moved address — plus decoys with the same name and birth date, twins, and new
people; 50% of the list linked), written as Parquet to var/bench-linkage/<size>/ and reused while it exists.

Each engine runs in its own process, from files in to RESULT out, everything included, timed twice: learning
the model in the run, and with the model saved by the first run. Peak memory is the process's maximum RSS.
Splink (`pip install -r requirements-bench.lock`) runs bench/linkage_splink.py. Both results are scored
against the truth: precision and recall of `match`, recall per corruption class, twins merged.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGETS = {
    "saved_model_s": 10.0,
    "trained_s": 20.0,
    "peak_gib": 1.5,
    "precision": 0.999,
    "recall": 0.995,
    "class_recall": 0.97,
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", type=int, default=1_000_000)
    p.add_argument("--list", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=20261129)
    p.add_argument("--second-share", type=float, default=0.0, help="share of copies with a second corruption")
    p.add_argument("--no-splink", action="store_true")
    p.add_argument("--data", default=str(ROOT / "var" / "bench-linkage"))
    p.add_argument(
        "--incremental", type=int, default=3_000_000, help="registry size for the incremental run (0: skip)"
    )
    p.add_argument("--only-incremental", action="store_true")
    return p.parse_args()


def data_dir(args: argparse.Namespace) -> Path:
    from carenet.linkage import synth

    suffix = f"-double{args.second_share:g}" if args.second_share else ""
    directory = Path(args.data) / f"{args.reference}x{args.list}-{args.seed}{suffix}"
    if not (directory / "truth.parquet").exists():
        directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        data = synth.generate(
            n_reference=args.reference, n_list=args.list, seed=args.seed, second_share=args.second_share
        )
        synth.write(data, directory, fmt="parquet")
        print(
            f"generated {args.reference:,} x {args.list:,} in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    return directory


def run_ours(directory: Path, out: Path, *, model_in: Path | None, model_out: Path | None) -> dict:
    """`carenet link` itself in a fresh process, as a user runs it: wall time from the command's start (Django
    and all) to RESULT written, and that process's own peak RSS (os.wait4 reports it for the one child)."""
    cmd = [
        str(Path(sys.executable).with_name("carenet")),
        "link",
        str(directory / "list.parquet"),
        str(directory / "reference.parquet"),
        "--out",
        str(out),
    ]
    if model_in is not None:
        cmd += ["--model", str(model_in)]
    if model_out is not None:
        cmd += ["--save-model", str(model_out)]
    # The command needs settings, not the database: demo mode spares it the production secrets.
    env = {**os.environ, "CARENET_DEMO": "1"}
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(child.stderr.read()))
    reader.start()
    stdout = child.stdout.read()
    reader.join()
    _pid, status, usage = os.wait4(child.pid, 0)  # reaped here, so the usage is this child's alone
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"carenet link failed:\n{''.join(errors)[-3000:]}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    return {
        "seconds": seconds,
        "peak_mib": usage.ru_maxrss / 1024,
        "candidates": summary["candidates"],
        "timings": summary["timings"],
    }


def run_splink(directory: Path, out: Path, *, model_in: Path | None, model_out: Path | None) -> dict | None:
    script = ROOT / "bench" / "linkage_splink.py"
    cmd = [
        sys.executable,
        str(script),
        str(directory / "list.parquet"),
        str(directory / "reference.parquet"),
        "--out",
        str(out),
    ]
    if model_in:
        cmd += ["--model", str(model_in)]
    if model_out:
        cmd += ["--save-model", str(model_out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        print(f"splink failed (is requirements-bench.lock installed?):\n{done.stderr[-2000:]}", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def score(result_path: Path, directory: Path) -> dict:
    import polars as pl

    from carenet.linkage import synth

    result = (
        pl.read_csv(result_path, infer_schema=False)
        if result_path.suffix == ".csv"
        else pl.read_parquet(result_path)
    )
    truth = pl.read_parquet(directory / "truth.parquet")
    return synth.evaluate(result, truth)


def incremental(args: argparse.Namespace, model: Path) -> dict:
    """10,000 new list records against an already-indexed registry of --incremental records (the monthly
    screening of a new department list): the index is built and saved once, then loaded by a fresh process,
    which links the new list with a saved model."""
    from carenet.linkage import synth
    from carenet.linkage.engine import Reference

    directory = Path(args.data) / f"incremental-{args.incremental}-{args.seed}"
    if not (directory / "index" / "rows.parquet").exists():
        started = time.perf_counter()
        data = synth.generate(n_reference=args.incremental, n_list=10_000, seed=args.seed + 1)
        directory.mkdir(parents=True, exist_ok=True)
        data.list.write_parquet(directory / "list.parquet")
        data.truth.write_parquet(directory / "truth.parquet")
        Reference.build(data.reference).save(directory / "index")
        print(
            f"registry of {args.incremental:,} generated and indexed in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    code = f"""
import json, resource, time
t0 = time.perf_counter()
from carenet.linkage import io
from carenet.linkage.engine import Reference, link
from carenet.linkage.model import Model
index = Reference.load({str(directory / "index")!r})
model = Model.load({str(model)!r})
t1 = time.perf_counter()
result = link(io.read({str(directory / "list.parquet")!r}), index, model=model).result
io.write(result, {str(directory / "result.csv")!r})
t2 = time.perf_counter()
print(json.dumps({{"load_index_s": t1 - t0, "link_s": t2 - t1, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"incremental run failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["quality"] = score(directory / "result.csv", directory)
    return out


def main() -> None:
    args = parse_args()
    directory = data_dir(args)
    if args.only_incremental:
        inc = incremental(args, directory / "carenet-model.json")
        print(json.dumps(inc, default=str))
        return
    rows = []
    for engine, runner in (("carenet", run_ours), ("splink", run_splink)):
        if engine == "splink" and args.no_splink:
            continue
        model = directory / f"{engine}-model.json"
        trained = runner(
            directory, directory / f"{engine}-result-trained.csv", model_in=None, model_out=model
        )
        if trained is None:
            continue
        saved = runner(directory, directory / f"{engine}-result.csv", model_in=model, model_out=None)
        quality = score(directory / f"{engine}-result.csv", directory)
        rows.append({"engine": engine, "trained": trained, "saved": saved, "quality": quality})
        print(json.dumps(rows[-1], default=str), flush=True)
    print()
    print(f"{args.reference:,} reference x {args.list:,} list records; files in to RESULT out")
    head = f"{'engine':8} {'saved s':>8} {'trained s':>9} {'peak GiB':>8} {'precision':>9} {'recall':>7} {'worst class':>22} {'twins merged':>12}"
    print(head)
    for row in rows:
        q = row["quality"]
        worst = min(q["recall_by_class"].items(), key=lambda kv: kv[1])
        peak = max(row["trained"]["peak_mib"], row["saved"]["peak_mib"]) / 1024
        print(
            f"{row['engine']:8} {row['saved']['seconds']:8.1f} {row['trained']['seconds']:9.1f} {peak:8.2f} "
            f"{q['precision']:9.4f} {q['recall']:7.4f} {worst[0] + ' ' + format(worst[1], '.3f'):>22} {q['twins_merged']:12}"
        )
    if len(rows) == 2:
        ours, theirs = rows
        print(
            f"ratios splink/carenet: saved {theirs['saved']['seconds'] / ours['saved']['seconds']:.1f}x, "
            f"trained {theirs['trained']['seconds'] / ours['trained']['seconds']:.1f}x, "
            f"memory {theirs['trained']['peak_mib'] / ours['trained']['peak_mib']:.1f}x"
        )
    print(
        "targets: saved ≤ 10 s, trained ≤ 20 s, peak ≤ 1.5 GiB, precision ≥ 0.999, recall ≥ 0.995, every class ≥ 0.97"
    )


if __name__ == "__main__":
    main()
