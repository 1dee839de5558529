package chartpkg

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clock is the committer time of the next test commit: whole minutes
// from a fixed start, so that file times in packages are predictable.
type gitRepo struct {
	t     testing.TB
	dir   string
	clock int64
}

func newRepo(t testing.TB) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, dir: filepath.Join(t.TempDir(), "charts"), clock: 1_700_000_000}
	r.git("init", "-q", "-b", "main", r.dir)
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	return gitIn(r.t, r.dir, r.clock, args...)
}

func gitIn(t testing.TB, dir string, when int64, args ...string) string {
	t.Helper()
	if args[0] == "init" || args[0] == "clone" {
		dir = ""
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	date := fmt.Sprintf("@%d +0000", when)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.org", "GIT_COMMITTER_NAME=Dev",
		"GIT_COMMITTER_EMAIL=dev@example.org", "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// write puts files into the worktree (a value starting with "-> " makes a
// symlink to the rest; "" deletes the file).
func (r *gitRepo) write(files map[string]string) {
	r.t.Helper()
	for p, content := range files {
		full := filepath.Join(r.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		_ = os.Remove(full)
		switch {
		case content == "":
		case strings.HasPrefix(content, "-> "):
			if err := os.Symlink(strings.TrimPrefix(content, "-> "), full); err != nil {
				r.t.Fatal(err)
			}
		default:
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				r.t.Fatal(err)
			}
		}
	}
}

// commit writes files and commits everything, a minute after the last
// commit; it returns the commit.
func (r *gitRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	r.clock += 60
	r.write(files)
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *gitRepo) when() time.Time { return time.Unix(r.clock, 0).UTC() }

// tree reads HEAD of the repo at dir.
func tree(t testing.TB, dir string) *Tree {
	t.Helper()
	tr, err := ReadTree(context.Background(), dir, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// packageAll loads and packages every chart of HEAD at dir.
func packageAll(t testing.TB, dir string, f *Fetcher) map[string]*Package {
	t.Helper()
	ctx := context.Background()
	tr := tree(t, dir)
	l := &Loader{Tree: tr, Fetcher: f}
	var list []*Chart
	for _, d := range tr.Discover() {
		c, err := l.Load(ctx, d)
		if err != nil {
			t.Fatalf("loading %s: %v", d, err)
		}
		list = append(list, c)
	}
	pkgs, errs, err := Build(ctx, tr, list)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Package{}
	for i, p := range pkgs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		out[p.Dir] = p
	}
	return out
}

// Chart files for the tests.
func chartFile(name, version string, deps ...string) string {
	s := fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\ndescription: the %s chart\nappVersion: \"1.0\"\n", name, version, name)
	if len(deps) > 0 {
		s += "dependencies:\n"
		for _, d := range deps {
			s += d
		}
	}
	return s
}

func dep(name, version, repo string) string {
	return fmt.Sprintf("  - name: %s\n    version: %q\n    repository: %q\n", name, version, repo)
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  template:
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
`
