#!/usr/bin/env bash
# Reruns the cluster DNS benchmark of docs/benchmarks.md ("Cluster DNS (issue 8)"): dnsperf against the node agent's
# DNS of a real `berth server` and, as the baseline of the same run, against Knot DNS serving the same names from a
# zone file on loopback; then the DNS programming latency (Service created -> its name answers).
#
#   bench/dns/run.sh [--services N] [--headless N] [--duration 10s] [--rounds 3] [--clients 20] [--threads 2]
#                    [--outstanding 500] [--latency-qps 20000] [--programming 100] [--targets knot,berth]
#                    [--berth PATH] [--artifacts-path DIR] [--out REPORT.md]
#
# Writes the markdown report to REPORT.md (default: dns-<UTC time>.md in the current directory) and prints it.
# Every figure comes with Knot's in the same run; rounds interleave the targets (Knot, Berth, Knot, Berth...) and
# the report gives the median of the rounds. Only loopback is contacted: the cluster DNS at the service CIDR's .10,
# Knot on 127.0.0.1:<free port>, the API server on 127.0.0.1. Every process started here is ended by its PID and
# the scratch directory removed on exit, failure, Ctrl+C or SIGTERM.
set -euo pipefail

services=1000
headless=10
duration=10
rounds=3
clients=20
threads=2
outstanding=500
latency_qps=20000
programming=100
targets="knot,berth"
berth=""
artifacts=""
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$PWD/dns-$(date -u +%Y%m%d-%H%M%S).md

# Clear of the defaults (127.96/16, 127.100/16, 127.244/16), the end-to-end tests' blocks (127.20-79, 127.160-219)
# and the proxy bench (127.81-83). The cluster DNS is the service CIDR's .10.
service_cidr=127.222.0.0/16
lb_pool=127.223.0.0/16
cluster_cidr=127.224.0.0/16
dns_ip=127.222.0.10
zone=cluster.local
namespaces=4

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

number() { # flag value min max
    case $2 in '' | *[!0-9]*) echo "$1 needs a number from $3 to $4" >&2; exit 2 ;; esac
    if [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then echo "$1 needs a number from $3 to $4" >&2; exit 2; fi
    echo "$2"
}

while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
        --services) services=$(number "$1" "$2" 1 30000) ;;
        --headless) headless=$(number "$1" "$2" 0 250) ;;
        --duration) duration=$(number "$1" "${2%s}" 1 600) ;;
        --rounds) rounds=$(number "$1" "$2" 1 20) ;;
        --clients) clients=$(number "$1" "$2" 1 1000) ;;
        --threads) threads=$(number "$1" "$2" 1 64) ;;
        --outstanding) outstanding=$(number "$1" "$2" 1 65535) ;;
        --latency-qps) latency_qps=$(number "$1" "$2" 100 1000000) ;;
        --programming) programming=$(number "$1" "$2" 0 10000) ;;
        --targets)
            case $2 in knot | berth | knot,berth | berth,knot) targets=$2 ;; *) echo "--targets: knot, berth or both" >&2; exit 2 ;; esac ;;
        --berth) berth=$(cd "$(dirname "$2")" && pwd)/$(basename "$2") ;;
        --artifacts-path) mkdir -p "$2"; artifacts=$(cd "$2" && pwd) ;;
        --out) out=$2 ;;
        *) usage ;;
    esac
    shift 2
done
with() { case ",$targets," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# --- tools ---------------------------------------------------------------------------------------------------------
missing=""
command -v dnsperf >/dev/null 2>&1 || missing="$missing dnsperf"
command -v knotd >/dev/null 2>&1 || [ -x /usr/sbin/knotd ] || missing="$missing knot"
command -v kdig >/dev/null 2>&1 || missing="$missing knot-dnsutils"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing$missing (apt-get)" >&2
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2; }
    else
        echo "missing:$missing; install them with: sudo apt-get install -y$missing" >&2
        exit 1
    fi
