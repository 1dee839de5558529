//go:build mage

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/testutil"
)

var (
	demoOnce sync.Once
	demoWS   *demo.Workspace
	demoErr  error
)

// demoWorkspace builds the demo workspace once per test binary; each test
// gets its own copy.
func demoWorkspace(t *testing.T) *demo.Workspace {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "relkit-e2e-")
		if err != nil {
			demoErr = err
			return
		}
		demoWS, demoErr = demo.Build(context.Background(), filepath.Join(dir, "ws"))
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	w, err := demoWS.Clone(context.Background(), filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestCheckAllPassesOnTheDemoWorkspace(t *testing.T) {
	w := demoWorkspace(t)
	out, errOut, code := run(t, []string{"RELKIT_CONFIG=" + w.ConfigFile, "RELKIT_FORMAT=json"}, "check:all")
	if code != 0 {
		t.Fatalf("check:all exited %d\n%s%s", code, out, errOut)
	}
	r := decode(t, out)
	if r.Errors != 0 || r.Warnings == 0 || len(r.Findings) != r.Warnings {
		t.Errorf("demo should carry warnings only: %+v", r)
	}
	checksSeen := map[string]bool{}
	for _, f := range r.Findings {
		checksSeen[f.Check] = true
		if f.Repo == "" || f.File == "" || f.Rule == "" || f.Message == "" {
			t.Errorf("finding lacks a field: %+v", f)
		}
	}
	if !checksSeen["dockerfiles"] || !checksSeen["images"] {
		t.Errorf("expected the demo's waived image and dev Dockerfile warnings, got checks %v", checksSeen)
	}
}

func TestCheckTargetsFailOnBrokenFiles(t *testing.T) {
	w := demoWorkspace(t)
	amf, _ := w.Component("amf")
	upf, _ := w.Component("upf")
	env := []string{"RELKIT_CONFIG=" + w.ConfigFile, "RELKIT_FORMAT=json"}
	write := func(rel, content string) {
		if err := os.WriteFile(filepath.Join(w.Dir, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(amf.Path, "VERSION"), "v1.5.0\r\n")
	write(filepath.Join(upf.Path, "Dockerfile"), "FROM ubuntu\nRUN true\n")

	out, errOut, code := run(t, env, "check:versions")
	r := decode(t, out)
	if code != 1 || r.Errors != 1 || r.Findings[0].Rule != "version-invalid" || r.Findings[0].Repo != "amf" || r.Findings[0].Line != 1 {
		t.Errorf("check:versions exit %d: %+v %s", code, r, errOut)
	}
	// A dev VERSION makes Dockerfile findings warnings; strict makes them errors.
	out, _, code = run(t, env, "check:dockerfiles")
	if r := decode(t, out); code != 0 || r.Errors != 0 {
		t.Errorf("check:dockerfiles on a dev version should warn only: exit %d %+v", code, r)
	}
	out, _, code = run(t, append(env, "RELKIT_STRICT=1"), "check:dockerfiles")
	found := false
	for _, f := range decode(t, out).Findings {
		if f.Rule == "parent-untagged" && f.Repo == "upf" && f.File == "Dockerfile" && f.Line == 1 && f.Severity == "error" {
			found = true
		}
	}
	if code != 1 || !found {
		t.Errorf("strict check:dockerfiles: exit %d, want parent-untagged error at upf/Dockerfile:1\n%s", code, out)
	}
	// check:all reports both and exits by the worst.
	out, _, code = run(t, env, "check:all")
	if r := decode(t, out); code != 1 || r.Errors != 1 {
		t.Errorf("check:all: exit %d %+v", code, r)
	}
	// Human output names file:line for editors.
	out, _, _ = run(t, []string{"RELKIT_CONFIG=" + w.ConfigFile}, "check:versions")
	if !strings.Contains(out, amf.Path+"/VERSION:1: error [version-invalid]") {
		t.Errorf("text output lacks the editor location:\n%s", out)
	}
}

func TestUnreachableRegistryIsUndecided(t *testing.T) {
	w := demoWorkspace(t)
	// Point every image registry at a loopback port nobody listens on.
	cfg := demo.ConfigText(demo.ChartRepoPath, map[string]string{
		"registry.aetherproject.org": "127.0.0.1:9", "ghcr.io": "127.0.0.1:9", "docker.io": "127.0.0.1:9",
		"index.docker.io": "127.0.0.1:9", "registry:5000": "127.0.0.1:9"})
	if err := os.WriteFile(w.ConfigFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, []string{"RELKIT_CONFIG=" + w.ConfigFile}, "check:images", "-registry")
	if code != 3 || !strings.Contains(out+errOut, "could not decide") {
		t.Errorf("exit %d, want 3 with 'could not decide'\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "image-missing") {
		t.Errorf("an unreachable registry must never be reported as a missing image:\n%s", out)
	}
}

func TestDemoRunsTheWholeStory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, errOut, code := run(t, []string{"RELKIT_DEMO_DIR=" + dir}, "demo")
	if code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s", code, out, errOut)
	}
	testutil.ContainsAll(t, "demo output", out, "Building the demo workspace in "+dir, "== 1. CI policy checks", "passed, 0 errors",
		"== 2. Minor release", "created branch aether-2.1", "== 3. Patch releases", "$ go tool mage image:push amf",
		"== 4. A patch through review", "-review -dryRun", "pushed 2 commits for review to refs/for/aether-2.1", "Open changes of topic relkit-patch-charts-2.1",
		"== 5. CI publishes the charts", "$ go tool mage chart:publish -push", "Nothing to do: chart:publish -push is already complete",
		"== 6. Release status", "0 pending (chart:publish)", "== 7. What release 2.1.0 shipped", "kind: ReleaseManifest", "OK: every image of 2.1.0")
	if _, err := os.Stat(filepath.Join(dir, "relkit.yaml")); err != nil {
		t.Errorf("the demo workspace should stay: %v", err)
	}
}

func TestReleaseBranchGatesOnTheChecks(t *testing.T) {
	w := demoWorkspace(t)
	amf, _ := w.Component("amf")
	if err := os.WriteFile(filepath.Join(w.Dir, amf.Path, "VERSION"), []byte("1.5.0-dev \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"RELKIT_CONFIG=" + w.ConfigFile}
	// A dry run still shows the plan, and fails because the checks do.
	out, errOut, code := run(t, env, "release:branch", "2.1", "-dryRun")
	if code != 1 || !strings.Contains(out, "Plan for release:branch 2.1") || !strings.Contains(errOut, "version-invalid") {
		t.Errorf("dry run with failing checks: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// A real run refuses before writing anything.
	before, _ := exec.Command("git", "-C", filepath.Join(w.Dir, demo.ChartsRepo), "for-each-ref").Output()
	out, errOut, code = run(t, env, "release:branch", "2.1")
	after, _ := exec.Command("git", "-C", filepath.Join(w.Dir, demo.ChartsRepo), "for-each-ref").Output()
	if code != 1 || strings.Contains(out, "Applying") || string(before) != string(after) {
		t.Errorf("failing checks must stop the cut: exit %d, refs changed %v\n%s%s", code, string(before) != string(after), out, errOut)
	}
}
