#!/usr/bin/env python3
"""Summarises GanEngine run directories (metrics.csv, eval.json, architecture.csv) into the issue-5 table:
quality (FID on the digits classifier's features, classes covered), size (parameters, FLOPs per step),
speed (step time, total time), and the step time just before and after pruning against the FLOPs removed.

    python3 tools/experiments/summarize.py RUN_DIR [RUN_DIR ...] > table.md
"""
import csv
import json
import os
import re
import statistics
import sys


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def mean(xs):
    xs = [x for x in xs if x == x]
    return sum(xs) / len(xs) if xs else float("nan")


def main():
    rows = []
    seeds = []   # (config, FID, classes, step ms, step ratio at pruning, FLOPs ratio) per run
    for run in sys.argv[1:]:
        m = read_csv(os.path.join(run, "metrics.csv"))
        ev = json.load(open(os.path.join(run, "eval.json"))) if os.path.exists(os.path.join(run, "eval.json")) else None
        arch = read_csv(os.path.join(run, "architecture.csv")) if os.path.exists(os.path.join(run, "architecture.csv")) else []
        steps = int(float(m[-1]["step"]))
        last = m[-1]
        # Steady-state step time: the last 20% of the run (after every change and after compilation).
        tail = [float(r["step_ms"]) for r in m if float(r["step"]) > 0.8 * steps]
        gen = None
        real = None
        if ev:
            for r in ev["rows"]:
                if r["Source"].startswith("generator") and gen is None:
                    gen = r   # EMA first when present
                if r["Source"].startswith("real"):
                    real = r
        prune_steps = sorted({int(a["step"]) for a in arch if a["action"].startswith("prune")})
        prune = ""
        if prune_steps:
            p = prune_steps[0]
            window = max(1, int(0.1 * steps))
            before = [r for r in m if p - window <= float(r["step"]) < p]
            after = [r for r in m if p + 1 <= float(r["step"]) <= p + window]
            # Skip the first log interval after the change (it includes the change itself).
            after = after[1:] if len(after) > 1 else after
            t0, t1 = mean([float(r["step_ms"]) for r in before]), mean([float(r["step_ms"]) for r in after])
            f0, f1 = mean([float(r["step_gflop_per_image"]) for r in before]), mean([float(r["step_gflop_per_image"]) for r in after])
            prune = f"{t1 / t0:.3f} (FLOPs {f1 / f0:.3f})"
        seeds.append((re.sub(r"-s\d+$", "", os.path.basename(os.path.normpath(run))),
                      gen["Fid"] if gen else float("nan"), gen["ClassesCovered"] if gen else 0, mean(tail),
                      t1 / t0 if prune_steps else float("nan"), f1 / f0 if prune_steps else float("nan")))
        rows.append({
            "run": os.path.basename(os.path.normpath(run)),
            "fid": f"{gen['Fid']:.2f}" if gen else "-",
            "fid_real": f"{real['Fid']:.2f}" if real else "-",
            "classes": f"{gen['ClassesCovered']}/10" if gen else "-",
            "conf": f"{100 * gen['MeanConfidence']:.1f}%" if gen else "-",
            "params": f"{int(float(last['g_params'])):,} / {int(float(last['d_params'])):,}",
            "gflop": f"{float(last['step_gflop_per_image']) * 1000:.2f}",
            "mean_gflop": f"{mean([float(r['step_gflop_per_image']) for r in m]) * 1000:.2f}",
            "step_ms": f"{mean(tail):.2f}",
            "total_s": f"{float(last['elapsed_s']):.0f}",
            "prune": prune or "-",
        })
    print("| run | FID (EMA G) | FID real train | classes | mean confidence | params G / D (final) | MFLOP/img/step final | mean over run | step ms (last 20%) | total s | step time after/before pruning (FLOPs after/before) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['run']} | {r['fid']} | {r['fid_real']} | {r['classes']} | {r['conf']} | {r['params']} | {r['gflop']} | {r['mean_gflop']} | {r['step_ms']} | {r['total_s']} | {r['prune']} |")
    print_seed_table(seeds)


def print_seed_table(seeds):
    """Runs named CONFIG-sN (run.sh with SEEDS) grouped per config: FID mean, sample standard deviation and range, the
    fewest classes covered, and the step-time ratio at pruning averaged over the seeds."""
    configs = {}
    for row in seeds:
        configs.setdefault(row[0], []).append(row)
    if not any(len(v) > 1 for v in configs.values()):
        return
    print()
    print("| config | seeds | FID mean | FID sd | FID min - max | fewest classes | step ms (last 20%) | step time after/before pruning (FLOPs) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, v in configs.items():
        fids = [r[1] for r in v if r[1] == r[1]]
        sd = statistics.stdev(fids) if len(fids) > 1 else float("nan")
        ratios = [r[4] for r in v if r[4] == r[4]]
        flops = [r[5] for r in v if r[5] == r[5]]
        prune = f"{mean(ratios):.3f} ({mean(flops):.3f})" if ratios else "-"
        print(f"| {name} | {len(v)} | {mean(fids):.1f} | {sd:.1f} | {min(fids):.1f} - {max(fids):.1f} | {min(r[2] for r in v)}/10 | "
              f"{mean([r[3] for r in v]):.2f} | {prune} |")


if __name__ == "__main__":
    main()
