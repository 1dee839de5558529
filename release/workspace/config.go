// Package workspace loads relkit.yaml, the description of a release
// workspace: the charts repo, the docs repo, the component repos, the release
// branch prefix and the image policy.
package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/release/repofs"
)

// DefaultFile is the config file name looked up in the current directory
// when RELKIT_CONFIG is not set.
const DefaultFile = "relkit.yaml"

// DefaultMovingTags are the image tags that name no fixed content.
var DefaultMovingTags = []string{
	"latest", "master", "main", "stable", "edge", "nightly", "dev", "develop",
	"devel", "head", "trunk", "canary", "unstable", "testing", "current", "snapshot",
}

// Kind is the role a repository plays in the release.
type Kind string

const (
	KindCharts    Kind = "charts"
	KindDocs      Kind = "docs"
	KindComponent Kind = "component"
	KindBranched  Kind = "branched"
)

// Repo is one git checkout of the workspace.
type Repo struct {
	Kind Kind
	// Name identifies the repo in reports; unique in the workspace.
	Name string
	// Path is the path as written in the config, relative to Root.
	Path string
	// Dir is the absolute path of the checkout.
	Dir         string
	MainBranch  string
	VersionFile string
	// TagPrefix is put before VERSION to make the git tag ("v" -> v1.2.3).
	TagPrefix string
	// Images are the image repositories a component builds.
	Images []string
	// BuildArgs override Dockerfile ARG defaults, as --build-arg would.
	BuildArgs map[string]string
	// Repository is the charts repo's chart repository: an index.yaml URL
	// or directory, or an oci:// reference.
	Repository string
	// ReleaseNotes is the docs repo's release-notes page path; {version} is
	// replaced by the release version.
	ReleaseNotes string
	// ImageTagForm is the form of a component's release image tags, with
	// {version} standing for the SemVer release ("{version}", "v{version}",
	// "rel-{version}"). Default "{version}".
	ImageTagForm string
	// Publish says where chart:publish writes the charts repo's packages;
	// nil when charts.publish is not set.
	Publish *Publish
	// Line is the line of the repo's entry in the config file.
	Line int
}

// Tag is the git tag for version v of this repo.
func (r *Repo) Tag(v string) string { return r.TagPrefix + v }

// DefaultImageTagForm is the image tag form when a component names none:
// the bare version, as ONF's publish job wrote it (v1.2.3 -> 1.2.3).
const DefaultImageTagForm = "{version}"

// Publish is charts.publish: the static chart repository kept in git and
// the OCI registry that chart:publish writes to (one or both).
type Publish struct {
	// Git is a path (relative to the workspace root, made absolute) or a
	// URL of the git repository holding the static chart repository.
	Git string
	// Branch of Git that holds it (default gh-pages; created when missing).
	Branch string
	// Dir is the folder inside Branch for index.yaml and the packages
	// ("." by default).
	Dir string
	// URL is the base URL written into index.yaml; empty means relative
	// URLs.
	URL string
	// OCI is oci://host/path.
	OCI  string
	Line int
}

// ReviewKind is how changes go for review.
type ReviewKind string

const (
	ReviewGerrit ReviewKind = "gerrit"
	ReviewGitHub ReviewKind = "github"
	ReviewGitea  ReviewKind = "gitea"
)

// Review is the review: section: how commits reach shared branches when
// a target runs with -review (or always, with Default).
type Review struct {
	Kind ReviewKind
	// URL is the API base URL (Gerrit's REST root, GitHub's or Gitea's
	// API base).
	URL string
	// Default makes -review the way of pushing when neither -push nor
	// -review is given.
	Default bool
	Line    int
}

// RenderSkip is a chart check:images does not render, with the reason; it
// is reported as a warning on every run.
type RenderSkip struct {
	// Chart is the chart directory relative to the charts repo.
	Chart  string
	Reason string
	Line   int
}

