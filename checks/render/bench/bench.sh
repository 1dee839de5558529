#!/usr/bin/env bash
# Side-by-side benchmarks for check:images (not run in CI):
#  1. check:images over a generated charts repo (CHARTS charts, each with a
#     subchart, 10 image references per chart) vs `helm template` run once
#     per chart, the way a shell script would do it, both in a sequential
#     loop and under `xargs -P$(nproc)`;
#  2. registry existence of REFS references against a local registry with
#     relkit's client (one process, one shared puller) vs one
#     `crane digest` process per reference, in a loop and under xargs.
# ROUNDS rounds (default 3), the order of the sides rotating each round.
# The helm and crane CLIs are built into a temporary GOBIN.
set -euo pipefail

CHARTS=${CHARTS:-200}
REFS=${REFS:-1000}
ROUNDS=${ROUNDS:-3}
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

P=$(nproc)
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Each benchmark has three sides: relkit in one process, the CLI once per
# chart or reference in a sequential loop, and the same CLI calls run by
# `xargs -P$(nproc)` (the best a shell user can do). The order of the
# sides rotates from round to round so none always runs first; medians of
# ROUNDS rounds are reported.
sides=(relkit seq par)
order_of() { local r=$1; echo "${sides[$(((r - 1) % 3))]} ${sides[$((r % 3))]} ${sides[$(((r + 1) % 3))]}"; }

echo "== 1. $CHARTS charts: check:images vs helm template per chart (sequential and xargs -P$P)"
"$work/bench" gen "$work/charts" "$CHARTS" > "$work/dirs"
"$work/bench" count "$work/charts"
helm_args=(--kube-version v1.34.0 --api-versions batch/v1/CronJob)
chart_relkit=() chart_seq=() chart_par=()
for r in $(seq "$ROUNDS"); do
	for side in $(order_of "$r"); do
		rm -rf "$work/helm-out" && mkdir -p "$work/helm-out"
		t0=$(now)
		case $side in
		relkit) "$work/bench" images "$work/charts" >/dev/null ;;
		seq)
			while read -r d; do
				"$GOBIN/helm" template release "$work/charts/$d" "${helm_args[@]}" >> "$work/helm-out/all.yaml"
			done < "$work/dirs"
			;;
		par)
			# One output file per chart: parallel writers must not interleave.
			xargs -P"$P" -I{} sh -c '"$0" template release "$1/$2" "$4" "$5" "$6" "$7" > "$3/$(echo "$2" | tr / _).yaml"' \
				"$GOBIN/helm" "$work/charts" {} "$work/helm-out" "${helm_args[@]}" < "$work/dirs"
			;;
		esac
		t1=$(now)
		case $side in
		relkit) chart_relkit+=("$(secs "$t0" "$t1")") ;;
		seq) chart_seq+=("$(secs "$t0" "$t1")"); seq_images=$(cat "$work/helm-out"/*.yaml | grep -cE '^[[:space:]-]*image:' || true) ;;
		par) chart_par+=("$(secs "$t0" "$t1")"); par_images=$(cat "$work/helm-out"/*.yaml | grep -cE '^[[:space:]-]*image:' || true) ;;
		esac
	done
	echo "round $r ($(order_of "$r")): relkit ${chart_relkit[-1]}s  helm loop ${chart_seq[-1]}s  helm xargs -P$P ${chart_par[-1]}s  (load $(cut -d' ' -f1 /proc/loadavg))"
	# Both helm sides rendered the same charts.
	if [ "$seq_images" != "$par_images" ]; then
		echo "helm loop rendered $seq_images image lines, helm xargs $par_images" >&2
		exit 1
	fi
done
echo "helm rendered $seq_images image lines per side"
relkit_charts=$(echo "${chart_relkit[*]}" | median)
helm_charts=$(echo "${chart_seq[*]}" | median)
helm_par=$(echo "${chart_par[*]}" | median)

echo "== 2. $REFS registry references: one relkit client vs crane digest per reference (sequential and xargs -P$P)"
"$work/bench" serve-registry "$REFS" "$work/refs" &
regpid=$!
for _ in $(seq 600); do
	[ -s "$work/refs" ] && break
	sleep 0.1
done
[ -s "$work/refs" ] || { echo "registry did not come up" >&2; exit 1; }

reg_relkit=() reg_seq=() reg_par=()
for r in $(seq "$ROUNDS"); do
	for side in $(order_of "$r"); do
		t0=$(now)
		case $side in
		relkit) "$work/bench" check-refs "$work/refs" >/dev/null ;;
		seq)
			while read -r ref; do
				"$GOBIN/crane" digest --insecure "$ref" > /dev/null
			done < "$work/refs"
			;;
		par) xargs -P"$P" -n1 "$GOBIN/crane" digest --insecure < "$work/refs" > /dev/null ;;
		esac
		t1=$(now)
		case $side in
		relkit) reg_relkit+=("$(secs "$t0" "$t1")") ;;
		seq) reg_seq+=("$(secs "$t0" "$t1")") ;;
		par) reg_par+=("$(secs "$t0" "$t1")") ;;
		esac
	done
	echo "round $r ($(order_of "$r")): relkit ${reg_relkit[-1]}s  crane loop ${reg_seq[-1]}s  crane xargs -P$P ${reg_par[-1]}s  (load $(cut -d' ' -f1 /proc/loadavg))"
done
relkit_reg=$(echo "${reg_relkit[*]}" | median)
crane_reg=$(echo "${reg_seq[*]}" | median)
crane_par=$(echo "${reg_par[*]}" | median)

echo "== summary: median of $ROUNDS rounds, $P CPUs; speed-up = baseline / relkit"
printf '%-34s %9s %11s %9s %11s %9s\n' "benchmark" "relkit" "loop" "speed-up" "xargs -P$P" "speed-up"
printf '%-34s %8ss %10ss %8sx %10ss %8sx\n' "check:images, $CHARTS charts" "$relkit_charts" "$helm_charts" "$(ratio "$helm_charts" "$relkit_charts")" "$helm_par" "$(ratio "$helm_par" "$relkit_charts")"
printf '%-34s %8ss %10ss %8sx %10ss %8sx\n' "registry existence, $REFS refs" "$relkit_reg" "$crane_reg" "$(ratio "$crane_reg" "$relkit_reg")" "$crane_par" "$(ratio "$crane_par" "$relkit_reg")"
