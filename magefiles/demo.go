//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/demo/story"
)

// Demo builds a realistic demo workspace and walks the release process on it.
//
// It creates real git repositories with bare remotes (a charts repo with
// nested and umbrella charts, a docs repo, four component repos with real
// release histories, a system-tests repo), a chart repository and an OCI
// registry on loopback, then runs every check and every release step on
// them, printing what each one shows. One chapter sends a patch for review
// (patch:charts -review) to a Gerrit-like remote of a charts clone and
// lists the changes it opened.
//
// RELKIT_DEMO_DIR=<dir> builds it there (the dir must be empty or absent);
// otherwise in a new temp dir. The workspace stays afterwards, so you can
// run any target on it with RELKIT_CONFIG=<dir>/relkit.yaml.
//
// Example: RELKIT_DEMO_DIR=/tmp/aether go tool mage demo
func Demo(ctx context.Context) error {
	ro, err := reportOptions(os.Stdout)
	if err != nil {
		return mg.Fatal(report.ExitUndecided, err.Error())
	}
	return story.Run(ctx, story.Options{Dir: settings.demoDir, Out: os.Stdout, Report: ro})
}
