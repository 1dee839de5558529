package gitx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LockName is relkit's lock file in a repository's common git directory.
// It is relkit's own: git ignores it, and it only keeps two relkit runs
// from writing into the same repository at once (git's own index.lock and
// ref locks protect single git commands, not a run's several steps).
const LockName = "relkit.lock"

// Owner identifies a process that holds a lock or owns a scratch
// worktree: its pid, host and start (boot id and start time), so a pid
// that a later process reused is not taken for the owner.
type Owner struct {
	PID   int    `json:"pid"`
	Host  string `json:"host"`
	Start string `json:"start,omitempty"`
	// Command is what the owner runs ("release:branch 2.1 -push").
	Command string    `json:"command,omitempty"`
	Since   time.Time `json:"since"`
}

func (o Owner) String() string {
	s := fmt.Sprintf("pid %d on %s", o.PID, o.Host)
	if o.Command != "" {
		s += ", " + o.Command
	}
	if !o.Since.IsZero() {
		s += ", since " + o.Since.Format(time.RFC3339)
	}
	return s
}

// self is this process as an Owner.
func self(command string) Owner {
	host, _ := os.Hostname()
	return Owner{PID: os.Getpid(), Host: host, Start: processStart(os.Getpid()), Command: command, Since: time.Now().UTC().Truncate(time.Second)}
}

// processStart is the boot id and start time of a process (Linux /proc),
// or "" where they cannot be read.
func processStart(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields after it start after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(stat[i+1:]))
	// Field 22 (starttime) is the 20th after the command name.
	if len(f) < 20 {
		return ""
	}
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(boot)) + "/" + f[19]
}

// Gone reports whether the owner is known to have ended: it ran on this
// host and its pid is no longer running, or now belongs to a process that
// started at another time. An owner on another host is never gone, as
// far as relkit can tell.
func (o Owner) Gone() bool {
	host, _ := os.Hostname()
	if o.Host != host || o.PID <= 0 {
		return false
	}
	if o.PID == os.Getpid() {
		// This process holds nothing it does not know about (see held):
		// the record is from an earlier process with the same pid (pids
		// are reused quickly in containers), or one this process failed
		// to remove.
		return true
	}
	if err := syscall.Kill(o.PID, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	return o.Start != "" && processStart(o.PID) != "" && processStart(o.PID) != o.Start
}

// LockedError is a repository another relkit run is writing into.
type LockedError struct {
	// Dir is the repository, Path the lock file.
	Dir, Path string
	Holder    Owner
	// Unreadable is set when the lock file could not be read.
	Unreadable error
}

func (e *LockedError) Error() string {
	if e.Unreadable != nil {
		return fmt.Sprintf("%s is locked by another relkit run (%s, unreadable: %v); wait for it to end, or remove the lock file if no relkit run is active", e.Dir, e.Path, e.Unreadable)
	}
	return fmt.Sprintf("%s is locked by another relkit run (%s: %s); wait for it to end and run again, or, if that run is no longer active, remove %s", e.Dir, e.Path, e.Holder, e.Path)
}

// Lock is relkit's lock of one repository, held until Release.
type Lock struct {
	path string
	// Note says what taking the lock involved (a stale lock taken over),
	// for the output; "" when nothing worth saying.
	Note string
	once sync.Once
}

// held lists the lock files this process holds: a second taker in this
// process is refused like another process, and a lock file naming this
// pid that is not listed is stale.
var held sync.Map

// heldMu makes creating (and removing) a lock file and listing it in held
// one step for the other takers in this process. Without it a taker could
// read the fresh lock in between, see this pid not listed, take it for
// stale and take it over: two holders (TestStaleLockRace failed 1 run in
// 40).
var heldMu sync.Mutex

// LockOptions say how a lock is taken.
type LockOptions struct {
	// Command is what the run does, recorded in the lock for whoever finds
	// it taken.
	Command string
	// Wait is how long to keep trying while another run holds the lock
	// (0: fail at once).
	Wait time.Duration
}

// LockRepo takes relkit's lock of the repository at dir (a file created
// with O_EXCL in its common git directory, holding the pid, host,
// command and time). A lock left by a process of this host that is no
// longer running is taken over, and Note says so. A lock held by a live
// run (or one on another host) is a *LockedError once Wait has passed.
func LockRepo(ctx context.Context, dir string, o LockOptions) (*Lock, error) {
	_, common, err := GitDirs(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(common, LockName)
	me := self(o.Command)
	data, err := json.Marshal(me)
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	deadline := time.Now().Add(o.Wait)
	note := ""
	// Bounded: every round either returns or sleeps; a stale lock is
	// taken over at most a few times before giving up.
	for round := 0; ; round++ {
		heldMu.Lock()
		err := createExclusive(path, data)
		if err == nil {
			held.Store(path, true)
		}
		heldMu.Unlock()
		if err == nil {
			return &Lock{path: path, Note: note}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s: cannot write relkit's lock file %s (is .git read-only?): %w", dir, path, err)
		}
		heldMu.Lock()
		holder, content, rerr := readLock(path)
		_, mine := held.Load(path)
		heldMu.Unlock()
		if errors.Is(rerr, fs.ErrNotExist) && round < 100 {
			continue // released meanwhile
		}
		if rerr == nil && !mine && holder.Gone() && round < 5 {
			if took, err := takeOver(path, content); err != nil {
				return nil, err
			} else if took {
				note = fmt.Sprintf("took over the stale lock %s of a relkit run that is no longer running (%s)", path, holder)
			}
			continue
		}
		if time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return nil, &LockedError{Dir: dir, Path: path, Unreadable: rerr}
		}
		return nil, &LockedError{Dir: dir, Path: path, Holder: holder}
	}
}

// Release removes the lock file; it is safe to call more than once.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	var err error
	l.once.Do(func() {
		// The file goes before the listing, in one step for the other
		// takers here: a lock file naming this pid but not listed would
		// look stale, and its taker's fresh lock would then be removed.
		heldMu.Lock()
		defer heldMu.Unlock()
		if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
		}
		held.Delete(l.path)
	})
	return err
}

