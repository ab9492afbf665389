"""The chart of scripts/bench: requests/s and p99 latency against connections, one line per operation.

    python bench/chart.py RESULTS.tsv OUT.svg [--title TEXT]

RESULTS.tsv is the table scripts/bench writes (one row per measurement, a header line naming the columns).
Plotted: the rows of the load generator `load` (token solid, AK/SK dashed) and the ceiling row; wrk's
cross-check rows are left out. The file is reproducible (no date, a fixed hash salt, text drawn as paths); an
OUT ending in .png gives a PNG.
"""

import argparse
import csv
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "ims-tags-bench"
plt.rcParams["svg.fonttype"] = "path"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("out")
    parser.add_argument("--title", default="ims-tags: throughput and p99 against connections")
    args = parser.parse_args()

    with open(args.results, newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["generator"] == "load"]
    if not rows:
        raise SystemExit("chart: no rows of the load generator in " + args.results)

    # (operation, auth) -> [(connections, req/s, p99 ms)]
    series = defaultdict(list)
    order = []
    for r in rows:
        key = (r["operation"], r["auth"])
        if key not in series:
            order.append(key)
        series[key].append((int(r["connections"]), float(r["rps"]), float(r["p99_ms"])))

    fig, (throughput, p99) = plt.subplots(1, 2, figsize=(13, 6.5))
    # tab20's dark shades first, then its light ones: up to 20 operations stay apart.
    tab20 = plt.get_cmap("tab20").colors
    colours = tab20[0::2] + tab20[1::2]
    operations = list(dict.fromkeys(op for op, _ in order))
    labelled = set()
    for op, auth in order:
        points = sorted(series[(op, auth)])
        x = [p[0] for p in points]
        ceiling = auth == "none"
        style = dict(
            color="black" if ceiling else colours[operations.index(op) % len(colours)],
            linestyle="--" if auth == "aksk" else "-",
            linewidth=2.5 if ceiling else 1.5,
            marker="o",
            markersize=4,
            # One legend entry per operation: the line style tells the authentication.
            label=op if op not in labelled else None,
        )
        labelled.add(op)
        throughput.plot(x, [p[1] for p in points], **style)
        p99.plot(x, [p[2] for p in points], **style)

    connections = sorted({int(r["connections"]) for r in rows})
    for ax, label in ((throughput, "requests/s"), (p99, "p99 latency (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(connections, [str(c) for c in connections])
        ax.set_xlabel("connections")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    throughput.set_title("throughput (solid: token, dashed: AK/SK)")
    p99.set_title("p99 latency")
    handles, labels = throughput.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize="small", frameon=False)
    legend_rows = -(-len(labels) // 3)
    fig.suptitle(args.title)
    fig.tight_layout(rect=(0, 0.035 * legend_rows + 0.02, 1, 1))
    # No date or software version in the file, so that the same results give the same bytes.
    metadata = {"Date": None} if args.out.endswith(".svg") else {"Software": None}
    fig.savefig(args.out, metadata=metadata, dpi=100)


if __name__ == "__main__":
    main()
