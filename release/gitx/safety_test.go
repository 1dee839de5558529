package gitx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// gitT runs git in dir for a test.
func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env(cmd.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.org")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v in %s: %v\n%s", args, dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// newRepo makes a repo with a few commits on master, a bare remote
// holding them and the release tag 1.0.0 on the commit that set VERSION.
func newRepo(t *testing.T) (dir, remote string) {
	t.Helper()
	root := t.TempDir()
	dir, remote = filepath.Join(root, "repo"), filepath.Join(root, "remote.git")
	gitT(t, root, "init", "-q", "-b", "master", dir)
	for i, v := range []string{"0.9.0-dev", "1.0.0", "", "", "1.1.0-dev"} {
		if v != "" {
			os.WriteFile(filepath.Join(dir, "VERSION"), []byte(v+"\n"), 0o644)
		}
		os.WriteFile(filepath.Join(dir, "f.txt"), []byte(fmt.Sprint(i)), 0o644)
		gitT(t, dir, "add", "-A")
		gitT(t, dir, "commit", "-q", "-m", fmt.Sprintf("commit %d", i))
		if v == "1.0.0" {
			gitT(t, dir, "tag", "-a", "-m", "1.0.0", "1.0.0")
		}
	}
	gitT(t, root, "clone", "-q", "--bare", dir, remote)
	gitT(t, dir, "remote", "add", "origin", remote)
	gitT(t, dir, "fetch", "-q", "origin")
	return dir, remote
}

func TestShallowCloneIsDetectedAndDeepened(t *testing.T) {
	t.Parallel()
	full, remote := newRepo(t)
	shallow := filepath.Join(t.TempDir(), "shallow")
	gitT(t, filepath.Dir(shallow), "clone", "-q", "--depth", "1", "file://"+remote, shallow)
	ctx := context.Background()

	if sh, err := IsShallow(full); err != nil || sh {
		t.Fatalf("full clone: shallow=%v err=%v", sh, err)
	}
	if note, err := NeedHistory(ctx, "full", full, "origin"); err != nil || note != "" {
		t.Fatalf("a full clone needs nothing: %q %v", note, err)
	}
	if sh, err := IsShallow(shallow); err != nil || !sh {
		t.Fatalf("--depth 1 clone: shallow=%v err=%v", sh, err)
	}
	// A linked worktree of the shallow clone is shallow too.
	wt := filepath.Join(t.TempDir(), "wt")
	gitT(t, shallow, "worktree", "add", "-q", "--detach", wt)
	if sh, err := IsShallow(wt); err != nil || !sh {
		t.Fatalf("worktree of a shallow clone: shallow=%v err=%v", sh, err)
	}
	gitT(t, shallow, "worktree", "remove", "--force", wt)

	// No remote given (a check, a dry run): could not decide, nothing fetched.
	_, err := NeedHistory(ctx, "comp", shallow, "")
	var se *ShallowError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "comp is a shallow clone; run git fetch --unshallow in "+shallow) {
		t.Fatalf("want a ShallowError naming the repo and the command, got %v", err)
	}
	if gitT(t, shallow, "rev-list", "--count", "HEAD") != "1" {
		t.Fatalf("the history was fetched without a remote given")
	}
	// An unreachable remote: still could not decide, with the reason.
	gitT(t, shallow, "remote", "add", "gone", filepath.Join(t.TempDir(), "missing.git"))
	if _, err := NeedHistory(ctx, "comp", shallow, "gone"); !errors.As(err, &se) || !strings.Contains(err.Error(), "fetching the history from gone failed") {
		t.Fatalf("want a ShallowError saying the fetch failed, got %v", err)
	}
	// A reachable remote: the whole history and its tags arrive.
	note, err := NeedHistory(ctx, "comp", shallow, "origin")
	if err != nil || !strings.Contains(note, "fetched its full history from origin") {
		t.Fatalf("deepening: note %q, err %v", note, err)
	}
	if sh, _ := IsShallow(shallow); sh {
		t.Fatalf("still shallow after deepening")
	}
	if got, want := gitT(t, shallow, "rev-list", "--count", "HEAD"), gitT(t, full, "rev-list", "--count", "HEAD"); got != want {
		t.Errorf("deepened history has %s commits, want %s", got, want)
	}
	if gitT(t, shallow, "tag", "-l", "1.0.0") != "1.0.0" {
		t.Errorf("the release tag of the fetched history did not arrive")
	}
}

// deadOwner returns an Owner of this host whose process has ended.
func deadOwner(t *testing.T) Owner {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	o := self("release:branch 2.1 -push")
	o.PID, o.Start = cmd.Process.Pid, "x/1"
	return o
}

