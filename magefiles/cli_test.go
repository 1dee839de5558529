//go:build mage

package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
)

// snapshot records every file, directory and symlink under dir (repos,
// their .git directories, the bare remotes) with its mode and content,
// so that any write shows. .git/index is left out: a read-only git
// command may refresh its stat cache.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if filepath.Base(p) == "index" && filepath.Base(filepath.Dir(p)) == ".git" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			snap[rel] = "link " + target
		case d.IsDir():
			snap[rel] = fmt.Sprintf("dir %v", info.Mode())
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			snap[rel] = fmt.Sprintf("%v %x", info.Mode(), sha256.Sum256(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func diffSnapshots(before, after map[string]string) []string {
	var out []string
	for p, v := range after {
		if before[p] != v {
			out = append(out, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			out = append(out, p+" (removed)")
		}
	}
	slices.Sort(out)
	return out
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestWritingTargetsRunOnlyAlone runs command lines on which mage would
// run a target that writes with the wrong arguments or flags (the extra
// words become a second target that gets the flags), and checks that each
// exits 2 before anything under the workspace changed.
func TestWritingTargetsRunOnlyAlone(t *testing.T) {
	w := demoWorkspace(t)
	env := []string{"RELKIT_CONFIG=" + w.ConfigFile}
	charts := filepath.Join(w.Dir, demo.ChartsRepo)

	// Cut aether-2.1 (locally) and put two chart fixes on master, so that
	// a patch:charts run that got through would have work to do.
	if out, errOut, code := run(t, env, "release:branch", "2.1"); code != 0 {
		t.Fatalf("release:branch 2.1 exited %d\n%s%s", code, out, errOut)
	}
	var fixes []string
	for i, file := range []string{"omec/omec-control-plane/values.yaml", "roc-api/values.yaml"} {
		p := filepath.Join(charts, filepath.FromSlash(file))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(data, fmt.Sprintf("# fix %d\n", i)...), 0o644); err != nil {
			t.Fatal(err)
		}
		gitOut(t, charts, "commit", "-q", "-am", fmt.Sprintf("Fix %d", i))
		fixes = append(fixes, gitOut(t, charts, "rev-parse", "HEAD"))
	}
	c1, c2 := fixes[0][:10], fixes[1][:10]
	// The same fixes as one argument are a valid dry run: the refusals
	// below come from the extra words, not from the commits.
	if out, errOut, code := run(t, env, "patch:charts", "2.1", c1+","+c2, "-dryRun"); code == 2 {
		t.Fatalf("patch:charts 2.1 %s,%s -dryRun should plan (exit %d)\n%s%s", c1, c2, code, out, errOut)
	}

	for _, args := range [][]string{
		{"release:branch", "2.2", "2.3", "-dryRun"},
		{"patch:charts", "2.1", c1, c2, "-dryRun"},
		{"patch:charts", "2.1", "-dryRun"},
		{"patch:component", "amf", "2.1", c1, c2, "-dryRun"},
		{"release:tag", "check:versions", "-dryRun"}, // a flag after a second target
		{"check:versions", "release:tag", "-dryRun"}, // a writing target after another
		{"release:point", "2.1", "-dryRun", "release:status", "2.1"},
		{"release:manifest", "2.1", "2.1", "-dryRun"},
		{"-v", "release:branch", "2.2", "2.3", "-dryRun"}, // the compiled binary's own -v first
		{"image:push", "amf", "oci-layout", "extra", "-dryRun"},
		{"chart:publish", "extra", "-push"},
		{"chart:publish", "-dryRun", "release:status", "2.1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			before := snapshot(t, w.Dir)
			out, errOut, code := run(t, env, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, "nothing was done") && !strings.Contains(errOut, "came first") && !strings.Contains(errOut, "looks like a flag") {
				t.Errorf("stderr does not say why the command line was refused:\n%s", errOut)
			}
			if strings.Contains(out, "Plan for") || strings.Contains(out, "Applying") {
				t.Errorf("a plan was made:\n%s", out)
			}
			if changed := diffSnapshots(before, snapshot(t, w.Dir)); len(changed) > 0 {
				t.Errorf("the workspace changed: %v", changed)
			}
		})
	}
}

// TestUsageErrorsExitTwo: a bad argument is a usage error, as the README
// says, and nothing is written.
func TestUsageErrorsExitTwo(t *testing.T) {
	w := demoWorkspace(t)
	env := []string{"RELKIT_CONFIG=" + w.ConfigFile}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"release:branch", "2.x", "-dryRun"}, `release line "2.x"`},
		{[]string{"release:point", "v2.1", "-dryRun"}, `release line "v2.1"`},
		{[]string{"release:manifest", "2", "-dryRun"}, `release line "2"`},
		{[]string{"release:status", "2.1.0"}, `release line "2.1.0"`},
		{[]string{"release:verify", "2.1"}, `release "2.1"`},
		{[]string{"patch:charts", "2.1", ",", "-dryRun"}, "no commit given"},
		{[]string{"patch:component", "nosuch", "2.1", "abc", "-dryRun"}, `no component "nosuch"`},
		{[]string{"image:tags", "nosuch"}, `no component "nosuch"`},
		{[]string{"image:push", "nosuch", "oci", "-dryRun"}, `no component "nosuch"`},
		{[]string{"release:tag", "-repo=" + demo.SystemTestsRepo, "-dryRun"}, "no repo with a version file"},
		{[]string{"release:branch", "2.1", "-dryRun=maybe"}, "can't convert"},
		{[]string{"patch:component", "amf", "2.1", "abc", "-use=v3.1.4", "-dryRun"}, "-use=v3.1.4: expected a release version"},
		{[]string{"patch:component", "amf", "2.1", "abc", "-use=3.1", "-dryRun"}, "-use=3.1: expected a release version"},
		{[]string{"patch:charts", "2.1", "abc", "-from=fix..x", "-dryRun"}, "not a branch name"},
		{[]string{"patch:charts", "2.1", "abc", "-from=-x", "-dryRun"}, "not a branch name"},
		// -review and -push are two ways of pushing; the demo has no
		// review: section, so -review alone is refused too.
		{[]string{"patch:charts", "2.1", "abc", "-review", "-push"}, "-review and -push are two ways of pushing"},
		{[]string{"release:point", "2.1", "-push", "-review", "-dryRun"}, "-review and -push"},
		{[]string{"release:manifest", "2.1", "-review", "-push"}, "-review and -push"},
		{[]string{"patch:component", "amf", "2.1", "abc", "-review", "-push"}, "-review and -push"},
		{[]string{"release:branch", "2.1", "-review", "-dryRun"}, "-review needs a review: section in relkit.yaml"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			before := snapshot(t, w.Dir)
			out, errOut, code := run(t, env, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, want 2 with %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, out, errOut)
			}
			if changed := diffSnapshots(before, snapshot(t, w.Dir)); len(changed) > 0 {
				t.Errorf("the workspace changed: %v", changed)
			}
		})
	}
}

