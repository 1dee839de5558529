package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/relkit/relkit/release/gitx"
)

// Repo builds a real git repository with a history, for the demo and the
// tests. Commit dates advance a minute per commit from a fixed epoch so
// histories (and hashes) are reproducible.
type Repo struct {
	Dir   string
	ctx   context.Context
	clock time.Time
	err   error
}

// gitRuns counts git commands, to keep the fixture's cost in view.
var gitRuns atomic.Int64

// Epoch is the date of the first commit of every built repository.
var Epoch = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)

// NewRepo runs git init in dir (created if needed) on branch main.
func NewRepo(ctx context.Context, dir, branch string) (*Repo, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir, ctx: ctx, clock: Epoch}
	r.Git("init", "-q", "--template=", "-b", branch)
	if r.err != nil {
		return r, r.err
	}
	// The identity and signing settings go straight into .git/config (four
	// fewer git runs per repo). They matter for git commands that later run
	// without the builder's env, such as release steps committing in a demo
	// repo.
	return r, appendFile(filepath.Join(dir, ".git", "config"), repoConfig)
}

const repoConfig = `[user]
	name = Demo Developer
	email = dev@example.org
[commit]
	gpgsign = false
[tag]
	gpgsign = false
`

// Err is the first error any builder call met; after it every call is a
// no-op, so a fixture can be written as a straight script and checked once.
func (r *Repo) Err() error { return r.err }

func (r *Repo) env() []string {
	d := r.clock.Format(time.RFC3339)
	// No system or global git config: a developer's hooksPath, autocrlf or
	// signing settings must not change what the fixture contains.
	return []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
		// Throwaway repos: no fsync, no background gc.
		"GIT_CONFIG_COUNT=3", "GIT_CONFIG_KEY_0=core.fsync", "GIT_CONFIG_VALUE_0=none",
		"GIT_CONFIG_KEY_1=gc.auto", "GIT_CONFIG_VALUE_1=0",
		"GIT_CONFIG_KEY_2=maintenance.auto", "GIT_CONFIG_VALUE_2=false",
		"GIT_AUTHOR_DATE=" + d, "GIT_COMMITTER_DATE=" + d,
		"GIT_AUTHOR_NAME=Demo Developer", "GIT_AUTHOR_EMAIL=dev@example.org",
		"GIT_COMMITTER_NAME=Demo Developer", "GIT_COMMITTER_EMAIL=dev@example.org"}
}

// Git runs a git command in the repo and returns its trimmed output.
func (r *Repo) Git(args ...string) string {
	if r.err != nil {
		return ""
	}
	gitRuns.Add(1)
	out, err := gitx.GitEnv(r.ctx, r.Dir, r.env(), nil, args...)
	if err != nil {
		r.err = err
	}
	return strings.TrimSpace(out)
}

// Write writes files (path -> content) into the worktree.
func (r *Repo) Write(files map[string]string) *Repo {
	if r.err != nil {
		return r
	}
	abs := make(map[string]string, len(files))
	for name, content := range files {
		abs[filepath.Join(r.Dir, filepath.FromSlash(name))] = content
	}
	r.err = writeFiles(abs)
	return r
}

// writeFiles writes each file (path -> content), making its folder; the
// first error stops it.
func writeFiles(files map[string]string) error {
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes worktree files.
func (r *Repo) Remove(names ...string) *Repo {
	for _, name := range names {
		if err := os.RemoveAll(filepath.Join(r.Dir, filepath.FromSlash(name))); err != nil && r.err == nil {
			r.err = err
		}
	}
	return r
}

// Commit writes files, stages everything and commits; it returns the hash.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.Write(files)
	r.clock = r.clock.Add(time.Minute)
	r.Git("add", "-A")
	r.Git("commit", "-q", "--allow-empty", "-m", msg)
	return r.Head()
}

// SetVersion commits a new VERSION file content (written as given).
func (r *Repo) SetVersion(content string) string {
	return r.Commit("Set version to "+strings.TrimSpace(content), map[string]string{"VERSION": content})
}

// Tag creates a lightweight tag, or an annotated one when msg is not empty,
// at rev (HEAD when empty).
func (r *Repo) Tag(name, msg, rev string) *Repo {
	if rev == "" {
		rev = "HEAD"
	}
	if msg == "" {
		r.Git("tag", name, rev)
	} else {
		r.clock = r.clock.Add(time.Second)
		r.Git("tag", "-a", name, "-m", msg, rev)
	}
	return r
}

// Checkout switches branch, creating it at start when start is not empty.
func (r *Repo) Checkout(branch, start string) *Repo {
	if start != "" {
		r.Git("checkout", "-q", "-b", branch, start)
	} else {
		r.Git("checkout", "-q", branch)
	}
	return r
}

// Merge merges branch into the current one with a merge commit.
func (r *Repo) Merge(branch, msg string) string {
	r.clock = r.clock.Add(time.Minute)
	r.Git("merge", "-q", "--no-ff", "-m", msg, branch)
	return r.Head()
}

