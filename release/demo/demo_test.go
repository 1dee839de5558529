package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// build builds the demo once per call into a temp dir and logs the time.
func build(t *testing.T) *Workspace {
	t.Helper()
	start, runs := time.Now(), gitRuns.Load()
	w, err := Build(context.Background(), filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Build took %v (%d git runs)", time.Since(start), gitRuns.Load()-runs)
	return w
}

// refs lists "<ref> <hash>" of every ref of every repo and bare remote.
func refs(t *testing.T, w *Workspace) []string {
	t.Helper()
	var out []string
	dirs := map[string]string{}
	for n, r := range w.Repos {
		dirs[n] = r.Dir
		dirs[n+".git"] = w.Remotes[n]
	}
	for n, d := range dirs {
		s, err := gitx.Git(context.Background(), d, "for-each-ref", "--format=%(refname) %(objectname)")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			out = append(out, n+" "+l)
		}
	}
	slices.Sort(out)
	return out
}

func TestBuildIsDeterministic(t *testing.T) {
	a, b := build(t), build(t)
	ra, rb := refs(t, a), refs(t, b)
	if len(ra) < 40 {
		t.Fatalf("expected at least 40 refs over all repos, got %d:\n%s", len(ra), strings.Join(ra, "\n"))
	}
	if !slices.Equal(ra, rb) {
		t.Errorf("two builds differ:\n%s\n---\n%s", strings.Join(ra, "\n"), strings.Join(rb, "\n"))
	}
	ia, _ := os.ReadFile(filepath.Join(a.ChartRepoDir, "index.yaml"))
	ib, _ := os.ReadFile(filepath.Join(b.ChartRepoDir, "index.yaml"))
	if string(ia) != string(ib) || len(ia) == 0 {
		t.Errorf("index.yaml differs between builds or is empty")
	}
	if _, err := Build(context.Background(), a.Dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Build into a non-empty dir: got %v, want a 'not empty' error", err)
	}
}

func TestWorkspaceShape(t *testing.T) {
	w := build(t)
	ctx := context.Background()
	cfg, err := workspace.Load(w.ConfigFile)
	if err != nil {
		t.Fatalf("relkit.yaml does not load: %v", err)
	}
	if cfg.Charts.Name != ChartsRepo || cfg.Charts.Repository != ChartRepoPath || cfg.Docs.ReleaseNotes == "" ||
		len(cfg.Components) != len(w.Components) || len(cfg.Branched) != 1 || len(cfg.Images.Waivers) != 1 ||
		cfg.Render.KubeVersion != "v1.31.0" || cfg.GitAuthor == "" || cfg.BuildArgs["UBUNTU_VERSION"] != "22.04" {
		t.Errorf("config not as built: %+v", cfg)
	}
	if cfg.Images.Waivers[0].Expired(time.Now()) {
		t.Errorf("the demo waiver has expired: %+v", cfg.Images.Waivers[0])
	}
	for _, r := range cfg.Repos() {
		b, ok := w.Repos[r.Name]
		if !ok || b.Dir != r.Dir {
			t.Errorf("config repo %s (%s) has no builder in Workspace.Repos", r.Name, r.Dir)
			continue
		}
		// Clean, on the main branch, tracking origin, nothing to push.
		st, err := gitx.Git(ctx, r.Dir, "status", "--porcelain=v1", "--branch")
		if err != nil {
			t.Fatal(err)
		}
		if want := "## master...origin/master\n"; st != want {
			t.Errorf("%s: git status = %q, want %q", r.Name, st, want)
		}
		if r.VersionFile == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(r.Dir, r.VersionFile))
		if err != nil {
			t.Fatal(err)
		}
		f, prob := version.Parse(data)
		if prob != nil || f.IsRelease() {
			t.Errorf("%s: VERSION %q: want a valid dev version on master (problem %v)", r.Name, data, prob)
		}
	}
	for _, c := range w.Components {
		tags, err := gitx.Git(ctx, w.RepoDir(c.Name), "tag", "-l")
		if err != nil {
			t.Fatal(err)
		}
		tagList := strings.Fields(tags)
		for _, v := range c.Releases {
			if !slices.Contains(tagList, c.Tag(v)) {
				t.Errorf("%s: release %s has no tag %s (tags %v)", c.Name, v, c.Tag(v), tagList)
			}
		}
		if !slices.Contains(c.Releases, c.Charted) {
			t.Errorf("%s: charts use %s, which is not a release (%v)", c.Name, c.Charted, c.Releases)
		}
		// Master is the next minor's dev version after the charted release.
		cv, _ := version.Parse([]byte(c.Charted))
		want := cv.Version.IncMinor().String() + "-dev"
		if c.Version != want {
			t.Errorf("%s: master VERSION %s, want %s", c.Name, c.Version, want)
		}
		found := false
		for _, im := range w.Images {
			found = found || im.Component == c.Name && strings.HasSuffix(im.Ref, ":"+c.Charted)
		}
		if !found {
			t.Errorf("%s: no chart image uses release %s", c.Name, c.Charted)
		}
	}
	// The builders keep working after Build: a test adds a commit and
	// pushes it.
	r := w.Repos["smf"]
	h := r.Commit("Log PFCP heartbeats", map[string]string{"pfcp/heartbeat.go": "package pfcp\n"})
	r.Push()
	if err := r.Err(); err != nil {
		t.Fatalf("adding a commit to smf after Build: %v", err)
	}
	if got, _ := gitx.Git(ctx, w.Remotes["smf"], "rev-parse", "master"); strings.TrimSpace(got) != h {
		t.Errorf("smf remote master = %q, want the pushed %s", got, h)
	}
	if got, _ := gitx.Git(ctx, w.RepoDir("upf"), "log", "--format=%s", "-3", "aether-2.0"); !strings.Contains(got, "Answer GTP-U echo") {
		t.Errorf("upf aether-2.0 should hold the cherry-picked fix, log:\n%s", got)
	}
	for _, name := range []string{ChartsRepo, DocsRepo, SystemTestsRepo, "upf"} {
		if _, err := gitx.Git(ctx, w.Remotes[name], "rev-parse", "--verify", "refs/heads/aether-2.0"); err != nil {
			t.Errorf("%s: remote has no aether-2.0 branch: %v", name, err)
		}
		up, err := gitx.Git(ctx, w.RepoDir(name), "rev-parse", "--abbrev-ref", "aether-2.0@{upstream}")
		if err != nil || strings.TrimSpace(up) != "origin/aether-2.0" {
			t.Errorf("%s: aether-2.0 tracks %q (%v), want origin/aether-2.0", name, up, err)
		}
	}
	for _, name := range []string{ChartsRepo, DocsRepo} {
		data, _ := os.ReadFile(filepath.Join(w.RepoDir(name), "VERSION"))
		if string(data) != PlatformVersion+"\n" {
			t.Errorf("%s: VERSION %q, want %q", name, data, PlatformVersion)
		}
		tags, _ := gitx.Git(ctx, w.RepoDir(name), "tag", "-l")
		if strings.Fields(tags)[0] != "2.0.0" || !strings.Contains(tags, "2.0.1") {
			t.Errorf("%s: tags %q, want 2.0.0 and 2.0.1", name, tags)
		}
	}
}

