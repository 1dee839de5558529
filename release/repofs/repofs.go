// Package repofs is relkit's one way to read and write the files of a
// repository checkout. Repository content is untrusted (CI runs relkit on
// pull requests from forks, with secrets in its environment), so every
// access goes through the same rules:
//
//   - a path is resolved inside the repo only: a symlink, in any component
//     of the path, that leads out of the repo is refused, as is an absolute
//     symlink; relative symlinks that stay inside are followed;
//   - only regular files are read: a FIFO, a device, a socket or a
//     directory is refused at once (files are opened non-blocking and
//     checked with fstat before a byte is read);
//   - reads are capped per kind of file (the Max* constants);
//   - writes never go through a symlink: an existing symlink at the target
//     or at any of its parent directories is refused, missing parents are
//     created inside the repo, and the file is replaced atomically.
//
// Refusals are typed (*NotRegularError, *TooLargeError, *SymlinkError) and
// name the repo-relative path and the reason; they never carry content.
package repofs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Caps on what relkit reads of one file, per kind. Real files are far
// smaller (a VERSION is a line, the largest values files seen are a few
// hundred KiB); the caps only stop a hostile file from filling memory.
const (
	MaxVersion    int64 = 1 << 20 // VERSION
	MaxChartMeta  int64 = 4 << 20 // Chart.yaml, requirements.yaml, .helmignore
	MaxValues     int64 = 8 << 20 // values files
	MaxDockerfile int64 = 4 << 20 // Dockerfiles
	MaxChartFile  int64 = 5 << 20 // any other file of a chart, charts/*.tgz included (Helm's own per-file cap)
	MaxNotes      int64 = 8 << 20 // release notes pages
	MaxManifest   int64 = 8 << 20 // release manifests
	MaxConfig     int64 = 1 << 20 // relkit.yaml (workspace.MaxConfigBytes)
	// MaxFile is for a file whose kind the reader does not know (a
	// scratch worktree's files as release steps read them): the largest
	// of the caps above.
	MaxFile int64 = 8 << 20
)

// NotRegularError is a file relkit refuses to read: it is not a regular
// file, or its path leaves the repo.
type NotRegularError struct {
	// Path is the path asked for, relative to the repo (slash-separated).
	Path string
	// Reason says why, as a phrase following "is": "a FIFO", "a symlink to
	// \"/etc/passwd\" outside the repo".
	Reason string
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s; relkit reads only regular files inside the repo", e.Path, e.Reason)
}

// TooLargeError is a file larger than the cap for its kind.
type TooLargeError struct {
	Path  string
	Size  int64 // as much as is known: at least Limit+1
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is %s, larger than the %s relkit reads of such a file", e.Path, size(e.Size), size(e.Limit))
}

// SymlinkError is a write refused because the target, or one of its parent
// directories, is a symlink.
type SymlinkError struct {
	// Path is the file to write, Link the symlink on its way (Path itself
	// or a parent directory), both relative to the repo.
	Path, Link string
}

func (e *SymlinkError) Error() string {
	if e.Link == e.Path {
		return fmt.Sprintf("%s is a symlink; relkit never writes through a symlink", e.Path)
	}
	return fmt.Sprintf("%s is in %s, which is a symlink; relkit never writes through a symlink", e.Path, e.Link)
}

// Refused reports whether err (or an error it wraps) is a refusal of this
// package, and returns the repo-relative path and the reason, for findings
// and plan problems.
func Refused(err error) (file, reason string, ok bool) {
	var nr *NotRegularError
	var tl *TooLargeError
	var sl *SymlinkError
	switch {
	case errors.As(err, &nr):
		return nr.Path, nr.Reason, true
	case errors.As(err, &tl):
		return tl.Path, fmt.Sprintf("%s, larger than the %s relkit reads of such a file", size(tl.Size), size(tl.Limit)), true
	case errors.As(err, &sl):
		if sl.Link == sl.Path {
			return sl.Path, "a symlink, and relkit never writes through one", true
		}
		return sl.Path, fmt.Sprintf("in %s, which is a symlink, and relkit never writes through one", sl.Link), true
	}
	return "", "", false
}

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Dir is an open repository checkout (or any directory tree relkit treats
// as one: a chart repository, a scratch worktree).
type Dir struct {
	root *os.Root
	path string
}

// Open opens the directory tree at dir. Close it when done.
func Open(dir string) (*Dir, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Dir{root: r, path: dir}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.root.Close() }

// Read reads the file at rel (slash-separated, relative to the directory),
// at most limit bytes. A missing file is an error satisfying
// errors.Is(err, fs.ErrNotExist); a refused one is a *NotRegularError or
// *TooLargeError.
func Read(dir, rel string, limit int64) ([]byte, error) {
	d, err := Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Read(rel, limit)
}

// Read reads the file at rel, at most limit bytes (see the function Read).
func (d *Dir) Read(rel string, limit int64) ([]byte, error) {
	f, err := d.open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, rel, limit)
}

