// Package story runs the demo: it builds the demo workspace, serves its
// chart repository and registry on loopback, and walks the release process
// on it chapter by chapter, printing what a release engineer would see.
// Each chapter is one file: checks.go, branch.go, patchrelease.go,
// review.go, publish.go, status.go, verify.go.
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

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/demo"
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
		{Title: "Patch releases on aether-2.1 and point release 2.1.0", Run: runPatchRelease},
		{Title: "A patch through review: patch:charts -review on a Gerrit-like remote", Run: runReview},
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
// with no mirrors, once the loopback servers are gone, and so does the
// review chapter's config (with no REST URL: pushes for review still work).
func restoreConfig(d *demo.Workspace) {
	base := demo.ConfigText(demo.ChartRepoPath, nil)
	_ = os.WriteFile(d.ConfigFile, []byte(base), 0o644)
	review := filepath.Join(d.Dir, reviewConfig)
	if _, err := os.Stat(review); err != nil {
		return
	}
	if text, err := reviewConfigText(base, ""); err == nil {
		_ = os.WriteFile(review, []byte(text), 0o644)
	}
}
