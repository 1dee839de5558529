package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/checks/render/rendertest"
	"github.com/relkit/relkit/release/gitx/gitxtest"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	helmengine "helm.sh/helm/v3/pkg/engine"
)

// renderValues loads the chart at dir and prepares its values the way
// renderChart does.
func renderValues(t testing.TB, dir string) (*chart.Chart, chartutil.Values) {
	t.Helper()
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	caps, err := capabilities(Options{APIVersions: []string{"batch/v1/CronJob"}})
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValuesWithSchemaValidation(ch, map[string]any{},
		chartutil.ReleaseOptions{Name: "release-name", Namespace: "default", Revision: 1, IsInstall: true}, caps, true)
	if err != nil {
		t.Fatal(err)
	}
	return ch, vals
}

// ours renders with the bounded engine and the default limits.
func ours(ch *chart.Chart, vals chartutil.Values) (map[string]string, error) {
	return renderBounded(context.Background(), ch, vals, DefaultMaxOutput)
}

// The bounded engine renders exactly what the SDK renders, and fails
// with the same message where the SDK fails: on every fixture chart, on
// the benchmark charts, and on templates using the helm functions and
// text/template corners the instrumentation touches.
func TestEngineMatchesSDK(t *testing.T) {
	root := t.TempDir()
	if _, err := rendertest.GenerateCharts(root, 2); err != nil {
		t.Fatal(err)
	}
	gitxtest.WriteTree(t, root, map[string]string{
		"corners/Chart.yaml":   "apiVersion: v2\nname: corners\nversion: 1.0.0\nappVersion: \"3.1\"\nannotations: {team: core}\ndependencies:\n  - name: sub\n    version: 0.1.0\n",
		"corners/values.yaml":  "image: {repository: org/x, tag: \"\"}\nlist: [a, b, c]\nnested: {a: {b: {c: 1}}}\nnum: 3\nsub: {x: 1}\nempty: \"\"\ntpl: \"{{ .Chart.AppVersion }}-{{ .Release.Name }}\"\n",
		"corners/files/a.conf": "alpha\nbeta\n",
		"corners/files/b.conf": "gamma",
		"corners/templates/_helpers.tpl": `{{- define "corners.name" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end -}}
{{- define "corners.rec" -}}{{ if gt (int .) 0 }}{{ include "corners.rec" (sub (int .) 1) }}{{ . }}{{ end }}{{- end -}}
{{- define "corners.block" }}
kind: {{ .kind | default "none" }}
{{- end }}`,
		"corners/templates/all.yaml": `name: {{ include "corners.name" . }}
missing: {{ .Values.nope }}
missingDeep: {{ .Values.nested.x }}
nilPrint: {{ .Values.nested.a.zz }}
kube: {{ .Capabilities.KubeVersion }}
kubeV: {{ .Capabilities.KubeVersion.Version }}
chart: {{ .Chart.Name }} {{ .Chart.IsRoot }} {{ .Chart.Annotations.team }}
template: {{ .Template.Name }} {{ .Template.BasePath }}
image: {{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
tpl: {{ tpl .Values.tpl . }}
tplDefine: {{ tpl "{{ define \"x\" }}X{{ end }}{{ include \"x\" . }}{{ include \"corners.name\" . }}" . }}
yaml: {{ toYaml .Values.nested | nindent 2 }}
pretty: {{ toYamlPretty .Values.list | nindent 2 }}
json: {{ toJson .Values.list }} {{ toPrettyJson .Values.nested }}
toml: {{ toToml .Values.nested | quote }}
from: {{ (fromYaml "a: 1").a }} {{ (fromJson "{\"b\": 2}").b }} {{ (fromYaml "a: [").Error | quote }} {{ fromYamlArray "[1, 2]" }} {{ fromJsonArray "[3]" }}
files: {{ .Files.Get "files/a.conf" | quote }} {{ len (.Files.Glob "files/*.conf") }}
lines: {{ range .Files.Lines "files/a.conf" }}[{{ . }}]{{ end }}
config: {{ (.Files.Glob "files/*").AsConfig | nindent 2 }}
secrets: {{ (.Files.Glob "files/b.conf").AsSecrets | nindent 2 }}
printf: {{ printf "%05d|%-6s|%q|%v" 42 "ab" "c\"d" .Values.list }}
print: {{ print 1 "a" 2 }} {{ println "x" }}
esc: {{ html "<a>" }} {{ js "it's" }} {{ urlquery "a b" }}
range: {{ range $i, $v := .Values.list }}{{ $i }}={{ $v }},{{ else }}none{{ end }}
rangeInt: {{ range 3 }}{{ . }}{{ end }}
rangeBreak: {{ range .Values.list }}{{ if eq . "b" }}{{ break }}{{ end }}{{ . }}{{ end }}
with: {{ with .Values.nested.a }}{{ .b.c }}{{ else }}none{{ end }}
assign: {{ $x := 1 }}{{ $x = add $x 1 }}{{ $x }}
rec: {{ include "corners.rec" 5 }}
block: {{ template "corners.block" dict "kind" "Pod" }}
lookup: {{ lookup "v1" "Pod" "ns" "x" }}
dns: [{{ getHostByName "example.org" }}]
dict: {{ dict "a" 1 "b" (list 1 2) }}
sub: {{ .Subcharts.sub.Values.x }}
typeOf: {{ typeOf .Values.list }} {{ kindOf .Values.list }} {{ kindOf .Files }}
semver: {{ semverCompare ">=1.20" .Capabilities.KubeVersion.Version }}
until: {{ until 3 }} {{ untilStep 0 10 4 }} {{ seq 3 }} {{ repeat 3 "ab" }} {{ indent 2 "x\ny" }}
replace: {{ replace "a" "bb" "banana" }} {{ regexReplaceAll "a(n)" "banana" "<$1>" }} {{ wrapWith 2 "|" "abcdef" }}
split: {{ splitList "," "a,b" }} {{ (split "," "a,b")._1 }} {{ (splitn "," 2 "a,b,c")._1 }}
cat: {{ cat "a" 1 .Values.list }} {{ join "-" .Values.list }} {{ quote "x" 1 }} {{ squote "y" }}
{{- /* a comment */}}
nil: {{ .Values.nested.a.b.zz | default "d" }}
`,
		"corners/templates/NOTES.txt":          "notes {{ .Release.Name }}\n",
		"corners/charts/sub/Chart.yaml":        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
		"corners/charts/sub/values.yaml":       "x: 0\ny: 2\n",
		"corners/charts/sub/templates/_h.tpl":  `{{- define "corners.name" -}}overridden-by-parent{{- end -}}`,
		"corners/charts/sub/templates/cm.yaml": "x: {{ .Values.x }} y: {{ .Values.y }} name: {{ include \"corners.name\" . }} {{ .Chart.IsRoot }} {{ .Template.BasePath }}\n",
		"library/Chart.yaml":                   "apiVersion: v2\nname: library\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n",
		"library/templates/a.yaml":             "a: {{ include \"lib.x\" . }}\n",
		"library/charts/lib/Chart.yaml":        "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
		"library/charts/lib/templates/_x.tpl":  `{{- define "lib.x" -}}from-lib{{- end -}}`,
		"library/charts/lib/templates/cm.yaml": "not rendered: library\n",
		"required/Chart.yaml":                  "apiVersion: v2\nname: required\nversion: 1.0.0\n",
		"required/templates/a.yaml":            "a: {{ required \"a.host is required\" .Values.a }}\n",
		"failing/Chart.yaml":                   "apiVersion: v2\nname: failing\nversion: 1.0.0\n",
		"failing/templates/a.yaml":             "a: {{ fail \"not like this\" }}\n",
		"execerr/Chart.yaml":                   "apiVersion: v2\nname: execerr\nversion: 1.0.0\n",
		"execerr/templates/a.yaml":             "a: {{ include \"nope\" . }}\n",
		"parseerr/Chart.yaml":                  "apiVersion: v2\nname: parseerr\nversion: 1.0.0\n",
		"parseerr/templates/a.yaml":            "a: {{ .Values.x \n",
		"recursion/Chart.yaml":                 "apiVersion: v2\nname: recursion\nversion: 1.0.0\n",
		"recursion/templates/a.yaml":           `{{ define "r" }}{{ include "r" . }}{{ end }}a: {{ include "r" . }}`,
		"tplerr/Chart.yaml":                    "apiVersion: v2\nname: tplerr\nversion: 1.0.0\n",
		"tplerr/templates/a.yaml":              `a: {{ tpl "{{ .x" . }}`,
		"nilfield/Chart.yaml":                  "apiVersion: v2\nname: nilfield\nversion: 1.0.0\n",
		"nilfield/templates/a.yaml":            `a: {{ .Values.a.b.c }}`,
		"cantprint/Chart.yaml":                 "apiVersion: v2\nname: cantprint\nversion: 1.0.0\n",
		"cantprint/templates/a.yaml":           `a: {{ .Files.Get }}`,
		"requiredinclude/Chart.yaml":           "apiVersion: v2\nname: requiredinclude\nversion: 1.0.0\n",
		"requiredinclude/templates/_h.tpl":     `{{ define "h" }}{{ required "deep.value is required" .Values.deep }}{{ end }}`,
		"requiredinclude/templates/a.yaml":     `a: {{ include "h" . | quote }}`,
	})
	var dirs []string
	for _, base := range []string{fixtures, root} {
		err := filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Name() == "Chart.yaml" && !strings.Contains(filepath.ToSlash(p), "/charts/") {
				dirs = append(dirs, filepath.Dir(p))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(dirs) < 13 {
		t.Fatalf("only %d charts found", len(dirs))
	}
	for _, dir := range dirs {
		ch, vals := renderValues(t, dir)
		want, wantErr := helmengine.Engine{}.Render(ch, vals)
		ch, vals = renderValues(t, dir)
		got, gotErr := ours(ch, vals)
		name, _ := filepath.Rel(filepath.Dir(root), dir)
		if filepath.Base(dir) == "recursion" {
			// The SDK recurses 1000 deep before it stops (with a 100 KB
			// message); the nesting limit stops it earlier.
			var le *LimitError
			if wantErr == nil || !errors.As(gotErr, &le) || le.Reason != "templates nested deeper than 200" {
				t.Errorf("%s: error %v (SDK: %.100v); expected both to fail, here on the nesting limit", name, gotErr, wantErr)
			}
			continue
		}
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Errorf("%s: error\n  %v\nexpected the SDK's\n  %v", name, gotErr, wantErr)
			continue
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range want {
				if !yield(k) {
					return
				}
			}
		}) {
			if got[k] != want[k] {
				t.Errorf("%s: %s renders\n%s\nexpected the SDK's\n%s", name, k, got[k], want[k])
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d templates rendered; the SDK renders %d", name, len(got), len(want))
		}
	}
	ch, vals := renderValues(t, filepath.Join(root, "required"))
	if _, err := ours(ch, vals); !NeedsValues(err) {
		t.Errorf("required: err %v; expected a ValuesError", err)
	}
	ch, vals = renderValues(t, filepath.Join(root, "requiredinclude"))
	if _, err := ours(ch, vals); !NeedsValues(err) || !strings.Contains(err.Error(), "deep.value is required") {
		t.Errorf("requiredinclude: err %v; expected a ValuesError through include", err)
	}
	ch, vals = renderValues(t, filepath.Join(root, "execerr"))
	if _, err := ours(ch, vals); err == nil || NeedsValues(err) {
		t.Errorf("execerr: err %v; expected an error that is not about values", err)
	}
}

// bomb is a chart whose template is t, in a charts repo with an ordinary
// chart next to it.
func bombRepo(t *testing.T, tmpl string) string {
	t.Helper()
	root := t.TempDir()
	gitxtest.WriteTree(t, root, map[string]string{
		"bomb/Chart.yaml":          "apiVersion: v2\nname: bomb\nversion: 1.0.0\n",
		"bomb/values.yaml":         "image: org/bomb:1.0.0\n",
		"bomb/templates/pod.yaml":  "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n",
		"bomb/templates/bomb.yaml": tmpl,
		"ok/Chart.yaml":            "apiVersion: v2\nname: ok\nversion: 1.0.0\n",
		"ok/templates/pod.yaml":    "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: org/ok:1.2.3\n",
	})
	return root
}

// Templates that grow without bound stop at the output limit or the time
// limit, as a failed render of their chart only; the chart's values
// images are still reported and the chart next to it renders.
func TestRenderLimits(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		name, tmpl, reason string
	}{
		{"repeat 10^9", `x: {{ repeat 1000000000 "x" }}`, "output larger than 1 MB"},
		{"repeat piped", `x: {{ "abc" | repeat 100000000 | upper }}`, "output larger than 1 MB"},
		{"exponential include", `{{ define "b" }}{{ if lt (int .) 40 }}{{ include "b" (add1 .) }}{{ include "b" (add1 .) }}{{ else }}xxxxxxxx{{ end }}{{ end }}x: {{ include "b" 0 }}`, "output larger than 1 MB"},
		{"nested ranges", `{{ range until 100000 }}{{ range until 100000 }}abcdefgh{{ end }}{{ end }}`, "output larger than 1 MB"},
		{"printf widths", `x: {{ printf (repeat 100 "%[1]999999d") 1 }}`, "output larger than 1 MB"},
		{"indent", `x: {{ indent 1000000000 "a\nb" }}`, "output larger than 1 MB"},
		{"nindent of a value", `x: {{ "a" | nindent 900000000 }}`, "output larger than 1 MB"},
		{"until", `x: {{ len (until 1000000000) }}`, "output larger than 1 MB"},
		{"untilStep", `x: {{ len (untilStep 0 1000000000 1) }}`, "output larger than 1 MB"},
		{"seq", `x: {{ seq 1000000000 | len }}`, "output larger than 1 MB"},
		{"randAlpha", `x: {{ randAlphaNum 1000000000 | len }}`, "output larger than 1 MB"},
		{"replace", `{{ $s := repeat 3000 "ab" }}x: {{ replace "" $s $s | len }}`, "output larger than 1 MB"},
		{"regexReplaceAll", `{{ $s := repeat 3000 "ab" }}x: {{ regexReplaceAll "" $s $s | len }}`, "output larger than 1 MB"},
		{"doubling", `{{ $s := "ab" }}{{ range until 60 }}{{ $s = cat $s $s }}{{ end }}x: {{ len $s }}`, "output larger than 1 MB"},
		{"doubling list", `{{ $l := list 1 }}{{ range until 60 }}{{ $l = concat $l $l }}{{ end }}x: {{ len $l }}`, "output larger than 1 MB"},
		{"kept strings", `{{ $l := list }}{{ range until 100000 }}{{ $l = append $l (repeat 1000 "x") }}{{ end }}x: {{ len $l }}`, "output larger than 1 MB"},
		{"shared dict printed", `{{ $d := dict "a" 1 }}{{ range until 60 }}{{ $d = dict "l" $d "r" $d }}{{ end }}x: {{ $d }}`, "output larger than 1 MB"},
		{"shared dict toYaml", `{{ $d := dict "a" 1 }}{{ range until 60 }}{{ $d = dict "l" $d "r" $d }}{{ end }}x: {{ toYaml $d }}`, "output larger than 1 MB"},
		{"shared dict deepCopy", `{{ $d := dict "a" 1 }}{{ range until 60 }}{{ $d = dict "l" $d "r" $d }}{{ end }}x: {{ len (deepCopy $d) }}`, "output larger than 1 MB"},
		{"cyclic dict printed", `{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}x: {{ $d }}`, "output larger than 1 MB"},
		{"deep include chain", `{{ define "a" }}{{ include "b" . }}{{ end }}{{ define "b" }}{{ include "a" . }}{{ end }}x: {{ include "a" . }}`, "templates nested deeper than 200"},
		{"deep template chain", `{{ define "t" }}{{ template "t" . }}{{ end }}x: {{ template "t" . }}`, "templates nested deeper than 200"},
		{"endless empty loop", `{{ range 1000000 }}{{ range 1000000 }}{{ end }}{{ end }}`, "took longer than 1 s"},
		{"endless loop over a number", `{{ range 1000000000000 }}{{ end }}`, "took longer than 1 s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := bombRepo(t, tc.tmpl)
			// Only the limit under test can stop the render: the other
			// one is out of reach.
			o := Options{MaxOutput: 1 * mb, Timeout: 10 * time.Minute}
			if strings.HasPrefix(tc.reason, "took longer") {
				o = Options{MaxOutput: 1 << 40, Timeout: time.Second}
			}
			got := renderAll(t, root, o)
			b := got["bomb"]
			var le *LimitError
			if !errors.As(b.Err, &le) || le.Reason != tc.reason {
				t.Fatalf("bomb: err %v; expected a LimitError %q", b.Err, tc.reason)
			}
			if b.Rendered != 0 || len(b.Failed) != 0 {
				t.Errorf("bomb: %d rendered, %d failed; expected nothing counted", b.Rendered, len(b.Failed))
			}
			if len(b.Images) != 1 || b.Images[0].Ref != "org/bomb:1.0.0" || b.Images[0].Source != FromValues {
				t.Errorf("bomb images %v; expected the values image only", b.Images)
			}
			ok := got["ok"]
			if ok.Err != nil || len(ok.Images) != 1 || ok.Images[0].Ref != "org/ok:1.2.3" {
				t.Errorf("ok: err %v images %v; expected it rendered", ok.Err, ok.Images)
			}
		})
	}
}

// A run cancelled during a render stops it and says so; it is not
// reported as a limit.
func TestRenderCancelled(t *testing.T) {
	root := bombRepo(t, `{{ range 1000000000000 }}{{ end }}`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := All(ctx, root, Options{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if b := res[0]; b.Chart.Dir != "bomb" || !errors.Is(b.Err, context.Canceled) || errors.As(b.Err, &le) {
		t.Errorf("%s: err %v; expected context.Canceled", b.Chart.Dir, b.Err)
	}
}
