package checks

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ociregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/checks/render/rendertest"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
)

// imgNow is the day the tests compare waivers with.
var imgNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// imgWorkspace builds a workspace in a temp dir: the fixture charts (plus
// extra files) in a real git repo, and component repos with release tags:
// hss (prefix v, tagged v1.2.3), api (tagged 1.2.2 only), steps (prefix v,
// tagged 1.2.3 without the prefix). config is appended to the base config.
func imgWorkspace(t *testing.T, extra map[string]string, config string) *workspace.Config {
	t.Helper()
	root := t.TempDir()
	testutil.CopyTree(t, filepath.Join("testdata", "charts"), filepath.Join(root, "charts"))
	newRepo(t, filepath.Join(root, "charts"), merged(map[string]string{"VERSION": "2.1.0-dev\n"}, extra))
	for _, c := range []struct{ name, tag string }{{"hss", "v1.2.3"}, {"api", "1.2.2"}, {"steps", "1.2.3"}} {
		component(t, root, c.name, history(strings.TrimPrefix(c.tag, "v"), "tag "+c.tag, "9.9.9-dev"))
	}
	cfg := `charts:
  name: charts
  path: charts
components:
  - name: hss
    path: hss
    tagPrefix: v
    images: [registry.example.org/proxy/omec/hss]
  - name: api
    path: api
    images: [registry.example.org/legacy/api]
  - name: steps
    path: steps
    tagPrefix: v
    images: [docker.io/org/step-fetch, org/step-build]
render:
  apiVersions: [batch/v1/CronJob]
  values:
    apps/webui: [apps/webui/ci-values.yaml]
` + config
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

const imgPolicy = `images:
  releaseTagForms: ["rel-{version}"]
  waivers:
    - image: omecproject/5gc-amf
      tag: "master-*"
      reason: AMF release pending (AETHER-123)
      expires: 2099-12-31
    - image: telegraf
      tag: "1.17"
      reason: upstream image without a patch version
      expires: 2024-06-30
`

// imgDup is a chart whose one values line feeds two templates.
var imgDup = map[string]string{
	"apps/dup/Chart.yaml":          "apiVersion: v2\nname: dup\nversion: 1.0.0\n",
	"apps/dup/values.yaml":         "image: org/dup:latest\n",
	"apps/dup/templates/a.yaml":    "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n",
	"apps/dup/templates/b.yaml":    "kind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - image: {{ .Values.image }}\n",
	"apps/dup/templates/NOTES.txt": "ok\n",
}

func imgKey(f report.Finding) string {
	return fmt.Sprintf("%s %s %s:%d %s", f.Rule, f.Severity, f.File, f.Line, f.Subject)
}

func imgFindings(rep *report.Report) []string {
	var out []string
	for _, f := range rep.Findings() {
		out = append(out, imgKey(f))
	}
	return out
}

// decidedImgFindings is imgFindings of a report that must have decided.
func decidedImgFindings(t *testing.T, rep *report.Report) []string {
	t.Helper()
	if err := rep.Err(); err != nil {
		t.Fatalf("could not decide: %v; expected findings", err)
	}
	return imgFindings(rep)
}

// wantExactly fails the test unless got lists the findings of want, in
// order (callers that do not care about the order sort both), and says
// whether it did.
func wantExactly(t *testing.T, got, want []string) bool {
	t.Helper()
	if slices.Equal(got, want) {
		return true
	}
	t.Errorf("findings:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(want, "\n       "))
	return false
}

// wantNone fails the test for each line of got that bad picks, saying why
// it should not be there.
func wantNone(t *testing.T, got []string, why string, bad func(g string) bool) {
	t.Helper()
	for _, g := range got {
		if bad(g) {
			t.Errorf("unexpected finding %q: %s", g, why)
		}
	}
}

// wantAmong fails the test for each line of want that got lacks; what
// else got may hold is the caller's to judge.
func wantAmong(t *testing.T, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing finding %q in\n  %s", w, strings.Join(got, "\n  "))
		}
	}
}

