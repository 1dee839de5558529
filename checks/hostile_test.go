package checks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

// hostileHelperEnv makes the test binary run the checks over the workspace
// config it names and print every output format, instead of the tests: a
// fresh process whose /proc/self/environ holds the canary the parent set.
const hostileHelperEnv = "RELKIT_TEST_HOSTILE_CONFIG"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(hostileHelperEnv); cfg != "" {
		os.Exit(hostileHelper(cfg))
	}
	os.Exit(m.Run())
}

// hostileHelper runs check:versions and check:dockerfiles and writes the
// merged report as text, JSON, JUnit and GitHub annotations.
func hostileHelper(cfg string) int {
	ws, err := workspace.Load(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	rep := report.New()
	rep.Merge(Versions(ctx, ws, Options{}))
	rep.Merge(Dockerfiles(ctx, ws, Options{}))
	for _, o := range []report.Options{{Format: report.Text, GitHub: true}, {Format: report.JSON}, {Format: report.JUnit}} {
		o.RepoDir = ws.RepoDirs()
		if err := rep.Write(os.Stdout, o); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	return 0
}

// commitSymlink commits a symlink at name pointing to target (git add of
// a symlink records the link, as a fork's pull request would).
func commitSymlink(t *testing.T, r *demo.Repo, name, target string) {
	t.Helper()
	p := filepath.Join(r.Dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(p)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	r.Git("add", "--", name)
	r.Git("commit", "-q", "-m", "link "+name)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if mode := r.Git("ls-files", "-s", "--", name); !strings.HasPrefix(mode, "120000") {
		t.Fatalf("%s is not committed as a symlink: %q", name, mode)
	}
}

// newRepo makes a repo at dir whose one commit holds files.
func newRepo(t testing.TB, dir string, files map[string]string) *demo.Repo {
	t.Helper()
	return workspacetest.Repo(t, dir, "master", func(r *demo.Repo) { r.Commit("initial", files) })
}

// TestHostileVersionFiles: a VERSION committed as a symlink to
// /proc/self/environ or /etc/passwd, or left as a FIFO, is a
// file-not-regular finding of check:versions and check:dockerfiles, and no
// output format holds a byte of the environment or of the password file.
func TestHostileVersionFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dockerfile := map[string]string{"Dockerfile": "FROM golang:1.22 AS build\nFROM scratch\n"}
	env := newRepo(t, filepath.Join(root, "envleak"), dockerfile)
	commitSymlink(t, env, "VERSION", "/proc/self/environ")
	pw := newRepo(t, filepath.Join(root, "pwleak"), dockerfile)
	commitSymlink(t, pw, "VERSION", "../../../../../../../../../../../../etc/passwd")
	fifo := newRepo(t, filepath.Join(root, "fifo"), dockerfile)
	if err := syscall.Mkfifo(filepath.Join(fifo.Dir, "VERSION"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symlink that stays in the repo is read as usual.
	inside := newRepo(t, filepath.Join(root, "inside"), map[string]string{"Dockerfile": "FROM ubuntu:latest\n", "version/VERSION": "1.2.3-dev\n"})
	commitSymlink(t, inside, "VERSION", "version/VERSION")
	newRepo(t, filepath.Join(root, "charts"), map[string]string{"VERSION": "2.1.0-dev\n"})
	cfg := filepath.Join(root, "relkit.yaml")
	var b strings.Builder
	b.WriteString("charts:\n  path: charts\ncomponents:\n")
	for _, n := range []string{"envleak", "pwleak", "fifo", "inside"} {
		fmt.Fprintf(&b, "  - name: %s\n    path: %s\n", n, n)
	}
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	canary := "relkit-canary-" + hex.EncodeToString(nonce[:])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), hostileHelperEnv+"="+cfg, "RELKIT_CANARY_SECRET="+canary, "RELKIT_STRICT=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	if strings.Contains(out, canary) || strings.Contains(stderr.String(), canary) {
		t.Fatalf("the output holds the canary from the process environment:\n%s", out)
	}
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(passwd), "\n") {
		if len(line) > 8 && strings.Contains(out, line) {
			t.Fatalf("the output holds /etc/passwd line %q", line)
		}
	}
	if strings.Contains(out, "root:x:0:0") || strings.Contains(out, "PATH=") {
		t.Fatalf("the output holds file content:\n%s", out)
	}
	// Each refused VERSION is a finding of both checks, in every format.
	for _, repo := range []string{"envleak", "pwleak", "fifo"} {
		for _, check := range []string{"versions", "dockerfiles"} {
			want := fmt.Sprintf(`"check": %q,
      "rule": "file-not-regular",
      "severity": "error",
      "repo": %q,
      "file": "VERSION"`, check, repo)
			if !strings.Contains(out, want) {
				t.Errorf("no file-not-regular finding of check:%s for %s/VERSION in the JSON output:\n%s", check, repo, out)
			}
		}
		if !strings.Contains(out, "::error file="+repo+"/VERSION,title=versions file-not-regular::") {
			t.Errorf("no GitHub annotation for %s/VERSION", repo)
		}
	}
	for _, reason := range []string{`VERSION is a symlink to \"/proc/self/environ\", outside the repo`, "VERSION is a FIFO"} {
		if !strings.Contains(out, reason) {
			t.Errorf("the output does not say %q", reason)
		}
	}
	// The Dockerfiles of the refused repos were still checked (as
	// releases: their VERSION could not tell otherwise), and the repo with
	// an inside symlink was judged by its pre-release VERSION.
	if !strings.Contains(out, "inside/Dockerfile:1: warning [parent-moving-tag]") {
		t.Errorf("the inside symlink's repo was not checked as a pre-release:\n%s", out)
	}
	if strings.Contains(out, "[file-not-regular] \"VERSION\": inside") {
		t.Errorf("a symlink inside the repo was refused:\n%s", out)
	}
}

// hostileCharts builds a charts repo whose charts try every way out:
// values.yaml and a template directory committed as symlinks out of the
// repo, Chart.yaml as a FIFO and as a symlink to /dev/zero, a values file
// over the cap, a render.values file that is a symlink to /etc/passwd;
// and a chart whose symlinks stay inside, which must render as before.
func hostileCharts(t *testing.T) (*workspace.Config, string) {
	t.Helper()
	root := t.TempDir()
	outside := t.TempDir()
	secret := "image: leaked.example.org/secret:OUTSIDE-" + filepath.Base(outside)
	if err := os.MkdirAll(filepath.Join(outside, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "templates", "pod.yaml"), []byte("kind: Pod\nspec:\n  containers:\n    - "+secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	chart := func(name string) string { return "apiVersion: v2\nname: " + name + "\nversion: 1.0.0\n" }
	pod := "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n"
	r := newRepo(t, filepath.Join(root, "charts"), map[string]string{
		"VERSION":                        "2.1.0-dev\n",
		"apps/leak/Chart.yaml":           chart("leak"),
		"apps/leak/templates/pod.yaml":   pod,
		"apps/tpl/Chart.yaml":            chart("tpl"),
		"apps/tpl/values.yaml":           "image: org/tpl:1.0.0\n",
		"apps/fifo/values.yaml":          "image: org/fifo:1.0.0\n",
		"apps/zero/values.yaml":          "image: org/zero:1.0.0\n",
		"apps/big/Chart.yaml":            chart("big"),
		"apps/big/values.yaml":           "image: org/big:1.0.0\n# " + strings.Repeat("x", 6<<20) + "\n",
		"apps/big/templates/pod.yaml":    pod,
		"apps/extra/Chart.yaml":          chart("extra"),
		"apps/extra/values.yaml":         "image: org/extra:1.0.0\n",
		"apps/extra/templates/pod.yaml":  pod,
		"shared/templates/pod.yaml":      pod,
		"shared/values.yaml":             "image: org/inside:latest\n",
		"apps/inside/Chart.yaml":         chart("inside"),
		"apps/fine/Chart.yaml":           chart("fine"),
		"apps/fine/values.yaml":          "image: org/fine:latest\n",
		"apps/fine/templates/pod.yaml":   pod,
		"apps/fine/templates/_x.tpl":     "{{/* nothing */}}\n",
		"apps/fine/.helmignore":          "ignored/\n",
		"apps/fine/ignored/readme.txt":   "ignored\n",
		"apps/zero/templates/pod.yaml":   pod,
		"apps/fifo/templates/pod.yaml":   pod,
		"apps/tpl/templates-real/x.yaml": pod,
	})
	commitSymlink(t, r, "apps/leak/values.yaml", "/etc/passwd")
	commitSymlink(t, r, "apps/tpl/templates", filepath.Join(outside, "templates"))
	commitSymlink(t, r, "apps/zero/Chart.yaml", "/dev/zero")
	commitSymlink(t, r, "apps/inside/templates", "../../shared/templates")
	commitSymlink(t, r, "apps/inside/values.yaml", "../../shared/values.yaml")
	commitSymlink(t, r, "ci/passwd-values.yaml", "/etc/passwd")
	// A symlink out of the repo that .helmignore leaves out is never read,
	// so it is no finding.
	commitSymlink(t, r, "apps/fine/ignored/secret", "/etc/passwd")
	if err := syscall.Mkfifo(filepath.Join(r.Dir, "apps/fifo/Chart.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `charts:
  name: charts
  path: charts
render:
  values:
    apps/extra: [ci/passwd-values.yaml]
`
	ws, err := workspace.Parse(filepath.Join(root, "relkit.yaml"), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return ws, secret
}

// runBounded runs f and fails when it does not return in time: a FIFO or
// /dev/zero must be refused at once, never waited on.
func runBounded(t *testing.T, f func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); f(ctx) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the check did not finish: it blocked on a file")
	}
}

func TestHostileChartsThroughCheckImages(t *testing.T) {
	t.Parallel()
	ws, secret := hostileCharts(t)
	var rep *report.Report
	runBounded(t, func(ctx context.Context) { rep = Images(ctx, ws, Options{Now: imgNow}) })
	var refused, rendered []string
	for _, f := range rep.Findings() {
		if f.Rule == ruleFileNotRegular {
			refused = append(refused, f.File)
			if f.Severity != report.Error || f.Subject != f.File {
				t.Errorf("finding %+v: want an error naming the file", f)
			}
		}
		rendered = append(rendered, f.Subject)
	}
	slices.Sort(refused)
	want := []string{"apps/big/values.yaml", "apps/fifo/Chart.yaml", "apps/leak/values.yaml", "apps/tpl/templates", "apps/zero/Chart.yaml", "ci/passwd-values.yaml"}
	if !slices.Equal(refused, want) {
		t.Errorf("file-not-regular findings for %v, want %v\nall: %v", refused, want, imgFindings(rep))
	}
	if err := rep.Err(); err != nil {
		t.Errorf("could not decide: %v", err)
	}
	var text, js bytes.Buffer
	if err := rep.Write(&text, report.Options{Format: report.Text, GitHub: true}); err != nil {
		t.Fatal(err)
	}
	if err := rep.Write(&js, report.Options{Format: report.JSON}); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{text.String(), js.String()} {
		if strings.Contains(out, secret) || strings.Contains(out, "root:x:0") || strings.Contains(out, "OUTSIDE-") {
			t.Fatalf("output holds content from outside the repo:\n%s", out)
		}
	}
	// The chart whose symlinks stay in the repo rendered its image from
	// the linked values; the good chart still rendered next to the bad
	// ones.
	msgs := text.String()
	for _, want := range []string{"org/inside:latest", "org/fine:latest"} {
		if !slices.Contains(rendered, want) {
			t.Errorf("image %s was not found: symlinks inside the repo must still load\n%s", want, msgs)
		}
	}
	if strings.Contains(msgs, "apps/fine/ignored") {
		t.Errorf("a file .helmignore leaves out was reported:\n%s", msgs)
	}
	if !strings.Contains(msgs, `apps/tpl/templates is a symlink to "`) || !strings.Contains(msgs, "apps/big/values.yaml is 6.0 MiB, larger than the 5 MiB") {
		t.Errorf("the findings do not say why:\n%s", msgs)
	}
}

func TestHostileChartsThroughCheckCharts(t *testing.T) {
	t.Parallel()
	ws, _ := hostileCharts(t)
	var rep *report.Report
	runBounded(t, func(ctx context.Context) { rep = ChartsAgainst(ctx, ws, "") })
	var refused []string
	for _, f := range rep.Findings() {
		if f.Rule == ruleFileNotRegular {
			refused = append(refused, f.File)
		}
	}
	slices.Sort(refused)
	if want := []string{"apps/fifo/Chart.yaml", "apps/zero/Chart.yaml"}; !slices.Equal(refused, want) {
		t.Errorf("file-not-regular findings for %v, want %v\n%v", refused, want, summary(rep))
	}
}

// TestEscapedDockerfileOutput: an ANSI sequence, a BEL and a CR in a FROM
// line reach the text and GitHub outputs escaped, never raw.
func TestEscapedDockerfileOutput(t *testing.T) {
	t.Parallel()
	ws := dfWorkspace(t, map[string]map[string]string{
		"evil": {"VERSION": "1.0.0\n", "Dockerfile": "FROM ubuntu:\x1b[2J\x1b]0;pwned\x07latest\x1b[0m\n"},
	}, "charts:\n  path: charts\ncomponents:\n  - name: evil\n    path: evil\n")
	rep := Dockerfiles(context.Background(), ws, Options{})
	if len(rep.Findings()) == 0 {
		t.Fatalf("no finding for the hostile FROM line: %v", rep.Err())
	}
	for _, o := range []report.Options{{Format: report.Text}, {Format: report.Text, Colour: true, GitHub: true}} {
		var b bytes.Buffer
		if err := rep.Write(&b, o); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if o.Colour {
			// relkit's own colours are the only escape sequences.
			out = strings.NewReplacer("\x1b[31m", "", "\x1b[33m", "", "\x1b[1m", "", "\x1b[0m", "").Replace(out)
		}
		if strings.ContainsAny(out, "\x1b\x07\r") {
			t.Errorf("raw control characters in the output: %q", out)
		}
		if !strings.Contains(out, `\x1b[2J`) && !strings.Contains(out, `\\x1b[2J`) {
			t.Errorf("the escaped sequence is not shown: %q", out)
		}
	}
}
