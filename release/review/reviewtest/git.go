// Package reviewtest holds real review remotes for tests:
// a Gerrit-like remote (a bare repo whose hooks take refs/for/ pushes as
// Gerrit does, plus a REST server answering the changes query) and a
// GitHub- or Gitea-like one (a bare repo with protected branches, plus an
// httptest server implementing the pull request endpoints). Everything
// listens on loopback only and lives in the test's temporary directory.
package reviewtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Identity of every commit the helpers make.
const (
	AuthorName  = "Release Bot"
	AuthorEmail = "bot@example.org"
)

// epoch is the date of the first commit the helpers make; each further
// commit is a minute later, so hashes differ between otherwise equal
// commits made one after the other (as a rerun's would).
var (
	epoch = time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)
	clock atomic.Int64
)

// nextDate is the next commit date, in git's internal format.
func nextDate() string {
	return fmt.Sprintf("%d +0000", epoch.Add(time.Duration(clock.Add(1))*time.Minute).Unix())
}

// gitEnv is git's environment in the fixtures: no user or system config,
// a fixed identity.
func gitEnv(extra ...string) []string {
	env := append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+AuthorName, "GIT_AUTHOR_EMAIL="+AuthorEmail,
		"GIT_COMMITTER_NAME="+AuthorName, "GIT_COMMITTER_EMAIL="+AuthorEmail)
	return append(env, extra...)
}

// Git runs git in dir and returns its trimmed output; a failure fails t.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := run(dir, nil, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func run(dir string, env []string, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// Work is a working repo a test commits in.
type Work struct {
	t   testing.TB
	Dir string
}

// NewWork makes a repo at a new temporary directory with branch checked
// out and one commit holding files.
func NewWork(t testing.TB, branch string, files map[string]string) *Work {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: ", err)
	}
	w := &Work{t: t, Dir: filepath.Join(t.TempDir(), "work")}
	Git(t, "", "init", "-q", "--template=", "-b", branch, w.Dir)
	for _, kv := range [][2]string{{"user.name", AuthorName}, {"user.email", AuthorEmail}, {"commit.gpgsign", "false"}} {
		Git(t, w.Dir, "config", kv[0], kv[1])
	}
	w.Commit("Initial commit", files)
	return w
}

// Commit writes files (path to content; "" deletes), commits them on the
// checked-out branch with msg and returns the commit.
func (w *Work) Commit(msg string, files map[string]string) string {
	w.t.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(w.Dir, filepath.FromSlash(p))
		if files[p] == "" {
			if err := os.Remove(full); err != nil {
				w.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	Git(w.t, w.Dir, "add", "-A")
	date := nextDate()
	if _, err := run(w.Dir, []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}, msg,
		"commit", "-q", "--allow-empty", "--no-verify", "--cleanup=verbatim", "-F", "-"); err != nil {
		w.t.Fatal(err)
	}
	return w.Rev("HEAD")
}

// Rev resolves rev to a commit.
func (w *Work) Rev(rev string) string {
	w.t.Helper()
	return Git(w.t, w.Dir, "rev-parse", "--verify", rev+"^{commit}")
}

// Refs maps every ref of the repo at dir to its value.
func Refs(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	out := Git(t, dir, "for-each-ref", "--format=%(refname) %(objectname)")
	for _, line := range strings.Split(out, "\n") {
		if name, hash, ok := strings.Cut(line, " "); ok {
			m[name] = hash
		}
	}
	return m
}

// newBare makes a bare repo at dir with the hooks given (name to script).
func newBare(t testing.TB, dir string, hooks map[string]string, config ...[2]string) {
	t.Helper()
	Git(t, "", "init", "-q", "--bare", "--template=", "-b", "master", dir)
	for _, kv := range config {
		Git(t, dir, "config", kv[0], kv[1])
	}
	if err := os.MkdirAll(filepath.Join(dir, "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, script := range hooks {
		if err := os.WriteFile(filepath.Join(dir, "hooks", name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// adminFetch sets refs of the bare repo at dir from the repo at from, as
// an administrator would on the server: no hook runs. Each refspec is
// src:dst ("refs/heads/*:refs/heads/*"); "+" forces, for tests that
// rewrite the server.
func adminFetch(t testing.TB, dir, from string, refspecs ...string) {
	t.Helper()
	Git(t, dir, append([]string{"fetch", "-q", "--no-tags", from}, refspecs...)...)
}

// readLines reads a file of lines (none when it is missing).
func readLines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// writeLines replaces a file with lines.
func writeLines(t testing.TB, path string, lines []string) {
	t.Helper()
	data := strings.Join(lines, "\n")
	if data != "" {
		data += "\n"
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
