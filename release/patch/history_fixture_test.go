package patch

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/chartrepo/repotest"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/demo/demotest"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

// The SD-Core shapes of issue 10, built with the git CLI: history relkit
// did not make.
//
//   - sdcore-helm-charts: release 4.1 cut by hand (aether-4.1 at the 4.1.0
//     tag); master then went on with patch versions of 5g-control-plane
//     (4.1.1, 4.1.2, 4.1.3, the umbrella's exact file:// pin following);
//     the chart repository (index.yaml on loopback HTTP) also holds
//     5g-control-plane 4.1.4. The charts ship amf rel-3.1.0 and smf
//     rel-1.0.0 (imageTagForm rel-{version}).
//   - amf: 3.1.0 shipped; main then released v3.1.1 ... v3.1.7, each with
//     a feature. fixAncestor is on main before v3.1.3; fixPicked was made
//     on branch hotfix/sctp and cherry-picked (-x) onto main before
//     v3.1.5; fixSame is on main before v3.1.2 and again, as another
//     commit with the same change, on branch backport/guti; fixLate is on
//     main after v3.1.7; wip is on the unmerged branch feature/wip.
//   - smf: 1.0.0 shipped; aether-4.1 cut by hand at it. smfFix is on
//     main, not yet on the branch. With handTag, somebody picked smfFix
//     onto aether-4.1 by hand and released 1.0.1 there with their own tag.
type sdcore struct {
	demotest.Repos
	t   *testing.T
	ctx context.Context
	dir string
	// repos by name, their bare remotes.
	repos   map[string]*demo.Repo
	remotes map[string]string
	index   *repotest.IndexServer
	cfg     string

	fixAncestor, fixPicked, fixPickedOnMain, fixSame, fixSameOnMain, fixLate, wip string
	smfFix, smfHandPick                                                           string
	amfTags                                                                       map[string]string // version -> commit
}

const (
	sdChartsRepo = "sdcore-helm-charts"
	sdLine       = "4.1"
	sdBranch     = "aether-4.1"
)

const sdCPChart = `apiVersion: v2
name: 5g-control-plane
description: SD-Core 5G control plane
version: @@cp@@
appVersion: "4.1"
`

const sdCPValues = `images:
  repository: "registry.aetherproject.org/"
  tags:
    amf: omecproject/5gc-amf:rel-@@amf@@
    smf: omecproject/5gc-smf:rel-@@smf@@
config:
  amf:
    livenessTimeout: 10
`

const sdCPTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: amf
spec:
  template:
    spec:
      containers:
        - name: amf
          image: {{ .Values.images.repository }}{{ .Values.images.tags.amf }}
          livenessProbe:
            timeoutSeconds: {{ .Values.config.amf.livenessTimeout }}
        - name: smf
          image: {{ .Values.images.repository }}{{ .Values.images.tags.smf }}
`

const sdUmbrella = `apiVersion: v2
name: sd-core
description: SD-Core as one release
version: @@umbrella@@
dependencies:
  - name: 5g-control-plane
    version: @@cp@@
    repository: file://../5g-control-plane
