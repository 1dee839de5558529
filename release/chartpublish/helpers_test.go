package chartpublish

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// fixture is a workspace with a charts repo and a bare git repo that
// holds the static chart repository (site.git, branch gh-pages).
type fixture struct {
	t     *testing.T
	root  string
	dir   string // the charts repo
	site  string // the bare site repo
	clock int64
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	root := t.TempDir()
	fx := &fixture{t: t, root: root, dir: filepath.Join(root, "charts"), site: filepath.Join(root, "site.git"), clock: 1_700_000_000}
	fx.git("", "init", "-q", "-b", "main", fx.dir)
	fx.git("", "init", "-q", "--bare", fx.site)
	files["VERSION"] = "2.1.0-dev\n"
	fx.commit("charts", files)
	return fx
}

func (fx *fixture) git(dir string, args ...string) string {
	fx.t.Helper()
	return gitAt(fx.t, dir, fx.clock, args...)
}

func gitAt(t testing.TB, dir string, when int64, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	date := fmt.Sprintf("@%d +0000", when)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.org", "GIT_COMMITTER_NAME=Dev",
		"GIT_COMMITTER_EMAIL=dev@example.org", "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files ("" deletes one) and commits them a minute after
// the last commit.
func (fx *fixture) commit(msg string, files map[string]string) string {
	fx.t.Helper()
	fx.clock += 60
	for p, content := range files {
		full := filepath.Join(fx.dir, filepath.FromSlash(p))
		if content == "" {
			_ = os.Remove(full)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			fx.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			fx.t.Fatal(err)
		}
	}
	fx.git(fx.dir, "add", "-A")
	fx.git(fx.dir, "commit", "-q", "--allow-empty", "-m", msg)
	return fx.git(fx.dir, "rev-parse", "HEAD")
}

// ws loads the workspace with charts.publish set to publish (YAML lines
// under "publish:").
func (fx *fixture) ws(publish string) *workspace.Config {
	fx.t.Helper()
	cfg := "charts:\n  path: charts\n  publish:\n" + publish
	file := filepath.Join(fx.root, "relkit.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		fx.t.Fatal(err)
	}
	ws, err := workspace.Load(file)
	if err != nil {
		fx.t.Fatal(err)
	}
	return ws
}

func (fx *fixture) gitWS() *workspace.Config {
	return fx.ws("    git: site.git\n")
}

// run runs chart:publish and returns its text output.
// publishedToGit is the platform fixture with its charts published once
// to the static site in git, and that workspace.
func publishedToGit(t *testing.T) (*fixture, *workspace.Config) {
	t.Helper()
	fx := newFixture(t, platform())
	ws := fx.gitWS()
	if out, err := run(t, ws, Options{Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return fx, ws
}

func run(t *testing.T, ws *workspace.Config, opt Options) (string, error) {
	t.Helper()
	var out bytes.Buffer
	if opt.RetryWait == 0 {
		opt.RetryWait = time.Millisecond
	}
	err := Run(context.Background(), ws, opt, &out, plan.Text)
	return out.String(), err
}

// tip is the site branch's commit ("" when it does not exist).
func (fx *fixture) tip(branch string) string {
	fx.t.Helper()
	cmd := exec.Command("git", "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	cmd.Dir = fx.site
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

// siteFile reads a file of the site branch.
func (fx *fixture) siteFile(branch, file string) []byte {
	fx.t.Helper()
	cmd := exec.Command("git", "cat-file", "blob", branch+":"+file)
	cmd.Dir = fx.site
	out, err := cmd.Output()
	if err != nil {
		fx.t.Fatalf("%s:%s: %v", branch, file, err)
	}
	return out
}

// siteIndex reads index.yaml of the site branch at dir.
func (fx *fixture) siteIndex(branch, dir string) *chartrepo.Index {
	fx.t.Helper()
	file := "index.yaml"
	if dir != "" {
		file = dir + "/index.yaml"
	}
	idx, err := chartrepo.ParseIndex(file, fx.siteFile(branch, file))
	if err != nil {
		fx.t.Fatal(err)
	}
	return idx
}

// loadPackage loads a package with Helm's loader.
func loadPackage(t *testing.T, data []byte) *chart.Chart {
	t.Helper()
	c, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func chartYAML(name, version string, deps ...string) string {
	s := fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\ndescription: the %s chart\nappVersion: \"1.0\"\n", name, version, name)
	if len(deps) > 0 {
		s += "dependencies:\n" + strings.Join(deps, "")
	}
	return s
}

func dep(name, version, repo string) string {
	return fmt.Sprintf("  - name: %s\n    version: %q\n    repository: %q\n", name, version, repo)
}

// platform is a charts repo with nested groups and an umbrella over
// file:// subcharts.
func platform() map[string]string {
	return map[string]string{
		"omec/hss/Chart.yaml":            chartYAML("hss", "1.2.3"),
		"omec/hss/values.yaml":           "image:\n  repository: registry.example.org/omec/hss\n  tag: 1.2.3\n",
		"omec/hss/templates/deploy.yaml": "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-hss\n",
		"omec/mme/Chart.yaml":            chartYAML("mme", "0.4.0"),
		"omec/mme/templates/cm.yaml":     "kind: ConfigMap\n",
		"sdcore/Chart.yaml": chartYAML("sd-core", "2.0.0",
			dep("hss", "~1.2.0", "file://../omec/hss"), dep("mme", "0.4.0", "file://../omec/mme")),
		"sdcore/values.yaml":         "hss:\n  enabled: true\n",
		"sdcore/templates/note.yaml": "kind: ConfigMap\n",
		"apps/web/Chart.yaml":        chartYAML("web", "0.1.0"),
		"apps/web/templates/s.yaml":  "kind: Service\n",
		"README.md":                  "charts\n",
	}
}
