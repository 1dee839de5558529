#!/usr/bin/env bash
# Times chart:publish against the shell way of publishing charts, side by
# side in one run: N generated charts (in NGROUPS nested group folders, a
# few templates, values and a .helmignore each) published into a static
# chart repository whose index.yaml already lists OLD versions of every
# chart.
#
#   helm-seq   `helm package` once per chart, in sequence, then
#              `helm repo index --merge` of the old index.yaml
#   helm-par   the same with `xargs -P$(nproc)` for the packaging
#   relkit     one `chart:publish -push` (the compiled magefile): read the
#              site's gh-pages branch, package every chart reproducibly from
#              git objects, merge index.yaml, commit, push to the bare repo
#
# relkit does more than the helm loops (it also asks the site what is
# published, and commits and pushes); the helm loops only write files.
# Each is run ROUNDS times, alternating, on fresh output; the median is
# reported. helm is built here from the module proxy at the version go.mod
# pins (go install helm.sh/helm/v3/cmd/helm@<version>) into a temp GOBIN.
#
# Needs go and git. Not run in CI. Knobs: N NGROUPS OLD ROUNDS.
#
#   release/chartpublish/bench/bench.sh
#   N=1000 ROUNDS=1 release/chartpublish/bench/bench.sh
set -euo pipefail

N=${N:-200}
GROUPS_N=${NGROUPS:-10}
OLD=${OLD:-5}
ROUNDS=${ROUNDS:-3}

root=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.org GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.org
export GIT_CONFIG_NOSYSTEM=1

helm_version=$(cd "$root" && go list -m -f '{{.Version}}' helm.sh/helm/v3)
echo "== building helm $helm_version (go install, module proxy) and relkit (mage -compile)"
GOBIN=$tmp/bin go install "helm.sh/helm/v3/cmd/helm@$helm_version"
(cd "$root" && go tool mage -compile "$tmp/bin/relkit")
helm=$tmp/bin/helm
relkit=$tmp/bin/relkit
"$helm" version --short

echo "== generating $N charts in $GROUPS_N groups, $OLD old versions of each in index.yaml"
ws=$tmp/ws
charts=$ws/charts
mkdir -p "$charts"
git -C "$charts" init -q -b main
echo "2.1.0-dev" >"$charts/VERSION"
per=$(((N + GROUPS_N - 1) / GROUPS_N))
i=0
for g in $(seq 1 "$GROUPS_N"); do
	for _ in $(seq 1 "$per"); do
		((i < N)) || break
		d=$charts/group-$g/chart-$i
		mkdir -p "$d/templates" "$d/ci"
		cat >"$d/Chart.yaml" <<EOF
apiVersion: v2
name: chart-$i
version: 1.0.0
description: generated chart $i of group $g
appVersion: "1.0.$i"
home: https://example.org/chart-$i
maintainers:
  - name: Team $g
    email: team-$g@example.org
EOF
		cat >"$d/values.yaml" <<EOF
replicaCount: 1
image:
  repository: registry.example.org/group-$g/app-$i
  tag: 1.0.$i
service:
  port: 80$((i % 100))
EOF
		printf 'ci/\n*.bak\n' >"$d/.helmignore"
		echo "x: 1" >"$d/ci/test-values.yaml"
		cat >"$d/templates/deployment.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  template:
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
EOF
		cat >"$d/templates/service.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
spec:
  ports:
    - port: {{ .Values.service.port }}
EOF
		printf '{{- define "chart.name" -}}{{ .Chart.Name }}{{- end -}}\n' >"$d/templates/_helpers.tpl"
		i=$((i + 1))
	done
	git -C "$charts" add -A
	git -C "$charts" commit -q -m "group $g"
done
dirs=$(cd "$charts" && find . -name Chart.yaml -printf '%h\n' | sort)

