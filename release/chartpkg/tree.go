// Package chartpkg builds Helm chart packages from a commit of a charts
// repo: the archive `helm package` makes (chartutil.Save's entries and
// content), but reproducible: the same commit always gives the same bytes,
// so anyone can rebuild a published chart from its tag and compare
// digests.
//
// Charts are read from git objects (Tree), never from the worktree: the
// package equals the commit whatever the checkout holds, and a symlink is
// resolved inside the commit's tree or refused, never followed out of the
// repo. file:// dependencies are packaged from the same commit; remote
// ones (https chart repositories, oci://) are fetched at their pinned
// version, checked against the repository's digest and Chart.lock, into a
// cache inside the repo's .git directory (Fetcher).
package chartpkg

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/relkit/relkit/release/gitx"
)

// Caps on what is read from a commit: Helm's own limits for chart files.
const (
	// MaxFileSize is the largest chart file read (Helm's
	// MaxDecompressedFileSize).
	MaxFileSize int64 = 5 << 20
	// MaxChartSize bounds all files of one chart with its file://
	// dependencies (Helm's MaxDecompressedChartSize).
	MaxChartSize int64 = 100 << 20
	// MaxSymlinkHops bounds the symlinks followed to resolve one path.
	MaxSymlinkHops = 40
	// MaxTreeEntries bounds the entries of a commit's tree.
	MaxTreeEntries = 2_000_000
)

// entry is one entry of the commit's tree.
type entry struct {
	mode string // 100644, 100755, 120000 (symlink), 040000 (tree), 160000 (submodule)
	hash string
	size int64
}

func (e entry) isTree() bool    { return e.mode == "040000" }
func (e entry) isSymlink() bool { return e.mode == "120000" }
func (e entry) isFile() bool    { return e.mode == "100644" || e.mode == "100755" }

// Tree is the content of one commit of a repository, read from git
// objects. It is safe for concurrent use.
type Tree struct {
	dir    string
	commit string
	time   time.Time
	// entries maps every path (files, symlinks, folders) to its entry;
	// children lists each folder's entry names ("" is the root).
	entries  map[string]entry
	children map[string][]string

	mu  sync.Mutex
	cat *catFile
}

// ReadTree lists the tree of rev (a commit) in the repository at dir.
// Close it when done.
func ReadTree(ctx context.Context, dir, rev string) (*Tree, error) {
	out, err := gitx.Git(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("%s: %s is not a commit: %w", dir, rev, err)
	}
	commit := strings.TrimSpace(out)
	ct, err := gitx.Git(ctx, dir, "show", "-s", "--format=%ct", commit)
	if err != nil {
		return nil, err
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(ct), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: commit time of %s: %w", dir, commit, err)
	}
	t := &Tree{dir: dir, commit: commit, time: time.Unix(secs, 0).UTC(), entries: map[string]entry{}, children: map[string][]string{}}
	if err := t.list(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// startGit starts git args in dir with its output on a pipe to read and
// its stderr kept for the error; when ctx ends it gets SIGTERM, so that it
// can remove its lock files, not SIGKILL.
func startGit(ctx context.Context, dir string, args ...string) (*exec.Cmd, io.ReadCloser, *bytes.Buffer, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitx.Env(cmd.Environ())
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	errb := new(bytes.Buffer)
	cmd.Stderr = errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, stdout, errb, nil
}

func (t *Tree) list(ctx context.Context) error {
	cmd, stdout, errb, err := startGit(ctx, t.dir, "ls-tree", "-r", "-t", "-z", "--long", "--full-tree", t.commit)
	if err != nil {
		return err
	}
	r := bufio.NewReaderSize(stdout, 64<<10)
	var perr error
	for n := 0; ; n++ {
		rec, err := r.ReadString(0)
		if err == io.EOF {
			break
		}
		if err != nil {
			perr = err
			break
		}
		if n >= MaxTreeEntries {
			perr = fmt.Errorf("%s: commit %s has more than %d files", t.dir, gitx.Short(t.commit), MaxTreeEntries)
			break
		}
		meta, p, ok := strings.Cut(strings.TrimSuffix(rec, "\x00"), "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 4 {
			perr = fmt.Errorf("git ls-tree: unexpected line %q", rec)
			break
		}
		e := entry{mode: f[0], hash: f[2]}
		e.size, _ = strconv.ParseInt(f[3], 10, 64)
		t.entries[p] = e
		parent := path.Dir(p)
		if parent == "." {
			parent = ""
		}
		t.children[parent] = append(t.children[parent], path.Base(p))
	}
	if perr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return perr
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &gitx.CmdError{Args: cmd.Args[1:], Stderr: errb.String(), Err: err}
	}
	return nil
}

// Commit is the commit the tree belongs to.
func (t *Tree) Commit() string { return t.commit }

// Dir is the repository the tree was read from.
func (t *Tree) Dir() string { return t.dir }

// Time is the commit's committer time.
func (t *Tree) Time() time.Time { return t.time }

// Close stops the blob reader.
func (t *Tree) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cat != nil {
		err := t.cat.close()
		t.cat = nil
		return err
	}
	return nil
}

