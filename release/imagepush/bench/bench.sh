#!/usr/bin/env bash
# Times imagepush against `crane copy`, side by side in one run: N images of
# LAYERS layers (BYTES each, random so incompressible) copied from staging
# repositories by one imagepush run with JOBS-bounded parallelism, versus one
# `crane copy` process per image in sequence. Registries are Debian's
# docker-registry (CNCF distribution) on loopback.
#
# Three sides: imagepush; `crane copy` per image in a sequential loop; and
# the same crane copies run by `xargs -P$(nproc)`, the best a shell user
# can do. Two topologies, ROUNDS rounds each; the order of the sides
# rotates from round to round so none always runs first (warm caches, a
# quieter machine); the median is reported; every round writes to fresh
# repositories:
#   same   staging and release repositories in one registry: blobs are
#          mounted across repositories, nothing is re-uploaded (the usual
#          promote-from-staging case, "the local registry");
#   cross  staging in one registry, release in another: every blob is
#          downloaded and uploaded again.
# Then runs the Go benchmark (in-process registries) for reference.
#
# Needs go, network access for `go install crane`, /usr/bin/docker-registry,
# curl. Not run in CI. Knobs: N LAYERS BYTES JOBS ROUNDS TOPOLOGIES.
#
#   release/imagepush/bench/bench.sh
#   BYTES=262144 TOPOLOGIES=cross release/imagepush/bench/bench.sh
set -euo pipefail

N=${N:-20}
LAYERS=${LAYERS:-5}
BYTES=${BYTES:-1048576}
JOBS=${JOBS:-8}
ROUNDS=${ROUNDS:-3}
TOPOLOGIES=${TOPOLOGIES:-same cross}
REGISTRY_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}
CRANE_VERSION=v0.22.1

root=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

if [[ ! -x $REGISTRY_BIN ]]; then
	echo "bench.sh: $REGISTRY_BIN not found (apt-get install docker-registry)" >&2
	exit 2
fi

echo "== building crane $CRANE_VERSION and the bench helper"
GOBIN=$tmp go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
(cd "$root" && go build -o "$tmp/bench" ./release/imagepush/bench)

# start_registry NAME: starts docker-registry on a free loopback port and
# writes host:port to $tmp/reg/NAME/addr.
start_registry() {
	local name=$1 port dir=$tmp/reg/$1
	port=$("$tmp/bench" freeport)
	mkdir -p "$dir"
	cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
EOF
	"$REGISTRY_BIN" serve "$dir/config.yml" >"$dir/log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
			echo "127.0.0.1:$port" >"$dir/addr"
			return
		fi
		sleep 0.1
	done
	echo "bench.sh: registry $name did not start:" >&2
	cat "$dir/log" >&2
	exit 1
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

start_registry staging
staging=$(cat "$tmp/reg/staging/addr")
echo "== seeding $N images x $LAYERS layers x $BYTES bytes into $staging"
"$tmp/bench" seed "$staging" "$N" "$LAYERS" "$BYTES"

summary=()
for topo in $TOPOLOGIES; do
	if [[ $topo == same ]]; then
		crane_target=$staging
		par_target=$staging
		relkit_target=$staging
	else
		# One target registry per side: no side finds blobs another
		# uploaded.
		start_registry "crane-$topo"
		start_registry "par-$topo"
		start_registry "relkit-$topo"
		crane_target=$(cat "$tmp/reg/crane-$topo/addr")
		par_target=$(cat "$tmp/reg/par-$topo/addr")
		relkit_target=$(cat "$tmp/reg/relkit-$topo/addr")
	fi
	crane_times=() par_times=() relkit_times=()
	sides=(crane par relkit)
	for r in $(seq "$ROUNDS"); do
		# Rotate the order: round 1 crane par relkit, round 2 par relkit
		# crane, round 3 relkit crane par, ...
		order=()
		for k in 0 1 2; do order+=("${sides[$(((r - 1 + k) % 3))]}"); done
		for side in "${order[@]}"; do
			t0=$(now)
			case $side in
			crane)
				for i in $(seq 0 $((N - 1))); do
					img=$(printf 'img-%02d' "$i")
					"$tmp/crane" copy "$staging/staging/$img:build" "$crane_target/crane-$topo-$r/$img:1.0.0" 2>/dev/null
				done
				;;
			par)
				seq 0 $((N - 1)) | xargs -P"$(nproc)" -I{} sh -c \
					'img=$(printf "img-%02d" "$1"); "$0" copy "$2/staging/$img:build" "$3/par-$4/$img:1.0.0" 2>/dev/null' \
					"$tmp/crane" {} "$staging" "$par_target" "$topo-$r"
				;;
			relkit)
				"$tmp/bench" push "$staging" "$relkit_target" "$N" "$JOBS" "relkit-$topo-$r" 2>"$tmp/push.err" || {
					cat "$tmp/push.err" >&2
					exit 1
				}
				;;
			esac
			t1=$(now)
			case $side in
			crane) crane_times+=("$(elapsed "$t0" "$t1")") ;;
			par) par_times+=("$(elapsed "$t0" "$t1")") ;;
			relkit) relkit_times+=("$(elapsed "$t0" "$t1")") ;;
			esac
		done
		printf '%-5s round %d (%s): crane %6.2f s  crane xargs -P%d %6.2f s  imagepush %6.2f s  (load %s)\n' "$topo" "$r" \
			"${order[*]}" "${crane_times[-1]}" "$(nproc)" "${par_times[-1]}" "${relkit_times[-1]}" "$(cut -d' ' -f1 /proc/loadavg)"
		# Every side must have produced the same images.
		for i in 0 $((N - 1)); do
			img=$(printf 'img-%02d' "$i")
			a=$("$tmp/crane" digest "$crane_target/crane-$topo-$r/$img:1.0.0")
			p=$("$tmp/crane" digest "$par_target/par-$topo-$r/$img:1.0.0")
			b=$("$tmp/crane" digest "$relkit_target/relkit-$topo-$r/$img:1.0.0")
			if [[ $a != "$b" || $p != "$b" ]]; then
				echo "bench.sh: $img differs: crane $a, crane xargs $p, imagepush $b" >&2
				exit 1
			fi
		done
	done
	c=$(echo "${crane_times[*]}" | median)
	p=$(echo "${par_times[*]}" | median)
	k=$(echo "${relkit_times[*]}" | median)
	summary+=("$(awk -v t="$topo" -v c="$c" -v p="$p" -v k="$k" -v n="$(nproc)" 'BEGIN { printf "%-5s  crane %6.2f s (%.1fx)  crane xargs -P%d %6.2f s (%.1fx)  imagepush %6.2f s", t, c, c / k, n, p, p / k, k }')")
done

echo
echo "$N images x $LAYERS layers x $BYTES bytes, imagepush jobs=$JOBS, median of $ROUNDS rounds, $(nproc) CPUs"
echo "(in parentheses: each crane side's time over imagepush's):"
printf '%s\n' "${summary[@]}"

echo
echo "== Go benchmark (in-process registries; client and both registries share the CPUs)"
(cd "$root" && RELKIT_BENCH_LAYER_BYTES=$BYTES go test -run '^$' -bench BenchmarkPush20Images -benchtime 3x ./release/imagepush/)
