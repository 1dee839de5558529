// Package story runs the demo: it builds the demo workspace, serves its
// chart repository and registry on loopback, and walks the release process
// on it chapter by chapter, printing what a release engineer would see.
package story

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/branch"
	"github.com/relkit/relkit/release/chartpublish"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/demo/story5"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/manifestfile"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/status"
	"github.com/relkit/relkit/release/workspace"
)

// Options controls a demo run.
type Options struct {
	// Dir is where the workspace is built; empty means a new temp dir.
	Dir string
	Out io.Writer
	// Report is how the checks chapter prints its report (the check
	// targets' format, colour and annotations); the zero value is plain
	// text.
	Report report.Options
}

// Chapter is one step of the story. It gets the loaded workspace (whose
// config points at the running services) and prints to w.
type Chapter struct {
	Title string
	Run   func(ctx context.Context, w io.Writer, ws *workspace.Config, d *demo.Workspace) error
}

// chapters are the story in order.
func chapters(o Options) []Chapter {
	return []Chapter{
		{Title: "CI policy checks on master", Run: func(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
			return runChecks(ctx, w, ws, o.Report)
		}},
		{Title: "Minor release: cut aether-2.1 and move master to 2.2", Run: runBranch},
		{Title: "Patch releases on aether-2.1 and point release 2.1.0", Run: func(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
			return story5.DemoPatchRelease(ctx, w, ws, demoLine)
		}},
		{Title: "CI publishes the charts", Run: runPublish},
		{Title: "Release status of the 2.1 line", Run: runStatus},
		{Title: "What release 2.1.0 shipped, and proof that it still does", Run: runVerify},
	}
}

// demoLine is the release line the demo cuts: the charts repo's master is
// at 2.1.0-dev.
const demoLine = "2.1"

// Run builds the demo workspace and runs every chapter. The workspace
// stays on disk; at the end its relkit.yaml is pointed back at the static
// chart repository (the loopback servers stop with the demo) so the
// printed commands keep working.
func Run(ctx context.Context, o Options) error {
	w := o.Out
	dir := o.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "relkit-demo-")
		if err != nil {
			return err
		}
		dir = tmp
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(w, "Building the demo workspace in %s\n", dir)
	d, err := demo.Build(ctx, dir)
	if err != nil {
		return fmt.Errorf("building the demo workspace: %w", err)
	}
	for _, c := range d.Components {
		fmt.Fprintf(w, "  component %-8s master %-10s charts use %s\n", c.Name, c.Version, c.Charted)
	}
	fmt.Fprintf(w, "  charts repo with %d charts, docs, system-tests, bare remotes in %s (%.1fs)\n",
		len(d.Charts), filepath.Join(dir, "remotes"), time.Since(start).Seconds())

	svc, err := demo.Serve(ctx, d)
	if err != nil {
		return fmt.Errorf("starting the demo registry and chart repository: %w", err)
	}
	defer func() {
		svc.Close()
		restoreConfig(d)
	}()
	fmt.Fprintf(w, "  chart repository %s, OCI registry %s (mirrors %s)\n", svc.ChartRepoURL, svc.RegistryHost, mirrorList(svc.Mirrors))

	for i, c := range chapters(o) {
		fmt.Fprintf(w, "\n== %d. %s\n\n", i+1, c.Title)
		ws, err := workspace.Load(d.ConfigFile)
		if err != nil {
			return err
		}
		if err := c.Run(ctx, w, ws, d); err != nil {
			return fmt.Errorf("chapter %d (%s): %w", i+1, c.Title, err)
		}
	}
	fmt.Fprintf(w, "\nThe workspace stays in %s. Try:\n  RELKIT_CONFIG=%s go tool mage check:all\n",
		dir, d.ConfigFile)
	return nil
}

func mirrorList(m map[string]string) string {
	var hosts []string
	for h := range m {
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(slices.Values(hosts)), ", ")
}

// restoreConfig points relkit.yaml at the static chart repository again,
// with no mirrors, once the loopback servers are gone.
func restoreConfig(d *demo.Workspace) {
	_ = os.WriteFile(d.ConfigFile, []byte(demo.ConfigText(demo.ChartRepoPath, nil)), 0o644)
}

