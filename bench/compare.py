#!/usr/bin/env python3
"""bench/compare.py - C/Go ratio table over suite runs (stdlib only).

    compare.py --c c-run1.jsonl ... [--go go-run1.jsonl ...] [--json OUT]

Each file is one suite run: one JSON line per workload variant, every line
already the median of its timed runs. A variant is its workload plus its
params without the sizes (n, reps), because fl-bench may scale the sizes
down for slow backends; the size of each side is shown in its own column.
Per variant and metric, the table shows the median over the suite runs (the
median of per-process medians, as the Go peer's BASELINE.md does), the
min-max of those per-process medians, and the ratio C/Go of the medians.
The issue-3 targets are marked met or MISSED. C lines are grouped by their
c_backend, so every backend gets its own rows.
"""
import argparse
import json
import statistics
import sys

SIZE_KEYS = ("n", "reps")

# Which metrics to compare per workload (first is the headline).
METRICS = {
    "cancel": ["p99", "p50"],
    "cancel-err": ["p50", "p99"],
    "first-error": ["p50", "p99"],
    "hedge": ["p50", "p999"],
    "retry": ["wall_secs", "wall_over_ideal_ratio"],
}
DEFAULT_METRICS = ["ns_per_op"]

WORKLOAD_IDS = {
    "spawn": "W1", "trygo": "W2", "pipeline": "W3", "fanout": "W4",
    "cancel": "W5", "cancel-err": "W5b", "first-error": "W6",
    "pingpong": "W7", "sync": "W8", "hedge": "W9", "retry": "W10",
}


def target(workload, params, metric):
    """The issue-3 target for a row: (description, check(c, go) -> bool)."""
    ratio_le = lambda lim: (lambda c, g: g is not None and g > 0 and c / g <= lim)
    if workload == "spawn" and params.get("limit") == 8 and metric == "ns_per_op":
        return "C/Go <= 0.5", ratio_le(0.5)
    if workload == "pipeline" and metric == "ns_per_op":
        return "C/Go <= 0.5", ratio_le(0.5)
    if workload == "fanout" and params.get("cap") == 64 and metric == "ns_per_op":
        return "C/Go <= 0.7", ratio_le(0.7)
    if workload == "pingpong" and metric == "ns_per_op":
        return "C/Go <= 0.33", ratio_le(0.33)
    if workload == "cancel" and metric == "p99":
        return "C/Go <= 0.5", ratio_le(0.5)
    if workload == "first-error" and metric == "p50":
        return "C/Go <= 0.5", ratio_le(0.5)
    if workload == "retry" and metric == "wall_over_ideal_ratio":
        return "C <= 1.05 x ideal", lambda c, g: c <= 1.05
    return None


def load(files, side):
    """{(backend, variant): {"rows": [...], ...}} from JSONL suite files."""
    groups = {}
    for path in files:
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit("compare.py: %s:%d: %s" % (path, lineno, e))
                add(groups, obj, side)
    return groups


def add(groups, obj, side):
    params = obj.get("params", {})
    variant = tuple((k, v) for k, v in params.items()
                    if k not in SIZE_KEYS and k != "percentiles_of")
    backend = obj.get("c_backend", "?") if side == "c" else "go"
    key = (obj["workload"], variant, backend)
    g = groups.setdefault(key, {"params": params, "lines": []})
    g["lines"].append(obj)


def summary(lines, metric):
    """(median, lo, hi) of metric over per-process lines, or None."""
    xs = [l[metric] for l in lines if isinstance(l.get(metric), (int, float))]
    if not xs:
        return None
    return statistics.median(xs), min(xs), max(xs)


def sizes(params):
    return " ".join("%s=%s" % (k, fmt_int(params[k])) for k in SIZE_KEYS if k in params)


def fmt_int(x):
    if isinstance(x, int) and x >= 10000 and x % 1000 == 0:
        s = "%g" % x
        return s.replace("e+0", "e").replace("e+", "e")
    return str(x)