// PathError is a path of the commit relkit refuses or cannot read.
type PathError struct {
	Path   string
	Reason string
}

func (e *PathError) Error() string { return e.Path + ": " + e.Reason }

// resolve follows symlinks in p (slash-separated, relative to the repo
// root) inside the commit's tree and returns the path it names and its
// entry. A symlink that is absolute or leads out of the repo is refused;
// a path that does not exist gives ok false.
func (t *Tree) resolve(p string) (string, entry, bool, error) {
	hops := 0
	rest := strings.Split(path.Clean(p), "/")
	cur := ""
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			if cur == "" {
				return "", entry{}, false, &PathError{Path: p, Reason: "leads out of the repo"}
			}
			cur = path.Dir(cur)
			if cur == "." {
				cur = ""
			}
			continue
		}
		next := path.Join(cur, name)
		e, ok := t.entries[next]
		if !ok {
			return next, entry{}, false, nil
		}
		if !e.isSymlink() {
			if len(rest) > 0 && !e.isTree() {
				return next, entry{}, false, nil
			}
			cur = next
			continue
		}
		hops++
		if hops > MaxSymlinkHops {
			return "", entry{}, false, &PathError{Path: p, Reason: fmt.Sprintf("more than %d symlinks to follow", MaxSymlinkHops)}
		}
		target, err := t.blob(e.hash, 4096)
		if err != nil {
			return "", entry{}, false, err
		}
		dest := string(target)
		if strings.HasPrefix(dest, "/") {
			return "", entry{}, false, &PathError{Path: p, Reason: fmt.Sprintf("%s is a symlink to the absolute path %q; relkit follows only symlinks that stay inside the repo", next, dest)}
		}
		joined := path.Join(cur, dest)
		if joined == ".." || strings.HasPrefix(joined, "../") {
			return "", entry{}, false, &PathError{Path: p, Reason: fmt.Sprintf("%s is a symlink to %q, outside the repo; relkit follows only symlinks that stay inside it", next, dest)}
		}
		rest = append(strings.Split(dest, "/"), rest...)
	}
	if cur == "" {
		return "", entry{mode: "040000"}, true, nil
	}
	return cur, t.entries[cur], true, nil
}

// ReadFile reads the file at p, following symlinks inside the repo; limit
// caps its size. ok is false when the path does not exist.
func (t *Tree) ReadFile(p string, limit int64) ([]byte, bool, error) {
	_, e, ok, err := t.resolve(p)
	if err != nil || !ok {
		return nil, false, err
	}
	if !e.isFile() {
		return nil, false, &PathError{Path: p, Reason: "is not a regular file (" + kind(e) + ")"}
	}
	if e.size > limit {
		return nil, false, &PathError{Path: p, Reason: fmt.Sprintf("is %d bytes, larger than the %d relkit reads", e.size, limit)}
	}
	data, err := t.blob(e.hash, limit)
	return data, err == nil, err
}

// IsDir says whether p (symlinks followed inside the repo) is a folder.
func (t *Tree) IsDir(p string) bool {
	_, e, ok, err := t.resolve(p)
	return err == nil && ok && e.isTree()
}

func kind(e entry) string {
	switch {
	case e.isTree():
		return "a folder"
	case e.isSymlink():
		return "a symlink"
	case e.mode == "160000":
		return "a submodule"
	}
	return "mode " + e.mode
}

// File is one file of a folder walk.
type File struct {
	// Name is the path relative to the folder walked.
	Name string
	// Source is the repo path the content came from (differs from the
	// walked path when a symlink led there).
	Source string
	hash   string
	size   int64
}

