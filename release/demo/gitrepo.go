package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// Epoch is the date of the first commit of every built repository.
var Epoch = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)

// NewRepo runs git init in dir (created if needed) on branch main.
func NewRepo(ctx context.Context, dir, branch string) (*Repo, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir, ctx: ctx, clock: Epoch}
	r.Git("init", "-q", "-b", branch)
	r.Git("config", "user.name", "Demo Developer")
	r.Git("config", "user.email", "dev@example.org")
	r.Git("config", "commit.gpgsign", "false")
	r.Git("config", "tag.gpgsign", "false")
	return r, r.err
}

// Err is the first error any builder call met; after it every call is a
// no-op, so a fixture can be written as a straight script and checked once.
func (r *Repo) Err() error { return r.err }

func (r *Repo) env() []string {
	d := r.clock.Format(time.RFC3339)
	return []string{"GIT_AUTHOR_DATE=" + d, "GIT_COMMITTER_DATE=" + d,
		"GIT_AUTHOR_NAME=Demo Developer", "GIT_AUTHOR_EMAIL=dev@example.org",
		"GIT_COMMITTER_NAME=Demo Developer", "GIT_COMMITTER_EMAIL=dev@example.org"}
}

// Git runs a git command in the repo and returns its trimmed output.
func (r *Repo) Git(args ...string) string {
	if r.err != nil {
		return ""
	}
	out, err := gitx.GitEnv(r.ctx, r.Dir, r.env(), nil, args...)
	if err != nil {
		r.err = err
	}
	return strings.TrimSpace(out)
}

// Write writes files (path -> content) into the worktree.
func (r *Repo) Write(files map[string]string) *Repo {
	for name, content := range files {
		if r.err != nil {
			return r
		}
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.err = err
			return r
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.err = err
		}
	}
	return r
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
	return r.Git("rev-parse", "HEAD")
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
	return r.Git("rev-parse", "HEAD")
}

// Head returns the current commit hash.
func (r *Repo) Head() string { return r.Git("rev-parse", "HEAD") }

// AddBareRemote creates a bare clone at bareDir, sets it as remote "origin"
// and pushes every branch and tag to it.
func (r *Repo) AddBareRemote(bareDir string) *Repo {
	if r.err != nil {
		return r
	}
	if err := os.MkdirAll(filepath.Dir(bareDir), 0o755); err != nil {
		r.err = err
		return r
	}
	if _, err := gitx.Git(r.ctx, filepath.Dir(bareDir), "init", "-q", "--bare", bareDir); err != nil {
		r.err = err
		return r
	}
	r.Git("remote", "add", "origin", bareDir)
	r.Git("push", "-q", "origin", "--all")
	r.Git("push", "-q", "origin", "--tags")
	branch := r.Git("symbolic-ref", "--short", "HEAD")
	r.Git("branch", "-q", "--set-upstream-to=origin/"+branch)
	if _, err := gitx.Git(r.ctx, bareDir, "symbolic-ref", "HEAD", "refs/heads/"+branch); err != nil && r.err == nil {
		r.err = fmt.Errorf("setting HEAD of %s: %w", bareDir, err)
	}
	return r
}
