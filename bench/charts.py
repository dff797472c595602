"""charts.py - data files and a gnuplot script for one bench result (used by bench/charts.sh).

Usage: python3 charts.py RESULT.json WORKDIR
Writes WORKDIR/*.dat and WORKDIR/plot.gp; plot.gp names each PNG it makes on a "# chart: FILE"
line. The PNGs go next to RESULT.json, named after it.
"""
import json
import os
import sys

TERM = 'set terminal pngcairo size 1000,560 font "DejaVu Sans,11"\n'


def num(v):
    return "NaN" if v is None else v


def write(work, name, rows):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        for r in rows:
            f.write(" ".join(str(x) for x in r) + "\n")
    return path


def head(out, title):
    return TERM + 'set output "%s"\nset title "%s"\n# chart: %s\n' % (out, title, out)


def bench_charts(res, work, base):
    paths = res["paths"]
    names = list(paths)
    sub = "%s, kernel %s, %s cpus, load %s, medians of %s round(s)" % (
        res["date"], res["kernel"], res["cpus"], res.get("loadavg", "?"), res.get("rounds", 1))
    rows = []
    for n in names:
        p = paths[n]
        rows.append(['"%s"' % n, num(p["tcp1_gbps"]), num(p["tcp4_gbps"]),
                     '"%s"' % (p["tcp1_vs_bridge"] if p["tcp1_vs_bridge"] is not None else "-"),
                     '"%s"' % (p["tcp4_vs_bridge"] if p["tcp4_vs_bridge"] is not None else "-"),
                     num(p.get("zero_loss_kpps")), num(p.get("udp64_rx_kpps")),
                     '"%s"' % (p.get("zero_loss_vs_bridge") if p.get("zero_loss_vs_bridge")
                               is not None else "-")])
    dat = write(work, "paths.dat", rows)
    gp = head(base + "-throughput.png", "TCP throughput per path (ratio to the kernel bridge on top)\\n{/*0.8 %s}" % sub)
    gp += """set style data histograms
set xtics noenhanced
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "Gbit/s (receiver)"
set yrange [0:*]
set grid ytics
set key top right
plot "{d}" using 2:xtic(1) title "tcp1 (1 stream)" lc rgb "#4477aa", \\
     "" using 3 title "tcp4 (4 streams)" lc rgb "#66ccee", \\
     "" using ($0 - 0.15):2:4 with labels offset 0,0.8 notitle, \\
     "" using ($0 + 0.15):3:5 with labels offset 0,0.8 notitle
""".replace("{d}", dat)
    gp += head(base + "-rate.png", "64-byte frames per path: zero-loss rate (<0.1%% lost; ratio to the bridge on top)\\n{/*0.8 %s}" % sub)
    gp += """set ylabel "thousand frames/s"
plot "{d}" using 6:xtic(1) title "zero-loss rate" lc rgb "#228833", \\
     "" using 7 title "received under a flood (loss not bounded)" lc rgb "#bbbbbb", \\
     "" using ($0 - 0.15):6:8 with labels offset 0,0.8 notitle
""".replace("{d}", dat)
    plots = []
    for i, n in enumerate(names):
        cdf = paths[n].get("rr_cdf_us") or []
        if not cdf:
            continue
        f = write(work, "cdf%d.dat" % i, [(v, q) for q, v in enumerate(cdf)])
        plots.append('"%s" using 1:2 with lines lw 2 title "%s (p50 %s us)" noenhanced' % (
            f, n, paths[n].get("rr_p50_us")))
    if plots:
        gp += head(base + "-latency.png", "Round trip of a 64-byte UDP request and its reply, CDF\\n{/*0.8 %s}" % sub)
        gp += """unset style
set style data lines
set xlabel "round trip (microseconds, log scale)"
set ylabel "percentile"
set logscale x
set yrange [0:100]
set key bottom right
plot """ + ", \\\n     ".join(plots) + "\n"
    return gp


def scale_charts(res, work, base):
    m = res["medians"]
    rows = []
    for n in (2, 8, 32):
        rows.append([n, num(m.get("ports%d,gbps,bridge" % n)), num(m.get("ports%d,gbps,tapyard" % n)),
                     num(m.get("ports%d,cpu,tapyard" % n))])
    dat = write(work, "scale.dat", rows)
    sub = "%s, %s cpus, load %s" % (res["date"], res["cpus"], res.get("loadavg", "?"))
    gp = head(base + "-cost.png", "Cost against port count: one TCP stream per pair of ports\\n{/*0.8 %s}" % sub)
    gp += """set xlabel "ports"
set logscale x 2
set xtics (2, 8, 32)
set ylabel "Gbit/s, all pairs"
set y2label "tapyard CPU (% of one core)"
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set grid ytics
set key bottom right
plot "{d}" using 1:2 with linespoints lw 2 pt 7 title "bridge Gbit/s", \\
     "" using 1:3 with linespoints lw 2 pt 5 title "tapyard Gbit/s", \\
     "" using 1:4 axes x1y2 with linespoints lw 2 dt 2 pt 4 title "tapyard CPU %"
""".replace("{d}", dat)
    return gp


def impair_charts(res, work, base):
    cdfs = res.get("delay_error_cdf_us") or {}
    plots = []
    for i, (mode, cdf) in enumerate(sorted(cdfs.items())):
        f = write(work, "err%d.dat" % i, [(max(v, 1), q) for q, v in enumerate(cdf)])
        plots.append('"%s" using 1:2 with lines lw 2 title "%s" noenhanced' % (f, mode))
    if not plots:
        return ""
    sub = "%s, %s cpus, load %s" % (res["date"], res["cpus"], res.get("loadavg", "?"))
    gp = head(base + "-delay.png", "Delay error (observed minus configured one-way delay), CDF per timer mode\\n{/*0.8 %s}" % sub)
    gp += """set style data lines
set xlabel "error (microseconds, log scale; 1 or less drawn at 1)"
set logscale x
set ylabel "percentile"
set yrange [0:100]
set grid
set key bottom right
plot """ + ", \\\n     ".join(plots) + "\n"
    return gp


def main():
    src, work = sys.argv[1], sys.argv[2]
    res = json.load(open(src))
    base = os.path.splitext(os.path.abspath(src))[0]
    kind = os.path.basename(src).split("-")[0]
    make = {"bench": bench_charts, "scale": scale_charts, "impair": impair_charts}.get(kind)
    if not make:
        sys.exit("charts.py: %s: not a bench-, scale- or impair- result" % src)
    gp = make(res, work, base)
    if not gp:
        sys.exit("charts.py: %s: nothing to chart" % src)
    with open(os.path.join(work, "plot.gp"), "w") as f:
        f.write(gp)


main()