func writeLock(t *testing.T, dir string, o Owner) string {
	t.Helper()
	_, common, err := GitDirs(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(o)
	p := filepath.Join(common, LockName)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLockExcludesAndReleases(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	ctx := context.Background()
	l, err := LockRepo(ctx, dir, LockOptions{Command: "release:tag -push"})
	if err != nil || l.Note != "" {
		t.Fatalf("first lock: %v %q", err, l.Note)
	}
	_, err = LockRepo(ctx, dir, LockOptions{Command: "second"})
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() || !strings.Contains(err.Error(), "relkit.lock") || !strings.Contains(err.Error(), "release:tag -push") {
		t.Fatalf("a second taker in this process: want a LockedError naming the lock, holder and command, got %v", err)
	}
	// A linked worktree shares the lock of its repository.
	wt := filepath.Join(t.TempDir(), "wt")
	gitT(t, dir, "worktree", "add", "-q", "--detach", wt)
	if _, err := LockRepo(ctx, wt, LockOptions{}); !errors.As(err, &le) {
		t.Fatalf("a worktree of a locked repo: want a LockedError, got %v", err)
	}
	if probs, _ := WriteProblems(dir); !strings.Contains(strings.Join(probs, "\n"), "another relkit run is writing here") {
		t.Errorf("a held lock is not a write problem: %v", probs)
	}
	// Waiting: released by the holder meanwhile, the waiter gets it.
	go func() {
		time.Sleep(100 * time.Millisecond)
		l.Release()
	}()
	l2, err := LockRepo(ctx, dir, LockOptions{Wait: 20 * time.Second})
	if err != nil {
		t.Fatalf("waiting for a released lock: %v", err)
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l2.Release(); err != nil {
		t.Fatalf("a second release: %v", err)
	}
	if _, ok, _ := HeldBy(dir); ok {
		t.Errorf("the lock file is still there after release")
	}
}

func TestStaleLockIsTakenOverLiveOneIsNot(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	ctx := context.Background()

	// A dead pid of this host: taken over, with a note.
	p := writeLock(t, dir, deadOwner(t))
	l, err := LockRepo(ctx, dir, LockOptions{Command: "mine"})
	if err != nil || !strings.Contains(l.Note, "took over the stale lock "+p) || !strings.Contains(l.Note, "release:branch 2.1 -push") {
		t.Fatalf("stale lock: err %v, note %q", err, l.Note)
	}
	l.Release()

	// A live process of this host (started at the time recorded): held.
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	live := self("someone else's run")
	live.PID, live.Start = sleeper.Process.Pid, processStart(sleeper.Process.Pid)
	writeLock(t, dir, live)
	var le *LockedError
	if _, err := LockRepo(ctx, dir, LockOptions{}); !errors.As(err, &le) || le.Holder.PID != live.PID {
		t.Fatalf("a live holder: want a LockedError naming pid %d, got %v", live.PID, err)
	}
	// The same pid, but the record says it started at another time: the
	// pid was reused, the holder is gone.
	if live.Start != "" {
		reused := live
		reused.Start = live.Start + "0"
		writeLock(t, dir, reused)
		if l, err := LockRepo(ctx, dir, LockOptions{}); err != nil || l.Note == "" {
			t.Fatalf("a reused pid: want a takeover, got %v", err)
		} else {
			l.Release()
		}
	}
	// Another host: relkit cannot tell, so it never takes over.
	other := deadOwner(t)
	other.Host = "build-agent-7"
	writeLock(t, dir, other)
	if _, err := LockRepo(ctx, dir, LockOptions{}); !errors.As(err, &le) || !strings.Contains(err.Error(), "build-agent-7") {
		t.Fatalf("another host's lock: want a LockedError naming the host, got %v", err)
	}
}

// TestStaleLockRace: many takers find the same stale lock at once; exactly
// one gets the lock, the others are refused, and no lock file is lost.
func TestStaleLockRace(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	for round := range 5 {
		writeLock(t, dir, deadOwner(t))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []*Lock
		refused := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := LockRepo(context.Background(), dir, LockOptions{})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won = append(won, l)
				} else {
					refused++
				}
			}()
		}
		wg.Wait()
		if len(won) != 1 || refused != 7 {
			t.Fatalf("round %d: %d takers got the lock, %d were refused; want 1 and 7", round, len(won), refused)
		}
		if o, ok, err := HeldBy(dir); !ok || err != nil || o.PID != os.Getpid() {
			t.Fatalf("round %d: the winner's lock file is not in place: %+v %v %v", round, o, ok, err)
		}
		won[0].Release()
		matches, _ := filepath.Glob(filepath.Join(dir, ".git", LockName+".stale-*"))
		if len(matches) > 0 {
			t.Fatalf("round %d: takeover left %v", round, matches)
		}
	}
}