fi
knotd=$(command -v knotd || echo /usr/sbin/knotd)
command -v kubectl >/dev/null 2>&1 || { echo "missing: kubectl (the Services are created with it)" >&2; exit 1; }
if with berth && [ "$(id -u)" != 0 ]; then
    echo "the cluster DNS binds $dns_ip:53, which needs root (or CAP_NET_BIND_SERVICE): run as root, or --targets knot" >&2
    exit 1
fi

# --- scratch dir and the processes started here, ended by PID on the way out -----------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-dns-bench.XXXXXX")
pids=()
cleanup() {
    local pid i
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "dns-bench: $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_ticks() { # utime + stime of a process (all its threads), in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)
load_start=$(load)
started=$(date +%s)
log "load average $load_start; $services Services + $headless headless, $rounds rounds of ${duration}s; scratch $tmp"

# --- build ---------------------------------------------------------------------------------------------------------
artifacts=${artifacts:-$tmp/artifacts}
if with berth && [ -z "$berth" ]; then
    log "building berth (Release) into $artifacts"
    dotnet build "$repo/src/Berth" -c Release --artifacts-path "$artifacts" -v q -nologo >&2
    berth=$artifacts/bin/Berth/release/berth
fi
bench=""
if with berth && [ "$programming" -gt 0 ]; then
    log "building Berth.Benchmarks (Release) into $artifacts"
    dotnet build "$repo/bench/Berth.Benchmarks" -c Release --artifacts-path "$artifacts" -v q -nologo >&2
    bench=$artifacts/bin/Berth.Benchmarks/release/Berth.Benchmarks
fi

# --- the names -----------------------------------------------------------------------------------------------------
# Services svc-I in namespaces bench-dns-0..3 (one named port each, a selector nothing matches: ClusterIP names answer
# without endpoints), and headless Services hl-J in bench-dns-0 with an EndpointSlice of 3 ready addresses each.
manifest=$tmp/services.yaml
awk -v n="$services" -v h="$headless" -v ns="$namespaces" 'BEGIN {
    for (k = 0; k < ns; k++) printf "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench-dns-%d\n---\n", k
    for (i = 0; i < n; i++)
        printf "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-%d\n  namespace: bench-dns-%d\nspec:\n  selector:\n    app: bench-dns-none\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 8080\n---\n", i, i % ns
    for (j = 0; j < h; j++) {
        printf "apiVersion: v1\nkind: Service\nmetadata:\n  name: hl-%d\n  namespace: bench-dns-0\nspec:\n  clusterIP: None\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n---\n", j
        printf "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: hl-%d-bench\n  namespace: bench-dns-0\n  labels:\n    kubernetes.io/service-name: hl-%d\naddressType: IPv4\nports:\n- name: http\n  port: 8080\n  protocol: TCP\nendpoints:\n", j, j
        for (e = 1; e <= 3; e++) printf "- addresses: [\"127.224.%d.%d\"]\n  conditions:\n    ready: true\n", j, e
        printf "---\n"
    }
}' >"$manifest"

# What the zone holds, one line per name and record ("NAME TYPE RDATA"), for Knot's zone file and the query file:
# from the API server's objects when Berth runs (so both serve the very same addresses), else made up alike.
records=$tmp/records.txt
kubeconfig=""
ready_line() { grep -m1 -o 'API server ready at https://[^ ]*' "$1" 2>/dev/null | sed 's/.* //'; }
answers() { # NAME TYPE SERVER PORT -> the rcode and sorted short answers, one line
    local status short
    status=$(kdig +time=2 +retry=1 -p "$4" @"$3" "$1" "$2" 2>&1 | awk '/status:/ { for (i = 1; i <= NF; i++) if ($i == "status:") print $(i + 1) }' | tr -d ',;' | head -1)
    short=$(kdig +time=2 +retry=1 +short -p "$4" @"$3" "$1" "$2" 2>/dev/null | sort | tr '\n' ' ')
    echo "${status:-TIMEOUT} $short"
}
wait_answer() { # NAME TYPE SERVER PORT SECONDS
    local deadline=$(($(date +%s) + $5))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        case $(answers "$1" "$2" "$3" "$4") in "NOERROR "?*) return 0 ;; esac
        sleep 0.2
    done
    return 1
}