func TestChartsDiscoveredAndUnpublished(t *testing.T) {
	w := build(t)
	found, err := charts.Discover(context.Background(), w.RepoDir(ChartsRepo))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	byDir := map[string]charts.Chart{}
	for _, c := range found {
		dirs = append(dirs, c.Dir)
		byDir[c.Dir] = c
	}
	var want []string
	for _, c := range w.Charts {
		want = append(want, c.Dir)
		got := byDir[c.Dir]
		if got.Name != c.Name || got.Version != c.Version {
			t.Errorf("%s: Discover read %s %s, want %s %s", c.Dir, got.Name, got.Version, c.Name, c.Version)
		}
	}
	if !slices.Equal(dirs, want) {
		t.Fatalf("Discover found %v, want %v", dirs, want)
	}
	if c := byDir["edge-monitoring"]; c.APIVersion != "v1" || c.DepsFile != "edge-monitoring/requirements.yaml" || len(c.Dependencies) != 1 {
		t.Errorf("edge-monitoring: want a v1 chart with requirements.yaml, got %+v", c)
	}
	umb := byDir["aether-roc-umbrella"]
	for _, d := range umb.Dependencies {
		local := byDir[strings.TrimPrefix(d.Repository, "file://../")]
		if local.Version != d.Version {
			t.Errorf("umbrella pins %s %s at %s, local chart is %s", d.Name, d.Version, d.Repository, local.Version)
		}
	}

	// index.yaml: Helm's schema; digests match the packages; no master
	// chart version is published.
	data, err := os.ReadFile(filepath.Join(w.ChartRepoDir, "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		APIVersion string `yaml:"apiVersion"`
		Entries    map[string][]struct {
			Name, Version, Digest, AppVersion string
			APIVersion                        string `yaml:"apiVersion"`
			Created                           time.Time
			URLs                              []string
		}
	}
	if err := yaml.Unmarshal(data, &idx); err != nil {
		t.Fatalf("index.yaml: %v", err)
	}
	if idx.APIVersion != "v1" || len(idx.Entries) != len(w.Charts) {
		t.Errorf("index.yaml: apiVersion %q, %d entries; want v1 and %d", idx.APIVersion, len(idx.Entries), len(w.Charts))
	}
	n := 0
	for name, list := range idx.Entries {
		for _, e := range list {
			n++
			if e.Name != name || len(e.URLs) != 1 || e.Created.IsZero() || e.APIVersion == "" {
				t.Errorf("index.yaml entry %s: %+v", name, e)
				continue
			}
			pkg, err := os.ReadFile(filepath.Join(w.ChartRepoDir, e.URLs[0]))
			if err != nil {
				t.Errorf("index.yaml entry %s %s: %v", name, e.Version, err)
			} else if sum := sha256.Sum256(pkg); hex.EncodeToString(sum[:]) != e.Digest {
				t.Errorf("index.yaml entry %s %s: digest %s, file has %x", name, e.Version, e.Digest, sum)
			}
			for _, c := range w.Charts {
				if c.Name == name && c.Version == e.Version {
					t.Errorf("master chart %s %s is already published", name, e.Version)
				}
			}
		}
	}
	if n != len(w.Published) {
		t.Errorf("index.yaml has %d entries, Workspace.Published %d", n, len(w.Published))
	}
}

func TestServe(t *testing.T) {
	w := build(t)
	ctx := context.Background()
	start := time.Now()
	s, err := Serve(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Serve took %v, pushed %d images", time.Since(start), len(s.Pushed))
	defer s.Close()

	cfg, err := workspace.Load(w.ConfigFile)
	if err != nil {
		t.Fatalf("relkit.yaml after Serve: %v", err)
	}
	if cfg.Charts.Repository != s.ChartRepoURL || cfg.Images.Mirrors["registry.aetherproject.org"] != s.RegistryHost {
		t.Errorf("relkit.yaml not rewritten: repository %q, mirrors %v", cfg.Charts.Repository, cfg.Images.Mirrors)
	}

	resp, err := http.Get(s.ChartRepoURL + "/index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "apiVersion: v1\n") {
		t.Errorf("GET index.yaml: %d %.60q", resp.StatusCode, body)
	}

	// Every chart image (digest refs by digest), every component release
	// and every Dockerfile parent answers HEAD through the mirror.
	var check []string
	for _, im := range w.Images {
		check = append(check, im.Ref)
	}
	for _, c := range w.Components {
		for _, img := range c.Images {
			for _, v := range c.Releases {
				check = append(check, img+":"+v)
			}
		}
	}
	check = append(check, w.ParentImages...)
	for _, ref := range check {
		target, err := s.Mirror(ref)
		if err != nil {
			t.Fatal(err)
		}
		r, err := name.ParseReference(target)
		if err != nil {
			t.Fatalf("%s -> %s: %v", ref, target, err)
		}
		if _, err := remote.Head(r, remote.WithContext(ctx)); err != nil {
			t.Errorf("HEAD %s (for %s): %v", target, ref, err)
		}
	}
	missing, _ := name.ParseReference(s.RegistryHost + "/omecproject/5gc-amf:9.9.9")
	if _, err := remote.Head(missing, remote.WithContext(ctx)); err == nil {
		t.Errorf("HEAD of an unpushed tag succeeded")
	}

	s.Close()
	if _, err := http.Get(s.ChartRepoURL + "/index.yaml"); err == nil {
		t.Errorf("chart server still answers after Close")
	}
	if _, err := remote.Head(missing, remote.WithContext(ctx)); err == nil || strings.Contains(err.Error(), "404") {
		t.Errorf("registry still answers after Close: %v", err)
	}
}

func TestDockerfileDigestsMatchImages(t *testing.T) {
	w := build(t)
	data, err := os.ReadFile(filepath.Join(w.RepoDir("upf"), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{imgUbuntu, imgAlpine} {
		d, err := Digest(ref)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "@"+d) {
			t.Errorf("upf Dockerfile does not pin %s by its demo digest %s", ref, d)
		}
	}
	// The digest depends on path and tag only, not the registry.
	d1, _ := Digest("docker.io/library/alpine:3.20")
	d2, _ := Digest("alpine:3.20")
	d3, _ := Digest("alpine:3.21")
	if d1 != d2 || d1 == d3 {
		t.Errorf("digests: docker.io/library/alpine:3.20 %s, alpine:3.20 %s, alpine:3.21 %s", d1, d2, d3)
	}
}

func TestClone(t *testing.T) {
	w := build(t)
	ctx := context.Background()
	start := time.Now()
	c, err := w.Clone(ctx, filepath.Join(t.TempDir(), "copy"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Clone took %v", time.Since(start))
	if !slices.Equal(refs(t, w), refs(t, c)) {
		t.Errorf("clone refs differ from the original")
	}
	if _, err := workspace.Load(c.ConfigFile); err != nil {
		t.Fatalf("clone's relkit.yaml: %v", err)
	}
	// The clone pushes to its own remote, not the original's.
	r := c.Repos["amf"]
	h := r.Commit("Clone-only change", map[string]string{"clone.txt": "x\n"})
	r.Push()
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	got, err := gitx.Git(ctx, c.Remotes["amf"], "rev-parse", "refs/heads/master")
	if err != nil || strings.TrimSpace(got) != h {
		t.Errorf("clone's remote master = %q (%v), want %s", got, err, h)
	}
	orig, _ := gitx.Git(ctx, w.Remotes["amf"], "rev-parse", "refs/heads/master")
	if strings.TrimSpace(orig) == h {
		t.Errorf("the push reached the original workspace's remote")
	}
	st, _ := gitx.Git(ctx, w.RepoDir("amf"), "status", "--porcelain")
	if st != "" {
		t.Errorf("original amf worktree changed: %q", st)
	}
}