// stopOnConflict commits another f.txt on a branch side made from HEAD~2,
// then runs git args on branch on, and fails the test unless git stops
// on the conflict, leaving the operation in progress.
func stopOnConflict(t *testing.T, dir, on string, args ...string) {
	t.Helper()
	gitT(t, dir, "switch", "-q", "-c", "side", "HEAD~2")
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("side"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitT(t, dir, "commit", "-q", "-am", "side")
	gitT(t, dir, "switch", "-q", on)
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env(cmd.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@x")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("git %v did not stop on a conflict: %s", args, out)
	}
}

func TestWriteProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"clean", func(t *testing.T, dir string) {}, ""},
		{"stale index.lock", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, ".git", "index.lock"), nil, 0o644)
		}, "index.lock exists: a git command is running in this checkout, or one was killed and left it"},
		{"merge in progress", func(t *testing.T, dir string) {
			stopOnConflict(t, dir, "master", "merge", "side")
		}, "in the middle of a merge ("},
		{"rebase in progress", func(t *testing.T, dir string) {
			stopOnConflict(t, dir, "side", "rebase", "master")
		}, "in the middle of a rebase ("},
		{"cherry-pick in progress", func(t *testing.T, dir string) {
			stopOnConflict(t, dir, "master", "cherry-pick", "side")
		}, "in the middle of a cherry-pick ("},
		{"bisect in progress", func(t *testing.T, dir string) {
			gitT(t, dir, "bisect", "start", "HEAD", "HEAD~3")
		}, "in the middle of a bisect ("},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := newRepo(t)
			c.setup(t, dir)
			probs, err := WriteProblems(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(probs, "\n")
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("problems %q, want %q", got, c.want)
			}
		})
	}
}

// TestReadOnlyGitDir makes .git/objects unwritable. Root ignores
// permission bits, so when a probe file can still be created the test
// makes the directory immutable (chattr +i, which binds root too); if
// neither takes, it says so and checks only that a writable repo has no
// problem.
func TestReadOnlyGitDir(t *testing.T) {
	t.Parallel()
	dir, _ := newRepo(t)
	objects := filepath.Join(dir, ".git", "objects")
	canWrite := func() bool {
		f, err := os.CreateTemp(objects, "probe-*")
		if err != nil {
			return false
		}
		f.Close()
		os.Remove(f.Name())
		return true
	}
	if err := os.Chmod(objects, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(objects, 0o755) })
	how := "chmod 0555"
	if canWrite() {
		// Running as root: permission bits do not bind.
		if out, err := exec.Command("chattr", "+i", objects).CombinedOutput(); err == nil {
			t.Cleanup(func() { exec.Command("chattr", "-i", objects).Run() })
			how = "chattr +i"
		} else {
			t.Logf("chattr +i: %v %s", err, out)
		}
	}
	if canWrite() {
		if os.Getenv("CI") != "" {
			t.Fatalf("neither chmod nor chattr made %s unwritable to this process (root without CAP_LINUX_IMMUTABLE?)", objects)
		}
		t.Skipf("neither chmod nor chattr made %s unwritable to this process; the read-only case cannot be made here", objects)
	}
	t.Logf("%s made unwritable with %s", objects, how)
	probs, err := WriteProblems(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(probs, "\n"); !strings.Contains(got, objects+" is not writable") {
		t.Errorf("%s: problems %q, want %s named as not writable", how, got, objects)
	}
	// The lock is a real write: it fails with a clear error.
	gitDir := filepath.Join(dir, ".git")
	os.Chmod(gitDir, 0o555)
	if how == "chattr +i" {
		exec.Command("chattr", "+i", gitDir).Run()
		defer exec.Command("chattr", "-i", gitDir).Run()
	}
	defer os.Chmod(gitDir, 0o755)
	if _, err := LockRepo(context.Background(), dir, LockOptions{}); err == nil || !strings.Contains(err.Error(), "cannot write relkit's lock file") {
		t.Errorf("%s on .git: want a clear error from the lock, got %v", how, err)
	}
}