// Waiver lets an image (or Dockerfile parent) through the policy until it
// expires.
type Waiver struct {
	Image   string
	Tag     string // a path.Match pattern
	Reason  string
	Expires time.Time
	Line    int
}

// Matches reports whether the waiver covers image repository img with tag.
func (w Waiver) Matches(img, tag string) bool {
	if w.Image != img && !strings.HasSuffix(img, "/"+w.Image) {
		return false
	}
	ok, _ := path.Match(w.Tag, tag)
	return ok
}

// Expired reports whether the waiver ran out before now (the expiry day
// itself still counts).
func (w Waiver) Expired(now time.Time) bool {
	return now.After(w.Expires.AddDate(0, 0, 1))
}

// ImagePolicy says which image tags are acceptable.
type ImagePolicy struct {
	MovingTags []string
	// ReleaseTagForms are extra tag forms that count as releases, with
	// {version} standing for a SemVer release (for example "rel-{version}").
	// "{version}" and "v{version}" are always accepted.
	ReleaseTagForms []string
	Waivers         []Waiver
	// Mirrors maps a registry host to the host that serves its content
	// (a pull-through proxy or an air-gapped copy), used when relkit talks
	// to registries. Image references in reports keep the original host.
	Mirrors map[string]string
}

// IsMoving reports whether tag is in the moving-tag list (case-insensitive).
func (p ImagePolicy) IsMoving(tag string) bool {
	return slices.ContainsFunc(p.MovingTags, func(m string) bool { return strings.EqualFold(m, tag) })
}

// Render holds the settings for rendering charts offline.
type Render struct {
	KubeVersion string
	APIVersions []string
	// Values maps a chart path (relative to the charts repo) to extra value
	// files (relative to the charts repo), applied in order.
	Values map[string][]string
	// Skip lists charts that are not rendered (a chart that needs values
	// nobody can give offline), each with its reason.
	Skip []RenderSkip
}

// Config is a loaded workspace.
type Config struct {
	// File is the absolute path of the config file; Root its directory.
	File, Root   string
	BranchPrefix string
	Charts       *Repo
	Docs         *Repo
	Components   []*Repo
	// Branched are further repos that get a release branch with each minor
	// release (a system-tests repo, for example).
	Branched  []*Repo
	Images    ImagePolicy
	Render    Render
	BuildArgs map[string]string
	GitAuthor string
	// Review is nil when relkit.yaml has no review: section.
	Review *Review
	lines  map[string]int
}

// Repos lists every repo: charts, docs, components, then branched repos.
func (c *Config) Repos() []*Repo {
	var out []*Repo
	if c.Charts != nil {
		out = append(out, c.Charts)
	}
	if c.Docs != nil {
		out = append(out, c.Docs)
	}
	out = append(out, c.Components...)
	return append(out, c.Branched...)
}

// Repo finds a repo by name.
func (c *Config) Repo(name string) (*Repo, bool) {
	for _, r := range c.Repos() {
		if r.Name == name {
			return r, true
		}
	}
	return nil, false
}

// Component finds a component by name.
func (c *Config) Component(name string) (*Repo, bool) {
	for _, r := range c.Components {
		if r.Name == name {
			return r, true
		}
	}
	return nil, false
}

// ComponentForImage finds the component that builds image repository img
// (registry and path, no tag).
func (c *Config) ComponentForImage(img string) (*Repo, bool) {
	for _, r := range c.Components {
		for _, i := range r.Images {
			if i == img {
				return r, true
			}
		}
	}
	return nil, false
}

// ReleaseBranch is the release branch name for minor line "X.Y".
func (c *Config) ReleaseBranch(minor string) string { return c.BranchPrefix + minor }

// RepoDirs maps each repo name to its path relative to the workspace root,
// for reports.
func (c *Config) RepoDirs() map[string]string {
	m := map[string]string{}
	for _, r := range c.Repos() {
		m[r.Name] = r.Path
	}
	return m
}

// Line returns the config line of a key path such as "charts.path", or 0.
func (c *Config) Line(key string) int { return c.lines[key] }