if with berth; then
    if [ "$(answers "kubernetes.default.svc.$zone" A "$dns_ip" 53)" != "TIMEOUT " ]; then
        echo "something already answers DNS on $dns_ip:53 (another run of this bench?); not starting a second one" >&2
        exit 1
    fi
    mkdir -p "$tmp/data"
    "$berth" server --data-dir "$tmp/data" --bind-address 127.0.0.1 --api-port 0 --kubelet-port 0 \
        --service-cidr "$service_cidr" --load-balancer-pool "$lb_pool" --cluster-cidr "$cluster_cidr" \
        --metrics-bind-address 127.0.0.1:0 --dns-upstream 127.0.0.1:9 >"$tmp/berth.log" 2>&1 &
    berth_pid=$!
    pids+=("$berth_pid")
    for _ in $(seq 1 900); do
        [ -n "$(ready_line "$tmp/berth.log")" ] && break
        kill -0 "$berth_pid" 2>/dev/null || { tail -c 4000 "$tmp/berth.log" >&2; echo "berth server exited" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$(ready_line "$tmp/berth.log")" ] || { tail -c 4000 "$tmp/berth.log" >&2; echo "berth server not ready in 90 s" >&2; exit 1; }
    kubeconfig=$tmp/data/kubeconfig
    log "berth server $berth_pid ready at $(ready_line "$tmp/berth.log")"
    wait_answer "kubernetes.default.svc.$zone" A "$dns_ip" 53 60 \
        || { tail -c 4000 "$tmp/berth.log" >&2; echo "the cluster DNS did not answer on $dns_ip within 60 s" >&2; exit 1; }

    t0=$(date +%s.%N)
    kubectl --kubeconfig "$kubeconfig" create -f "$manifest" >/dev/null
    log "created $services Services and $headless headless ones in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
    last=$((services - 1))
    wait_answer "svc-$last.bench-dns-$((last % namespaces)).svc.$zone" A "$dns_ip" 53 120 \
        || { echo "svc-$last did not answer within 120 s" >&2; exit 1; }
    if [ "$headless" -gt 0 ]; then
        wait_answer "hl-$((headless - 1)).bench-dns-0.svc.$zone" A "$dns_ip" 53 120 \
            || { echo "hl-$((headless - 1)) did not answer within 120 s" >&2; exit 1; }
    fi
    {
        kubectl --kubeconfig "$kubeconfig" get services -A \
            -o jsonpath='{range .items[*]}S {.metadata.name} {.metadata.namespace} {.spec.clusterIP}{range .spec.ports[*]} {.name}/{.protocol}/{.port}{end}{"\n"}{end}'
        kubectl --kubeconfig "$kubeconfig" get endpointslices -A \
            -o jsonpath='{range .items[*]}E {.metadata.labels.kubernetes\.io/service-name} {.metadata.namespace}{range .endpoints[*]} {.addresses[0]}{end}{"\n"}{end}'
    } >"$tmp/objects.txt"
else
    {
        echo "S kubernetes default 127.222.0.1 https/TCP/443"
        echo "S kube-dns kube-system $dns_ip dns/UDP/53 dns-tcp/TCP/53 metrics/TCP/9153"
        awk -v n="$services" -v h="$headless" -v ns="$namespaces" 'BEGIN {
            for (i = 0; i < n; i++) printf "S svc-%d bench-dns-%d 127.222.%d.%d http/TCP/80\n", i, i % ns, 1 + int(i / 250), 1 + i % 250
            for (j = 0; j < h; j++) printf "S hl-%d bench-dns-0 None http/TCP/80\nE hl-%d bench-dns-0 127.224.%d.1 127.224.%d.2 127.224.%d.3\n", j, j, j, j, j
        }'
    } >"$tmp/objects.txt"
