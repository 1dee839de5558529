package manifest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/relkit/relkit/release/gitx"
)

// Scratch is a temporary detached worktree of a repository: relkit reads
// and commits there, so the user's checkout (its branch, index and files)
// is never touched.
type Scratch struct {
	// Dir is the worktree; Repo the repository it belongs to.
	Dir, Repo string
	// Commit is the commit checked out.
	Commit string
	tmp    string
}

// NewScratch checks out rev of the repository at repoDir in a new detached
// worktree under the system temp dir. Close removes it.
func NewScratch(ctx context.Context, repoDir, rev string) (*Scratch, error) {
	out, err := gitx.Git(ctx, repoDir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("%s: %q names no commit: %w", repoDir, rev, err)
	}
	commit := strings.TrimSpace(out)
	tmp, err := os.MkdirTemp("", "relkit-scratch-")
	if err != nil {
		return nil, err
	}
	s := &Scratch{Dir: filepath.Join(tmp, "wt"), Repo: repoDir, Commit: commit, tmp: tmp}
	// --no-checkout then a read-tree would skip hooks too; a plain add runs
	// no hook but post-checkout, which -c core.hooksPath=/dev/null stops.
	if _, err := gitx.Git(ctx, repoDir, "-c", "core.hooksPath="+os.DevNull, "worktree", "add", "--detach", "--quiet", s.Dir, commit); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("%s: creating a scratch worktree at %s: %w", repoDir, commit, err)
	}
	return s, nil
}

// Close removes the worktree and its administrative files. It uses a
// fresh context so that a cancelled run still cleans up.
func (s *Scratch) Close() error {
	if s == nil || s.tmp == "" {
		return nil
	}
	ctx := context.Background()
	_, err := gitx.Git(ctx, s.Repo, "worktree", "remove", "--force", s.Dir)
	if rmErr := os.RemoveAll(s.tmp); err == nil {
		err = rmErr
	}
	if err != nil {
		// The directory is gone either way; prune drops git's record of it.
		_, perr := gitx.Git(ctx, s.Repo, "worktree", "prune")
		err = errors.Join(err, perr)
	}
	s.tmp = ""
	return err
}
