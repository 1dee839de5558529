package repofs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/release/gitx/gitxtest"
)

// within runs f and fails the test when it has not returned in time: a
// read that blocks on a FIFO must fail the test, not hang it.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("did not return: blocked on the file")
	}
}

const secret = "SECRET-CONTENT-4711"

func TestReadRefusals(t *testing.T) {
	outside := t.TempDir()
	gitxtest.WriteTree(t, outside, map[string]string{"secret": secret, "dir/x": secret})
	repo := t.TempDir()
	gitxtest.WriteTree(t, repo, map[string]string{"VERSION": "1.2.3\n", "real/values.yaml": "a: 1\n", "big": strings.Repeat("x", 2048)})
	gitxtest.Symlink(t, "VERSION", filepath.Join(repo, "same"))
	gitxtest.Symlink(t, "../real/values.yaml", filepath.Join(repo, "sub/values.yaml"))
	gitxtest.Symlink(t, "real", filepath.Join(repo, "dirlink"))
	gitxtest.Symlink(t, filepath.Join(outside, "secret"), filepath.Join(repo, "abs"))
	rel, err := filepath.Rel(repo, filepath.Join(outside, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	gitxtest.Symlink(t, rel, filepath.Join(repo, "relout"))
	gitxtest.Symlink(t, filepath.Join(outside, "dir"), filepath.Join(repo, "outdir"))
	gitxtest.Symlink(t, "/proc/self/environ", filepath.Join(repo, "environ"))
	gitxtest.Symlink(t, "/etc/passwd", filepath.Join(repo, "passwd"))
	gitxtest.Symlink(t, "/dev/zero", filepath.Join(repo, "zero"))
	gitxtest.Symlink(t, "../../../../../../../../../../etc/passwd", filepath.Join(repo, "dotdot"))
	gitxtest.Symlink(t, "loop2", filepath.Join(repo, "loop1"))
	gitxtest.Symlink(t, "loop1", filepath.Join(repo, "loop2"))
	gitxtest.Symlink(t, filepath.Join(repo, "VERSION"), filepath.Join(repo, "absinside"))
	if err := syscall.Mkfifo(filepath.Join(repo, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitxtest.Symlink(t, "fifo", filepath.Join(repo, "fifolink"))
	if err := os.Mkdir(filepath.Join(repo, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}

	ok := map[string]string{"VERSION": "1.2.3\n", "same": "1.2.3\n", "sub/values.yaml": "a: 1\n", "dirlink/values.yaml": "a: 1\n", "./real/../VERSION": "1.2.3\n"}
	for rel, want := range ok {
		got, err := Read(repo, rel, 1<<10)
		if err != nil || string(got) != want {
			t.Errorf("Read(%s) = %q, %v; want %q", rel, got, err, want)
		}
	}
	refused := map[string]string{
		"abs":          "outside the repo",
		"absinside":    "an absolute path",
		"relout":       "outside the repo",
		"outdir/x":     "inside outdir, which is a symlink",
		"environ":      "outside the repo",
		"passwd":       "outside the repo",
		"zero":         "outside the repo",
		"dotdot":       "outside the repo",
		"../x":         "leaves the repo",
		"/etc/passwd":  "absolute path",
		"fifo":         "FIFO",
		"fifolink":     "FIFO",
		"adir":         "directory",
		"loop1":        "",
		"big":          "larger than",
		"dirlink/../x": "",
	}
	for rel, reason := range refused {
		var data []byte
		var err error
		within(t, func() { data, err = Read(repo, rel, 1<<10) })
		if data != nil {
			t.Errorf("Read(%s) returned content %q", rel, data)
		}
		if err == nil {
			t.Errorf("Read(%s): no error", rel)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "root:") {
			t.Errorf("Read(%s): the error holds file content: %v", rel, err)
		}
		if reason == "" {
			continue // refused by the kernel or the root: any error will do
		}
		file, why, ok := Refused(err)
		if !ok {
			t.Errorf("Read(%s): %v is not a refusal", rel, err)
			continue
		}
		if file != rel || !strings.Contains(why, reason) {
			t.Errorf("Read(%s): refusal names %q because %q; want the path and %q", rel, file, why, reason)
		}
	}
	if _, err := Read(repo, "missing", 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	var tl *TooLargeError
	if _, err := Read(repo, "big", 2047); !errors.As(err, &tl) || tl.Size != 2048 || tl.Limit != 2047 {
		t.Errorf("oversized: %v", err)
	}
	if got, err := Read(repo, "big", 2048); err != nil || len(got) != 2048 {
		t.Errorf("exactly the cap: %d bytes, %v", len(got), err)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	gitxtest.WriteTree(t, dir, map[string]string{"relkit.yaml": "a: 1\n"})
	gitxtest.Symlink(t, filepath.Join(dir, "relkit.yaml"), filepath.Join(dir, "via-link.yaml"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadFile(filepath.Join(dir, "via-link.yaml"), 100); err != nil || string(got) != "a: 1\n" {
		t.Errorf("a config the user names through a symlink: %q, %v", got, err)
	}
	for _, p := range []string{filepath.Join(dir, "fifo"), "/dev/zero", dir} {
		var err error
		within(t, func() { _, err = ReadFile(p, 100) })
		if _, _, ok := Refused(err); !ok {
			t.Errorf("ReadFile(%s): %v, want a refusal", p, err)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "relkit.yaml"), 3); err == nil {
		t.Error("over the cap: no error")
	}
}

func TestWrite(t *testing.T) {
	outside := t.TempDir()
	gitxtest.WriteTree(t, outside, map[string]string{"target": "untouched", "d/keep": "untouched"})
	repo := t.TempDir()
	gitxtest.WriteTree(t, repo, map[string]string{"VERSION": "1.0.0\n", "inner/x": "x"})
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(repo, "VERSION"), 0o600); err != nil {
		t.Fatal(err)
	}
	gitxtest.Symlink(t, filepath.Join(outside, "target"), filepath.Join(repo, "releases/2.1.0.yaml"))
	gitxtest.Symlink(t, filepath.Join(outside, "d"), filepath.Join(repo, "notes"))
	gitxtest.Symlink(t, "inner/x", filepath.Join(repo, "inlink"))
	gitxtest.Symlink(t, "inner", filepath.Join(repo, "indir"))
	if err := syscall.Mkfifo(filepath.Join(repo, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	refused := map[string]string{
		"releases/2.1.0.yaml": "releases/2.1.0.yaml",
		"notes/2.1.0.md":      "notes",
		"notes/keep":          "notes",
		"inlink":              "inlink",
		"indir/new":           "indir",
	}
	for rel, at := range refused {
		if err := CheckWrite(repo, rel); err == nil {
			t.Errorf("CheckWrite(%s): no error", rel)
		}
		err := Write(repo, rel, []byte("new"), 0o644)
		var se *SymlinkError
		if !errors.As(err, &se) || se.Path != rel || se.Link != at {
			t.Errorf("Write(%s) = %v; want a symlink refusal at %s", rel, err, at)
		}
		if _, _, ok := Refused(err); !ok {
			t.Errorf("Write(%s): Refused does not see %v", rel, err)
		}
	}
	if err := Write(repo, "fifo", []byte("x"), 0o644); err == nil {
		t.Error("writing over a FIFO: no error")
	}
	for _, p := range []string{"target", "d/keep"} {
		if b, _ := os.ReadFile(filepath.Join(outside, p)); string(b) != "untouched" {
			t.Errorf("%s outside the repo was written: %q", p, b)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "d", "2.1.0.md")); err == nil {
		t.Error("a file was created outside the repo")
	}
	if _, err := os.Lstat(filepath.Join(repo, "releases/2.1.0.yaml")); err != nil {
		t.Errorf("the refused symlink itself is gone: %v", err)
	}

	// Allowed: replacing a file keeps its mode; new files and parents are
	// created; no temporary file is left behind.
	if err := Write(repo, "VERSION", []byte("1.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(repo, "VERSION")); st.Mode().Perm() != 0o600 {
		t.Errorf("VERSION mode %v, want the old 0600 kept", st.Mode().Perm())
	}
	if err := Write(repo, "a/b/c.yaml", []byte("c"), 0o640); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(repo, "a/b/c.yaml")); string(b) != "c" {
		t.Errorf("new file holds %q", b)
	}
	if st, _ := os.Stat(filepath.Join(repo, "a/b/c.yaml")); st.Mode().Perm() != 0o640 {
		t.Errorf("new file mode %v, want 0640", st.Mode().Perm())
	}
	for _, d := range []string{".git", "a/b", "."} {
		entries, _ := os.ReadDir(filepath.Join(repo, d))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".relkit-") {
				t.Errorf("temporary file %s left in %s", e.Name(), d)
			}
		}
	}
	for _, bad := range []string{"", "/etc/passwd", "../x"} {
		if err := Write(repo, bad, []byte("x"), 0o644); err == nil {
			t.Errorf("Write(%q): no error", bad)
		}
	}
}

func TestWalk(t *testing.T) {
	outside := t.TempDir()
	gitxtest.WriteTree(t, outside, map[string]string{"t/secret.yaml": secret})
	repo := t.TempDir()
	gitxtest.WriteTree(t, repo, map[string]string{"c/Chart.yaml": "name: c\n", "c/templates/a.yaml": "a", "common/t.yaml": "t"})
	gitxtest.Symlink(t, "../common", filepath.Join(repo, "c/linked"))
	gitxtest.Symlink(t, filepath.Join(outside, "t"), filepath.Join(repo, "c/out"))
	gitxtest.Symlink(t, "..", filepath.Join(repo, "c/templates/up"))
	gitxtest.Symlink(t, "nowhere", filepath.Join(repo, "c/dangling"))
	d, err := Open(repo)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var files, refused []string
	err = d.Walk(context.Background(), "c", func(rel string, fi fs.FileInfo, err error) error {
		if err != nil {
			p, _, ok := Refused(err)
			if !ok {
				t.Errorf("%s: %v is not a refusal", rel, err)
			}
			refused = append(refused, p)
			return nil
		}
		if !fi.IsDir() {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"c/Chart.yaml", "c/linked/t.yaml", "c/templates/a.yaml"}
	wantRefused := []string{"c/dangling", "c/out", "c/templates/up"}
	if !slices.Equal(files, wantFiles) || !slices.Equal(refused, wantRefused) {
		t.Errorf("walk saw files %v, refused %v; want %v and %v", files, refused, wantFiles, wantRefused)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Walk(ctx, "c", func(string, fs.FileInfo, error) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk: %v", err)
	}
}