fi
# Headless Services answer from their slices (only the bench's own, whose endpoints are all ready); named ports get
# SRV records (CoreDNS: priority 0, weight 100 / number of targets, the target's A in the additional section).
awk -v zone="$zone" '
    $1 == "S" { ip[$2 "." $3] = $4; nports[$2 "." $3] = NF - 4; for (k = 5; k <= NF; k++) port[$2 "." $3, k - 4] = $k }
    $1 == "E" && $2 != "" { for (k = 4; k <= NF; k++) ep[$2 "." $3] = ep[$2 "." $3] " " $k }
    END {
        for (s in ip) {
            name = s ".svc." zone
            n = 0
            if (ip[s] == "None") {
                n = split(ep[s], addrs, " ")
                if (n == 0) continue
                for (a = 1; a <= n; a++) {
                    print name " A " addrs[a]
                    dashed = addrs[a]; gsub(/\./, "-", dashed)
                    print dashed "." name " A " addrs[a]
                }
            } else if (ip[s] != "") print name " A " ip[s]
            for (p = 1; p <= nports[s]; p++) {
                split(port[s, p], f, "/")
                if (f[1] == "") continue
                srv = "_" f[1] "._" tolower(f[2]) "." name
                if (ip[s] == "None") {
                    for (a = 1; a <= n; a++) { dashed = addrs[a]; gsub(/\./, "-", dashed); print srv " SRV 0 " int(100 / n) " " f[3] " " dashed "." name "." }
                } else print srv " SRV 0 100 " f[3] " " name "."
            }
        }
    }' "$tmp/objects.txt" | sort >"$records"
log "$(wc -l <"$records") records in the zone"

# --- the query file --------------------------------------------------------------------------------------------------
# Per ClusterIP Service: its A three times, its SRV, its AAAA (NODATA: IPv4-only) and <svc>.<ns>.<zone> A, a name in
# the zone that is neither a Service's nor a pod's (NXDOMAIN); per headless Service: its A (3 records) three times.
# The misses are outside <ns>.svc.<zone> on purpose: Berth answers a miss there (any type) with an autopath walk of
# the search path, off the receive thread and out to the upstream, and this bench asks cluster names only.
# Shuffled with a fixed seed: every run and every target sends the same sequence.
queries=$tmp/queries.txt
awk -v zone="$zone" '
    $2 == "A" && $1 ~ /^[a-z0-9-]+\.[a-z0-9-]+\.svc\./ && !seen[$1]++ {
        print $1 " A"; print $1 " A"; print $1 " A"
        split($1, part, ".")
        if ($3 !~ /^127\.224\./) { print $1 " AAAA"; print part[1] "." part[2] "." zone " A" }
    }
    $2 == "SRV" && $1 ~ /^_http\._tcp\./ && !srv[$1]++ { print $1 " SRV" }' "$records" \
    | shuf --random-source=<(yes) >"$queries"
mix() { awk '{ t[$2]++ } $1 !~ /\.svc\./ { nx++ } END { printf "A %d (%d of them NXDOMAIN), SRV %d, AAAA %d (NODATA)", t["A"], nx, t["SRV"], t["AAAA"] }' "$queries"; }
log "$(wc -l <"$queries") queries in the query file: $(mix)"

# --- Knot DNS --------------------------------------------------------------------------------------------------------
knot_port=""
if with knot; then
    knot_port=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 20000) }')
    mkdir -p "$tmp/knot/db"
    {
        echo "\$ORIGIN $zone."
        echo "\$TTL 5"
        echo "@ IN SOA ns.dns.$zone. hostmaster.$zone. 1 7200 1800 86400 5"
        echo "@ IN NS ns.dns.$zone."
        echo "ns.dns IN A $dns_ip"
        echo "dns-version IN TXT \"1.1.0\""
        awk '{ name = $1; $1 = ""; print name "." $0 }' "$records"
    } >"$tmp/knot/$zone.zone"
    cat >"$tmp/knot/knot.conf" <<EOF
server:
    rundir: $tmp/knot
    listen: 127.0.0.1@$knot_port
    udp-workers: $(nproc)
    tcp-workers: 1
    background-workers: 1
