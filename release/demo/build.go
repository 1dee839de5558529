// Package demo builds the demo workspace: real git repositories shaped like
// the Aether ONF repos (a charts repo, a docs repo, component repos and a
// system-tests repo, each with a bare remote), a static chart repository
// and the relkit.yaml that ties them together. Serve puts the chart
// repository and an OCI registry holding every referenced image on
// loopback. `go tool mage demo` and the tests of the checks and release
// steps use it, so fixtures are written once.
//
// Everything is deterministic: commit dates advance from a fixed epoch and
// every file and image is derived from fixed content, so two builds give
// the same commit hashes and digests.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Names of the non-component repos, as relkit.yaml names them.
const (
	ChartsRepo      = "aether-helm-charts"
	DocsRepo        = "aether-docs"
	SystemTestsRepo = "system-tests"
	// ChartRepoPath is the static chart repository, relative to the
	// workspace dir.
	ChartRepoPath = "chart-repo"
	// ChartsSitePath is the bare git repo holding the static chart
	// repository chart:publish writes (charts.publish.git).
	ChartsSitePath = "remotes/charts-site.git"
	// ChartsOCI is the OCI namespace chart:publish pushes to while the
	// demo's loopback registry runs (images.mirrors sends it there).
	ChartsOCI = "oci://registry.aetherproject.org/aether-charts"
	// PlatformVersion is the charts and docs VERSION on master.
	PlatformVersion = "2.1.0-dev"
)

// Chart is one chart of the demo charts repo, as on master.
type Chart struct {
	// Dir is relative to the charts repo ("omec/omec-control-plane").
	Dir, Name, Version string
	// Images are the references the chart renders with the workspace's
	// render settings (sorted).
	Images []string
}

// Workspace is a built demo workspace.
type Workspace struct {
	Dir        string
	ConfigFile string
	// ChartRepoDir is the absolute path of the static chart repository.
	ChartRepoDir string
	// Repos are the builders of every repo, by relkit.yaml name; tests add
	// commits with them (each branch tracks origin, so r.Push() works).
	Repos map[string]*Repo
	// Remotes are the bare origin repos by relkit.yaml name.
	Remotes    map[string]string
	Components []Component
	Charts     []Chart
	// Published are the packages of the chart repository (oldest first).
	Published []Published
	// Images are every image reference the master charts render.
	Images []Image
	// ParentImages are the Dockerfile base images (tag form, resolved as
	// docker build would with the workspace build args), sorted.
	ParentImages []string
}

