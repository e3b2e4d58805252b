#!/bin/sh
# Reruns the Service proxy benchmark of docs/benchmarks.md ("Service proxy (issue 7)"): one nginx process pod of a
# real `berth server`, reached directly, through Berth's ClusterIP and through HAProxy in TCP mode, with wrk.
#
#   bench/proxy/run.sh [REPORT.md] [more options of `Berth.Benchmarks proxy`, e.g. --rounds 5 --duration 20s]
#
# Writes the markdown report to REPORT.md (default: proxy-<UTC time>.md in the current directory) and prints it.
# Run it on an otherwise idle machine: every figure is a ratio against the direct path measured in the same run,
# but a busy machine still widens the spread between rounds.
set -eu

missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing="$missing haproxy"
[ -x /usr/sbin/nginx ] || missing="$missing nginx"
if [ -n "$missing" ]; then
    echo "missing:$missing" >&2
    echo "install them with: sudo apt-get install -y wrk haproxy nginx-light" >&2
    exit 1
fi

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=proxy-$(date -u +%Y%m%d-%H%M%S).md
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    out=$1
    shift
fi

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
dotnet build "$repo/src/Berth" -c Release
dotnet run -c Release --project "$repo/bench/Berth.Benchmarks" -- proxy --mode cluster --out "$out" "$@"
echo "report written to $out" >&2
