#!/bin/bash
# bench/charts.sh - charts (PNG, gnuplot) of a bench result file, written next to it.
#
# Usage: bench/charts.sh RESULT.json...
#   bench-*.json (run.sh)    -throughput.png  tcp1 and tcp4 per path, ratio to the bridge on top
#                            -rate.png        zero-loss 64-byte rate per path, ratio on top
#                            -latency.png     round-trip latency CDF per path
#   scale-*.json (scale.sh)  -cost.png        throughput and switch CPU against the port count
#   impair-*.json (impair.sh) -delay.png      delay-error CDF per timer mode
# Prints "chart: FILE" for each chart it writes. Needs gnuplot (Debian: gnuplot-nox) and python3.
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v gnuplot >/dev/null; then
	echo "charts.sh: gnuplot is not installed (apt-get install gnuplot-nox); no charts" >&2
	exit 1
fi
[ $# -gt 0 ] || { sed -n '4,10s/^# \{0,1\}//p' "$0"; exit 2; }

rc=0
for json in "$@"; do
	work=$(mktemp -d /tmp/tybe-charts.XXXXXX)
	# charts.py writes the data files and the gnuplot script for this result into $work.
	if python3 "$BENCH_DIR/charts.py" "$json" "$work" && gnuplot "$work/plot.gp"; then
		sed -n 's/^# chart: //p' "$work/plot.gp" | while read -r f; do echo "chart: $f"; done
	else
		echo "charts.sh: no charts for $json" >&2
		rc=1
	fi
	rm -rf "$work"
done
exit $rc
