package chartpkg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/relkit/relkit/release/charts"
)

// Chart is one chart of a commit, loaded with its dependencies the way
// `helm dependency build` followed by `helm package` would see it.
type Chart struct {
	// Dir is the chart folder, relative to the repo root.
	Dir   string
	Chart *chart.Chart
	// Paths are the repo paths the package's content comes from: the
	// chart folder, its file:// dependencies' folders, files reached
	// through symlinks. Their last change dates the package (ModTimes).
	Paths []string
	// Needs are the folders of charts of this repo that the chart depends
	// on (file://, or by name and version from one of the repo's own
	// chart repositories): they are published first.
	Needs []string
	// Remote lists the dependencies fetched from chart repositories.
	Remote []Fetched
}

// Name and Version are the chart's.
func (c *Chart) Name() string    { return c.Chart.Metadata.Name }
func (c *Chart) Version() string { return c.Chart.Metadata.Version }

// Loader loads the charts of one commit. It is not safe for concurrent
// use.
type Loader struct {
	Tree *Tree
	// Fetcher gets remote dependencies; nil refuses them.
	Fetcher *Fetcher
	// Own lists the chart repositories this repo publishes to (URLs and
	// oci:// references): a dependency on one of them at a chart and
	// version this commit holds is packaged from the commit, and published
	// before the chart that depends on it.
	Own []string
	// Local returns the folder of the chart of this commit with that name
	// and exact version.
	Local func(name, version string) (dir string, ok bool)

	memo map[string]*loaded
}

type loaded struct {
	c   *Chart
	err error
}

// Load loads the chart at dir (relative to the repo root).
func (l *Loader) Load(ctx context.Context, dir string) (*Chart, error) {
	return l.load(ctx, path.Clean(dir), nil)
}

func (l *Loader) load(ctx context.Context, dir string, stack []string) (*Chart, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if slices.Contains(stack, dir) {
		return nil, fmt.Errorf("%s: file:// dependencies form a cycle: %s", dir, strings.Join(append(stack, dir), " -> "))
	}
	if len(stack) > maxDepth {
		return nil, fmt.Errorf("%s: file:// dependencies nested more than %d deep", dir, maxDepth)
	}
	if l.memo == nil {
		l.memo = map[string]*loaded{}
	}
	if m, ok := l.memo[dir]; ok {
		return m.c, m.err
	}
	c, err := l.loadDir(ctx, dir, append(stack, dir))
	if ctx.Err() == nil {
		l.memo[dir] = &loaded{c, err}
	}
	return c, err
}

var utf8bom = []byte{0xEF, 0xBB, 0xBF}