func TestImagesRules(t *testing.T) {
	t.Parallel()
	ws := imgWorkspace(t, imgDup, imgPolicy)
	rep := Images(context.Background(), ws, Options{Now: imgNow})
	if err := rep.Err(); err != nil {
		t.Fatalf("could not decide: %v", err)
	}
	want := []string{
		"chart-dependency-missing warning broken/nodeps/Chart.yaml:7 base 1.0.0",
		"chart-render-failed error broken/nodeps/Chart.yaml:0 broken/nodeps",
		"image-moving-tag error apps/dup/values.yaml:1 org/dup:latest",
		"image-moving-tag warning apps/global-helpers/values.yaml:15 registry:5000/team/agent:latest@sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		"image-untagged error apps/global-helpers/values.yaml:18 registry:5000/team/bare",
		"image-tag-not-in-repo error legacy/v1chart/values.yaml:2 registry.example.org/legacy/api:rel-1.2.3",
		// api's imageTagForm is the default {version}
		"image-tag-form warning legacy/v1chart/values.yaml:2 registry.example.org/legacy/api:rel-1.2.3",
		"image-waived warning omec/omec-control-plane/values.yaml:6 registry.example.org/proxy/omecproject/5gc-amf:master-771c0c3",
		"image-not-release error omec/omec-control-plane/values.yaml:7 omecproject/mme:1.2.3-dev",
		"image-moving-tag error omec/omec-control-plane/values.yaml:9 registry.example.org/proxy/omec/cleanup:stable",
		"chart-dependency-missing warning umbrella/aether/Chart.yaml:21 mongodb 10.0.0",
		"image-moving-tag error umbrella/aether/charts/grafana-6.0.0.tgz:0 grafana/grafana:latest",
		"image-not-release error umbrella/aether/charts/redis-17.0.0.tgz:0 docker.io/bitnami/redis:7.0.5-debian-11-r0",
		"chart-template-failed warning umbrella/aether/templates/db-config.yaml:0 umbrella/aether/templates/db-config.yaml",
		"waiver-expired error umbrella/aether/values.yaml:7 telegraf:1.17",
	}
	got := imgFindings(rep)
	wantAmong(t, got, want...)
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("unexpected finding %q", g)
		}
	}
	if rep.ExitCode() != report.ExitFindings {
		t.Errorf("exit code %d; expected %d", rep.ExitCode(), report.ExitFindings)
	}
	// Messages say where the image came from and what was expected.
	for _, f := range rep.Findings() {
		if f.Repo != "charts" || f.Check != "images" {
			t.Errorf("%s: repo %q check %q; expected charts/images", imgKey(f), f.Repo, f.Check)
		}
		switch f.Rule {
		case "image-moving-tag":
			if f.Subject == "org/dup:latest" && (!strings.Contains(f.Message, "template templates/a.yaml") || !strings.Contains(f.Message, "template templates/b.yaml")) {
				t.Errorf("deduplicated finding should name both templates: %s", f.Message)
			}
		case "waiver-expired":
			if !strings.Contains(f.Message, "2024-06-30") || !strings.Contains(f.Message, "relkit.yaml:") || !strings.Contains(f.Message, "subchart telegraf") {
				t.Errorf("waiver-expired message lacks the expiry, the config line or the chart: %s", f.Message)
			}
		case "image-waived":
			if !strings.Contains(f.Message, "AETHER-123") {
				t.Errorf("image-waived message lacks the reason: %s", f.Message)
			}
		case "image-tag-not-in-repo":
			if !strings.Contains(f.Message, "component api") || !strings.Contains(f.Message, "1.2.3") {
				t.Errorf("image-tag-not-in-repo message lacks the component or version: %s", f.Message)
			}
		case "image-not-release":
			if strings.Contains(f.Subject, "mme") && !strings.Contains(f.Message, "values only") {
				t.Errorf("values-only image message should say it was not rendered: %s", f.Message)
			}
		case "chart-dependency-missing":
			if strings.Contains(f.Subject, "mongodb") && !strings.Contains(f.Message, "oci://registry-1.docker.io/bitnamicharts") {
				t.Errorf("missing dependency message lacks its repository: %s", f.Message)
			}
		}
	}
}

// Without the rel-{version} form, rel- tags are not releases; with no
// waivers every waived finding is an error.
func TestImagesStrictPolicy(t *testing.T) {
	t.Parallel()
	ws := imgWorkspace(t, nil, "")
	rep := Images(context.Background(), ws, Options{Now: imgNow})
	got := imgFindings(rep)
	wantAmong(t, got,
		"image-not-release error legacy/v1chart/values.yaml:2 registry.example.org/legacy/api:rel-1.2.3",
		"image-not-release error legacy/v1chart/values.yaml:6 registry.example.org/legacy/worker:rel-1.2.3",
		"image-not-release error omec/omec-control-plane/values.yaml:6 registry.example.org/proxy/omecproject/5gc-amf:master-771c0c3",
		"image-not-release error umbrella/aether/values.yaml:7 telegraf:1.17",
	)
	wantNone(t, got, "rel- tags are not releases here, and there are no waivers", func(g string) bool {
		return strings.HasPrefix(g, "image-tag-not-in-repo") || strings.HasPrefix(g, "image-waived")
	})
}

