//go:build mage

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// relkitBin is the targets compiled once with `mage -compile`, the way the
// README tells CI to do it; every test runs it as a real process.
var relkitBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "relkit-bin")
	if err != nil {
		panic(err)
	}
	relkitBin = filepath.Join(dir, "relkit")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	cmd := exec.CommandContext(ctx, "go", "tool", "mage", "-compile", relkitBin)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	cancel()
	if err != nil {
		os.Stderr.Write(out)
		panic("mage -compile failed: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes the compiled targets with env and returns stdout, stderr
// and the exit status.
func run(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, relkitBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// wantTargets are the targets every issue so far promised in `mage -l`.
var wantTargets = []string{"check:versions", "check:dockerfiles", "check:images", "check:charts", "check:all", "demo",
	"release:branch", "release:tag", "image:tags", "image:push", "patch:charts", "patch:component",
	"release:point", "release:manifest", "release:status", "release:verify", "chart:publish"}

func TestListShowsEveryTargetWithASynopsis(t *testing.T) {
	out, errOut, code := run(t, nil, "-l")
	if code != 0 {
		t.Fatalf("-l exited %d: %s", code, errOut)
	}
	lines := map[string]string{}
	re := regexp.MustCompile(`^\s+(\S+)\s+(.*)$`)
	for _, l := range strings.Split(out, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			lines[strings.ToLower(m[1])] = strings.TrimSpace(m[2])
		}
	}
	for _, target := range wantTargets {
		syn, ok := lines[target]
		if !ok {
			t.Errorf("mage -l does not list %s:\n%s", target, out)
			continue
		}
		if len(syn) < 15 {
			t.Errorf("%s has no real synopsis: %q", target, syn)
		}
	}
}

func TestHelpShowsTheManual(t *testing.T) {
	out, _, code := run(t, nil, "-h", "check:dockerfiles")
	if code != 0 || !strings.Contains(out, "RELKIT_STRICT") || !strings.Contains(out, "Example") {
		t.Errorf("-h check:dockerfiles (exit %d) lacks the manual:\n%s", code, out)
	}
}

// jsonReport is the contract of RELKIT_FORMAT=json.
type jsonReport struct {
	Findings []struct {
		Check, Rule, Severity, Repo, File, Subject, Message string
		Line                                                int
	} `json:"findings"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

func decode(t *testing.T, out string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out)
	}
	return r
}

func TestBadConfigExitsThreeNamingFileAndLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "charts", ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "relkit.yaml")
	if err := os.WriteFile(cfg, []byte("charts:\n  path: charts\n  mainbranch: main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, []string{"RELKIT_CONFIG=" + cfg}, "check:versions")
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out+errOut, cfg+":3:") || !strings.Contains(out+errOut, "mainbranch") {
		t.Errorf("error should name %s:3 and the key:\n%s%s", cfg, out, errOut)
	}
}

func TestNoConfigExitsThree(t *testing.T) {
	out, errOut, code := run(t, []string{"RELKIT_CONFIG=" + filepath.Join(t.TempDir(), "none.yaml")}, "check:all")
	// Said once, in the report; stderr only gives the verdict.
	if code != 3 || strings.Count(out+errOut, "none.yaml") != 1 || !strings.Contains(out, "none.yaml") {
		t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
}