// loadDir reads the chart's files as Helm's LoadDir does (.helmignore
// applied, BOM trimmed, size caps), loads them with Helm's loader and adds
// the dependencies.
func (l *Loader) loadDir(ctx context.Context, dir string, stack []string) (*Chart, error) {
	t := l.Tree
	if !t.IsDir(dir) {
		return nil, fmt.Errorf("%s: no such chart folder in commit %s", dir, t.commit[:min(10, len(t.commit))])
	}
	ig := charts.DefaultIgnore()
	igFile := path.Join(dir, charts.HelmignoreFile)
	if data, ok, err := t.ReadFile(igFile, MaxFileSize); err != nil {
		return nil, err
	} else if ok {
		if ig, err = charts.ParseHelmignore(igFile, data); err != nil {
			return nil, err
		}
	}
	files, err := t.Walk(dir, func(rel string, isDir bool) bool {
		if isDir {
			return ig.IgnoredDir(rel)
		}
		return ig.Ignored(rel)
	})
	if err != nil {
		return nil, err
	}
	out := &Chart{Dir: dir, Paths: []string{dir}}
	buf := make([]*loader.BufferedFile, 0, len(files))
	var total int64
	for _, f := range files {
		data, err := t.Read(f, MaxFileSize)
		if err != nil {
			return nil, err
		}
		total += int64(len(data))
		if total > MaxChartSize {
			return nil, fmt.Errorf("%s: the chart's files are larger than %d bytes", dir, MaxChartSize)
		}
		buf = append(buf, &loader.BufferedFile{Name: f.Name, Data: bytes.TrimPrefix(data, utf8bom)})
		if f.Source != path.Join(dir, f.Name) && !under(f.Source, dir) {
			out.Paths = append(out.Paths, f.Source)
		}
	}
	c, err := loader.LoadFiles(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	out.Chart = c
	if err := checkLock(dir, c); err != nil {
		return nil, err
	}
	if err := l.dependencies(ctx, out, stack); err != nil {
		return nil, err
	}
	slices.Sort(out.Paths)
	out.Paths = slices.Compact(out.Paths)
	slices.Sort(out.Needs)
	out.Needs = slices.Compact(out.Needs)
	return out, nil
}

func under(p, dir string) bool { return dir == "." || dir == "" || strings.HasPrefix(p, dir+"/") }

// dependencies adds every declared dependency that is not vendored under
// charts/: file:// ones packaged from the commit, the repo's own charts
// from the commit, remote ones fetched at their pinned version.
func (l *Loader) dependencies(ctx context.Context, out *Chart, stack []string) error {
	c, dir := out.Chart, out.Dir
	file := path.Join(dir, "Chart.yaml")
	if c.Metadata.APIVersion == chart.APIVersionV1 {
		file = path.Join(dir, "requirements.yaml")
	}
	have := map[string]*chart.Chart{}
	for _, sub := range c.Dependencies() {
		have[sub.Name()] = sub
	}
	for _, d := range c.Metadata.Dependencies {
		if sub, ok := have[d.Name]; ok {
			if err := satisfies(file, d, sub.Metadata.Version, "charts/ holds"); err != nil {
				return err
			}
			continue
		}
		version := d.Version
		if c.Lock != nil {
			if ld := locked(c.Lock, d); ld != nil {
				version = ld.Version
			}
		}
		var sub *chart.Chart
		switch repo := d.Repository; {
		case repo == "":
			return fmt.Errorf("%s: dependency %s has no repository and is not in charts/; expected it vendored there or a repository URL", file, d.Name)
		case strings.HasPrefix(repo, "file://"):
			rel := strings.TrimPrefix(repo, "file://")
			if path.IsAbs(rel) {
				return fmt.Errorf("%s: dependency %s: %s is an absolute path; chart:publish packages file:// dependencies from the commit, so the path must be relative to the chart and stay in the repo", file, d.Name, repo)
			}
			target := path.Join(dir, rel)
			if target == ".." || strings.HasPrefix(target, "../") {
				return fmt.Errorf("%s: dependency %s: %s leads out of the repo", file, d.Name, repo)
			}
			dep, err := l.load(ctx, target, stack)
			if err != nil {
				return fmt.Errorf("%s: dependency %s (%s): %w", file, d.Name, repo, err)
			}
			if dep.Name() != d.Name {
				return fmt.Errorf("%s: dependency %s: %s holds chart %s", file, d.Name, repo, dep.Name())
			}
			if err := satisfies(file, d, dep.Version(), repo+" is"); err != nil {
				return err
			}
			if sub, err = fresh(dep.Chart); err != nil {
				return err
			}
			out.absorb(dep, target)
		case strings.HasPrefix(repo, "@"), strings.HasPrefix(repo, "alias:"), !strings.Contains(repo, "://"):
			return fmt.Errorf("%s: dependency %s: repository %q names a Helm repo alias; chart:publish needs the repository's URL (https://... or oci://...)", file, d.Name, repo)
		default:
			if !exactVersion(version) {
				return fmt.Errorf("%s: dependency %s %q from %s is a range; pin an exact version or commit Chart.lock (helm dependency update), so that the package is the same every time", file, d.Name, d.Version, repo)
			}
			if localDir, ok := l.own(repo, d.Name, version); ok {
				dep, err := l.load(ctx, localDir, stack)
				if err != nil {
					return fmt.Errorf("%s: dependency %s %s (this repo's %s): %w", file, d.Name, version, localDir, err)
				}
				if sub, err = fresh(dep.Chart); err != nil {
					return err
				}
				out.absorb(dep, localDir)
				break
			}
			if l.Fetcher == nil {
				return fmt.Errorf("%s: dependency %s %s from %s: remote dependencies are not fetched here", file, d.Name, version, repo)
			}
			data, got, err := l.Fetcher.Fetch(ctx, repo, d.Name, version)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if sub, err = loader.LoadArchive(bytes.NewReader(data)); err != nil {
				return fmt.Errorf("%s: dependency %s %s from %s: %w", file, d.Name, version, repo, err)
			}
			if sub.Name() != d.Name || sub.Metadata.Version != version {
				return fmt.Errorf("%s: dependency %s %s from %s: the package holds %s %s", file, d.Name, version, repo, sub.Name(), sub.Metadata.Version)
			}
			out.Remote = append(out.Remote, got)
		}
		c.AddDependency(sub)
		have[d.Name] = sub
	}
	return nil
}

// absorb records that out contains dep (from folder depDir).
func (out *Chart) absorb(dep *Chart, depDir string) {
	out.Paths = append(out.Paths, dep.Paths...)
	out.Needs = append(out.Needs, depDir)
	out.Remote = append(out.Remote, dep.Remote...)
}

// own returns the folder of this commit's chart name at version when repo
// is one of the repo's own chart repositories.
func (l *Loader) own(repo, name, version string) (string, bool) {
	if l.Local == nil {
		return "", false
	}
	norm := func(s string) string { return strings.TrimSuffix(strings.TrimSuffix(s, "/index.yaml"), "/") }
	for _, o := range l.Own {
		if o != "" && norm(o) == norm(repo) {
			return l.Local(name, version)
		}
	}
	return "", false
}

// fresh is a copy of c as `helm dependency build` puts it into charts/ and
// `helm package` loads it back: packaged, then loaded from the archive.
func fresh(c *chart.Chart) (*chart.Chart, error) {
	data, err := Archive(c, time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	return loader.LoadArchive(bytes.NewReader(data))
}

func exactVersion(v string) bool {
	_, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v"))
	return err == nil
}

// satisfies checks a dependency's version constraint against the version
// found (what says where it was found).
func satisfies(file string, d *chart.Dependency, have, what string) error {
	if d.Version == "" {
		return nil
	}
	con, err := semver.NewConstraint(d.Version)
	if err != nil {
		return fmt.Errorf("%s: dependency %s: version %q is not a SemVer version or range: %v", file, d.Name, d.Version, err)
	}
	v, err := semver.NewVersion(have)
	if err != nil || !con.Check(v) {
		return fmt.Errorf("%s: dependency %s wants %s, but %s %s", file, d.Name, d.Version, what, have)
	}
	return nil
}

// locked finds d's entry in the lock file.
func locked(lock *chart.Lock, d *chart.Dependency) *chart.Dependency {
	for _, ld := range lock.Dependencies {
		if ld != nil && ld.Name == d.Name && ld.Repository == d.Repository {
			return ld
		}
	}
	for _, ld := range lock.Dependencies {
		if ld != nil && ld.Name == d.Name {
			return ld
		}
	}
	return nil
}

// checkLock checks that Chart.lock (requirements.lock) is in step with the
// declared dependencies, as `helm dependency build` does: its digest is
// the sha256 of the JSON of [dependencies, locked dependencies]
// (resolver.HashReq); for apiVersion v1 a Helm 2 lock's digest of
// {"dependencies": ...} is accepted too (resolver.HashV2Req).
func checkLock(dir string, c *chart.Chart) error {
	if c.Lock == nil {
		return nil
	}
	lockFile, depsFile := path.Join(dir, "Chart.lock"), path.Join(dir, "Chart.yaml")
	if c.Metadata.APIVersion == chart.APIVersionV1 {
		lockFile, depsFile = path.Join(dir, "requirements.lock"), path.Join(dir, "requirements.yaml")
	}
	sum, err := hashJSON([2][]*chart.Dependency{c.Metadata.Dependencies, c.Lock.Dependencies})
	if err != nil {
		return err
	}
	if sum == c.Lock.Digest {
		return nil
	}
	if c.Metadata.APIVersion == chart.APIVersionV1 {
		if v2, err := hashJSON(map[string][]*chart.Dependency{"dependencies": c.Metadata.Dependencies}); err == nil && v2 == c.Lock.Digest {
			return nil
		}
	}
	return fmt.Errorf("%s is out of step with %s: it records digest %s, the dependencies hash to %s; run helm dependency update and commit the lock", lockFile, depsFile, c.Lock.Digest, sum)
}

func hashJSON(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