// Head returns the current commit hash.
func (r *Repo) Head() string {
	if r.err != nil {
		return ""
	}
	// Reading the loose ref saves a git run per commit; anything unusual
	// (detached HEAD, packed refs) goes to rev-parse.
	if head, err := os.ReadFile(filepath.Join(r.Dir, ".git", "HEAD")); err == nil {
		if ref, ok := strings.CutPrefix(strings.TrimSpace(string(head)), "ref: refs/heads/"); ok {
			if h, err := os.ReadFile(filepath.Join(r.Dir, ".git", "refs", "heads", filepath.FromSlash(ref))); err == nil {
				if s := strings.TrimSpace(string(h)); len(s) == 40 {
					return s
				}
			}
		}
	}
	return r.Git("rev-parse", "HEAD")
}

// CherryPick applies commit rev onto the current branch with `git
// cherry-pick -x` (the way release steps port fixes) and returns the new
// commit.
func (r *Repo) CherryPick(rev string) string {
	r.clock = r.clock.Add(time.Minute)
	r.Git("cherry-pick", "-x", rev)
	return r.Head()
}

// Revert commits the revert of rev with git's default message.
func (r *Repo) Revert(rev string) string {
	r.clock = r.clock.Add(time.Minute)
	r.Git("revert", "--no-edit", rev)
	return r.Head()
}

// Branch returns the current branch name.
func (r *Repo) Branch() string { return r.Git("symbolic-ref", "--short", "HEAD") }

// Push pushes the current branch (and any tags given) to origin.
func (r *Repo) Push(tags ...string) *Repo {
	args := []string{"push", "-q", "origin", "HEAD"}
	for _, t := range tags {
		args = append(args, "refs/tags/"+t)
	}
	r.Git(args...)
	return r
}

// AddBareRemote creates a bare repository at bareDir holding every branch
// and tag (its HEAD the current branch), sets it as remote "origin", makes
// every branch track its origin counterpart and sets origin/HEAD: the state
// a push of everything leaves. It copies objects (hard links) and refs
// itself: `git push` to a local bare repo costs ~100-200 ms a repo, most
// of a whole fixture's build.
func (r *Repo) AddBareRemote(bareDir string) *Repo {
	if r.err != nil {
		return r
	}
	if r.err = os.MkdirAll(filepath.Dir(bareDir), 0o755); r.err != nil {
		return r
	}
	branch := r.Branch()
	if r.err != nil {
		return r
	}
	if _, err := gitx.GitEnv(r.ctx, filepath.Dir(bareDir), r.env(), nil, "init", "-q", "--template=", "--bare", "-b", branch, bareDir); err != nil {
		r.err = fmt.Errorf("creating bare remote %s: %w", bareDir, err)
		return r
	}
	// One pack instead of hundreds of loose objects in as many directories:
	// on a busy disk, creating those directories costs more than repacking.
	r.Git("repack", "-a", "-d", "-q")
	gitDir := filepath.Join(r.Dir, ".git")
	if err := linkTree(filepath.Join(gitDir, "objects"), filepath.Join(bareDir, "objects")); err != nil {
		r.err = fmt.Errorf("copying objects to %s: %w", bareDir, err)
		return r
	}
	refs, err := r.refs()
	if err != nil {
		r.err = err
		return r
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "[remote \"origin\"]\n\turl = %s\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n", bareDir)
	writes := map[string]string{filepath.Join(gitDir, "refs", "remotes", "origin", "HEAD"): "ref: refs/remotes/origin/" + branch + "\n"}
	for _, ref := range refs {
		writes[filepath.Join(bareDir, filepath.FromSlash(ref.name))] = ref.hash + "\n"
		if b, ok := strings.CutPrefix(ref.name, "refs/heads/"); ok {
			writes[filepath.Join(gitDir, "refs", "remotes", "origin", filepath.FromSlash(b))] = ref.hash + "\n"
			fmt.Fprintf(&conf, "[branch %q]\n\tremote = origin\n\tmerge = %s\n", b, ref.name)
		}
	}
	if r.err = writeFiles(writes); r.err != nil {
		return r
	}
	r.err = appendFile(filepath.Join(gitDir, "config"), conf.String())
	return r
}

type ref struct{ name, hash string }

// refs lists the repo's branches and tags (loose and packed) with the hash
// each names.
func (r *Repo) refs() ([]ref, error) {
	gitDir := filepath.Join(r.Dir, ".git")
	seen := map[string]bool{}
	var out []ref
	for _, top := range []string{"refs/heads", "refs/tags"} {
		root := filepath.Join(gitDir, filepath.FromSlash(top))
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(gitDir, p)
			name := filepath.ToSlash(rel)
			seen[name] = true
			out = append(out, ref{name, strings.TrimSpace(string(data))})
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	packed, err := os.ReadFile(filepath.Join(gitDir, "packed-refs"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, line := range strings.Split(string(packed), "\n") {
		hash, name, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "^") || seen[name] {
			continue
		}
		if strings.HasPrefix(name, "refs/heads/") || strings.HasPrefix(name, "refs/tags/") {
			out = append(out, ref{name, hash})
		}
	}
	for _, rf := range out {
		if len(rf.hash) != 40 {
			return nil, fmt.Errorf("%s: ref %s holds %q, expected a hash", r.Dir, rf.name, rf.hash)
		}
	}
	return out, nil
}

// linkTree hard-links (or copies, across devices) every file under src to
// the same place under dst. Git objects never change once written, so
// sharing them is what a local `git clone` does too.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if _, err := os.Lstat(target); err == nil {
			return nil
		}
		if err := os.Link(p, target); err == nil {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o444)
	})
}

func appendFile(name, text string) error {
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
