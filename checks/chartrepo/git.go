package chartrepo

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/relkit/relkit/release/gitx"
)

// A static chart repository kept in git (a gh-pages branch, a separate
// site repo): index.yaml and the packages sit in a folder of one branch.
// It is read from git objects, never from anybody's checkout: the branch
// is fetched (one commit deep) into a scratch repository, and index.yaml
// is read from the fetched commit.

// MaxGitIndexSize bounds an index.yaml read from (and written to) a git
// branch: large public repositories serve tens of megabytes, and a file
// much larger than that in git is not an index anyone meant.
const MaxGitIndexSize = 64 << 20

// Site names the static chart repository in a git repo.
type Site struct {
	// Git is the repository: a local path (absolute) or a URL.
	Git string
	// Branch holds the site (gh-pages).
	Branch string
	// Dir is the folder of index.yaml and the packages inside the branch
	// ("." for the root).
	Dir string
}

func (s Site) String() string {
	dir := ""
	if s.Dir != "" && s.Dir != "." {
		dir = ":" + s.Dir
	}
	return redactURL(s.Git) + " " + s.Branch + dir
}

// File is the path of name inside the branch (dir/name).
func (s Site) File(name string) string {
	if s.Dir == "" || s.Dir == "." {
		return name
	}
	return path.Join(s.Dir, name)
}

// redactURL hides a password in a URL.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok || strings.Contains(userinfo, "/") {
		return u
	}
	user, _, hasPass := strings.Cut(userinfo, ":")
	if !hasPass {
		return u
	}
	return scheme + "://" + user + ":xxxxx@" + host
}

// FetchSite brings the tip of the site's branch into the scratch git
// repository gitDir (made with git init --bare when it is not one yet) as
// ref, one commit deep. It returns the tip, or "" when the branch does not
// exist yet.
func FetchSite(ctx context.Context, gitDir string, s Site, ref string) (string, error) {
	if _, err := os.Stat(path.Join(gitDir, "HEAD")); err != nil {
		// No template: nothing of it is needed in a scratch repository,
		// and copying the sample hooks was most of init's time.
		if _, err := gitx.Git(ctx, "", "init", "--quiet", "--bare", "--template=", gitDir); err != nil {
			return "", err
		}
	}
	branch := "refs/heads/" + s.Branch
	refs, err := gitx.LsRemote(ctx, gitDir, s.Git, branch)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", s, err)
	}
	tip := refs[branch]
	if tip == "" {
		return "", nil
	}
	// A forced update of relkit's own scratch ref: the site's branch is
	// whatever the remote says; nothing is pushed from it.
	if _, err := gitx.Git(ctx, gitDir, "fetch", "--quiet", "--no-tags", "--depth=1", "--", s.Git, "+"+branch+":"+ref); err != nil {
		return "", fmt.Errorf("fetching %s: %w", s, err)
	}
	got, err := gitx.Git(ctx, gitDir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", s, err)
	}
	return strings.TrimSpace(got), nil
}

// TreeEntry is one entry of a git tree.
type TreeEntry struct {
	Mode, Type, Hash string
	Size             int64
	Path             string
}

// LsTree lists the entries of commit at exactly paths (not recursive); a
// path the commit does not have is missing from the result.
func LsTree(ctx context.Context, gitDir, commit string, paths ...string) (map[string]TreeEntry, error) {
	args := append([]string{"ls-tree", "-z", "--long", "--full-tree", commit, "--"}, paths...)
	out, err := gitx.GitEnv(ctx, gitDir, []string{"GIT_LITERAL_PATHSPECS=1"}, nil, args...)
	if err != nil {
		return nil, err
	}
	m := map[string]TreeEntry{}
	for _, rec := range strings.Split(out, "\x00") {
		meta, p, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		if len(f) != 4 {
			continue
		}
		e := TreeEntry{Mode: f[0], Type: f[1], Hash: f[2], Path: p}
		e.Size, _ = strconv.ParseInt(f[3], 10, 64)
		m[p] = e
	}
	return m, nil
}