// TestVanishedRemoteIsUndecided: a remote that is gone cannot be asked,
// which is exit 3, not a refusal.
func TestVanishedRemoteIsUndecided(t *testing.T) {
	w := demoWorkspace(t)
	env := []string{"RELKIT_CONFIG=" + w.ConfigFile}
	if len(w.Remotes) == 0 {
		t.Fatal("the demo has no remotes")
	}
	for _, remote := range w.Remotes {
		if err := os.RemoveAll(remote); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"release:branch", "2.1", "-push", "-dryRun"}, {"release:status", "2.1"}} {
		out, errOut, code := run(t, env, args...)
		if code != 3 {
			t.Errorf("%v: exit %d, want 3\n%s%s", args, code, out, errOut)
		}
	}
}

// TestConfigErrorPrintedOncePerFormat: the config error shows once in
// each format and not again on stderr.
func TestConfigErrorPrintedOncePerFormat(t *testing.T) {
	w := demoWorkspace(t)
	text, err := os.ReadFile(w.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	// A tab on line 3: yaml.v3 itself says line 2.
	lines := strings.SplitAfter(string(text), "\n")
	var b strings.Builder
	for i, l := range lines {
		if i == 2 {
			b.WriteString("\tbogus: x\n")
		}
		b.WriteString(l)
	}
	if err := os.WriteFile(w.ConfigFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	where := w.ConfigFile + ":3: YAML syntax"
	for _, format := range []string{"text", "json", "junit"} {
		out, errOut, code := run(t, []string{"RELKIT_CONFIG=" + w.ConfigFile, "RELKIT_FORMAT=" + format}, "check:all")
		if code != 3 || strings.Count(out+errOut, "YAML syntax") != 1 || !strings.Contains(out, where) {
			t.Errorf("%s: exit %d, want 3 and %q once on stdout\nstdout:\n%s\nstderr:\n%s", format, code, where, out, errOut)
		}
	}
	out, errOut, code := run(t, []string{"RELKIT_CONFIG=" + w.ConfigFile}, "release:branch", "2.1", "-dryRun")
	if code != 3 || strings.Count(out+errOut, "YAML syntax") != 1 || !strings.Contains(errOut, where) {
		t.Errorf("release:branch: exit %d, want 3 and %q once\nstdout:\n%s\nstderr:\n%s", code, where, out, errOut)
	}
}