// runBranch shows release:branch's plan with -dryRun, then cuts and pushes.
func runBranch(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	fmt.Fprintf(w, "$ go tool mage release:branch %s -dryRun\n", demoLine)
	if err := branch.Run(ctx, ws, branch.Options{Line: demoLine, DryRun: true, Push: true}, w, plan.Text); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n$ go tool mage release:branch %s -push\n", demoLine)
	if err := branch.Run(ctx, ws, branch.Options{Line: demoLine, Push: true}, w, plan.Text); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n$ go tool mage release:branch %s -push   (again: nothing left to do)\n", demoLine)
	return branch.Run(ctx, ws, branch.Options{Line: demoLine, Push: true}, w, plan.Text)
}

// runPublish plays the charts repo's CI after the merges on master and on
// aether-2.1: chart:publish puts every chart version not yet published
// into the static chart repository (branch gh-pages of a git repo) and the
// OCI registry, dependencies first; a rerun has nothing to do.
func runPublish(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	branch := ws.ReleaseBranch(demoLine)
	steps := []struct {
		note string
		opt  chartpublish.Options
	}{
		{"(the charts repo's CI on master, after the merge)\n$ go tool mage chart:publish -dryRun", chartpublish.Options{Rev: "master", DryRun: true}},
		{"$ go tool mage chart:publish -push", chartpublish.Options{Rev: "master", Push: true}},
		{"(CI on " + branch + ", after the merge of the patch release)\n$ go tool mage chart:publish -push", chartpublish.Options{Rev: branch, Push: true}},
		{"$ go tool mage chart:publish -push   (again: nothing left to do)", chartpublish.Options{Rev: branch, Push: true}},
	}
	for i, st := range steps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, st.note)
		st.opt.Registry = chartrepo.Options{BaseDir: ws.Root, Mirrors: ws.Images.Mirrors}
		if err := chartpublish.Run(ctx, ws, st.opt, w, plan.Text); err != nil {
			return err
		}
	}
	return nil
}

// runVerify shows the manifest release:point committed with 2.1.0 and
// re-resolves every image in it.
func runVerify(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	const release = demoLine + ".0"
	path := manifestfile.Path(release)
	data, err := gitx.Git(ctx, ws.Charts.Dir, "show", ws.Charts.Tag(release)+":"+path)
	if err != nil {
		return fmt.Errorf("release:point should have committed %s with tag %s: %w", path, release, err)
	}
	fmt.Fprintf(w, "$ git -C %s show %s:%s\n%s\n", ws.Charts.Path, ws.Charts.Tag(release), path, data)
	fmt.Fprintf(w, "$ go tool mage release:verify %s\n", release)
	v, err := manifestfile.Verify(ctx, ws, release, manifestfile.VerifyOptions{})
	if v != nil {
		if werr := v.WriteText(w); werr != nil {
			return werr
		}
	}
	return err
}

// runStatus prints release:status for the demo line.
func runStatus(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	fmt.Fprintf(w, "$ go tool mage release:status %s\n", demoLine)
	st, err := status.Collect(ctx, ws, demoLine, status.Options{})
	if err != nil {
		return err
	}
	if err := st.WriteText(w); err != nil {
		return err
	}
	if code := st.ExitCode(); code != 0 {
		return fmt.Errorf("release:status exit %d", code)
	}
	return nil
}

// runChecks runs every registered check, with registry lookups, prints
// the report as ro says, and fails the demo only when a check could not
// decide: the demo workspace carries warnings on purpose.
func runChecks(ctx context.Context, w io.Writer, ws *workspace.Config, ro report.Options) error {
	fmt.Fprintf(w, "$ go tool mage check:all   (RELKIT_REGISTRY=1: every image tag is looked up in the registry)\n")
	r := checks.NewRunner(func() (*workspace.Config, error) { return ws, nil }, checks.Options{Registry: true})
	code, summary := r.Run(ctx, w, ro, checks.Names()...)
	switch code {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("the demo workspace should pass the checks: %s", summary)
	}
	return fmt.Errorf("checks could not decide: %s", summary)
}