// Error is a config problem; it always names the file and line.
type Error struct{ Problems []string }

func (e *Error) Error() string { return strings.Join(e.Problems, "\n") }

// Locate returns the config path: file when the user named one
// (RELKIT_CONFIG in the targets), else relkit.yaml in dir.
func Locate(file, dir string) string {
	if file != "" {
		return file
	}
	return filepath.Join(dir, DefaultFile)
}

// LoadDefault loads the config the user named (file, RELKIT_CONFIG in the
// targets), else ./relkit.yaml; a missing ./relkit.yaml says how to name
// one.
func LoadDefault(file string) (*Config, error) {
	p := Locate(file, ".")
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) && file == "" {
		return nil, fmt.Errorf("no workspace config: %s does not exist; set RELKIT_CONFIG to your relkit.yaml (see docs/config.md), or run `go tool mage demo` for a demo workspace", p)
	}
	return Load(p)
}

// raw shapes of the file; the key names are the contract.
type rawConfig struct {
	BranchPrefix *string         `yaml:"branchPrefix"`
	Charts       *rawCharts      `yaml:"charts"`
	Docs         *rawDocs        `yaml:"docs"`
	Components   []rawComponent  `yaml:"components"`
	Branched     []rawBranched   `yaml:"branched"`
	Images       *rawImages      `yaml:"images"`
	Render       *rawRender      `yaml:"render"`
	Dockerfiles  *rawDockerfiles `yaml:"dockerfiles"`
	Git          *rawGit         `yaml:"git"`
	Review       *rawReview      `yaml:"review"`
}

type rawCharts struct {
	Name        string      `yaml:"name"`
	Path        string      `yaml:"path"`
	MainBranch  string      `yaml:"mainBranch"`
	VersionFile string      `yaml:"versionFile"`
	TagPrefix   string      `yaml:"tagPrefix"`
	Repository  string      `yaml:"repository"`
	Publish     *rawPublish `yaml:"publish"`
}

type rawPublish struct {
	Git    string `yaml:"git"`
	Branch string `yaml:"branch"`
	Dir    string `yaml:"dir"`
	URL    string `yaml:"url"`
	OCI    string `yaml:"oci"`
}

type rawReview struct {
	Kind    string `yaml:"kind"`
	URL     string `yaml:"url"`
	Default bool   `yaml:"default"`
}

type rawDocs struct {
	Name         string `yaml:"name"`
	Path         string `yaml:"path"`
	MainBranch   string `yaml:"mainBranch"`
	VersionFile  string `yaml:"versionFile"`
	TagPrefix    string `yaml:"tagPrefix"`
	ReleaseNotes string `yaml:"releaseNotes"`
}

type rawComponent struct {
	Name         string            `yaml:"name"`
	Path         string            `yaml:"path"`
	MainBranch   string            `yaml:"mainBranch"`
	VersionFile  string            `yaml:"versionFile"`
	TagPrefix    string            `yaml:"tagPrefix"`
	Images       []string          `yaml:"images"`
	BuildArgs    map[string]string `yaml:"buildArgs"`
	ImageTagForm string            `yaml:"imageTagForm"`
}

type rawBranched struct {
	Name       string `yaml:"name"`
	Path       string `yaml:"path"`
	MainBranch string `yaml:"mainBranch"`
}

type rawImages struct {
	MovingTags      []string          `yaml:"movingTags"`
	ReleaseTagForms []string          `yaml:"releaseTagForms"`
	Waivers         []rawWaiver       `yaml:"waivers"`
	Mirrors         map[string]string `yaml:"mirrors"`
}

type rawWaiver struct {
	Image   string `yaml:"image"`
	Tag     string `yaml:"tag"`
	Reason  string `yaml:"reason"`
	Expires *Date  `yaml:"expires"`
}

type rawRender struct {
	KubeVersion string              `yaml:"kubeVersion"`
	APIVersions []string            `yaml:"apiVersions"`
	Values      map[string][]string `yaml:"values"`
	Skip        []rawRenderSkip     `yaml:"skip"`
}