database:
    storage: $tmp/knot/db
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: $tmp/knot
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: $zone
    file: $zone.zone
EOF
    "$knotd" -c "$tmp/knot/knot.conf" >"$tmp/knot/knot.log" 2>&1 &
    knot_pid=$!
    pids+=("$knot_pid")
    wait_answer "ns.dns.$zone" A 127.0.0.1 "$knot_port" 30 \
        || { cat "$tmp/knot/knot.log" >&2; echo "knotd did not answer on 127.0.0.1:$knot_port within 30 s" >&2; exit 1; }
    log "knotd $knot_pid answering on 127.0.0.1:$knot_port ($("$knotd" -V | head -1))"
fi

address() { case $1 in knot) echo "127.0.0.1 $knot_port" ;; berth) echo "$dns_ip 53" ;; esac; }
server_pid() { case $1 in knot) echo "$knot_pid" ;; berth) echo "$berth_pid" ;; esac; }
name_of() { case $1 in knot) echo "Knot DNS" ;; berth) echo "Berth" ;; esac; }
order=""
with knot && order="knot"
with berth && order="$order berth"

# Both servers must give the same answer (rcode and records) to a sample of the queries before anything is timed.
mismatches=0
if with knot && with berth; then
    while read -r qname qtype; do
        k=$(answers "$qname" "$qtype" 127.0.0.1 "$knot_port")
        b=$(answers "$qname" "$qtype" "$dns_ip" 53)
        if [ "$k" != "$b" ]; then
            mismatches=$((mismatches + 1))
            log "answers differ for $qname $qtype: Knot \"$k\", Berth \"$b\""
        fi
    done < <(head -60 "$queries")
    log "answers compared on 60 queries: $mismatches differ"
fi

# --- dnsperf ---------------------------------------------------------------------------------------------------------
throughput_args=(-c "$clients" -T "$threads" -q "$outstanding" -t 2)
latency_args=(-c "$clients" -T 1 -Q "$latency_qps" -t 2)
results=$tmp/results.txt # TARGET ROUND KIND VALUE...
field() { awk -v key="$1" 'index($0, key) { sub(/^[^:]*: */, ""); print $1; exit }' "$2"; }

throughput() { # TARGET SECONDS RECORD(ROUND or "")
    local server port pid before after t0 t1 f=$tmp/dnsperf-$1.txt
    read -r server port <<<"$(address "$1")"
    pid=$(server_pid "$1")
    before=$(cpu_ticks "$pid")
    t0=$(date +%s.%N)
    dnsperf -s "$server" -p "$port" -d "$queries" -l "$2" "${throughput_args[@]}" >"$f" 2>&1 || { cat "$f" >&2; exit 1; }
    t1=$(date +%s.%N)
    after=$(cpu_ticks "$pid")
    local qps avg lost codes cores
    qps=$(field "Queries per second" "$f")
    avg=$(field "Average Latency" "$f")
    lost=$(awk '/Queries lost/ { print $3, $4 }' "$f")
    codes=$(awk -F': *' '/Response codes/ { print $2 }' "$f")
    cores=$(awk -v a="$before" -v b="$after" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) }')
    local label="round $3"
    [ -n "$3" ] || label="warm-up"
    log "$(printf '%-8s' "$1") $label throughput: $(printf '%.0f' "$qps") q/s, average $(awk -v s="$avg" 'BEGIN { printf "%.3f", s * 1000 }') ms, lost $lost, server $cores cores; $codes"
    [ -n "$3" ] && echo "$1 $3 qps $qps $avg $cores $(awk -v c="$cores" -v q="$qps" 'BEGIN { printf "%.2f", c * 1e6 / q }') codes $codes" >>"$results"
    return 0
}

