package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/release/gitx/gitxtest"
)

// newRoot makes a workspace root with empty git checkouts, each holding a
// VERSION, at the given paths.
func newRoot(t testing.TB, repos ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, r := range repos {
		if err := os.MkdirAll(filepath.Join(root, r, ".git"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, r, "VERSION"), []byte("1.0.0-dev\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const full = `branchPrefix: aether-
charts:
  path: aether-helm-charts
  mainBranch: master
  versionFile: VERSION
  repository: https://charts.example.org
docs:
  path: aether-docs
  versionFile: VERSION
  releaseNotes: release-notes/{version}.md
components:
  - name: amf
    path: components/amf
    versionFile: VERSION
    tagPrefix: v
    images: [ghcr.io/omec-project/5gc-amf]
    buildArgs: {GO_VERSION: "1.22"}
branched:
  - name: system-tests
    path: system-tests
images:
  movingTags: [latest, master]
  releaseTagForms: ["rel-{version}"]
  mirrors: {ghcr.io: "127.0.0.1:5000"}
  waivers:
    - image: registry.example.org/proxy/omec/hss
      tag: "master-*"
      reason: upstream has no releases yet
      expires: 2027-03-31
render:
  kubeVersion: v1.31.0
  apiVersions: [batch/v1/CronJob]
  values:
    omec/omec-control-plane: [ci/values-prod.yaml]
dockerfiles:
  buildArgs: {BASE: alpine}
git:
  author: Release Bot <release@example.org>
`

func TestParseFullConfig(t *testing.T) {
	t.Parallel()
	root := newRoot(t, "aether-helm-charts", "aether-docs", "components/amf", "system-tests")
	c, err := Parse(filepath.Join(root, "relkit.yaml"), []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if c.BranchPrefix != "aether-" || c.ReleaseBranch("2.1") != "aether-2.1" {
		t.Errorf("branch prefix %q", c.BranchPrefix)
	}
	if c.Charts.Dir != filepath.Join(root, "aether-helm-charts") || c.Charts.Repository != "https://charts.example.org" || c.Charts.Name != "charts" {
		t.Errorf("charts = %+v", c.Charts)
	}
	if c.Docs == nil || c.Docs.ReleaseNotes != "release-notes/{version}.md" || c.Docs.MainBranch != "master" {
		t.Errorf("docs = %+v", c.Docs)
	}
	amf, ok := c.Component("amf")
	if !ok || amf.Tag("1.2.3") != "v1.2.3" || amf.BuildArgs["GO_VERSION"] != "1.22" || amf.Line != 12 {
		t.Errorf("amf = %+v", amf)
	}
	if r, ok := c.ComponentForImage("ghcr.io/omec-project/5gc-amf"); !ok || r != amf {
		t.Errorf("ComponentForImage did not find amf")
	}
	if len(c.Branched) != 1 || c.Branched[0].VersionFile != "" {
		t.Errorf("branched = %+v", c.Branched)
	}
	if len(c.Repos()) != 4 {
		t.Errorf("Repos() = %d repos, want 4", len(c.Repos()))
	}
	w := c.Images.Waivers[0]
	if !w.Matches("registry.example.org/proxy/omec/hss", "master-771c0c3") || w.Matches("registry.example.org/proxy/omec/hss", "1.2.3") {
		t.Errorf("waiver matching wrong: %+v", w)
	}
	if w.Expired(time.Date(2027, 3, 31, 23, 0, 0, 0, time.UTC)) || !w.Expired(time.Date(2027, 4, 1, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("waiver expiry wrong")
	}
	if !c.Images.IsMoving("LATEST") || c.Images.IsMoving("stable") {
		t.Errorf("moving tags = %v", c.Images.MovingTags)
	}
	if c.Images.Mirrors["ghcr.io"] != "127.0.0.1:5000" || c.BuildArgs["BASE"] != "alpine" || c.GitAuthor != "Release Bot <release@example.org>" {
		t.Errorf("images/dockerfiles/git not read: %+v %v %q", c.Images, c.BuildArgs, c.GitAuthor)
	}
	if c.Render.KubeVersion != "v1.31.0" || c.Render.Values["omec/omec-control-plane"][0] != "ci/values-prod.yaml" {
		t.Errorf("render = %+v", c.Render)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	root := newRoot(t, "charts")
	c, err := Parse(filepath.Join(root, "relkit.yaml"), []byte("charts:\n  path: charts\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.BranchPrefix != "aether-" || c.Charts.MainBranch != "master" || c.Charts.VersionFile != "VERSION" ||
		c.Render.KubeVersion != DefaultKubeVersion || !c.Images.IsMoving("latest") || c.Docs != nil {
		t.Errorf("defaults not applied: %+v %+v", c, c.Charts)
	}
}

func TestConfigErrorsNameFileLineAndKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top key", "charts:\n  path: charts\nchart: x\n", []string{":3:", `unknown key "chart" in top level`}},
		{"unknown nested key", "charts:\n  path: charts\n  mainbranch: main\n", []string{":3:", `unknown key "mainbranch" in charts`, "mainBranch"}},
		{"wrong type", "charts:\n  path: [a, b]\n", []string{":2:", "charts.path: expected a string, got a list"}},
		{"wrong list type", "charts:\n  path: charts\ncomponents: amf\n", []string{":3:", "components: expected a list"}},
		{"missing charts", "docs:\n  path: charts\n", []string{":1:", `missing key "charts"`}},
		{"missing repo", "charts:\n  path: nowhere\n", []string{":2:", "charts.path", "does not exist"}},
		{"not a checkout", "charts:\n  path: plain\n", []string{":2:", "not a git checkout"}},
		{"escapes root", "charts:\n  path: ../outside\n", []string{":2:", "escapes the workspace root"}},
		{"absolute path", "charts:\n  path: /etc\n", []string{":2:", "escapes the workspace root"}},
		{"duplicate names", "charts:\n  path: charts\ncomponents:\n  - name: charts\n    path: charts\n", []string{":4:", "already the name of charts"}},
		{"component without name", "charts:\n  path: charts\ncomponents:\n  - path: charts\n", []string{":4:", `components[0]: missing key "name"`}},
		{"bad date", "charts:\n  path: charts\nimages:\n  waivers:\n    - {image: a/b, tag: x, reason: r, expires: soon}\n", []string{":5:", "expected a date (YYYY-MM-DD)"}},
		{"waiver without expiry", "charts:\n  path: charts\nimages:\n  waivers:\n    - image: a/b\n      tag: x\n      reason: r\n", []string{":5:", `missing key "expires"`}},
		{"bad image repo", "charts:\n  path: charts\ncomponents:\n  - name: a\n    path: charts\n    images: [\"ghcr.io/x/y:1.0\"]\n", []string{":6:", "not an image repository"}},
		{"bool for string", "charts:\n  path: charts\nbranchPrefix: true\n", []string{":3:", "expected a string, got a boolean"}},
		{"bad author", "charts:\n  path: charts\ngit:\n  author: bot\n", []string{":4:", `expected "Name <email>"`}},
		{"yaml syntax", "charts:\n  path: [\n", []string{":2:", "YAML syntax"}},
		{"empty", "", []string{":1:", "empty"}},
		{"duplicate key", "charts:\n  path: charts\n  path: charts\n", []string{"relkit.yaml"}},
		{"release form", "charts:\n  path: charts\nimages:\n  releaseTagForms: [rel]\n", []string{":4:", "must contain {version}"}},
	}
	root := newRoot(t, "charts")
	if err := os.MkdirAll(filepath.Join(root, "plain"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "relkit.yaml")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(file, []byte(tt.yaml))
			if err == nil {
				t.Fatalf("config accepted:\n%s", tt.yaml)
			}
			if !strings.Contains(err.Error(), file) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadDefaultHonoursRELKIT_CONFIG(t *testing.T) {
	root := newRoot(t, "charts")
	file := filepath.Join(root, "other.yaml")
	if err := os.WriteFile(file, []byte("charts: {path: charts}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadDefault(file)
	if err != nil || c.Root != root {
		t.Fatalf("LoadDefault(%s) = %+v, %v", file, c, err)
	}
	t.Chdir(t.TempDir())
	if _, err := LoadDefault(""); err == nil || !strings.Contains(err.Error(), "RELKIT_CONFIG") {
		t.Errorf("without a config the error should say how to name one, got %v", err)
	}
}

func TestMainBranchIsDetectedWhenNotConfigured(t *testing.T) {
	t.Parallel()
	root := newRoot(t, "a", "b", "c", "d", "e")
	gitxtest.WriteTree(t, root, map[string]string{
		"a/.git/refs/remotes/origin/HEAD": "ref: refs/remotes/origin/trunk\n",
		"b/.git/refs/heads/main":          "0123456789012345678901234567890123456789\n",
		"c/.git/packed-refs":              "# pack-refs with: peeled\n0123456789012345678901234567890123456789 refs/heads/main\n",
	})
	cfg := "charts: {path: a}\ndocs: {path: b}\ncomponents:\n  - {name: c, path: c}\n  - {name: d, path: d}\n  - {name: e, path: e, mainBranch: develop}\n"
	c, err := Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.Charts.MainBranch, c.Docs.MainBranch, c.Components[0].MainBranch, c.Components[1].MainBranch, c.Components[2].MainBranch}
	want := []string{"trunk", "main", "main", "master", "develop"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("main branches = %v, want %v", got, want)
			break
		}
	}
}

func TestParseImageTagFormPublishReviewSkip(t *testing.T) {
	t.Parallel()
	root := newRoot(t, "charts", "amf", "site")
	text := `charts:
  path: charts
  publish:
    git: site
    url: https://charts.example.org
    oci: oci://127.0.0.1:5000/charts
components:
  - name: amf
    path: amf
    imageTagForm: rel-{version}
render:
  skip:
    - chart: apps/needs-secrets
      reason: renders only with a site secret
review:
  kind: gerrit
  default: true
`
	c, err := Parse(filepath.Join(root, "relkit.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	amf, _ := c.Component("amf")
	if got := amf.ImageTag("1.2.3"); got != "rel-1.2.3" {
		t.Errorf("ImageTag = %q, want rel-1.2.3", got)
	}
	p := c.Charts.Publish
	if p == nil || p.Git != filepath.Join(root, "site") || p.Branch != "gh-pages" || p.Dir != "." || p.URL != "https://charts.example.org" || p.OCI != "oci://127.0.0.1:5000/charts" {
		t.Errorf("publish = %+v", p)
	}
	if len(c.Render.Skip) != 1 || c.Render.Skip[0].Chart != "apps/needs-secrets" || c.Render.Skip[0].Line != 13 {
		t.Errorf("render.skip = %+v", c.Render.Skip)
	}
	if c.Review == nil || c.Review.Kind != ReviewGerrit || !c.Review.Default {
		t.Errorf("review = %+v", c.Review)
	}

	plain := `charts: {path: charts}
components: [{name: amf, path: amf}]
`
	c, err = Parse(filepath.Join(root, "relkit.yaml"), []byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if amf, _ := c.Component("amf"); amf.ImageTag("1.2.3") != "1.2.3" || c.Charts.Publish != nil || c.Review != nil {
		t.Errorf("defaults: tag %q publish %v review %v", amf.ImageTag("1.2.3"), c.Charts.Publish, c.Review)
	}
}

func TestParseNewKeysRefuseBadValues(t *testing.T) {
	t.Parallel()
	root := newRoot(t, "charts", "amf")
	for _, tc := range []struct{ text, want string }{
		{"charts: {path: charts}\ncomponents: [{name: amf, path: amf, imageTagForm: v}]\n", "relkit.yaml:2: components[0].imageTagForm: \"v\" must contain {version} once"},
		{"charts: {path: charts}\ncomponents: [{name: amf, path: amf, imageTagForm: \"a b{version}\"}]\n", "imageTagForm: \"a b{version}\" must contain"},
		{"charts:\n  path: charts\n  publish: {branch: pages}\n", "relkit.yaml:3: charts.publish: expected git"},
		{"charts:\n  path: charts\n  publish: {git: ../outside}\n", "charts.publish.git: \"../outside\" escapes"},
		{"charts:\n  path: charts\n  publish: {oci: registry.example.org/charts}\n", "charts.publish.oci: \"registry.example.org/charts\": expected oci://host/path"},
		{"charts: {path: charts}\nreview: {kind: phabricator}\n", "relkit.yaml:2: review.kind: \"phabricator\": expected gerrit, github or gitea"},
		{"charts: {path: charts}\nreview: {kind: github}\n", "review.url: missing"},
		{"charts: {path: charts}\nrender:\n  skip:\n    - chart: apps/x\n", "relkit.yaml:4: render.skip[0]: a skipped chart needs chart"},
	} {
		_, err := Parse(filepath.Join(root, "relkit.yaml"), []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.text, err, tc.want)
		}
	}
}
