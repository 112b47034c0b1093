#!/usr/bin/python3
"""perf/run.sh's report: reads the raw result lines (one measurement each, KEY=VALUE words),
takes the median of every figure over its repetitions, computes the ratios ferry/HAProxy,
checks that every figure is there and sane (--check), and writes the JSON, the PNG chart and
the summary table (Markdown, printed). Run by run.sh; can be run again on a kept work
directory (run.sh --keep).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

PROXIES = ("ferry", "haproxy")

# name: (raw workload, field, unit, better, label)
SATURATION = [
    ("cps", "cps", "value", "conn/s", "higher", "CPS (new connection per request)"),
    ("rps", "rps", "value", "req/s", "higher", "RPS (keep-alive)"),
    ("throughput_up", "throughput_up", "value", "Gbit/s", "higher", "throughput client to backend"),
    ("throughput_down", "throughput_down", "value", "Gbit/s", "higher", "throughput backend to client"),
    ("ttfb_p50", "latency", "ttfb_p50_us", "us", "lower", "time to first byte p50"),
    ("ttfb_p99", "latency", "ttfb_p99_us", "us", "lower", "time to first byte p99"),
    ("ttlb_p50", "latency", "ttlb_p50_us", "us", "lower", "time to last byte p50"),
    ("ttlb_p99", "latency", "ttlb_p99_us", "us", "lower", "time to last byte p99"),
    ("cpu_per_1k_conns", "cpu_per_1k_conns", "value", "CPU ms", "lower",
     "proxy CPU per 1,000 connections (ferry: worker's busy loop cycles; HAProxy: utime+stime)"),
    ("process_cpu_per_1k_conns", "cpu_per_1k_conns", "process_per_1k_s", "CPU ms", "lower",
     "proxy process CPU per 1,000 connections (utime+stime, every thread)"),
    ("core1_per_1k_conns", "cpu_per_1k_conns", "core1_per_1k_s", "CPU ms", "lower",
     "proxy core (CPU 1) busy per 1,000 connections"),
]
# recorded in s, shown in ms
MS_FIGURES = {"cpu_per_1k_conns", "process_cpu_per_1k_conns", "core1_per_1k_conns"}


def parse_raw(path):
    rows = []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        kv = {}
        for word in line.split():
            k, _, v = word.partition("=")
            try:
                kv[k] = int(v)
            except ValueError:
                try:
                    kv[k] = float(v)
                except ValueError:
                    kv[k] = v
        rows.append(kv)
    return derive(rows)


def derive(rows):
    # Figures derived from others (older runs did not record them).
    for kv in rows:
        if kv.get("workload") == "cpu_per_1k_conns" and "process_per_1k_s" not in kv \
                and kv.get("connections"):
            kv["process_per_1k_s"] = 1000 * kv["process_cpu_s"] / kv["connections"]
    return rows


def parse_meta(path):
    meta = {}
    for line in open(path):
        k, _, v = line.rstrip("\n").partition("=")
        if k:
            try:
                meta[k] = int(v)
            except ValueError:
                meta[k] = v
    return meta


def cmd(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001 (informative only)
        return ""


def machine():
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    first = lambda s: s.splitlines()[0] if s else ""  # noqa: E731
    return {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "cpu_model": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "debian": open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "",
        "open_files_hard_limit": cmd(["sh", "-c", "ulimit -Hn"]),
        "versions": {
            "haproxy": first(cmd(["haproxy", "-v"])),
            "nginx": cmd(["sh", "-c", "nginx -v 2>&1"]),
            "wrk": first(cmd(["sh", "-c", "wrk -v 2>&1"])),
            "iperf3": first(cmd(["iperf3", "--version"])),
            "curl": first(cmd(["curl", "--version"])),
            "valgrind": cmd(["valgrind", "--version"]),
            "dpdk": cmd(["pkg-config", "--modversion", "libdpdk"]),
        },
    }


def median(v):
    return statistics.median(v) if v else None


def build(rows, meta):
    figures = {}
    problems = []
    for name, workload, field, unit, better, label in SATURATION:
        fig = {"label": label, "unit": unit, "better": better}
        for p in PROXIES:
            rs = [r for r in rows if r.get("workload") == workload and r.get("proxy") == p]
            vals = [r.get(field) for r in rs]
            if name in MS_FIGURES:
                vals = [v * 1000 if isinstance(v, (int, float)) else v for v in vals]
            if not vals or any(not isinstance(v, (int, float)) or v <= 0 for v in vals):
                problems.append(f"{name} {p}: missing or not positive: {vals}")
                continue
            fig[p] = {
                "median": median(vals),
                "reps": vals,
                "cpu": [{"core0": r.get("core0"), "core1": r.get("core1")} for r in rs],
            }
            extra = {}
            for key in ("achieved_rate", "offered_rate", "errors", "requests", "retransmits",
                        "proxy_cpu_s", "process_cpu_s", "core1_busy_s", "connections",
                        "bytes_received"):
                if key in rs[0]:
                    extra[key] = [r.get(key) for r in rs]
            if extra:
                fig[p]["details"] = extra
        if "ferry" in fig and "haproxy" in fig:
            fig["ratio_ferry_to_haproxy"] = fig["ferry"]["median"] / fig["haproxy"]["median"]
        figures[name] = fig

    # Idle connections: memory per connection, per count.
    idle = {}
    direct = {r["conns"]: r for r in rows if r.get("workload") == "idle" and r.get("proxy") == "direct"}
    for r in rows:
        if r.get("workload") != "idle" or r.get("proxy") == "direct":
            continue
        n = r["conns"]
        base = direct.get(n)
        if base is None:
            problems.append(f"idle {r['proxy']} {n}: no direct baseline")
            continue
        # Kernel memory of the proxy's own sockets: their number (TCP sockets in use in the
        # proxy's namespace, /proc/net/sockstat) times what one socket took in the slab caches
        # in the direct baseline (the same kind of socket, file and epoll item). The measured
        # difference (slab growth through the proxy less the direct run's) says the same but
        # moves with whatever else the machine does: kept beside it as a cross-check.
        per_socket = base["sock_slab_delta_b"] / base["sockets"] if base["sockets"] > 0 else 0
        kernel = round(r["sockets"] * per_socket / n)
        measured = r["slab_per_conn_b"] - base["slab_per_conn_b"]
        entry = {
            "conns": n,
            "rss_per_conn_b": r["rss_per_conn_b"],
            "kernel_per_conn_b": kernel,
            "memory_per_conn_b": r["rss_per_conn_b"] + kernel,
            "proxy_sockets": r["sockets"],
            "slab_per_socket_b": round(per_socket),
            "kernel_measured_difference_per_conn_b": measured,
            "rss_before_kb": r["rss_before_kb"],
            "rss_after_kb": r["rss_after_kb"],
            "slab_per_conn_b": r["slab_per_conn_b"],
            "direct_slab_per_conn_b": base["slab_per_conn_b"],
            "slab_all_caches_per_conn_b": r["slab_all_per_conn_b"],
            "direct_slab_all_caches_per_conn_b": base["slab_all_per_conn_b"],
            "meminfo_slab_delta_b": r["meminfo_slab_delta_b"],
            "establish_s": r["establish_s"],
            "client_procs": r["client_procs"],
            "cpu": {"core0": r.get("core0"), "core1": r.get("core1")},
        }
        if r["proxy"] == "ferry":
            for k in ("mbufs_in_use_before", "mbufs_in_use", "tcp_mbufs_held", "session_slot_bytes",
                      "session_slots"):
                entry[k] = r.get(k)
            if r.get("tcp_mbufs_held", 0) != 0:
                print(f"note: {n} idle ferry sessions hold {r['tcp_mbufs_held']} mbufs in TCP")
        if r["rss_after_kb"] <= 0:
            problems.append(f"idle {r['proxy']} {n}: no RSS")
        if base["sockets"] < 2 * n or per_socket <= 0:
            problems.append(f"idle direct {n}: {base['sockets']} sockets, {per_socket:.0f} B each")
        if r["proxy"] == "haproxy" and (r["rss_per_conn_b"] <= 0 or kernel <= 0 or r["sockets"] < 2 * n):
            problems.append(f"idle haproxy {n}: memory per connection not positive "
                            f"(rss {r['rss_per_conn_b']}, kernel {kernel})")
        if r["proxy"] == "ferry" and not r.get("session_slot_bytes"):
            problems.append(f"idle ferry {n}: no session_slot_bytes")
        idle[f"{r['proxy']}_{n}"] = entry
    for p in PROXIES:
        if not any(k.startswith(p + "_") for k in idle):
            problems.append(f"idle: no figure for {p}")
    common = sorted({v["conns"] for k, v in idle.items() if k.startswith("ferry_")}
                    & {v["conns"] for k, v in idle.items() if k.startswith("haproxy_")})
    idle_ratio = {}
    for n in common:
        f, h = idle[f"ferry_{n}"], idle[f"haproxy_{n}"]
        idle_ratio[str(n)] = {
            "memory_per_conn_ferry_to_haproxy": (f["memory_per_conn_b"] / h["memory_per_conn_b"]
                                                 if h["memory_per_conn_b"] > 0 else None),
            "reserved_slot_ferry_to_haproxy_memory": (f["session_slot_bytes"] / h["memory_per_conn_b"]
                                                      if h["memory_per_conn_b"] > 0 else None),
        }

    instructions = {}
    for name in ("instructions_per_conn", "instructions_per_segment"):
        rs = [r for r in rows if r.get("workload") == name]
        if not rs or rs[0].get("value", 0) <= 0:
            problems.append(f"{name}: missing or zero")
            continue
        instructions[name] = {k: rs[0][k] for k in ("value", "total", "count", "tool") if k in rs[0]}
        if "perf_counters_available" in rs[0]:
            instructions[name]["perf_counters_available"] = bool(rs[0]["perf_counters_available"])

    integrity = {p: len([r for r in rows if r.get("workload") == "integrity" and r.get("proxy") == p])
                 for p in PROXIES}
    for p in PROXIES:
        if integrity[p] < meta.get("reps", 1):
            problems.append(f"integrity {p}: {integrity[p]} checks, want {meta.get('reps', 1)}")
    return figures, idle, idle_ratio, instructions, integrity, problems


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "Gbit/s":
        return f"{v:.2f}"
    if unit == "CPU ms":
        return f"{v:.1f}"
    return f"{v:,.0f}"


def table(figures, idle, idle_ratio, instructions, meta):
    out = []
    out.append(f"| figure ({meta.get('mode')} run, {meta.get('reps')} reps, medians) | ferry | HAProxy | ferry / HAProxy | cores 0/1 % ferry | cores 0/1 % HAProxy |")
    out.append("|---|---:|---:|---:|---:|---:|")

    def cores(fig, p):
        if p not in fig:
            return "-"
        c = fig[p]["cpu"]
        c0 = median([x["core0"] for x in c if x["core0"] is not None])
        c1 = median([x["core1"] for x in c if x["core1"] is not None])
        return f"{c0:.0f} / {c1:.0f}" if c0 is not None else "-"

    for name, fig in figures.items():
        label = f"{fig['label']} ({fig['unit']})"
        if name in ("ttfb_p50",):
            rate = fig.get("ferry", {}).get("details", {}).get("offered_rate", ["?"])[0]
            label += f" at {rate} conn/s"
        f = fig.get("ferry", {}).get("median")
        h = fig.get("haproxy", {}).get("median")
        ratio = fig.get("ratio_ferry_to_haproxy")
        out.append(f"| {label} | {fmt(f, fig['unit'])} | {fmt(h, fig['unit'])} | "
                   f"{ratio:.2f} |" if ratio is not None else f"| {label} | {fmt(f, fig['unit'])} | {fmt(h, fig['unit'])} | - |")
        out[-1] += f" {cores(fig, 'ferry')} | {cores(fig, 'haproxy')} |"
    lat = figures.get("ttfb_p50", {})
    if "ferry" in lat and "haproxy" in lat:
        def rates(p):
            d = lat[p].get("details", {})
            return median(d.get("achieved_rate", [])), median(d.get("offered_rate", []))
        (fa, fo), (ha, _) = rates("ferry"), rates("haproxy")
        out.append(f"| fixed-rate run (latency, CPU): offered / achieved (conn/s) | {fo:,.0f} / {fa:,.0f} | "
                   f"{fo:,.0f} / {ha:,.0f} | {fa / ha:.2f} | | |")
    for n in sorted({v["conns"] for v in idle.values()}):
        f = idle.get(f"ferry_{n}")
        h = idle.get(f"haproxy_{n}")
        r = idle_ratio.get(str(n), {}).get("memory_per_conn_ferry_to_haproxy")
        fv = f"{f['memory_per_conn_b']:,} ({f['rss_per_conn_b']:,} + {f['kernel_per_conn_b']:,})" if f else "-"
        hv = f"{h['memory_per_conn_b']:,} ({h['rss_per_conn_b']:,} + {h['kernel_per_conn_b']:,})" if h else "-"
        out.append(f"| memory per idle connection, {n:,} idle (B: RSS + kernel) | {fv} | {hv} | "
                   f"{r:.2f} |" if r is not None else
                   f"| memory per idle connection, {n:,} idle (B: RSS + kernel) | {fv} | {hv} | - |")
        cf = f"{f['cpu']['core0']:.0f} / {f['cpu']['core1']:.0f}" if f else "-"
        ch = f"{h['cpu']['core0']:.0f} / {h['cpu']['core1']:.0f}" if h else "-"
        out[-1] += f" {cf} | {ch} |"
        if f:
            out.append(f"| ferry, {n:,} idle: reserved per session slot (B); mbufs in use (before / idle); TCP mbufs held | "
                       f"{f['session_slot_bytes']:,}; {f['mbufs_in_use_before']} / {f['mbufs_in_use']}; {f['tcp_mbufs_held']} | - | - | | |")
    for name, label in (("instructions_per_conn", "instructions per proxied connection"),
                        ("instructions_per_segment", "instructions per forwarded data segment")):
        if name in instructions:
            out.append(f"| {label} (callgrind, in process) | {instructions[name]['value']:,} | - | - | | |")
    return "\n".join(out)


def chart(figures, idle, instructions, meta, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"ferry": "#1f77b4", "haproxy": "#ff7f0e"}
    panels = [
        ("CPS (conn/s)", ["cps"]),
        ("RPS, keep-alive (req/s)", ["rps"]),
        ("Throughput (Gbit/s)", ["throughput_up", "throughput_down"]),
        (f"Latency at {meta.get('fixed_rate')} conn/s (µs)", ["ttfb_p50", "ttfb_p99", "ttlb_p50", "ttlb_p99"]),
        ("CPU per 1,000 connections (ms)",
         ["cpu_per_1k_conns", "process_cpu_per_1k_conns", "core1_per_1k_conns"]),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    axes = axes.flatten()
    short = {"throughput_up": "up", "throughput_down": "down", "ttfb_p50": "TTFB p50",
             "ttfb_p99": "TTFB p99", "ttlb_p50": "TTLB p50", "ttlb_p99": "TTLB p99",
             "cpu_per_1k_conns": "own accounting", "process_cpu_per_1k_conns": "process",
             "core1_per_1k_conns": "core 1 busy",
             "cps": "", "rps": ""}
    for ax, (title, names) in zip(axes, panels):
        width = 0.38
        for j, p in enumerate(PROXIES):
            xs, ys, errs_lo, errs_hi = [], [], [], []
            for i, n in enumerate(names):
                f = figures.get(n, {}).get(p)
                if not f:
                    continue
                xs.append(i + (j - 0.5) * width)
                ys.append(f["median"])
                errs_lo.append(f["median"] - min(f["reps"]))
                errs_hi.append(max(f["reps"]) - f["median"])
            ax.bar(xs, ys, width, color=colors[p], label="ferry" if p == "ferry" else "HAProxy",
                   yerr=[errs_lo, errs_hi], capsize=3)
            for x, y in zip(xs, ys):
                ax.annotate(f"{y:,.0f}" if y >= 100 else f"{y:.2f}", (x, y), ha="center",
                            va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([short.get(n, n) for n in names])
        ratios = [figures.get(n, {}).get("ratio_ferry_to_haproxy") for n in names]
        ax.set_title(title + "\nferry/HAProxy: " + ", ".join(f"{r:.2f}" for r in ratios if r), fontsize=10)
        ax.legend(fontsize=8)
    ax = axes[5]
    counts = sorted({v["conns"] for v in idle.values()})
    labels, rss, kern, cols = [], [], [], []
    for n in counts:
        for p in PROXIES:
            e = idle.get(f"{p}_{n}")
            if not e:
                continue
            labels.append(f"{'ferry' if p == 'ferry' else 'HAProxy'}\n{n:,}")
            rss.append(e["rss_per_conn_b"])
            kern.append(e["kernel_per_conn_b"])
            cols.append(colors[p])
    xs = range(len(labels))
    ax.bar(xs, rss, color=cols, label="process RSS")
    ax.bar(xs, kern, bottom=rss, color=cols, alpha=0.45, hatch="//", label="kernel (slab)")
    for x, a, b in zip(xs, rss, kern):
        ax.annotate(f"{a + b:,}", (x, max(a + b, 0)), ha="center", va="bottom", fontsize=7,
                    xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, fontsize=8)
    slot = next((e.get("session_slot_bytes") for k, e in idle.items() if k.startswith("ferry_")), None)
    ax.set_title(f"Memory per idle connection (B)\nferry reserves {slot:,} B per session slot at start"
                 if slot else "Memory per idle connection (B)", fontsize=10)
    ax.legend(fontsize=8)
    ipc = instructions.get("instructions_per_conn", {}).get("value")
    ips = instructions.get("instructions_per_segment", {}).get("value")
    fig.suptitle(f"ferry vs HAProxy — {meta.get('mode')} run {meta.get('date')} commit {meta.get('commit')}, "
                 f"{meta.get('reps')} reps (bars: median, whiskers: min-max); 2-core VM, proxy on CPU 1\n"
                 f"ferry in process (callgrind): {ipc:,} instructions per proxied connection, "
                 f"{ips:,} per forwarded segment" if ipc and ips else "", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", help="run.sh's raw result lines")
    ap.add_argument("--meta", help="run.sh's run description (KEY=VALUE lines)")
    ap.add_argument("--from-json", help="report again from an earlier result JSON (its raw rows, "
                    "run description and configs; the machine is described anew)")
    ap.add_argument("--config", action="append", default=[], help="NAME=PATH of a config to embed")
    ap.add_argument("--json", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--check", action="store_true", help="exit 1 if a figure is missing or not sane")
    args = ap.parse_args()

    if args.from_json:
        old = json.load(open(args.from_json))
        rows = derive(old["raw"])
        meta = old["run"]
        old_configs = old.get("configs", {})
    else:
        if not (args.raw and args.meta):
            ap.error("--raw and --meta, or --from-json")
        rows = parse_raw(args.raw)
        meta = parse_meta(args.meta)
        old_configs = {}
    figures, idle, idle_ratio, instructions, integrity, problems = build(rows, meta)
    configs = dict(old_configs)
    for c in args.config:
        name, _, path = c.partition("=")
        configs[name] = open(path).read()
    doc = {
        "schema": "ferry-perf/1",
        "run": meta,
        "machine": machine(),
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "figures": figures,
        "idle": idle,
        "idle_ratios": idle_ratio,
        "instructions": instructions,
        "integrity_checks_passed": integrity,
        "problems": problems,
        "configs": configs,
        "raw": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    try:
        chart(figures, idle, instructions, meta, args.png)
    except Exception as e:  # noqa: BLE001
        problems.append(f"chart: {e}")
    print()
    print(table(figures, idle, idle_ratio, instructions, meta))
    print()
    print(f"ferry/HAProxy is the ratio of medians: above 1 is better for ferry on rates (CPS, RPS, "
          f"throughput), below 1 is better on latency, CPU and memory.")
    print(f"load average: {meta.get('load_start')} at the start, {meta.get('load_end')} at the end")
    if problems:
        print("PROBLEMS:")
        for p in problems:
            print("  " + p)
        return 1 if args.check else 0
    print("all figures present and sane")
    return 0


if __name__ == "__main__":
    sys.exit(main())