`

func fillVals(text string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		text = strings.ReplaceAll(text, "@@"+kv[i]+"@@", kv[i+1])
	}
	return text
}

func sdChartFiles(cp, umbrella, amf, smf string) map[string]string {
	return map[string]string{
		"5g-control-plane/Chart.yaml":          fillVals(sdCPChart, "cp", cp),
		"5g-control-plane/values.yaml":         fillVals(sdCPValues, "amf", amf, "smf", smf),
		"5g-control-plane/templates/amf.yaml":  sdCPTemplate,
		"sd-core/Chart.yaml":                   fillVals(sdUmbrella, "umbrella", umbrella, "cp", cp),
		"sd-core/values.yaml":                  "{}\n",
		"sd-core/templates/configmap.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sd-core\n",
		"VERSION":                              "4.1.0\n",
		"README.md":                            "# SD-Core Helm charts\n",
		"5g-control-plane/templates/NOTES.txt": "SD-Core control plane\n",
	}
}

// newSDCore builds the workspace; handTag adds the hand-made smf 1.0.1
// release on aether-4.1.
func newSDCore(t *testing.T, handTag bool) *sdcore {
	t.Helper()
	ctx := context.Background()
	f := &sdcore{t: t, ctx: ctx, dir: filepath.Join(t.TempDir(), "ws"), repos: map[string]*demo.Repo{}, remotes: map[string]string{},
		amfTags: map[string]string{}}
	repo := func(name string) *demo.Repo {
		r := workspacetest.Repo(t, filepath.Join(f.dir, name), "master", nil)
		f.repos[name] = r
		return r
	}

	// The charts.
	ch := repo(sdChartsRepo)
	ch.Commit("Import the SD-Core charts", sdChartFiles("4.1.0", "4.1.0", "3.1.0", "1.0.0"))
	ch.Tag("4.1.0", "", "")
	ch.Git("branch", sdBranch) // cut by hand, years ago
	for i, what := range []string{"add the NRF cache", "scrape AMF metrics", "tune SCTP buffers"} {
		v := fmt.Sprintf("4.1.%d", i+1)
		files := sdChartFiles(v, v, "3.1.0", "1.0.0")
		files["5g-control-plane/templates/NOTES.txt"] = "SD-Core control plane\n" + strings.Repeat("+\n", i+1)
		ch.Commit("5g-control-plane: "+what, files)
	}

	// amf: main releases patches after 3.1.0 shipped.
	amf := repo("amf")
	amf.Commit("Initial import of the AMF", map[string]string{"VERSION": "3.1.0-dev\n", "main.go": "package main\n", "ngap.go": "package main\n\n// NGAP\n"})
	amf.SetVersion("3.1.0\n")
	amf.Tag("v3.1.0", "AMF 3.1.0", "")
	f.amfTags["3.1.0"] = amf.Head()
	amf.Checkout("hotfix/sctp", "HEAD")
	f.fixPicked = amf.Commit("Fix SCTP reconnect", map[string]string{"sctp.go": "package main\n\nconst reconnect = true\n"})
	amf.Checkout("backport/guti", "v3.1.0")
	f.fixSame = amf.Commit("Backport: fix GUTI reallocation", map[string]string{"guti.go": "package main\n\nconst realloc = 2\n"})
	amf.Checkout("master", "")
	for i := 1; i <= 7; i++ {
		amf.Commit(fmt.Sprintf("Add feature %d", i), map[string]string{fmt.Sprintf("feature%d.go", i): "package main\n"})
		switch i {
		case 2:
			f.fixSameOnMain = amf.Commit("Fix GUTI reallocation", map[string]string{"guti.go": "package main\n\nconst realloc = 2\n"})
		case 3:
			f.fixAncestor = amf.Commit("Fix NGAP reset handling", map[string]string{"ngap.go": "package main\n\n// NGAP, reset handled\n"})
		case 5:
			f.fixPickedOnMain = amf.CherryPick(f.fixPicked)
		}
		v := fmt.Sprintf("3.1.%d", i)
		amf.SetVersion(v + "\n")
		amf.Tag("v"+v, "Release "+v, "")
		f.amfTags[v] = amf.Head()
	}
	f.fixLate = amf.Commit("Fix the T3550 timer", map[string]string{"timers.go": "package main\n\nconst t3550 = 6\n"})
	amf.SetVersion("3.2.0-dev\n")
	amf.Checkout("feature/wip", "HEAD")
	f.wip = amf.Commit("WIP: rework the registration state machine", map[string]string{"fsm.go": "package main\n"})
	amf.Checkout("master", "")

	// smf: aether-4.1 cut by hand at the shipped 1.0.0.
	smf := repo("smf")
	smf.Commit("Initial import of the SMF", map[string]string{"VERSION": "1.0.0-dev\n", "main.go": "package main\n"})
	smf.SetVersion("1.0.0\n")
	smf.Tag("v1.0.0", "SMF 1.0.0", "")
	smf.Git("branch", sdBranch)
	smf.SetVersion("1.1.0-dev\n")
	f.smfFix = smf.Commit("Release PFCP sessions on N4 timeout", map[string]string{"pfcp.go": "package main\n\nconst n4timeout = 5\n"})
	if handTag {
		smf.Checkout(sdBranch, "")
		f.smfHandPick = smf.CherryPick(f.smfFix)
		smf.SetVersion("1.0.1\n")
		smf.Tag("v1.0.1", "SMF 1.0.1 for Aether 4.1", "")
		smf.Checkout("master", "")
	}

	for name, r := range f.repos {
		f.remotes[name] = filepath.Join(f.dir, "remotes", name+".git")
		r.AddBareRemote(f.remotes[name])
		if err := r.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	f.index = repotest.ServeIndex(t, repotest.Index(map[string][]string{
		"5g-control-plane": {"4.1.0", "4.1.1", "4.1.2", "4.1.3", "4.1.4"},
		"sd-core":          {"4.1.0", "4.1.1", "4.1.2", "4.1.3"},
	}))
	cfg := `branchPrefix: aether-