# The old index.yaml: OLD earlier versions of every chart.
seedidx=$tmp/seed-index.yaml
{
	echo "apiVersion: v1"
	echo "entries:"
	for j in $(seq 0 $((N - 1))); do
		echo "  chart-$j:"
		for v in $(seq "$OLD" -1 1); do
			printf '  - apiVersion: v2\n    name: chart-%d\n    version: 0.%d.0\n    created: "2024-01-02T03:04:05Z"\n    digest: %064d\n    urls:\n    - chart-%d-0.%d.0.tgz\n' "$j" "$v" "$v" "$j" "$v"
		done
	done
	echo 'generated: "2024-01-02T03:04:05Z"'
} >"$seedidx"

# The static repository for relkit: a bare repo whose gh-pages branch
# holds the old index.yaml.
seed=$tmp/seed
git init -q -b gh-pages "$seed"
cp "$seedidx" "$seed/index.yaml"
git -C "$seed" add -A
git -C "$seed" commit -q -m "site"
git init -q --bare "$tmp/site-seed.git"
git -C "$seed" push -q "$tmp/site-seed.git" gh-pages
cat >"$ws/relkit.yaml" <<EOF
charts:
  path: charts
  publish:
    git: site.git
    branch: gh-pages
EOF

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

helm_seq() {
	local out=$tmp/out-seq
	rm -rf "$out" && mkdir -p "$out"
	for d in $dirs; do "$helm" package "$charts/$d" -d "$out" >/dev/null; done
	"$helm" repo index "$out" --merge "$seedidx"
	test "$(grep -c '^    version: 1.0.0' "$out/index.yaml")" -eq "$N"
}

helm_par() {
	local out=$tmp/out-par
	rm -rf "$out" && mkdir -p "$out"
	(cd "$charts" && printf '%s\n' $dirs | xargs -P"$(nproc)" -n1 "$helm" package -d "$out" >/dev/null)
	"$helm" repo index "$out" --merge "$seedidx"
	test "$(grep -c '^    version: 1.0.0' "$out/index.yaml")" -eq "$N"
}

relkit_run() {
	(cd "$ws" && RELKIT_CONFIG=$ws/relkit.yaml "$relkit" chart:publish -push >"$tmp/relkit.log")
	test "$(git -C "$ws/site.git" show gh-pages:index.yaml | grep -c '^    version: 1.0.0')" -eq "$N"
}

reset_site() {
	rm -rf "$ws/site.git"
	cp -r "$tmp/site-seed.git" "$ws/site.git"
}

declare -A times
for r in $(seq 1 "$ROUNDS"); do
	for tool in helm-seq helm-par relkit; do
		[[ $tool == relkit ]] && reset_site
		t0=$(now)
		case $tool in
		helm-seq) helm_seq ;;
		helm-par) helm_par ;;
		relkit) relkit_run ;;
		esac
		t1=$(now)
		times[$tool]+="$(elapsed "$t0" "$t1") "
		eval "last_${tool//-/_}=$(elapsed "$t0" "$t1")"
		echo "round $r  $tool  $(elapsed "$t0" "$t1")s"
	done
	# The machine may be shared: the ratio within a round is the fairer one.
	awk -v s="$last_helm_seq" -v p="$last_helm_par" -v r="$last_relkit" -v n="$r" 'BEGIN { printf "round %d  relkit %.1fx the sequential loop, %.1fx the parallel one (load %s)\n", n, s / r, p / r, "'"$(cut -d' ' -f1 /proc/loadavg)"'" }'
done
median() { printf '%s\n' $1 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
seq_m=$(median "${times[helm-seq]}")
par_m=$(median "${times[helm-par]}")
rel_m=$(median "${times[relkit]}")
echo
echo "== $N charts, $((N * OLD)) old index entries, nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg), median of $ROUNDS"
printf '%-40s %8ss\n' "helm package (sequential) + repo index" "$seq_m"
printf '%-40s %8ss\n' "helm package (xargs -P$(nproc)) + repo index" "$par_m"
printf '%-40s %8ss\n' "relkit chart:publish -push" "$rel_m"
awk -v s="$seq_m" -v p="$par_m" -v r="$rel_m" 'BEGIN { printf "relkit is %.1fx faster than the sequential helm loop, %.1fx faster than the parallel one\n", s / r, p / r }'
tail -n 3 "$tmp/relkit.log"
