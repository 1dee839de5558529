#!/usr/bin/env bash
# Side-by-side benchmarks for check:images (not run in CI):
#  1. check:images over a generated charts repo (CHARTS charts, each with a
#     subchart, 10 image references per chart) vs `helm template` run once
#     per chart, the way a shell script would do it;
#  2. registry existence of REFS references against a local registry with
#     relkit's client (one process, one shared puller) vs one
#     `crane digest` process per reference.
# The helm and crane CLIs are built into a temporary GOBIN.
set -euo pipefail

CHARTS=${CHARTS:-200}
REFS=${REFS:-1000}
HELM_VERSION=v3.22.0
CRANE_VERSION=v0.22.1

root=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
regpid=""
cleanup() {
	if [ -n "$regpid" ]; then kill "$regpid" 2>/dev/null || true; wait "$regpid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

export GOBIN="$work/bin"
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

echo "== building helm $HELM_VERSION, crane $CRANE_VERSION and the bench tool (slow the first time)"
go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
(cd "$root" && go build -o "$work/bench" ./checks/render/bench)
echo "cores: $(nproc)"

echo "== 1. $CHARTS charts: check:images vs helm template per chart"
"$work/bench" gen "$work/charts" "$CHARTS" > "$work/dirs"
"$work/bench" count "$work/charts"
t0=$(now)
"$work/bench" images "$work/charts"
t1=$(now)
relkit_charts=$(secs "$t0" "$t1")
echo "relkit check:images process (wall): ${relkit_charts}s"

t0=$(now)
while read -r d; do
	"$GOBIN/helm" template release "$work/charts/$d" --kube-version v1.34.0 --api-versions batch/v1/CronJob >> "$work/helm.yaml"
done < "$work/dirs"
t1=$(now)
helm_charts=$(secs "$t0" "$t1")
helm_images=$(grep -cE '^[[:space:]-]*image:' "$work/helm.yaml" || true)
echo "helm template loop: $CHARTS processes, $helm_images image lines, ${helm_charts}s"
echo "speed-up: $(ratio "$helm_charts" "$relkit_charts")x"

echo "== 2. $REFS registry references: one relkit client vs crane digest per reference"
"$work/bench" serve-registry "$REFS" "$work/refs" &
regpid=$!
for _ in $(seq 600); do
	[ -s "$work/refs" ] && break
	sleep 0.1
done
[ -s "$work/refs" ] || { echo "registry did not come up" >&2; exit 1; }

t0=$(now)
"$work/bench" check-refs "$work/refs"
t1=$(now)
relkit_reg=$(secs "$t0" "$t1")
echo "relkit process (wall): ${relkit_reg}s"

t0=$(now)
while read -r r; do
	"$GOBIN/crane" digest --insecure "$r" > /dev/null
done < "$work/refs"
t1=$(now)
crane_reg=$(secs "$t0" "$t1")
echo "crane digest loop: $REFS processes, ${crane_reg}s"
echo "speed-up: $(ratio "$crane_reg" "$relkit_reg")x"

echo "== summary"
printf '%-34s %10s %10s %9s\n' "benchmark" "relkit" "baseline" "speed-up"
printf '%-34s %9ss %9ss %8sx\n' "check:images, $CHARTS charts" "$relkit_charts" "$helm_charts" "$(ratio "$helm_charts" "$relkit_charts")"
printf '%-34s %9ss %9ss %8sx\n' "registry existence, $REFS refs" "$relkit_reg" "$crane_reg" "$(ratio "$crane_reg" "$relkit_reg")"