// Component returns the component named name.
func (w *Workspace) Component(name string) (Component, bool) {
	for _, c := range w.Components {
		if c.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

// Chart returns the chart in dir.
func (w *Workspace) Chart(dir string) (Chart, bool) {
	for _, c := range w.Charts {
		if c.Dir == dir {
			return c, true
		}
	}
	return Chart{}, false
}

// RepoDir is the absolute checkout dir of the repo named name.
func (w *Workspace) RepoDir(name string) string {
	if r, ok := w.Repos[name]; ok {
		return r.Dir
	}
	return ""
}

// Build creates the demo workspace in dir, which must be empty or absent.
func Build(ctx context.Context, dir string) (*Workspace, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	w := &Workspace{Dir: dir, ConfigFile: filepath.Join(dir, "relkit.yaml"),
		ChartRepoDir: filepath.Join(dir, ChartRepoPath),
		Repos:        map[string]*Repo{}, Remotes: map[string]string{}}
	for _, d := range componentDefs {
		c := d.Component
		c.Releases = nil
		w.Components = append(w.Components, c)
	}
	var published []chartState
	var final chartState
	type job struct {
		name, path string
		build      func(r *Repo)
	}
	jobs := []job{
		{ChartsRepo, ChartsRepo, func(r *Repo) { published, final = chartsHistory(r) }},
		{DocsRepo, DocsRepo, docsHistory},
		{SystemTestsRepo, "aether-system-tests", systemTestsHistory},
	}
	for i, d := range componentDefs {
		c := &w.Components[i]
		build := d.build
		jobs = append(jobs, job{c.Name, c.Path, func(r *Repo) { build(r, c) }})
	}
	repos := make([]*Repo, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	// The charts repo has the longest history; it starts first.
	for i, j := range jobs {
		g.Go(func() error {
			r, err := NewRepo(gctx, filepath.Join(dir, j.path), "master")
			if err != nil {
				return fmt.Errorf("demo repo %s: %w", j.name, err)
			}
			j.build(r)
			r.AddBareRemote(filepath.Join(dir, "remotes", j.name+".git"))
			if err := r.Err(); err != nil {
				return fmt.Errorf("demo repo %s: %w", j.name, err)
			}
			repos[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, j := range jobs {
		// The builders outlive the build: give them the caller's context,
		// not the group's (cancelled when Wait returns).
		repos[i].ctx = ctx
		w.Repos[j.name] = repos[i]
		w.Remotes[j.name] = filepath.Join(dir, "remotes", j.name+".git")
	}
	for i := range w.Components {
		c := &w.Components[i]
		data, err := os.ReadFile(filepath.Join(dir, c.Path, "VERSION"))
		if err != nil {
			return nil, err
		}
		c.Version = versionOf(string(data))
	}

	// The git repo chart:publish keeps the static chart repository in
	// (branch gh-pages, created by the first publish).
	if out, err := exec.CommandContext(ctx, "git", "init", "--quiet", "--bare", filepath.Join(dir, ChartsSitePath)).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("demo charts site: %v: %s", err, out)
	}
	files, pubs := chartRepository(published)
	if err := os.MkdirAll(w.ChartRepoDir, 0o755); err != nil {
		return nil, err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(w.ChartRepoDir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	w.Published = pubs
	w.Charts, w.Images = chartsAndImages(final, w.Components)
	w.ParentImages = []string{imgGolang, imgGolangPatch, imgAlpine, imgUbuntu, imgJammy, imgGoBuilder}
	sort.Strings(w.ParentImages)
	if err := os.WriteFile(w.ConfigFile, []byte(ConfigText(ChartRepoPath, nil)), 0o644); err != nil {
		return nil, err
	}
	return w, nil
}

// ociNote and ociLine add the OCI target while the loopback registry
// runs: without it the registry host is a real one relkit must not ask.
func ociNote(mirrors map[string]string) string {
	if len(mirrors) == 0 {
		return ""
	}
	return ",\n  # and the OCI registry (images.mirrors sends it to the loopback one)"
}

func ociLine(mirrors map[string]string) string {
	if len(mirrors) == 0 {
		return ""
	}
	return "\n    oci: " + ChartsOCI
}

// emptyDir creates dir, or checks that it is empty.
func emptyDir(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err == nil {
		return fmt.Errorf("demo: %s is not empty; the demo workspace needs an empty or new directory", dir)
	} else if err != io.EOF {
		return fmt.Errorf("demo: %s: %w", dir, err)
	}
	return nil
}

// chartsAndImages lists the charts of the final state and the image
// references each renders (umbrella with render.values applied).
func chartsAndImages(st chartState, comps []Component) ([]Chart, []Image) {
	reg := "registry.aetherproject.org/"
	rocAPI := []string{
		reg + "onosproject/aether-roc-api:" + st["api.app"],
		imgModelReg, imgExporter, imgAudit,
	}
	perChart := map[string][]string{
		"omec/omec-control-plane": {
			imgPodInit,
			reg + "omecproject/5gc-amf:" + st["cp.amf"],
			reg + "omecproject/5gc-smf:" + st["cp.smf"],
			imgCurl,
			st["busybox"],
		},
		"omec/omec-user-plane": {
			"ghcr.io/omec-project/upf:" + st["up.upf"],
			"ghcr.io/omec-project/upf-pfcpiface:" + st["up.upf"],
		},
		"roc-api":             rocAPI,
		"aether-roc-gui":      {"docker.io/" + imgGUIRepo + ":" + imgGUITag},
		"aether-roc-umbrella": append(slices.Clone(rocAPI), reg+imgGUIRepo+":"+imgGUITag),
		"edge-monitoring":     {imgEdgeServer + ":" + imgEdgeApp, "telegraf:" + imgTelegrafTag},
	}
	var charts []Chart
	byRef := map[string]*Image{}
	for _, d := range chartDefs {
		imgs := slices.Sorted(slices.Values(perChart[d.Dir]))
		charts = append(charts, Chart{Dir: d.Dir, Name: d.Name, Version: st[d.VersionKey], Images: imgs})
		for _, ref := range imgs {
			im := byRef[ref]
			if im == nil {
				im = &Image{Ref: ref, Waived: ref == imgModelReg}
				for _, c := range comps {
					for _, repo := range c.Images {
						if strings.HasPrefix(ref, repo+":") {
							im.Component = c.Name
						}
					}
				}
				byRef[ref] = im
			}
			im.Charts = append(im.Charts, d.Dir)
		}
	}
	slices.SortFunc(charts, func(a, b Chart) int { return strings.Compare(a.Dir, b.Dir) })
	var images []Image
	for _, ref := range slices.Sorted(maps.Keys(byRef)) {
		im := *byRef[ref]
		slices.Sort(im.Charts)
		images = append(images, im)
	}
	return charts, images
}

// ConfigText is the demo relkit.yaml with the given chart repository (a
// dir relative to the file, or a URL) and registry mirrors (none when
// nil).
func ConfigText(chartRepository string, mirrors map[string]string) string {
	var b strings.Builder
	b.WriteString(`# relkit workspace of the Aether demo (built by ` + "`go tool mage demo`" + `).
# Paths are relative to this file.

# Release branches are <branchPrefix><major>.<minor>, here aether-2.1.
branchPrefix: aether-

# The Helm charts repo. Its VERSION is the platform version; each chart has
# its own version in Chart.yaml.
charts:
  name: ` + ChartsRepo + `
  path: ` + ChartsRepo + `
  mainBranch: master
  versionFile: VERSION
  tagPrefix: ""
  # Where merged charts are published: a directory or URL serving
  # index.yaml. A chart version found there is never published again.
  repository: ` + chartRepository + `
  # Where chart:publish (CI, after every merge) puts chart packages: a
  # static chart repository on branch gh-pages of a git repo` + ociNote(mirrors) + `.
  publish:
    git: ` + ChartsSitePath + `
    branch: gh-pages` + ociLine(mirrors) + `

# The docs repo: versioned and branched with the platform.
docs:
  name: ` + DocsRepo + `
  path: ` + DocsRepo + `
  mainBranch: master
  versionFile: VERSION
  tagPrefix: ""
  # The release notes page a release needs; {version} is X.Y.Z.
  releaseNotes: "release-notes/{version}.md"

# Component repos. A release VERSION X.Y.Z is tagged tagPrefix+X.Y.Z in git
# and X.Y.Z on each image listed.
components:
`)
	for _, d := range componentDefs {
		c := d.Component
		fmt.Fprintf(&b, "  - name: %s\n    path: %s\n", c.Name, c.Path)
		if c.Name == "amf" {
			b.WriteString("    mainBranch: master\n    versionFile: VERSION\n")
		}
		fmt.Fprintf(&b, "    tagPrefix: %q\n    images:\n", c.TagPrefix)
		for _, img := range c.Images {
			fmt.Fprintf(&b, "      - %s\n", img)
		}
		if len(c.BuildArgs) > 0 {
			b.WriteString("    # Override Dockerfile ARG defaults, as docker build --build-arg would.\n    buildArgs:\n")
			for _, k := range slices.Sorted(maps.Keys(c.BuildArgs)) {
				fmt.Fprintf(&b, "      %s: %q\n", k, c.BuildArgs[k])
			}
		}
	}
	b.WriteString(`
# Repos with no VERSION that get a release branch with each minor release.
branched:
  - name: ` + SystemTestsRepo + `
    path: aether-system-tests
    mainBranch: master

# Image policy for charts and Dockerfiles.
images:
  # Tags that name no fixed content.
  movingTags: [latest, master, main, stable, edge, nightly, dev, develop, head, trunk, canary, snapshot]
  # Release tag forms besides X.Y.Z and vX.Y.Z.
  releaseTagForms:
    - "rel-{version}"
  # Known exceptions, each with a reason and an expiry date.
  waivers:
    - image: onosproject/config-model-registry
      tag: "master-*"
      reason: upstream publishes master builds only; replace when ONOS tags a release (ROC-412)
      expires: 2099-12-31
`)
	if len(mirrors) > 0 {
		b.WriteString("  # Registries served by the demo's loopback registry (set by demo.Serve).\n  mirrors:\n")
		for _, k := range slices.Sorted(maps.Keys(mirrors)) {
			fmt.Fprintf(&b, "    %q: %q\n", k, mirrors[k])
		}
	}
	b.WriteString(`
# Offline chart rendering: the Kubernetes version and API versions charts
# may test with .Capabilities, and extra values files per chart (paths
# relative to the charts repo).
render:
  kubeVersion: v1.31.0
  apiVersions:
    - batch/v1/CronJob
  values:
    aether-roc-umbrella:
      - aether-roc-umbrella/values-gui.yaml

# Build args for every Dockerfile (components can override).
dockerfiles:
  buildArgs:
    UBUNTU_VERSION: "22.04"

# Author of the commits relkit makes.
git:
  author: Aether Release Bot <release-bot@aetherproject.org>
`)
	return b.String()
}

// Clone copies the workspace to dir (empty or absent) and returns the copy,
// with builders for its repos and origin remotes pointing at its own bare
// repos. Git objects are hard-linked (they never change); everything else
// is copied. A test binary can Build once and Clone per test: a clone costs
// a fraction of a build.
func (w *Workspace) Clone(ctx context.Context, dir string) (*Workspace, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	err = filepath.WalkDir(w.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(w.Dir, p)
		target := filepath.Join(dir, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case !info.Mode().IsRegular():
			return fmt.Errorf("demo: cannot clone %s: not a regular file", p)
		case strings.Contains(filepath.ToSlash(rel), ".git/objects/") && os.Link(p, target) == nil:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.Base(p) == "config" && strings.Contains(string(data), w.Dir) {
			data = []byte(strings.ReplaceAll(string(data), w.Dir+string(filepath.Separator), dir+string(filepath.Separator)))
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		return nil, fmt.Errorf("demo: cloning %s to %s: %w", w.Dir, dir, err)
	}
	c := *w
	c.Dir, c.ConfigFile, c.ChartRepoDir = dir, filepath.Join(dir, "relkit.yaml"), filepath.Join(dir, ChartRepoPath)
	c.Repos, c.Remotes = map[string]*Repo{}, map[string]string{}
	for name, r := range w.Repos {
		rel, _ := filepath.Rel(w.Dir, r.Dir)
		c.Repos[name] = &Repo{Dir: filepath.Join(dir, rel), ctx: ctx, clock: r.clock}
	}
	for name, p := range w.Remotes {
		rel, _ := filepath.Rel(w.Dir, p)
		c.Remotes[name] = filepath.Join(dir, rel)
	}
	c.Components = slices.Clone(w.Components)
	return &c, nil
}
