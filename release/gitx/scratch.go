package gitx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Scratch worktrees are relkit's own: each lives in a temp dir named
// ScratchPrefix* that holds a marker file (ScratchMarker) naming the
// process that owns it and the repository it belongs to. A run killed
// before it removed its scratch worktrees leaves them behind; the next
// run that adds one removes every such leftover of a process that is
// gone, and nothing else (not even git's record of a worktree relkit did
// not make, as a blanket `git worktree prune` would).
const (
	ScratchPrefix = "relkit-scratch-"
	ScratchMarker = ".relkit-scratch"
	// legacyScratchPrefix is where earlier relkit versions put scratch
	// worktrees, without a marker.
	legacyScratchPrefix = "relkit-wt-"
)

// scratchLockWait bounds how long adding or removing a scratch worktree
// waits for another relkit run that is writing into the same repo.
const scratchLockWait = 10 * time.Second

// live lists the scratch roots this process made and has not removed.
var live sync.Map

// sweptOnce is set once this process has looked through the temp dir.
var sweptOnce atomic.Bool

// scratchMark is the content of a scratch root's marker.
type scratchMark struct {
	Owner
	// Repo is the repository the worktree belongs to.
	Repo string `json:"repo"`
}

// Scratch is a detached scratch worktree in a relkit-owned temp dir.
type Scratch struct {
	// Repo is the repository, Dir the worktree, Root the temp dir that
	// holds it and the marker.
	Repo, Dir, Root string
	// Pruned lists the leftovers of earlier runs removed on the way.
	Pruned []string
	// isolated is set for a scratch repository of AddIsolatedScratch:
	// nothing of it is recorded in Repo.
	isolated bool
}

// AddIsolatedScratch is AddScratch for a run that must not write into
// repo at all (a dry run, a read): Dir is a repository of its own in a
// relkit-owned temp dir, detached at commit. It reads repo's objects
// (objects/info/alternates) and writes new ones into the dry-run object
// store of repo (see DryObjects), shared by every isolated scratch of repo
// until ForgetDryObjects, so a dry run's later steps see the commits an
// earlier scratch made. Repo gets no worktree record, no lock file and no
// object. Refs of repo are not visible in Dir; work there names commits
// by hash.
func AddIsolatedScratch(ctx context.Context, repo, commit, name string) (*Scratch, error) {
	store, err := DryObjects(ctx, repo)
	if err != nil {
		return nil, err
	}
	full, err := Git(ctx, repo, "rev-parse", "--verify", "--end-of-options", commit+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("%s: %s names no commit: %w", repo, commit, err)
	}
	full = strings.TrimSpace(full)
	root, err := os.MkdirTemp("", ScratchPrefix+"*")
	if err != nil {
		return nil, err
	}
	live.Store(root, true)
	abs, _ := filepath.Abs(repo)
	s := &Scratch{Repo: repo, Dir: filepath.Join(root, name), Root: root, isolated: true}
	fail := func(err error) (*Scratch, error) {
		os.RemoveAll(root)
		live.Delete(root)
		return nil, fmt.Errorf("%s: making a scratch repository at %s: %w", repo, Short(full), err)
	}
	if err := writeMarker(root, "scratch repository at "+Short(full), abs); err != nil {
		return fail(err)
	}
	if _, err := Git(ctx, root, "init", "--quiet", "--template=", s.Dir); err != nil {
		return fail(err)
	}
	gitDir := filepath.Join(s.Dir, ".git")
	// The scratch's objects are the store: what it writes, the next
	// scratch (and repo's own reads during the dry run) can see.
	if err := os.RemoveAll(filepath.Join(gitDir, "objects")); err != nil {
		return fail(err)
	}
	if err := os.Symlink(store.dir, filepath.Join(gitDir, "objects")); err != nil {
		return fail(err)
	}
	// A shallow repo's boundary, so history reads stop where repo's do.
	if data, err := os.ReadFile(filepath.Join(store.common, "shallow")); err == nil {
		if err := os.WriteFile(filepath.Join(gitDir, "shallow"), data, 0o644); err != nil {
			return fail(err)
		}
	}
	// The identity repo's own config gives (user.name and user.email set
	// only in repo), for commits made without an Ident.
	for _, key := range []string{"user.name", "user.email"} {
		if v, err := Git(ctx, repo, "config", "--get", key); err == nil && strings.TrimSpace(v) != "" {
			if _, err := Git(ctx, s.Dir, "config", key, strings.TrimSpace(v)); err != nil {
				return fail(err)
			}
		}
	}
	if _, err := Git(ctx, s.Dir, append(NoHooks, "checkout", "--quiet", "--detach", full)...); err != nil {
		return fail(err)
	}
	return s, nil
}

