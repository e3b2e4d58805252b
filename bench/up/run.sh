#!/usr/bin/env bash
# Time from starting `berth up -f examples/kiada` to its Service table (cold: a new data dir; warm: the same data
# dir again), against the same outcome done by hand in the same run: `berth server`, `kubectl apply -f`, `kubectl
# rollout status` of every Deployment and a wait for the LoadBalancer's address.
# Usage (from anywhere; runs in the repository root): bench/up/run.sh [ROUNDS]   BERTH=path/to/berth to pick a build.
# Loopback only; every berth runs in its own session and is stopped by its PID; temp dirs are removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
BERTH=${BERTH:-$(ls -t /tmp/art-*/bin/Berth/release/berth artifacts/bin/Berth/release/berth src/Berth/bin/Release/*/berth 2>/dev/null | head -1)}
[ -x "$BERTH" ] || { echo "no berth binary: build Release and set BERTH" >&2; exit 2; }
ADDR=(--service-cidr 127.60.0.0/16 --load-balancer-pool 127.61.0.0/16 --cluster-cidr 127.62.0.0/16 --api-port 0
      --kubelet-port 0 --metrics-bind-address 127.0.0.1:0 --dns-upstream 127.0.0.1:9)
WORK=$(mktemp -d /tmp/berth-bench-up.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

now() { date +%s.%N; }
# Starts berth in its own session with SIGINT/SIGTERM at their defaults (a background job of a script ignores SIGINT).
start() { python3 -c 'import signal,os,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' "$@" & }
wait_for() { for _ in $(seq 1 1200); do grep -q "$1" "$2" && return 0; sleep 0.05; done; echo "timed out waiting for '$1' in $2" >&2; exit 1; }
stop() { kill -TERM "$1"; wait "$1" || true; }

up_once() { # $1 data dir; prints seconds to the table
  local out="$WORK/up.out" t0; : > "$out"; t0=$(now)
  start "$BERTH" up -f examples/kiada "${ADDR[@]}" --data-dir "$1" > "$out" 2>&1; local pid=$!; PIDS+=("$pid")
  wait_for '^export KUBECONFIG=' "$out"; echo "$(now) - $t0" | bc; stop "$pid"
}

by_hand_once() { # prints seconds to every Deployment rolled out and the LoadBalancer's address
  local data="$WORK/hand" out="$WORK/hand.out" t0; rm -rf "$data"; : > "$out"; t0=$(now)
  start "$BERTH" server "${ADDR[@]}" --data-dir "$data" > "$out" 2>&1; local pid=$!; PIDS+=("$pid")
  wait_for '^berth: node .* ready in' "$out"
  export KUBECONFIG="$data/kubeconfig"
  kubectl apply -f examples/kiada > /dev/null
  for d in kiada quote quiz; do kubectl rollout status "deployment/$d" --timeout=120s > /dev/null; done
  kubectl wait service/kiada --for=jsonpath='{.status.loadBalancer.ingress[0].ip}' --timeout=60s > /dev/null
  echo "$(now) - $t0" | bc; stop "$pid"; unset KUBECONFIG
}

printf '%-28s %s\n' "run" "seconds"
for r in $(seq 1 "$ROUNDS"); do
  rm -rf "$WORK/up"
  printf '%-28s %.2f\n' "berth up (cold) #$r" "$(up_once "$WORK/up")"
  printf '%-28s %.2f\n' "berth up (warm) #$r" "$(up_once "$WORK/up")"
  printf '%-28s %.2f\n' "server+kubectl (cold) #$r" "$(by_hand_once)"
done