charts:
  name: ` + sdChartsRepo + `
  path: ` + sdChartsRepo + `
  mainBranch: master
  repository: ` + f.index.URL + `/charts
components:
  - name: amf
    path: amf
    mainBranch: master
    tagPrefix: v
    imageTagForm: "rel-{version}"
    images: [registry.aetherproject.org/omecproject/5gc-amf]
  - name: smf
    path: smf
    mainBranch: master
    tagPrefix: v
    imageTagForm: "rel-{version}"
    images: [registry.aetherproject.org/omecproject/5gc-smf]
images:
  releaseTagForms: ["rel-{version}"]
git:
  author: Relkit Test <relkit@example.org>
`
	f.config(cfg)
	return f
}

// config writes relkit.yaml and loads it.
func (f *sdcore) config(text string) {
	f.t.Helper()
	f.Repos = demotest.Repos{T: f.t, WS: workspacetest.Load(f.t, f.dir, text)}
	f.cfg = text
}

// snapshot is every ref, the checkout and the worktrees of every repo,
// and every ref of every bare remote.
func (f *sdcore) snapshot() string {
	f.t.Helper()
	var b strings.Builder
	for _, name := range []string{sdChartsRepo, "amf", "smf"} {
		b.WriteString("== " + name + "\n" + f.Snapshot(name))
		b.WriteString("== remote " + name + "\n" + f.Git(name, "ls-remote", "origin") + "\n")
	}
	return b.String()
}

// unchanged fails the test when a repo is not as snapshot before had it;
// what names the run that changed it.
func (f *sdcore) unchanged(t *testing.T, before, what string) {
	t.Helper()
	if after := f.snapshot(); after != before {
		t.Fatalf("%s changed a repo:\n%s\n---\n%s", what, before, after)
	}
}

func (f *sdcore) component(name string, opt Options) (string, error) {
	f.t.Helper()
	opt.Line, opt.Component = sdLine, name
	var out strings.Builder
	err := RunComponent(f.ctx, f.WS, opt, &out, plan.Text)
	return out.String(), err
}

func (f *sdcore) charts(opt Options) (string, error) {
	f.t.Helper()
	opt.Line = sdLine
	var out strings.Builder
	err := RunCharts(f.ctx, f.WS, opt, &out, plan.Text)
	return out.String(), err
}

// commitFiles commits files (path -> content) on branch br of repo name
// and returns the commit; the checkout ends back on master.
func (f *sdcore) commitFiles(name, br, msg string, files map[string]string) string {
	f.t.Helper()
	r := f.repos[name]
	if br != "master" {
		r.Checkout(br, "")
	}
	h := r.Commit(msg, files)
	if br != "master" {
		r.Checkout("master", "")
	}
	if err := r.Err(); err != nil {
		f.t.Fatal(err)
	}
	return h
}