// TestScratchLeftByKilledRunIsPruned: a scratch worktree whose owner
// process was killed is removed by the next AddScratch, git's record of
// it too; a live one, a user's own worktree (even one whose directory is
// gone) and another user's-looking dir are left alone.
func TestScratchLeftByKilledRunIsPruned(t *testing.T) {
	dir, _ := newRepo(t)
	ctx := context.Background()
	head := gitT(t, dir, "rev-parse", "HEAD")

	// A live scratch of this process.
	mine, err := AddScratch(ctx, dir, head, "wt")
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Remove(ctx)

	// Two scratch worktrees made as relkit makes them, then turned into
	// what killed runs leave: one whose marker names a dead process, one
	// whose directory is already gone (git still lists it).
	leftover, err := AddScratch(ctx, dir, head, "wt")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := AddScratch(ctx, dir, head, "wt")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Scratch{leftover, gone} {
		live.Delete(s.Root) // this process no longer knows them
	}
	abs, _ := filepath.Abs(dir)
	data, _ := json.Marshal(scratchMark{Owner: deadOwner(t), Repo: abs})
	os.WriteFile(filepath.Join(leftover.Root, ScratchMarker), data, 0o644)
	os.RemoveAll(gone.Root)

	// A killed run's scratch worktree of another repo: found in the temp
	// dir (once per process), with git's record of it in that repo.
	other, _ := newRepo(t)
	elsewhere, err := AddScratch(ctx, other, gitT(t, other, "rev-parse", "HEAD"), "wt")
	if err != nil {
		t.Fatal(err)
	}
	live.Delete(elsewhere.Root)
	otherAbs, _ := filepath.Abs(other)
	data, _ = json.Marshal(scratchMark{Owner: deadOwner(t), Repo: otherAbs})
	os.WriteFile(filepath.Join(elsewhere.Root, ScratchMarker), data, 0o644)
	sweptOnce.Store(false) // as in a new process

	// The user's own worktrees: one present, one whose directory is gone
	// (on an unmounted disk, say). Neither is relkit's.
	userWT := filepath.Join(t.TempDir(), "feature")
	gitT(t, dir, "worktree", "add", "-q", "--detach", userWT)
	userGone := filepath.Join(t.TempDir(), "usb", "work")
	gitT(t, dir, "worktree", "add", "-q", "--detach", userGone)
	os.RemoveAll(filepath.Dir(userGone))

	next, err := AddScratch(ctx, dir, head, "wt")
	if err != nil {
		t.Fatal(err)
	}
	defer next.Remove(ctx)
	if _, err := os.Stat(leftover.Root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed run's scratch dir %s is still there", leftover.Root)
	}
	list := gitT(t, dir, "worktree", "list", "--porcelain")
	for _, w := range []string{leftover.Dir, gone.Dir} {
		if strings.Contains(list, "worktree "+w+"\n") {
			t.Errorf("git still lists the leftover %s:\n%s", w, list)
		}
	}
	for _, w := range []string{userWT, userGone, mine.Dir, next.Dir} {
		if !strings.Contains(list, "worktree "+w+"\n") {
			t.Errorf("%s was pruned, but it is not a leftover of relkit's:\n%s", w, list)
		}
	}
	if _, err := os.Stat(elsewhere.Root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the other repo's leftover %s is still there", elsewhere.Root)
	}
	if list := gitT(t, other, "worktree", "list", "--porcelain"); strings.Contains(list, elsewhere.Dir) {
		t.Errorf("the other repo still lists the leftover:\n%s", list)
	}
	if _, err := os.Stat(filepath.Join(mine.Dir, "VERSION")); err != nil {
		t.Errorf("a live scratch worktree was touched: %v", err)
	}
	for _, w := range []string{leftover.Dir, gone.Dir} {
		if !slices.Contains(next.Pruned, w) {
			t.Errorf("AddScratch does not report removing %s: %v", w, next.Pruned)
		}
	}
	if !strings.HasPrefix(filepath.Base(next.Root), ScratchPrefix) {
		t.Errorf("scratch root %s is not recognisably relkit's", next.Root)
	}
}

// Env keeps what git needs from the environment it is given, drops the
// variables that would point git at another repository or change its
// language, and adds relkit's fixed settings after everything else.
func TestEnvFiltersTheGivenEnvironment(t *testing.T) {
	t.Parallel()
	base := []string{"HOME=/home/dev", "GIT_DIR=/elsewhere/.git", "GIT_WORK_TREE=/elsewhere", "GIT_INDEX_FILE=/x/index",
		"LANG=de_DE.UTF-8", "LC_ALL=de_DE.UTF-8", "LANGUAGE=de", "SSH_AUTH_SOCK=/tmp/agent", "GIT_SSH_COMMAND=ssh -i k"}
	got := Env(base, "GIT_AUTHOR_NAME=T")
	want := []string{"HOME=/home/dev", "SSH_AUTH_SOCK=/tmp/agent", "GIT_SSH_COMMAND=ssh -i k",
		"GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_PAGER=cat", "GIT_EDITOR=true", "GIT_AUTHOR_NAME=T"}
	if !slices.Equal(got, want) {
		t.Errorf("Env =\n  %q\nwant\n  %q", got, want)
	}
	if got := Env(nil); !slices.Equal(got, []string{"GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_PAGER=cat", "GIT_EDITOR=true"}) {
		t.Errorf("Env(nil) = %q; want only relkit's settings", got)
	}
}