def fmt(metric, x):
    if x is None:
        return "–"
    if metric.endswith("ratio"):
        return "%.4f" % x
    if metric.endswith("secs"):
        return "%.4f s" % x
    if metric.startswith("p") or metric == "max":
        if x >= 1e6:
            return "%.2f ms" % (x / 1e6)
        return "%.1f µs" % (x / 1e3)
    return "%.1f ns" % x


def fmt_range(metric, s):
    if s is None:
        return "–"
    return "%s – %s" % (fmt(metric, s[1]), fmt(metric, s[2]))


def variant_text(variant):
    return " ".join("%s=%s" % (k, v) for k, v in variant) or "–"


def rows(cgroups, ggroups):
    """Yields one dict per (variant, metric, C backend), in suite order."""
    variants, backends = [], []
    for workload, variant, backend in cgroups:
        if (workload, variant) not in variants:
            variants.append((workload, variant))
        if backend not in backends:
            backends.append(backend)
    for workload, variant in variants:
        gg = ggroups.get((workload, variant, "go"))
        for metric in METRICS.get(workload, DEFAULT_METRICS):
            for backend in backends:
                cg = cgroups.get((workload, variant, backend))
                if cg:
                    r = row(workload, variant, backend, metric, cg, gg)
                    if r:
                        yield r


def row(workload, variant, backend, metric, cg, gg):
    cs = summary(cg["lines"], metric)
    if cs is None:
        return None
    gs = summary(gg["lines"], metric) if gg else None
    ratio = cs[0] / gs[0] if gs and gs[0] else None
    t = target(workload, cg["params"], metric)
    status = ""
    if t:
        if t[1](cs[0], gs[0] if gs else None):
            status = t[0] + ": met"
        elif gs or metric.endswith("ratio"):
            status = t[0] + ": MISSED"
        else:
            status = t[0] + ": n/a (no Go)"
    return {
        "workload": workload, "id": WORKLOAD_IDS.get(workload, ""),
        "variant": variant_text(variant), "backend": backend, "metric": metric,
        "c": cs[0], "c_range": cs, "c_procs": len(cg["lines"]),
        "go": gs[0] if gs else None, "go_range": gs,
        "go_procs": len(gg["lines"]) if gg else 0,
        "ratio": ratio, "target": status,
        "sizes": "%s / %s" % (sizes(cg["params"]) or "–",
                              sizes(gg["params"]) if gg else "–"),
    }


def print_table(rs, out):
    out.write("| workload | variant | size C / Go | backend | metric | C | C range | "
              "Go | Go range | C/Go | target |\n")
    out.write("|---|---|---|---|---|---:|---:|---:|---:|---:|---|\n")
    for r in rs:
        out.write("| %s %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" % (
            r["id"], r["workload"], r["variant"], r["sizes"], r["backend"], r["metric"],
            fmt(r["metric"], r["c"]), fmt_range(r["metric"], r["c_range"]),
            fmt(r["metric"], r["go"]), fmt_range(r["metric"], r["go_range"]),
            "%.3f" % r["ratio"] if r["ratio"] is not None else "–", r["target"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--c", nargs="+", required=True, help="C suite runs (JSONL)")
    ap.add_argument("--go", nargs="*", default=[], help="Go suite runs (JSONL)")
    ap.add_argument("--json", help="also write the rows as JSON here")
    ap.add_argument("--out-dir", help="results folder, named in the header")
    a = ap.parse_args()
    cg, gg = load(a.c, "c"), load(a.go, "go")
    rs = list(rows(cg, gg))
    out = sys.stdout
    out.write("## fl-bench: C vs Go peer\n\n")
    out.write("Medians over %d C and %d Go suite run(s) (each a median of its timed runs); "
              "ranges are min–max of the per-process medians; C/Go < 1 means C is "
              "faster.%s\n\n" % (len(a.c), len(a.go),
                                 (" Results: %s." % a.out_dir) if a.out_dir else ""))
    print_table(rs, out)
    met = sum(1 for r in rs if r["target"].endswith(": met"))
    missed = sum(1 for r in rs if r["target"].endswith(": MISSED"))
    out.write("\nTargets: %d met, %d missed.\n" % (met, missed))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rs, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