// open opens rel for reading after checking it is a regular file inside
// the directory.
func (d *Dir) open(rel string) (*os.File, error) {
	name, err := localName(rel)
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer; the mode is
	// checked on the open file before anything is read.
	f, err := d.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, d.openError(rel, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: rel, Reason: describeMode(st.Mode())}
	}
	return f, nil
}

// openError turns an error of the root into a refusal when the path leaves
// the directory, keeping "does not exist" as it is.
func (d *Dir) openError(rel string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if reason := d.explain(rel); reason != "" {
		return &NotRegularError{Path: rel, Reason: reason}
	}
	return err
}

func readCapped(f *os.File, rel string, limit int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, &TooLargeError{Path: rel, Size: st.Size(), Limit: limit}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, err)
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Path: rel, Size: int64(len(data)), Limit: limit}
	}
	return data, nil
}

// Stat returns the file info of rel, following symlinks that stay inside
// the directory. A path that leaves it is a *NotRegularError.
func (d *Dir) Stat(rel string) (fs.FileInfo, error) {
	name, err := localName(rel)
	if err != nil {
		return nil, err
	}
	fi, err := d.root.Stat(name)
	if err != nil {
		return nil, d.openError(rel, err)
	}
	return fi, nil
}

// ReadDir lists the directory rel (following symlinks that stay inside),
// sorted by name.
func (d *Dir) ReadDir(rel string) ([]fs.DirEntry, error) {
	name, err := localName(rel)
	if err != nil {
		return nil, err
	}
	f, err := d.root.Open(name)
	if err != nil {
		return nil, d.openError(rel, err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	sortEntries(entries)
	return entries, nil
}

// ReadFile reads a file the user named (relkit.yaml): symlinks are
// followed, as the user chose the path, but it must be a regular file of
// at most limit bytes.
func ReadFile(file string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: file, Reason: describeMode(st.Mode())}
	}
	return readCapped(f, file, limit)
}

// Write writes data to rel, replacing the file atomically (a temporary
// file renamed over it). An existing file keeps its permissions; a new one
// gets perm. Missing parent directories are created inside the directory.
// An existing symlink at rel or at any parent directory is a
// *SymlinkError, and nothing is written.
func Write(dir, rel string, data []byte, perm fs.FileMode) error {
	d, err := Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Write(rel, data, perm)
}

// Write writes data to rel (see the function Write).
func (d *Dir) Write(rel string, data []byte, perm fs.FileMode) error {
	name, mode, exists, err := d.checkWrite(rel)
	if err != nil {
		return err
	}
	if !exists {
		mode = perm
	}
	if parent := path.Dir(filepath.ToSlash(name)); parent != "." {
		if err := d.root.MkdirAll(filepath.FromSlash(parent), 0o755); err != nil {
			return err
		}
	}
	tmp, err := d.tempFile(filepath.ToSlash(name))
	if err != nil {
		return err
	}
	defer d.root.Remove(tmp.name) // a no-op once renamed
	if _, err := tmp.f.Write(data); err != nil {
		tmp.f.Close()
		return err
	}
	// The umask applied at creation; set the mode the file is to have.
	if err := tmp.f.Chmod(mode); err != nil {
		tmp.f.Close()
		return err
	}
	if err := tmp.f.Close(); err != nil {
		return err
	}
	// rename replaces the directory entry itself, never a link's target.
	return d.root.Rename(tmp.name, name)
}

// CheckWrite reports whether Write would refuse rel, writing nothing: a
// dry run calls it for every file its plan would write.
func CheckWrite(dir, rel string) error {
	d, err := Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_, _, _, err = d.checkWrite(rel)
	return err
}

// checkWrite checks every existing component of rel: no symlink, parents
// are directories, the target (when it exists) a regular file, whose
// permissions it returns.
func (d *Dir) checkWrite(rel string) (name string, mode fs.FileMode, exists bool, err error) {
	name, err = localName(rel)
	if err != nil {
		return "", 0, false, err
	}
	parts := strings.Split(filepath.ToSlash(name), "/")
	for i := range parts {
		sub := strings.Join(parts[:i+1], "/")
		fi, err := d.root.Lstat(filepath.FromSlash(sub))
		if errors.Is(err, fs.ErrNotExist) {
			break // this and what follows are created
		}
		if err != nil {
			return "", 0, false, err
		}
		last := i == len(parts)-1
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return "", 0, false, &SymlinkError{Path: rel, Link: sub}
		case !last && !fi.IsDir():
			return "", 0, false, fmt.Errorf("%s: %s is not a directory", rel, sub)
		case last && !fi.Mode().IsRegular():
			return "", 0, false, &NotRegularError{Path: rel, Reason: describeMode(fi.Mode())}
		case last:
			mode, exists = fi.Mode().Perm(), true
		}
	}
	return name, mode, exists, nil
}