// HeldBy reads the lock of the repository at dir: its holder and true
// when some relkit run holds it.
func HeldBy(dir string) (Owner, bool, error) {
	_, common, err := GitDirs(dir)
	if err != nil {
		return Owner{}, false, err
	}
	o, _, err := readLock(filepath.Join(common, LockName))
	if errors.Is(err, fs.ErrNotExist) {
		return Owner{}, false, nil
	}
	return o, err == nil, err
}

// createExclusive creates path holding data, failing with fs.ErrExist
// when it exists. The content is written to a temporary file first and
// linked into place (link never replaces a file), so nobody reads a lock
// half written; where hard links are not supported, O_EXCL does it.
func createExclusive(path string, data []byte) error {
	tmp := path + ".new-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := writeNew(tmp, data); err != nil {
		return err
	}
	defer os.Remove(tmp)
	err := os.Link(tmp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	return writeNew(path, data)
}

// writeNew creates path (which must not exist) holding data.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// readLock reads and decodes a lock file, refusing anything but a small
// regular file.
func readLock(path string) (Owner, []byte, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return Owner{}, nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > 4096 {
		return Owner{}, nil, fmt.Errorf("%s is not a small regular file", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Owner{}, nil, err
	}
	var o Owner
	if err := json.Unmarshal(data, &o); err != nil {
		return Owner{}, data, fmt.Errorf("%s: %w", path, err)
	}
	return o, data, nil
}

// takeOver removes a stale lock whose content was read as content. Two
// runs may find the same stale lock: each renames the lock file to a
// name of its own (atomic) and checks that what it moved is the stale
// content; if it moved a fresh lock that the other run made meanwhile, it
// puts that back (os.Link never overwrites) and does not take over.
func takeOver(path string, content []byte) (bool, error) {
	aside := path + ".stale-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	moved, err := os.ReadFile(aside)
	if err == nil && bytes.Equal(moved, content) {
		return true, os.Remove(aside)
	}
	if lerr := os.Link(aside, path); lerr != nil && !errors.Is(lerr, fs.ErrExist) {
		return false, lerr
	}
	return false, os.Remove(aside)
}