// CheckSiteDir checks that every folder on the way to the site's dir is a
// folder (or absent) at commit: a symlink or file there would make the
// packages land elsewhere than index.yaml says.
func CheckSiteDir(ctx context.Context, gitDir, commit string, s Site) error {
	if s.Dir == "" || s.Dir == "." {
		return nil
	}
	var paths []string
	for p := s.Dir; p != "." && p != "/"; p = path.Dir(p) {
		paths = append(paths, p)
	}
	ents, err := LsTree(ctx, gitDir, commit, paths...)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if e, ok := ents[p]; ok && e.Type != "tree" {
			return fmt.Errorf("%s: %s is a %s in %s, expected a folder", s, p, kindOf(e), s.Branch)
		}
	}
	return nil
}

func kindOf(e TreeEntry) string {
	switch {
	case e.Mode == "120000":
		return "symlink"
	case e.Type == "commit":
		return "submodule"
	case e.Type == "tree":
		return "folder"
	}
	return "file"
}

// ReadSiteIndex reads the site's index.yaml at commit from gitDir: nil when
// there is none yet. A symlink (git never follows one, and neither does a
// web server relkit cannot see), anything but a regular file, or a file
// larger than MaxGitIndexSize is refused.
func ReadSiteIndex(ctx context.Context, gitDir, commit string, s Site) ([]byte, error) {
	file := s.File("index.yaml")
	ents, err := LsTree(ctx, gitDir, commit, file)
	if err != nil {
		return nil, err
	}
	e, ok := ents[file]
	switch {
	case !ok:
		return nil, nil
	case e.Mode != "100644" && e.Mode != "100755":
		return nil, fmt.Errorf("%s: %s is a %s, expected a regular file; relkit does not follow it", s, file, kindOf(e))
	case e.Size > MaxGitIndexSize:
		return nil, fmt.Errorf("%s: %s is %d bytes, larger than the %d relkit reads", s, file, e.Size, MaxGitIndexSize)
	}
	out, err := gitx.Git(ctx, gitDir, "cat-file", "blob", e.Hash)
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// gitRepo is a static chart repository in git, read through Repository.
type gitRepo struct {
	site Site

	mu  sync.Mutex
	idx *Index
	err error
}

// OpenSite returns the static chart repository s as a Repository. Nothing
// is fetched until the first question; the fetch goes to a scratch
// repository in the system's temp dir, removed afterwards.
func OpenSite(s Site) Repository { return &gitRepo{site: s} }

func (r *gitRepo) String() string { return r.site.String() }

func (r *gitRepo) index(ctx context.Context) (*Index, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idx != nil || r.err != nil {
		return r.idx, r.err
	}
	idx, err := r.load(ctx)
	if err != nil && ctx.Err() != nil {
		return nil, err // do not remember a cancellation
	}
	r.idx, r.err = idx, err
	return idx, err
}

func (r *gitRepo) load(ctx context.Context) (*Index, error) {
	tmp, err := os.MkdirTemp("", "relkit-site-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	tip, err := FetchSite(ctx, tmp, r.site, "refs/relkit/site")
	if err != nil {
		return nil, err
	}
	if tip == "" {
		return &Index{}, nil // no branch yet: nothing published
	}
	data, err := ReadSiteIndex(ctx, tmp, tip, r.site)
	if err != nil || data == nil {
		return &Index{}, err
	}
	return ParseIndex(r.site.String()+":"+r.site.File("index.yaml"), data)
}

func (r *gitRepo) Has(ctx context.Context, chart, version string) (bool, error) {
	v, err := r.Lookup(ctx, chart, version)
	return v != nil, err
}

func (r *gitRepo) Lookup(ctx context.Context, chart, version string) (*Version, error) {
	idx, err := r.index(ctx)
	if err != nil {
		return nil, err
	}
	return idx.Lookup(chart, version), nil
}
