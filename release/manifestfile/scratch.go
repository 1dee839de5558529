package manifestfile

import (
	"context"
	"fmt"
	"os"
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
	sc     *gitx.Scratch
}

// NewScratch checks out rev of the repository at repoDir in a new detached
// worktree in a relkit-owned temp dir (see gitx.AddScratch, which also
// removes what killed runs left). Close removes it.
func NewScratch(ctx context.Context, repoDir, rev string) (*Scratch, error) {
	out, err := gitx.Git(ctx, repoDir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("%s: %q names no commit: %w", repoDir, rev, err)
	}
	commit := strings.TrimSpace(out)
	// A plain add runs no hook but post-checkout, which -c
	// core.hooksPath=/dev/null stops.
	sc, err := gitx.AddScratch(ctx, repoDir, commit, "wt", "-c", "core.hooksPath="+os.DevNull)
	if err != nil {
		return nil, err
	}
	return &Scratch{Dir: sc.Dir, Repo: repoDir, Commit: commit, sc: sc}, nil
}

// Close removes the worktree and its administrative files, even when the
// run was cancelled.
func (s *Scratch) Close() error {
	if s == nil || s.sc == nil {
		return nil
	}
	err := s.sc.Remove(context.Background())
	s.sc = nil
	return err
}
