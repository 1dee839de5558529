package workspace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/gitx/gitxtest"
)

// gitRepo makes a real git checkout with one commit holding VERSION.
func gitRepo(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte("2.1.0-dev\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q", "-b", "master")
	git(t, dir, "add", "VERSION")
	git(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "version")
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// wantConfigError parses text in root and checks that the error names
// the file, line and every wanted text.
func wantConfigError(t *testing.T, root, text string, want ...string) {
	t.Helper()
	file := filepath.Join(root, "relkit.yaml")
	_, err := Parse(file, []byte(text))
	if err == nil {
		t.Fatalf("config accepted:\n%s", text)
	}
	if _, ok := err.(*Error); !ok {
		t.Errorf("error is %T, want *workspace.Error (exit 3)", err)
	}
	for _, w := range append([]string{file + ":"}, want...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

func TestRepoPathsThatLeaveTheWorkspaceThroughSymlinks(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	outside := t.TempDir()
	gitRepo(t, filepath.Join(root, "charts"))
	gitRepo(t, filepath.Join(outside, "amf"))
	gitRepo(t, filepath.Join(root, "inside"))
	// The checkout itself is a symlink out of the root.
	gitxtest.Symlink(t, filepath.Join(outside, "amf"), filepath.Join(root, "amf"))
	// A parent directory is a symlink out of the root.
	gitxtest.Symlink(t, outside, filepath.Join(root, "vendor"))
	// A relative symlink that climbs out.
	gitxtest.Symlink(t, "../../"+filepath.Base(outside)+"/amf", filepath.Join(root, "rel", "amf"))
	// A symlink that stays inside is fine.
	gitxtest.Symlink(t, "inside", filepath.Join(root, "alias"))
	if err := os.MkdirAll(filepath.Join(outside, "site", ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitxtest.Symlink(t, filepath.Join(outside, "site"), filepath.Join(root, "site"))

	for _, tc := range []struct{ name, text, line, key string }{
		{"checkout symlink", "charts: {path: charts}\ncomponents:\n  - name: amf\n    path: amf\n", ":4:", "components[0].path"},
		{"parent symlink", "charts: {path: charts}\ncomponents:\n  - name: amf\n    path: vendor/amf\n", ":4:", "components[0].path"},
		{"charts through symlink", "charts:\n  path: vendor/amf\n", ":2:", "charts.path"},
		{"branched through symlink", "charts: {path: charts}\nbranched:\n  - name: st\n    path: vendor/amf\n", ":4:", "branched[0].path"},
		{"publish repo through symlink", "charts:\n  path: charts\n  publish:\n    git: site\n", ":4:", "charts.publish.git"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantConfigError(t, root, tc.text, tc.line, tc.key, "outside the workspace root")
		})
	}
	if _, err := Parse(filepath.Join(root, "relkit.yaml"), []byte("charts: {path: charts}\ncomponents:\n  - {name: x, path: alias}\n")); err != nil {
		t.Errorf("a symlink inside the workspace should be accepted: %v", err)
	}
	// The root itself reached through a symlink: paths are compared after
	// resolving both.
	linkedRoot := filepath.Join(t.TempDir(), "ws")
	gitxtest.Symlink(t, root, linkedRoot)
	if _, err := Parse(filepath.Join(linkedRoot, "relkit.yaml"), []byte("charts: {path: charts}\n")); err != nil {
		t.Errorf("a workspace opened through a symlink should be accepted: %v", err)
	}
}

func TestTwoRolesOnOneRepoAreRefused(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, r := range []string{"charts", "docs", "amf", "smf"} {
		gitRepo(t, filepath.Join(root, r))
	}
	gitxtest.Symlink(t, "charts", filepath.Join(root, "charts-link"))
	// A linked worktree of the charts repo shares its refs.
	git(t, filepath.Join(root, "charts"), "worktree", "add", "-q", "--detach", filepath.Join(root, "charts-wt"))

	for _, tc := range []struct{ name, text string }{
		{"docs = charts", "charts: {path: charts}\ndocs: {path: charts}\n"},
		{"component = charts", "charts: {path: charts}\ncomponents:\n  - {name: amf, path: charts}\n"},
		{"two components", "charts: {path: charts}\ncomponents:\n  - {name: amf, path: amf}\n  - {name: amf2, path: amf/.}\n"},
		{"branched = component", "charts: {path: charts}\ncomponents:\n  - {name: amf, path: amf}\nbranched:\n  - {name: st, path: amf}\n"},
		{"through a symlink", "charts: {path: charts}\ndocs: {path: charts-link}\n"},
		{"linked worktree", "charts: {path: charts}\ndocs: {path: charts-wt}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(root, "relkit.yaml")
			_, err := Parse(file, []byte(tc.text))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.text)
			}
			msg := err.Error()
			if !strings.Contains(msg, "is the same repository as") {
				t.Fatalf("error does not say the repo is used twice:\n%s", msg)
			}
			// Both keys are named, and the line is the second one's (the
			// last line of each text).
			lines := strings.Split(strings.TrimSpace(tc.text), "\n")
			var first, later string
			switch tc.name {
			case "docs = charts", "through a symlink", "linked worktree":
				first, later = "charts.path", "docs.path"
			case "component = charts":
				first, later = "charts.path", "components[0].path"
			case "two components":
				first, later = "components[0].path", "components[1].path"
			case "branched = component":
				first, later = "components[0].path", "branched[0].path"
			}
			if !strings.Contains(msg, later+":") || !strings.Contains(msg, "same repository as "+first) {
				t.Errorf("error should name %s and %s:\n%s", later, first, msg)
			}
			if want := file + ":" + strconv.Itoa(len(lines)) + ":"; !strings.Contains(msg, want) {
				t.Errorf("error should point at line %d (%s):\n%s", len(lines), want, msg)
			}
		})
	}
	if _, err := Parse(filepath.Join(root, "relkit.yaml"), []byte("charts: {path: charts}\ndocs: {path: docs}\ncomponents:\n  - {name: amf, path: amf}\n  - {name: smf, path: smf}\n")); err != nil {
		t.Errorf("distinct repos refused: %v", err)
	}
}

func TestVersionedRepoWithoutVersionFileIsAConfigError(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, r := range []string{"charts", "docs", "amf", "system-tests"} {
		gitRepo(t, filepath.Join(root, r))
	}
	for _, r := range []string{"empty-charts", "empty-docs", "empty-amf", "dir-version"} {
		if err := os.MkdirAll(filepath.Join(root, r, ".git"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "dir-version", "VERSION"), 0o755); err != nil {
		t.Fatal(err)
	}
	// system-tests is a branched repo: it has no version by design.
	if err := os.Remove(filepath.Join(root, "system-tests", "VERSION")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"charts", "charts:\n  path: empty-charts\n", []string{":2:", "charts.path:", "holds no VERSION", "charts repo"}},
		{"docs", "charts: {path: charts}\ndocs:\n  path: empty-docs\n", []string{":3:", "docs.path:", "holds no VERSION"}},
		{"component", "charts: {path: charts}\ncomponents:\n  - name: amf\n    path: empty-amf\n", []string{":4:", "components[0].path:", "holds no VERSION", "component repo"}},
		{"named version file", "charts:\n  path: charts\n  versionFile: PLATFORM_VERSION\n", []string{":3:", "charts.versionFile:", "holds no PLATFORM_VERSION"}},
		{"a directory", "charts: {path: charts}\ncomponents:\n  - name: d\n    path: dir-version\n", []string{":4:", "components[0].path:", "is a directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantConfigError(t, root, tc.text, tc.want...) })
	}
	ok := "charts: {path: charts}\ndocs: {path: docs}\ncomponents: [{name: amf, path: amf}]\nbranched: [{name: system-tests, path: system-tests}]\n"
	if _, err := Parse(filepath.Join(root, "relkit.yaml"), []byte(ok)); err != nil {
		t.Errorf("a branched repo without VERSION must be accepted: %v", err)
	}
}