type rawRenderSkip struct {
	Chart  string `yaml:"chart"`
	Reason string `yaml:"reason"`
}

type rawDockerfiles struct {
	BuildArgs map[string]string `yaml:"buildArgs"`
}

type rawGit struct {
	Author string `yaml:"author"`
}

// DefaultKubeVersion is used to render charts when the config names none: a
// current Kubernetes, not the SDK's old default.
const DefaultKubeVersion = "v1.34.0"

// Load reads and validates a workspace config.
func Load(file string) (*Config, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	// Regular files only, capped: a FIFO or /dev/zero named as the config
	// fails at once instead of hanging or filling memory.
	data, err := repofs.ReadFile(abs, repofs.MaxConfig)
	if err != nil {
		return nil, fmt.Errorf("reading workspace config: %w", err)
	}
	return Parse(abs, data)
}

// MaxConfigBytes bounds the config text Parse accepts. A real relkit.yaml
// is a few kilobytes (a hundred components with their images and
// waivers stay under 100 KiB). yaml.v3 costs about 200 bytes of memory
// per byte of a dense file (a 4 MiB flow list took 900 MB and 12 s), so
// the bound is what keeps a generated or hostile file cheap: at 1 MiB
// the worst case measured is about 230 MB and 3 s.
const MaxConfigBytes = 1 << 20

// Parse validates config text as if read from file (an absolute path).
func Parse(file string, data []byte) (*Config, error) {
	if len(data) > MaxConfigBytes {
		return nil, &Error{[]string{fmt.Sprintf("%s: the file has %d bytes; a workspace config is at most %d KiB; is it the right file?", file, len(data), MaxConfigBytes>>10)}}
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{[]string{syntaxError(file, data, err)}}
	}
	d := &decoder{file: file, lines: map[string]int{}}
	var raw rawConfig
	if len(doc.Content) == 0 {
		return nil, &Error{[]string{fmt.Sprintf("%s:1: the file is empty; expected at least a charts: section", file)}}
	}
	d.decode(doc.Content[0], "", reflect.ValueOf(&raw).Elem())
	if len(d.errs) > 0 {
		return nil, &Error{d.problems()}
	}
	v := &validator{decoder: d, root: filepath.Dir(file)}
	c := v.build(&raw, doc.Content[0])
	if len(d.errs) > 0 {
		return nil, &Error{d.problems()}
	}
	c.File, c.Root, c.lines = file, v.root, d.lines
	return c, nil
}

type validator struct {
	*decoder
	root  string
	names map[string]string
	// realRoot is root with symlinks resolved; repoKeys maps the real
	// git directory of each repo seen to its key (see repos.go).
	realRoot string
	repoKeys map[string]string
}