latency() { # TARGET SECONDS ROUND
    local server port f=$tmp/dnsperf-v-$1.txt
    read -r server port <<<"$(address "$1")"
    dnsperf -s "$server" -p "$port" -d "$queries" -l "$2" "${latency_args[@]}" -v >"$f" 2>&1 || { tail -20 "$f" >&2; exit 1; }
    local stats
    stats=$(awk '/^> / { print $NF }' "$f" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "0 nan nan nan nan"; exit }
        split("50 90 99 99.9", p, " ")
        printf "%d", NR
        for (i = 1; i <= 4; i++) { r = int(p[i] / 100 * NR + 0.999999); if (r < 1) r = 1; printf " %s", v[r] }
        printf "\n" }')
    local n p50 p90 p99 p999 lost qps
    read -r n p50 p90 p99 p999 <<<"$stats"
    qps=$(field "Queries per second" "$f")
    lost=$(awk '/Queries lost/ { print $3, $4 }' "$f")
    log "$(printf '%-8s' "$1") round $3 latency at $latency_qps q/s offered: $(printf '%.0f' "$qps") q/s, p50 $(awk -v s="$p50" 'BEGIN { printf "%.3f", s * 1000 }') ms, p99 $(awk -v s="$p99" 'BEGIN { printf "%.3f", s * 1000 }') ms ($n answers, lost $lost)"
    echo "$1 $3 lat $n $p50 $p90 $p99 $p999 $qps" >>"$results"
}

: >"$results"
warm=$((duration < 3 ? duration : 3))
for t in $order; do throughput "$t" "$warm" ""; done
round_loads=()
for r in $(seq 1 "$rounds"); do
    l0=$(load)
    for t in $order; do sleep 1; throughput "$t" "$duration" "$r"; done
    for t in $order; do sleep 1; latency "$t" "$duration" "$r"; done
    round_loads+=("round $r: load average $l0 at its start, $(load) at its end")
done

# --- programming latency -------------------------------------------------------------------------------------------
programming_md=""
if [ -n "$bench" ]; then
    log "programming latency: $programming Services created one at a time"
    programming_md=$("$bench" dns-programming --kubeconfig "$kubeconfig" --dns "$dns_ip:53" --zone "$zone" --count "$programming" --namespace bench-dns-0)
fi

# --- report ----------------------------------------------------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print v[int((NR + 1) / 2)] }'; }
values() { # TARGET KIND COLUMN -> the rounds' values, one per line
    awk -v t="$1" -v k="$2" -v c="$3" '$1 == t && $3 == k { print $c }' "$results"
}
list() { values "$1" "$2" "$3" | while read -r v; do fmt "$v" "${4:-1}" "${5:-%.0f}"; done | paste -sd '|' | sed 's/|/ \/ /g'; }
med() { values "$1" "$2" "$3" | median; }
fmt() { # VALUE SCALE FORMAT; whole numbers get thousands separators
    awk -v v="$1" -v s="${2:-1}" -v f="${3:-%.0f}" 'BEGIN {
        if (v == "nan" || v == "") { print "—"; exit }
        x = sprintf(f, v * s)
        if (f == "%.0f") { r = ""; while (length(x) > 3) { r = "," substr(x, length(x) - 2) r; x = substr(x, 1, length(x) - 3) } x = x r }
        print x }'
}
ratio() { awk -v b="$1" -v k="$2" 'BEGIN { if (b == "" || k == "" || b == "nan" || k == "nan" || k == 0) print "n/a"; else printf "%.2f×", b / k }'; }
cell() { [ "$1" = nan ] || [ -z "$1" ] && echo "—" || echo "$2"; }

row() { # ID WHAT COLUMN KIND SCALE FORMAT UNIT TARGET-TEXT
    local k b kc bc target
    k=$(with knot && med knot "$4" "$3" || echo nan)
    b=$(with berth && med berth "$4" "$3" || echo nan)
    kc=$(cell "$k" "$(fmt "$k" "$5" "$6")$7")
    bc=$(cell "$b" "$(fmt "$b" "$5" "$6")$7")
    notes="rounds: Knot $(with knot && list knot "$4" "$3" "$5" "$6" || echo —); Berth $(with berth && list berth "$4" "$3" "$5" "$6" || echo —)"
    echo "| $1 | $2 | $kc | $bc | $(ratio "$b" "$k") | $8 | $notes |"
}

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no -- src 2>/dev/null | head -1 || true)
bq=$(with berth && med berth qps 4 || echo nan)
verdict="n/a"
if [ "$bq" != nan ]; then
    verdict=$(awk -v q="$bq" 'BEGIN { if (q >= 101100) print "≥ 101,100/s (3 × CoreDNS): met"; else print "≥ 101,100/s (3 × CoreDNS): **missed**" }')