// Walk lists the files under folder dir in lexical order, following
// symlinks inside the repo (to files and to folders, as Helm's loader
// does), skipping what skip says (called with the path relative to dir
// and whether it is a folder; a skipped folder is not entered). A
// submodule, or a symlink out of the repo, is an error.
func (t *Tree) Walk(dir string, skip func(rel string, isDir bool) bool) ([]File, error) {
	real, e, ok, err := t.resolve(dir)
	if err != nil {
		return nil, err
	}
	if !ok || !e.isTree() {
		return nil, &PathError{Path: dir, Reason: "is not a folder in the commit"}
	}
	var out []File
	hops := 0
	var walk func(real, rel string, depth int) error
	walk = func(real, rel string, depth int) error {
		if depth > 256 {
			return &PathError{Path: path.Join(dir, rel), Reason: "is nested too deep (a symlink loop?)"}
		}
		// Lexical order, as Helm's loader walks (git lists a folder as if
		// its name ended in "/").
		names := slices.Sorted(slices.Values(t.children[real]))
		for _, name := range names {
			childReal := path.Join(real, name)
			if real == "" {
				childReal = name
			}
			childRel := path.Join(rel, name)
			ce := t.entries[childReal]
			target := childReal
			if ce.isSymlink() {
				hops++
				if hops > MaxTreeEntries {
					return &PathError{Path: path.Join(dir, childRel), Reason: "too many symlinks"}
				}
				r, e2, ok, err := t.resolve(childReal)
				if err != nil {
					return err
				}
				if !ok {
					return &PathError{Path: path.Join(dir, childRel), Reason: "is a symlink to a path the commit does not have"}
				}
				target, ce = r, e2
			}
			switch {
			case ce.isTree():
				if skip != nil && skip(childRel, true) {
					continue
				}
				if err := walk(target, childRel, depth+1); err != nil {
					return err
				}
			case ce.isFile():
				if skip != nil && skip(childRel, false) {
					continue
				}
				out = append(out, File{Name: childRel, Source: target, hash: ce.hash, size: ce.size})
			default:
				if skip != nil && skip(childRel, false) {
					continue
				}
				return &PathError{Path: path.Join(dir, childRel), Reason: "is " + kind(ce) + "; a chart holds only files and folders"}
			}
		}
		return nil
	}
	if err := walk(real, "", 0); err != nil {
		return nil, err
	}
	return out, nil
}

// Read returns the content of a file Walk listed, capped at limit.
func (t *Tree) Read(f File, limit int64) ([]byte, error) {
	if f.size > limit {
		return nil, &PathError{Path: f.Source, Reason: fmt.Sprintf("is %d bytes, larger than the %d Helm loads", f.size, limit)}
	}
	return t.blob(f.hash, limit)
}

// blob reads one blob through the tree's cat-file process.
func (t *Tree) blob(hash string, limit int64) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cat == nil {
		c, err := startCatFile(t.dir)
		if err != nil {
			return nil, err
		}
		t.cat = c
	}
	data, err := t.cat.read(hash, limit)
	if err != nil {
		// The stream may be out of step now: start afresh next time.
		_ = t.cat.cmd.Process.Kill()
		_ = t.cat.close()
		t.cat = nil
	}
	return data, err
}

// catFile is a running `git cat-file --batch`.
type catFile struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startCatFile(dir string) (*catFile, error) {
	// Not tied to a request's context: the process lives as long as the
	// Tree and is stopped by Close.
	cmd := exec.Command("git", "cat-file", "--batch")
	cmd.Dir = dir
	cmd.Env = gitx.Env(cmd.Environ())
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &catFile{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 256<<10)}, nil
}

func (c *catFile) read(hash string, limit int64) ([]byte, error) {
	if _, err := io.WriteString(c.in, hash+"\n"); err != nil {
		return nil, err
	}
	head, err := c.out.ReadString('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(head)
	if len(f) != 3 {
		return nil, fmt.Errorf("git cat-file: %s: %s", hash, strings.TrimSpace(head))
	}
	if f[1] != "blob" {
		return nil, fmt.Errorf("git cat-file: %s is a %s, expected a blob", hash, f[1])
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return nil, err
	}
	if size > limit {
		return nil, errors.New("blob " + hash + " is larger than " + strconv.FormatInt(limit, 10) + " bytes")
	}
	data := make([]byte, size+1)
	if _, err := io.ReadFull(c.out, data); err != nil {
		return nil, err
	}
	return data[:size], nil
}

func (c *catFile) close() error {
	_ = c.in.Close()
	return c.cmd.Wait()
}