func (v *validator) errorf(key, format string, args ...any) {
	line := v.lines[key]
	for line == 0 && key != "" {
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			key = ""
		} else {
			key = key[:i]
		}
		line = v.lines[key]
	}
	if line == 0 {
		line = 1
	}
	v.add(fmt.Sprintf("%s:%d: %s", v.file, line, fmt.Sprintf(format, args...)))
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	prefixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

	kubeVersionRE = regexp.MustCompile(`^v?\d+\.\d+(\.\d+)?$`)
	authorRE      = regexp.MustCompile(`^[^<>]+ <[^<>]+>$`)
	// imageTagRE is a docker tag.
	imageTagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	webURLRE   = regexp.MustCompile(`^https?://[^\s]+$`)
	// scpLikeRE is git's user@host:path form.
	scpLikeRE = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:`)
)

func (v *validator) build(raw *rawConfig, top *yaml.Node) *Config {
	c := &Config{BranchPrefix: "aether-", BuildArgs: map[string]string{}}
	v.names = map[string]string{}
	if raw.BranchPrefix != nil {
		c.BranchPrefix = *raw.BranchPrefix
		if !prefixRE.MatchString(c.BranchPrefix) || strings.Contains(c.BranchPrefix, "..") {
			v.errorf("branchPrefix", "branchPrefix: %q cannot start a git branch name; expected something like \"aether-\"", c.BranchPrefix)
		}
	}
	if raw.Charts == nil {
		v.add(fmt.Sprintf("%s:%d: missing key \"charts\": expected the charts repo (charts: {path: ...})", v.file, top.Line))
	} else {
		r := raw.Charts
		c.Charts = v.repo(KindCharts, "charts", r.Name, "charts", r.Path, r.MainBranch, r.VersionFile, r.TagPrefix)
		c.Charts.Repository = r.Repository
		if r.Publish != nil {
			c.Charts.Publish = v.publish(r.Publish)
		}
	}
	if raw.Docs != nil {
		r := raw.Docs
		c.Docs = v.repo(KindDocs, "docs", r.Name, "docs", r.Path, r.MainBranch, r.VersionFile, r.TagPrefix)
		c.Docs.ReleaseNotes = r.ReleaseNotes
		if r.ReleaseNotes != "" {
			v.relPath("docs.releaseNotes", r.ReleaseNotes)
		}
	}
	for i, r := range raw.Components {
		key := fmt.Sprintf("components[%d]", i)
		if r.Name == "" {
			v.errorf(key, "%s: missing key \"name\": every component needs a name", key)
		}
		repo := v.repo(KindComponent, key, r.Name, "", r.Path, r.MainBranch, r.VersionFile, r.TagPrefix)
		repo.Images = r.Images
		repo.BuildArgs = r.BuildArgs
		repo.ImageTagForm = DefaultImageTagForm
		if r.ImageTagForm != "" {
			if strings.Count(r.ImageTagForm, "{version}") != 1 || !imageTagRE.MatchString(strings.Replace(r.ImageTagForm, "{version}", "1.2.3", 1)) {
				v.errorf(key+".imageTagForm", "%s.imageTagForm: %q must contain {version} once and make a docker tag, like \"v{version}\" or \"rel-{version}\"", key, r.ImageTagForm)
			}
			repo.ImageTagForm = r.ImageTagForm
		}
		for j, img := range r.Images {
			if _, err := name.NewRepository(img); err != nil {
				v.errorf(fmt.Sprintf("%s.images[%d]", key, j), "%s.images[%d]: %q is not an image repository; expected registry/path without tag, such as ghcr.io/org/app", key, j, img)
			}
		}
		c.Components = append(c.Components, repo)
	}
	for i, r := range raw.Branched {
		key := fmt.Sprintf("branched[%d]", i)
		if r.Name == "" {
			v.errorf(key, "%s: missing key \"name\"", key)
		}
		c.Branched = append(c.Branched, v.repo(KindBranched, key, r.Name, "", r.Path, r.MainBranch, "", ""))
	}
	c.Images.MovingTags = DefaultMovingTags
	if im := raw.Images; im != nil {
		if im.MovingTags != nil {
			c.Images.MovingTags = im.MovingTags
		}
		for i, f := range im.ReleaseTagForms {
			if strings.Count(f, "{version}") != 1 {
				v.errorf(fmt.Sprintf("images.releaseTagForms[%d]", i), "images.releaseTagForms[%d]: %q must contain {version} once, like \"rel-{version}\"", i, f)
			}
		}
		c.Images.ReleaseTagForms = im.ReleaseTagForms
		c.Images.Mirrors = im.Mirrors
		for i, w := range im.Waivers {
			key := fmt.Sprintf("images.waivers[%d]", i)
			for _, req := range []struct{ name, val string }{{"image", w.Image}, {"tag", w.Tag}, {"reason", w.Reason}} {
				if req.val == "" {
					v.errorf(key, "%s: missing key %q: a waiver needs image, tag, reason and expires", key, req.name)
				}
			}
			if _, err := path.Match(w.Tag, ""); err != nil {
				v.errorf(key+".tag", "%s.tag: %q is not a valid pattern (use * and ?)", key, w.Tag)
			}
			wv := Waiver{Image: w.Image, Tag: w.Tag, Reason: w.Reason, Line: v.lines[key]}
			if w.Expires == nil {
				v.errorf(key, "%s: missing key \"expires\": a waiver needs an expiry date (YYYY-MM-DD)", key)
			} else {
				wv.Expires = w.Expires.Time
			}
			c.Images.Waivers = append(c.Images.Waivers, wv)
		}
	}
	c.Render.KubeVersion = DefaultKubeVersion
	if rr := raw.Render; rr != nil {
		if rr.KubeVersion != "" {
			if !kubeVersionRE.MatchString(rr.KubeVersion) {
				v.errorf("render.kubeVersion", "render.kubeVersion: %q is not a Kubernetes version; expected something like v1.31.0", rr.KubeVersion)
			}
			c.Render.KubeVersion = rr.KubeVersion
		}
		c.Render.APIVersions = rr.APIVersions
		c.Render.Values = rr.Values
		for chart, files := range rr.Values {
			for i, f := range files {
				v.relPath(fmt.Sprintf("render.values.%s[%d]", chart, i), f)
			}
		}
		for i, sk := range rr.Skip {
			key := fmt.Sprintf("render.skip[%d]", i)
			if sk.Chart == "" || sk.Reason == "" {
				v.errorf(key, "%s: a skipped chart needs chart (its directory in the charts repo) and reason", key)
			} else {
				v.relPath(key+".chart", sk.Chart)
			}
			c.Render.Skip = append(c.Render.Skip, RenderSkip{Chart: path.Clean(sk.Chart), Reason: sk.Reason, Line: v.lines[key]})
		}
	}
	if raw.Dockerfiles != nil && raw.Dockerfiles.BuildArgs != nil {
		c.BuildArgs = raw.Dockerfiles.BuildArgs
	}
	if raw.Git != nil && raw.Git.Author != "" {
		if !authorRE.MatchString(raw.Git.Author) {
			v.errorf("git.author", "git.author: %q: expected \"Name <email>\"", raw.Git.Author)
		}
		c.GitAuthor = raw.Git.Author
	}
	if rv := raw.Review; rv != nil {
		c.Review = &Review{Kind: ReviewKind(rv.Kind), URL: rv.URL, Default: rv.Default, Line: v.lines["review"]}
		switch c.Review.Kind {
		case ReviewGerrit:
		case ReviewGitHub, ReviewGitea:
			if rv.URL == "" {
				v.errorf("review", "review.url: missing: %s needs its API base URL (https://api.github.com, https://gitea.example.org/api/v1)", rv.Kind)
			}
		default:
			v.errorf("review.kind", "review.kind: %q: expected gerrit, github or gitea", rv.Kind)
		}
		if rv.URL != "" && !webURLRE.MatchString(rv.URL) {
			v.errorf("review.url", "review.url: %q: expected an http:// or https:// URL", rv.URL)
		}
	}
	return c
}

// publish validates charts.publish.
func (v *validator) publish(p *rawPublish) *Publish {
	const key = "charts.publish"
	out := &Publish{Git: p.Git, Branch: p.Branch, Dir: p.Dir, URL: p.URL, OCI: p.OCI, Line: v.lines[key]}
	if p.Git == "" && p.OCI == "" {
		v.errorf(key, "%s: expected git (the repo holding the static chart repository), oci (oci://host/path) or both", key)
	}
	if out.Branch == "" {
		out.Branch = "gh-pages"
	}
	if out.Dir == "" {
		out.Dir = "."
	}
	if !v.relPath(key+".dir", out.Dir) {
		return out
	}
	out.Dir = path.Clean(filepath.ToSlash(out.Dir))
	if p.Git != "" && !strings.Contains(p.Git, "://") && !scpLikeRE.MatchString(p.Git) {
		if v.relPath(key+".git", p.Git) {
			out.Git = filepath.Join(v.root, filepath.FromSlash(p.Git))
			if _, err := os.Stat(out.Git); err == nil {
				v.staysInside(key+".git", out.Git)
			}
		}
	}
	if p.URL != "" && !webURLRE.MatchString(p.URL) {
		v.errorf(key+".url", "%s.url: %q: expected an http:// or https:// base URL", key, p.URL)
	}
	if p.OCI != "" && !strings.HasPrefix(p.OCI, "oci://") {
		v.errorf(key+".oci", "%s.oci: %q: expected oci://host/path", key, p.OCI)
	}
	return out
}

// relPath checks that p is relative and stays inside its base.
func (v *validator) relPath(key, p string) bool {
	if filepath.IsAbs(p) || p != "" && !filepath.IsLocal(filepath.FromSlash(p)) {
		v.errorf(key, "%s: %q escapes its base directory; expected a relative path inside it", key, p)
		return false
	}
	return true
}

func (v *validator) repo(kind Kind, key, name, defName, p, mainBranch, versionFile, tagPrefix string) *Repo {
	r := &Repo{Kind: kind, Name: name, Path: p, MainBranch: mainBranch, VersionFile: versionFile, TagPrefix: tagPrefix, Line: v.lines[key]}
	if r.Name == "" {
		r.Name = defName
	}
	if kind != KindBranched && r.VersionFile == "" {
		r.VersionFile = "VERSION"
	}
	if r.Name != "" {
		if !nameRE.MatchString(r.Name) {
			v.errorf(key+".name", "%s.name: %q: expected letters, digits, '.', '_' or '-'", key, r.Name)
		} else if prev, dup := v.names[r.Name]; dup {
			v.errorf(key+".name", "%s.name: %q is already the name of %s; repo names must be unique", key, r.Name, prev)
		}
		v.names[r.Name] = key
	}
	if r.VersionFile != "" {
		v.relPath(key+".versionFile", r.VersionFile)
	}
	if p == "" {
		v.errorf(key, "%s: missing key \"path\": expected the path of a git checkout, relative to %s", key, v.file)
		return r
	}
	if filepath.IsAbs(p) || !filepath.IsLocal(filepath.FromSlash(p)) {
		v.errorf(key+".path", "%s.path: %q escapes the workspace root %s; expected a path inside it", key, p, v.root)
		return r
	}
	r.Dir = filepath.Join(v.root, filepath.FromSlash(p))
	if st, err := os.Stat(r.Dir); err != nil || !st.IsDir() {
		v.errorf(key+".path", "%s.path: %s does not exist; expected a git checkout there", key, r.Dir)
	} else if !v.staysInside(key+".path", r.Dir) {
		// reported
	} else if _, err := os.Stat(filepath.Join(r.Dir, ".git")); err != nil {
		v.errorf(key+".path", "%s.path: %s is not a git checkout (no .git)", key, r.Dir)
	} else {
		v.checkout(key, r)
	}
	if r.MainBranch == "" {
		r.MainBranch = detectMainBranch(r.Dir)
	}
	return r
}

// detectMainBranch picks a repo's main branch when the config names none:
// the branch origin/HEAD points at (what a clone checks out), else master
// or main, whichever exists (master first, as in the Aether repos), else
// master.
func detectMainBranch(dir string) string {
	gitDir := filepath.Join(dir, ".git")
	if data, err := os.ReadFile(filepath.Join(gitDir, "refs", "remotes", "origin", "HEAD")); err == nil {
		if b, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "ref: refs/remotes/origin/"); ok && b != "" {
			return b
		}
	}
	packed, _ := os.ReadFile(filepath.Join(gitDir, "packed-refs"))
	for _, b := range []string{"master", "main"} {
		if _, err := os.Stat(filepath.Join(gitDir, "refs", "heads", b)); err == nil {
			return b
		}
		if strings.Contains(string(packed), " refs/heads/"+b+"\n") {
			return b
		}
	}
	return "master"
}
