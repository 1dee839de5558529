package gitx

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/relkit/relkit/release/repofs"
)

// NoHooks keeps the repo's hooks out of relkit's scratch work: a
// post-checkout or commit-msg hook must not change what the plan shows.
var NoHooks = []string{"-c", "core.hooksPath=" + os.DevNull}

// Worktree is a scratch worktree of a repository: relkit reads, picks
// and commits there, so the user's checkout (its branch, index and files)
// is never touched, and no ref moves until a plan moves it. It is the one
// scratch worktree of relkit (release/cherry picks in it, release:manifest
// and release:status read and commit in it).
type Worktree struct {
	// Repo is the checkout (or bare repository) the worktree belongs to.
	Repo string
	// Dir is the scratch worktree.
	Dir string
	// Start is the commit the worktree was added at.
	Start string
	// Ident makes relkit's commits (empty: the repo's git config);
	// cherry-picks keep their original author.
	Ident   Ident
	scratch *Scratch
}

// AddWorktree adds a scratch worktree of repo detached at commit (a full
// hash or any revision), in a relkit-owned temp dir (see AddScratch, which
// also removes what killed runs left). Close it with Remove.
func AddWorktree(ctx context.Context, repo, commit string, ident Ident) (*Worktree, error) {
	sc, err := AddScratch(ctx, repo, commit, filepath.Base(repo), NoHooks...)
	return onScratch(ctx, repo, ident, sc, err)
}

// AddIsolatedWorktree is AddWorktree for a run that writes nothing into
// repo (a dry run, a read): the scratch is a repository of its own that
// borrows repo's objects (see AddIsolatedScratch), so the commits and
// picks a dry run makes to show its plan leave no object, lock or
// worktree record in repo.
func AddIsolatedWorktree(ctx context.Context, repo, commit string, ident Ident) (*Worktree, error) {
	sc, err := AddIsolatedScratch(ctx, repo, commit, filepath.Base(repo))
	return onScratch(ctx, repo, ident, sc, err)
}

// onScratch is the worktree of repo in scratch sc (err: making sc
// failed), started at its head; on failure the scratch is removed.
func onScratch(ctx context.Context, repo string, ident Ident, sc *Scratch, err error) (*Worktree, error) {
	if err != nil {
		return nil, err
	}
	w := &Worktree{Repo: repo, Dir: sc.Dir, Ident: ident, scratch: sc}
	head, err := w.Head(ctx)
	if err != nil {
		w.Remove(ctx)
		return nil, err
	}
	w.Start = head
	return w, nil
}

// Remove deletes the worktree and its administrative files; it runs even
// when ctx is already cancelled.
func (w *Worktree) Remove(ctx context.Context) error {
	if w == nil || w.scratch == nil {
		return nil
	}
	err := w.scratch.Remove(ctx)
	w.scratch = nil
	return err
}

// Head is the worktree's current commit.
func (w *Worktree) Head(ctx context.Context) (string, error) {
	out, err := Git(ctx, w.Dir, "rev-parse", "--verify", "HEAD^{commit}")
	return strings.TrimSpace(out), err
}

// Git runs git in the worktree with hooks disabled and relkit's identity
// as author and committer.
func (w *Worktree) Git(ctx context.Context, stdin []byte, args ...string) (string, error) {
	return GitEnv(ctx, w.Dir, w.Ident.Env(), stdin, append(NoHooks, args...)...)
}

// ReadFile reads a worktree file (a slash-separated repo path) through
// repofs: a symlink leading out of the repo, a FIFO or a file over
// repofs.MaxFile is refused (see repofs.Refused).
func (w *Worktree) ReadFile(path string) ([]byte, error) {
	return repofs.Read(w.Dir, path, repofs.MaxFile)
}

// Commit writes files (repo path -> content) and commits them with msg; it
// returns the new commit. Nothing is committed (and "" returned) when the
// files already hold that content.
func (w *Worktree) Commit(ctx context.Context, msg string, files map[string][]byte) (string, error) {
	var paths []string
	for p, data := range files {
		// A committed symlink at p (or above it) is refused: the write
		// would land wherever it points, even during a dry run.
		if err := repofs.Write(w.Dir, p, data, 0o644); err != nil {
			return "", err
		}
		paths = append(paths, p)
	}
	env := append(w.Ident.Env(), "GIT_LITERAL_PATHSPECS=1")
	if _, err := GitEnv(ctx, w.Dir, env, nil, append(NoHooks, append([]string{"add", "--"}, paths...)...)...); err != nil {
		return "", err
	}
	if _, err := Git(ctx, w.Dir, "diff", "--cached", "--quiet"); err == nil {
		return "", nil
	}
	if _, err := w.Git(ctx, []byte(msg), "commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", "-"); err != nil {
		return "", err
	}
	return w.Head(ctx)
}
