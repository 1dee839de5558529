package gitx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// inProgress are the operations git leaves half done in a checkout's git
// directory, by the file that marks each and the way out.
var inProgress = []struct{ file, what, out string }{
	{"rebase-merge", "a rebase", "git rebase --continue or git rebase --abort"},
	{"rebase-apply/applying", "a git am", "git am --continue or git am --abort"},
	{"rebase-apply", "a rebase", "git rebase --continue or git rebase --abort"},
	{"MERGE_HEAD", "a merge", "git merge --continue or git merge --abort"},
	{"CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --continue or git cherry-pick --abort"},
	{"REVERT_HEAD", "a revert", "git revert --continue or git revert --abort"},
	{"sequencer", "a cherry-pick or revert of several commits", "git cherry-pick --continue (or --abort), or git revert --continue (or --abort)"},
	{"BISECT_LOG", "a bisect", "git bisect reset"},
}

// WriteProblems lists what would make relkit's writes into the repository
// at dir fail half way or go wrong, each with the way out: a checkout in
// the middle of a merge, rebase, cherry-pick, revert, am or bisect (relkit
// read HEAD and the branches in a state the person has not finished); an
// index.lock (a git command running, or one that crashed and left it); a
// git directory relkit cannot write; and relkit's own lock held by a live
// run. It writes nothing: writability is asked of the kernel
// (access(2)), which also sees read-only mounts and immutable
// directories.
func WriteProblems(dir string) ([]string, error) {
	gitDir, common, err := GitDirs(dir)
	if err != nil {
		return nil, err
	}
	var probs []string
	for _, op := range inProgress {
		if _, err := os.Lstat(filepath.Join(gitDir, op.file)); err == nil {
			probs = append(probs, fmt.Sprintf("the checkout is in the middle of %s (%s exists); finish it first: %s",
				op.what, filepath.Join(gitDir, op.file), op.out))
			break
		}
	}
	lock := filepath.Join(gitDir, "index.lock")
	if _, err := os.Lstat(lock); err == nil {
		probs = append(probs, fmt.Sprintf("%s exists: a git command is running in this checkout, or one was killed and left it; if no git command is running here, remove it (rm %s)", lock, lock))
	}
	// The places relkit's steps write: the checkout's own git dir (HEAD,
	// index), refs, objects and the common dir (packed-refs, its lock).
	seen := map[string]bool{}
	for _, d := range []string{gitDir, common, filepath.Join(common, "refs"), filepath.Join(common, "refs", "heads"), filepath.Join(common, "refs", "tags"), filepath.Join(common, "objects")} {
		if seen[d] {
			continue
		}
		seen[d] = true
		if err := writable(d); err != nil {
			probs = append(probs, fmt.Sprintf("%s is not writable (%v); relkit needs to write the repo's refs and objects: fix its permissions or mount, or run from a clone you can write", d, err))
			break
		}
	}
	if holder, ok, err := HeldBy(dir); err == nil && ok {
		// Held by this process (another goroutine's run) or by a live one.
		if _, mine := held.Load(filepath.Join(common, LockName)); mine || !holder.Gone() {
			probs = append(probs, fmt.Sprintf("another relkit run is writing here: %s is held by %s; wait for it to end and run again", filepath.Join(common, LockName), holder))
		}
	}
	return probs, nil
}

// writable asks the kernel whether this process may create files in dir;
// a missing directory (refs/tags in a new repo) is created by git and
// counts as writable when its parent is.
func writable(dir string) error {
	const wOK = 0x2
	err := syscall.Access(dir, wOK)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
