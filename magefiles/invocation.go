//go:build mage

package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/release/invocation"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// alone is the first thing every target that writes does: it refuses
// (exit 2) unless the command line runs that target alone, with its
// required arguments and then only its own flags. Mage runs any other
// word as a further target and hands it the flags after it, so without
// this `release:branch 2.1 2.2 -dryRun` cut the branches for real before
// mage said "Unknown target". Targets that only read may be chained.
func alone(target string, required int) error {
	if err := invocation.Alone(os.Args[1:], target, required); err != nil {
		return usage(err)
	}
	return nil
}

// usage is a usage error: exit 2, as for mage's own.
func usage(err error) error { return mg.Fatal(plan.ExitUsage, err.Error()) }

// lineArg checks a release line argument (X.Y).
func lineArg(line string) error {
	if _, err := version.ParseLine(line); err != nil {
		return usage(err)
	}
	return nil
}

// componentArg checks that name is a component of the workspace.
func componentArg(ws *workspace.Config, name string) error {
	if _, ok := ws.Component(name); ok {
		return nil
	}
	var names []string
	for _, c := range ws.Components {
		names = append(names, c.Name)
	}
	return usage(fmt.Errorf("no component %q in %s; the components are: %s", name, ws.File, strings.Join(names, ", ")))
}

// versionedRepoArg checks that name is a workspace repo with a version
// file (what release:tag -repo takes).
func versionedRepoArg(ws *workspace.Config, name string) error {
	if r, ok := ws.Repo(name); ok && r.VersionFile != "" {
		return nil
	}
	var names []string
	for _, r := range ws.Repos() {
		if r.VersionFile != "" {
			names = append(names, r.Name)
		}
	}
	return usage(fmt.Errorf("-repo=%s: no repo with a version file of that name in %s; expected one of: %s", name, ws.File, strings.Join(names, ", ")))
}

// commitsArg checks that a comma-separated list of commits names one.
func commitsArg(commits []string) error {
	if len(commits) == 0 {
		return usage(fmt.Errorf("no commit given; expected COMMIT[,COMMIT...]"))
	}
	return nil
}