// writeMarker writes a scratch root's marker: the owner process and the
// repository it belongs to.
func writeMarker(root, what, repo string) error {
	mark, err := json.Marshal(scratchMark{Owner: self(what), Repo: repo})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, ScratchMarker), append(mark, '\n'), 0o644)
}

// dryStore is the dry-run object store of one repository.
type dryStore struct {
	root   string // the relkit-owned temp dir
	dir    string // root/objects, with info/alternates naming repo's objects
	common string // repo's common git dir
}

// dryStores maps a repository path (absolute, cleaned) to its *dryStore.
var dryStores sync.Map

// dryMu serialises making and forgetting stores.
var dryMu sync.Mutex

// DryObjects returns the dry-run object store of repo, made on first use:
// an object directory in a relkit-owned temp dir that borrows repo's
// objects. While it exists, every git command relkit runs in repo also
// reads it (GIT_ALTERNATE_OBJECT_DIRECTORIES), so a dry run can ask repo
// about the commits its scratch repositories made (is the remote branch
// an ancestor of the result?) without writing them into repo. A real run
// must not start while a store exists for its repo (an object found in the
// store would not be written into repo): plan.Execute and plan.RunWith
// call ForgetDryObjects when a dry run ends.
func DryObjects(ctx context.Context, repo string) (*dryStore, error) {
	key := storeKey(repo)
	if v, ok := dryStores.Load(key); ok {
		return v.(*dryStore), nil
	}
	dryMu.Lock()
	defer dryMu.Unlock()
	if v, ok := dryStores.Load(key); ok {
		return v.(*dryStore), nil
	}
	common, err := Git(ctx, repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
	if err != nil {
		return nil, err
	}
	st := &dryStore{common: strings.TrimSpace(common)}
	if st.root, err = os.MkdirTemp("", ScratchPrefix+"*"); err != nil {
		return nil, err
	}
	live.Store(st.root, true)
	st.dir = filepath.Join(st.root, "objects")
	err = writeMarker(st.root, "dry-run objects", key)
	if err == nil {
		err = os.MkdirAll(filepath.Join(st.dir, "info"), 0o755)
	}
	if err == nil {
		err = os.MkdirAll(filepath.Join(st.dir, "pack"), 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(st.dir, "info", "alternates"), []byte(filepath.Join(st.common, "objects")+"\n"), 0o644)
	}
	if err != nil {
		os.RemoveAll(st.root)
		live.Delete(st.root)
		return nil, err
	}
	dryStores.Store(key, st)
	return st, nil
}

// ForgetDryObjects removes the dry-run object stores of the repositories
// dirs: the dry run they served is over. Other repositories' stores stay,
// so runs on other repos in the same process (tests in parallel) are not
// disturbed.
func ForgetDryObjects(dirs ...string) {
	dryMu.Lock()
	defer dryMu.Unlock()
	forget := func(k, v any) bool {
		st := v.(*dryStore)
		os.RemoveAll(st.root)
		live.Delete(st.root)
		dryStores.Delete(k)
		return true
	}
	for _, d := range dirs {
		if v, ok := dryStores.Load(storeKey(d)); ok {
			forget(storeKey(d), v)
		}
	}
}

// dryAlternates is the GIT_ALTERNATE_OBJECT_DIRECTORIES setting for a git
// command run in dir while a dry-run store of dir exists ("" otherwise).
func dryAlternates(dir string) string {
	if v, ok := dryStores.Load(storeKey(dir)); ok {
		return "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + v.(*dryStore).dir
	}
	return ""
}

func storeKey(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	return abs
}

// AddScratch adds a worktree of the repository at repo, detached at
// commit, as Root/name in a new relkit-owned temp dir, after removing the
// leftovers of killed runs. extra are git options (-c ...) for the add.
// It takes the repo's relkit lock (waiting a little for another run) so
// it does not add to a repo another relkit run is writing into.
func AddScratch(ctx context.Context, repo, commit, name string, extra ...string) (*Scratch, error) {
	abs, err := filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	lock, err := LockRepo(ctx, repo, LockOptions{Command: "adding a scratch worktree", Wait: scratchLockWait})
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	pruned := PruneScratch(ctx, repo)
	root, err := os.MkdirTemp("", ScratchPrefix+"*")
	if err != nil {
		return nil, err
	}
	live.Store(root, true)
	s := &Scratch{Repo: repo, Dir: filepath.Join(root, name), Root: root, Pruned: pruned}
	mark, err := json.Marshal(scratchMark{Owner: self("scratch worktree at " + Short(commit)), Repo: abs})
	if err == nil {
		err = os.WriteFile(filepath.Join(root, ScratchMarker), append(mark, '\n'), 0o644)
	}
	if err == nil {
		args := append(append([]string{}, extra...), "worktree", "add", "--quiet", "--detach", s.Dir, commit)
		_, err = Git(ctx, repo, args...)
	}
	if err != nil {
		os.RemoveAll(root)
		live.Delete(root)
		return nil, fmt.Errorf("%s: adding a scratch worktree at %s: %w", repo, Short(commit), err)
	}
	return s, nil
}

// Remove deletes the worktree, git's record of it and its temp dir. It
// runs even when ctx is cancelled. When another run holds the repo's lock
// for longer than a short wait, only the temp dir goes: git's record of a
// worktree whose directory is gone is removed by the next AddScratch.
func (s *Scratch) Remove(ctx context.Context) error {
	if s == nil || s.Root == "" {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	if s.isolated {
		err = os.RemoveAll(s.Root)
		live.Delete(s.Root)
		s.Root = ""
		return err
	}
	if lock, lerr := LockRepo(ctx, s.Repo, LockOptions{Command: "removing a scratch worktree", Wait: scratchLockWait}); lerr == nil {
		_, err = Git(ctx, s.Repo, "worktree", "remove", "--force", "--force", s.Dir)
		lock.Release()
	}
	if rmErr := os.RemoveAll(s.Root); err == nil {
		err = rmErr
	}
	live.Delete(s.Root)
	s.Root = ""
	return err
}

// PruneScratch removes what killed relkit runs left: in the repository at
// repo, git's record of every relkit scratch worktree whose directory is
// gone or whose owner process is gone; in the temp dir, every relkit
// scratch root of this user whose owner is gone (with git's record of it
// in the repository its marker names, when that repo lists it). It
// returns what it removed; failures are left for the next run.
func PruneScratch(ctx context.Context, repo string) []string {
	var pruned []string
	// Git's records in this repo.
	if out, err := Git(ctx, repo, "worktree", "list", "--porcelain"); err == nil {
		for _, line := range strings.Split(out, "\n") {
			wt, ok := strings.CutPrefix(line, "worktree ")
			if !ok || !stale(filepath.Dir(wt)) {
				continue
			}
			if _, err := Git(ctx, repo, "worktree", "remove", "--force", "--force", wt); err == nil {
				pruned = append(pruned, wt)
			}
			removeRoot(filepath.Dir(wt))
		}
	}
	// Leftover roots in the temp dir, whichever repo they belong to: once
	// per process, as the temp dir of a CI machine can be large.
	if !sweptOnce.CompareAndSwap(false, true) {
		return pruned
	}
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return pruned
	}
	for i, e := range entries {
		if i >= 100_000 {
			break
		}
		if !strings.HasPrefix(e.Name(), ScratchPrefix) {
			continue
		}
		root := filepath.Join(os.TempDir(), e.Name())
		mark, ok := readMark(root)
		if !ok || !stale(root) {
			continue
		}
		if mark.Repo != "" {
			if out, err := Git(ctx, mark.Repo, "worktree", "list", "--porcelain"); err == nil {
				for _, line := range strings.Split(out, "\n") {
					if wt, ok := strings.CutPrefix(line, "worktree "); ok && filepath.Dir(wt) == root {
						Git(ctx, mark.Repo, "worktree", "remove", "--force", "--force", wt)
					}
				}
			}
		}
		if removeRoot(root) {
			pruned = append(pruned, root)
		}
	}
	return pruned
}

// stale reports whether root is a relkit scratch root left by a run that
// is gone: named like one, not this process's, and either missing or
// holding a marker whose owner is gone.
func stale(root string) bool {
	base := filepath.Base(root)
	if !strings.HasPrefix(base, ScratchPrefix) && !strings.HasPrefix(base, legacyScratchPrefix) {
		return false
	}
	if _, mine := live.Load(root); mine {
		return false
	}
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return true
	}
	mark, ok := readMark(root)
	return ok && mark.Gone()
}

// readMark reads a scratch root's marker, only from a real directory and
// a small regular file owned by this user (the temp dir is shared).
func readMark(root string) (scratchMark, bool) {
	var m scratchMark
	if !ownDir(root) {
		return m, false
	}
	p := filepath.Join(root, ScratchMarker)
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 4096 || !ownedByMe(st) {
		return m, false
	}
	data, err := os.ReadFile(p)
	if err != nil || json.Unmarshal(data, &m) != nil || m.PID <= 0 {
		return m, false
	}
	return m, true
}

// removeRoot deletes a stale scratch root if it is a directory of this
// user; RemoveAll does not follow symlinks inside it.
func removeRoot(root string) bool {
	if !ownDir(root) {
		return false
	}
	return os.RemoveAll(root) == nil
}

func ownDir(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir() && ownedByMe(st)
}

func ownedByMe(st fs.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Getuid()
}