type tempFile struct {
	f    *os.File
	name string
}

// tempFile creates the temporary file of a write: in .git when the
// directory has a real .git directory (so a run killed mid-write leaves no
// stray file that makes the checkout dirty), else next to the target.
func (d *Dir) tempFile(name string) (tempFile, error) {
	dir := path.Dir(name)
	if fi, err := d.root.Lstat(".git"); err == nil && fi.IsDir() {
		dir = ".git"
	}
	var b [8]byte
	for range 10 {
		_, _ = rand.Read(b[:])
		n := path.Join(dir, ".relkit-"+path.Base(name)+"-"+hex.EncodeToString(b[:]))
		f, err := d.root.OpenFile(filepath.FromSlash(n), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return tempFile{}, err
		}
		return tempFile{f: f, name: filepath.FromSlash(n)}, nil
	}
	return tempFile{}, fmt.Errorf("%s: cannot create a temporary file in %s", name, dir)
}

// localName checks that rel is a relative path and returns it in the
// platform's form. A path that leaves the directory lexically is refused
// like a symlink leading out.
func localName(rel string) (string, error) {
	if rel == "" {
		return "", fmt.Errorf("empty path")
	}
	if path.IsAbs(rel) || filepath.IsAbs(rel) {
		return "", &NotRegularError{Path: rel, Reason: "an absolute path, outside the repo"}
	}
	c := path.Clean(rel)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", &NotRegularError{Path: rel, Reason: "a path that leaves the repo"}
	}
	return filepath.FromSlash(c), nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return fmt.Sprintf("not a regular file (mode %s)", m.Type())
}

// maxHops bounds the symlinks followed while explaining a refusal, as the
// kernel does.
const maxHops = 40

// explain says why rel cannot be opened inside the directory when the
// reason is a symlink leading out, as a phrase following "is"; "" when that
// is not the reason. It only reads links, never opens a file.
func (d *Dir) explain(rel string) string {
	parts := splitClean(rel)
	cur := "" // resolved so far, relative to the directory
	hops := 0
	for i := 0; i < len(parts); i++ {
		p := parts[i]
		if p == ".." {
			if cur == "" {
				return "a path that leaves the repo"
			}
			cur = parentOf(cur)
			continue
		}
		next := path.Join(cur, p)
		fi, err := d.root.Lstat(filepath.FromSlash(next))
		if err != nil {
			return ""
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		target, err := d.root.Readlink(filepath.FromSlash(next))
		if err != nil {
			return ""
		}
		where := "a symlink"
		if i < len(parts)-1 {
			where = fmt.Sprintf("inside %s, which is a symlink", next)
		}
		if filepath.IsAbs(target) {
			if !d.inside(target) {
				return fmt.Sprintf("%s to %q, outside the repo", where, target)
			}
			return fmt.Sprintf("%s to %q, an absolute path (relkit follows only relative symlinks that stay in the repo)", where, target)
		}
		joined := path.Join(cur, filepath.ToSlash(target))
		if joined == ".." || strings.HasPrefix(joined, "../") {
			return fmt.Sprintf("%s to %q, outside the repo", where, target)
		}
		if hops++; hops > maxHops {
			return fmt.Sprintf("%s in a chain of more than %d symlinks", where, maxHops)
		}
		parts = append(splitClean(joined), parts[i+1:]...)
		cur, i = "", -1
	}
	return ""
}

// inside reports whether the absolute path p names something in the
// directory, for messages only.
func (d *Dir) inside(p string) bool {
	root, err := filepath.Abs(d.path)
	if err != nil {
		return false
	}
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	dir, base := filepath.Split(filepath.Clean(p))
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		p = filepath.Join(real, base)
	}
	r, err := filepath.Rel(root, p)
	return err == nil && filepath.IsLocal(r)
}

func splitClean(p string) []string {
	var out []string
	for _, s := range strings.Split(filepath.ToSlash(p), "/") {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return out
}

func parentOf(p string) string {
	if d := path.Dir(p); d != "." {
		return d
	}
	return ""
}

// Refusals returns every refusal of this package in err's tree (errors
// joined with errors.Join, wrapped with %w), in order; nil when there is
// none.
func Refusals(err error) []error {
	switch e := err.(type) {
	case nil:
		return nil
	case *NotRegularError, *TooLargeError, *SymlinkError:
		return []error{err}
	case interface{ Unwrap() []error }:
		var out []error
		for _, inner := range e.Unwrap() {
			out = append(out, Refusals(inner)...)
		}
		return out
	case interface{ Unwrap() error }:
		return Refusals(e.Unwrap())
	}
	return nil
}