// imgPushAll pushes a small image under every tagged reference the
// fixture charts use except skip, through the checker's mirror mapping.
func imgPushAll(t *testing.T, ws *workspace.Config, host string, skip ...string) {
	t.Helper()
	results, err := render.All(context.Background(), ws.Charts.Dir, render.OptionsFrom(ws.Render))
	if err != nil {
		t.Fatal(err)
	}
	checker, err := imageref.NewChecker(imageref.Options{Mirrors: ws.Images.Mirrors})
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	pusher, err := remote.NewPusher(remote.WithAuth(authn.Anonymous))
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, r := range results {
		for _, i := range r.Images {
			ref, err := imageref.Parse(i.Ref)
			if err != nil || ref.Tag == "" || ref.Digest != "" || slices.Contains(skip, i.Ref) || done[i.Ref] {
				continue
			}
			done[i.Ref] = true
			target, err := checker.Target(ref)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(target.Context().RegistryStr(), host) {
				t.Fatalf("%s would be asked at %s, not the test registry %s", i.Ref, target, host)
			}
			if err := remote.Write(target.(name.Tag), img, remote.Reuse(pusher)); err != nil {
				t.Fatalf("pushing %s: %v", target, err)
			}
		}
	}
}

func imgMirrors(host string) string {
	return fmt.Sprintf(`  mirrors:
    registry.example.org: %[1]s/example
    docker.io: %[1]s/hub
    quay.io: %[1]s/quay
    ghcr.io: %[1]s/ghcr
    "registry:5000": %[1]s/r5000
`, host)
}

func TestImagesRegistry(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(ociregistry.New(ociregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ws := imgWorkspace(t, nil, imgPolicy+imgMirrors(host))
	imgPushAll(t, ws, host, "registry.example.org/proxy/omec/hss:1.2.3")
	rep := Images(context.Background(), ws, Options{Registry: true, Now: imgNow})
	if err := rep.Err(); err != nil {
		t.Fatalf("could not decide: %v", err)
	}
	var missing []string
	for _, f := range rep.Findings() {
		if f.Rule == "image-missing" {
			missing = append(missing, imgKey(f))
			if !strings.Contains(f.Message, host) {
				t.Errorf("image-missing should name the mirror it asked: %s", f.Message)
			}
		}
	}
	// hss was not pushed; digests of the fixtures match no pushed image.
	want := []string{
		"image-missing error apps/global-helpers/values.yaml:12 registry:5000/team/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"image-missing error apps/global-helpers/values.yaml:15 registry:5000/team/agent:latest@sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		"image-missing error omec/omec-control-plane/values.yaml:5 registry.example.org/proxy/omec/hss:1.2.3",
	}
	if !slices.Equal(missing, want) {
		t.Errorf("image-missing findings:\n  %s\nexpected:\n  %s", strings.Join(missing, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestImagesRegistryDownIsUndecided(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(ociregistry.New(ociregistry.Logger(log.New(io.Discard, "", 0))))
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	ws := imgWorkspace(t, nil, imgPolicy+imgMirrors(host))
	rep := Images(context.Background(), ws, Options{Registry: true})
	if rep.ExitCode() != report.ExitUndecided || rep.Err() == nil || !strings.Contains(rep.Err().Error(), host) {
		t.Fatalf("exit %d err %v; expected could-not-decide naming %s", rep.ExitCode(), rep.Err(), host)
	}
	for _, f := range rep.Findings() {
		if f.Rule == "image-missing" {
			t.Errorf("unreachable registry reported as missing: %s", imgKey(f))
		}
	}
	// Without the option the registry is not asked.
	if rep := Images(context.Background(), ws, Options{}); rep.Err() != nil {
		t.Errorf("registry asked without Options.Registry: %v", rep.Err())
	}
}

func TestImagesNoCharts(t *testing.T) {
	t.Parallel()
	rep := Images(context.Background(), &workspace.Config{}, Options{})
	if rep.ExitCode() != report.ExitUndecided {
		t.Errorf("exit %d without a charts repo; expected %d", rep.ExitCode(), report.ExitUndecided)
	}
}

// BenchmarkImages200 runs check:images (no registry) over a generated
// charts repo of 200 charts, each with a subchart: 2,000 image references.
func BenchmarkImages200(b *testing.B) {
	dir := b.TempDir()
	if _, err := rendertest.GenerateCharts(dir, 200); err != nil {
		b.Fatal(err)
	}
	ws := &workspace.Config{
		Charts: &workspace.Repo{Name: "charts", Dir: dir},
		Images: workspace.ImagePolicy{MovingTags: workspace.DefaultMovingTags},
		Render: workspace.Render{KubeVersion: workspace.DefaultKubeVersion, APIVersions: []string{"batch/v1/CronJob"}},
	}
	for b.Loop() {
		rep := Images(context.Background(), ws, Options{})
		if err := rep.Err(); err != nil {
			b.Fatal(err)
		}
	}
}
