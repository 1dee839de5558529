package gitx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// GitDirs returns the git directory of the checkout (or bare repository)
// at dir, which holds its HEAD, index and in-progress operations, and the
// common directory, which holds refs, objects and the shallow list (the
// same directory except in a linked worktree).
func GitDirs(dir string) (gitDir, commonDir string, err error) {
	gitDir, err = findGitDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("%s: not a readable git repository: %w", dir, err)
	}
	commonDir = gitDir
	if data, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		commonDir = strings.TrimSpace(string(data))
		if !filepath.IsAbs(commonDir) {
			commonDir = filepath.Join(gitDir, commonDir)
		}
	}
	return gitDir, filepath.Clean(commonDir), nil
}

// IsShallow reports whether the repository at dir is a shallow clone (what
// `git rev-parse --is-shallow-repository` says: its common directory holds
// a shallow file), whose history is cut off at the commits it lists.
func IsShallow(dir string) (bool, error) {
	_, common, err := GitDirs(dir)
	if err != nil {
		return false, err
	}
	_, err = os.Lstat(filepath.Join(common, "shallow"))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, err
}

// ShallowError is a repository whose history is cut off (a shallow clone,
// as CI checks out with --depth 1), so nothing that depends on history can
// be decided there: which commit set VERSION, whether a tag exists, what a
// branch descends from.
type ShallowError struct {
	// Name is the repo's name in the workspace, Dir its checkout.
	Name, Dir string
	// Why says why the history could not be completed, when relkit tried.
	Why string
}

func (e *ShallowError) Error() string {
	name := e.Name
	if name == "" {
		name = e.Dir
	}
	msg := fmt.Sprintf("%s is a shallow clone; run git fetch --unshallow in %s", name, e.Dir)
	if e.Why != "" {
		msg += " (" + e.Why + ")"
	}
	return msg
}

// ExitCode is 3: could not decide.
func (e *ShallowError) ExitCode() int { return 3 }

// NeedHistory is the one guard every target that reads history runs on a
// repository before it does: nil for a full clone. For a shallow clone it
// fetches the missing history from remote (git fetch --unshallow) when
// remote is not empty, and returns a note saying so; with remote empty (a
// check, a read-only target or a dry run, none of which may write into the
// repo), or when the fetch fails or leaves history cut off, it returns a
// *ShallowError naming the repo and the command to run.
func NeedHistory(ctx context.Context, name, dir, remote string) (note string, err error) {
	shallow, err := IsShallow(dir)
	if err != nil || !shallow {
		return "", err
	}
	if remote == "" {
		return "", &ShallowError{Name: name, Dir: dir}
	}
	// Tags follow the history they point into (the default), so the
	// release tags of the fetched commits arrive too. No gc on the way.
	if _, err := Git(ctx, dir, "-c", "gc.auto=0", "-c", "maintenance.auto=false", "fetch", "--quiet", "--unshallow", "--", remote); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", &ShallowError{Name: name, Dir: dir, Why: "fetching the history from " + remote + " failed: " + err.Error()}
	}
	if shallow, err := IsShallow(dir); err != nil {
		return "", err
	} else if shallow {
		return "", &ShallowError{Name: name, Dir: dir, Why: "git fetch --unshallow " + remote + " left it shallow: " + remote + " does not have the history of every commit here"}
	}
	return fmt.Sprintf("the checkout was a shallow clone; fetched its full history from %s (git fetch --unshallow %s)", remote, remote), nil
}