fi
{
    echo "## Berth cluster DNS"
    echo
    echo "- when: $(date -u '+%Y-%m-%d %H:%M') UTC; whole run $(($(date +%s) - started)) s; commit $commit${dirty:+ (with uncommitted changes under src/)}"
    echo "- machine: $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r)"
    echo "- load average (1/5/15 min) at the start: $load_start, at the end: $(load)"
    with berth && echo "- \`berth server\` ($berth) --service-cidr $service_cidr --load-balancer-pool $lb_pool --cluster-cidr $cluster_cidr --dns-upstream 127.0.0.1:9 (nothing there: only cluster names are asked); its DNS on $dns_ip:53; CPU = the whole server process"
    with knot && echo "- Knot DNS $("$knotd" -V | awk '{ print $NF; exit }') on 127.0.0.1:$knot_port, \`udp-workers: $(nproc)\`, serving the same names from a zone file (TTL 5, the SOA Berth answers with, SRV and headless records as CoreDNS answers them)"
    echo "- zone: $services ClusterIP Services in $namespaces namespaces plus kubernetes and kube-dns, and $headless headless Services with 3 ready endpoints each; $(wc -l <"$records") records"
    echo "- queries: $(wc -l <"$queries") in a fixed shuffled order: $(mix); no EDNS; answers (rcode and records) of 60 sample queries compared between the two before timing: $mismatches differ"
    echo "- throughput: \`dnsperf -d QUERIES -l $duration ${throughput_args[*]}\` (as fast as the server answers); latency: \`dnsperf -d QUERIES -l $duration ${latency_args[*]} -v\`, percentiles (nearest rank) of every answer's latency at $latency_qps queries/s offered"
    echo "- rounds: $rounds, each: throughput on every target, then latency on every target (${duration} s each, 1 s apart), after an uncounted ${warm} s throughput warm-up of each; figures are the median of the rounds"
    for l in "${round_loads[@]}"; do echo "- $l"; done
    echo
    echo "| # | Measurement (median of the rounds) | Knot DNS | Berth | Berth ÷ Knot | Target | Notes |"
    echo "|---|---|---|---|---|---|---|"
    row 1a "Queries/s, saturated" 4 qps 1 "%.0f" "/s" "$verdict"
    row 1b "Average latency, saturated (dnsperf)" 5 qps 1000 "%.3f" " ms" ""
    row 1c "Server CPU while saturated, cores (utime + stime ÷ wall time)" 6 qps 1 "%.2f" "" ""
    row 1d "Server CPU per query" 7 qps 1 "%.2f" " µs" ""
    row 2a "Latency p50 at $latency_qps/s" 5 lat 1000 "%.3f" " ms" ""
    row 2b "Latency p90 at $latency_qps/s" 6 lat 1000 "%.3f" " ms" ""
    row 2c "Latency p99 at $latency_qps/s" 7 lat 1000 "%.3f" " ms" ""
    row 2d "Latency p99.9 at $latency_qps/s" 8 lat 1000 "%.3f" " ms" ""
    echo
    echo "Response codes of the last throughput round: Knot $(awk '$1 == "knot" && $3 == "qps" { sub(/.* codes /, ""); c = $0 } END { print c ? c : "—" }' "$results"); Berth $(awk '$1 == "berth" && $3 == "qps" { sub(/.* codes /, ""); c = $0 } END { print c ? c : "—" }' "$results")."
    if [ -n "$programming_md" ]; then
        echo
        echo "$programming_md"
    fi
} >"$out"
cat "$out"
log "report written to $out"
