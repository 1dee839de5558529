//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/release/chartpublish"
	"github.com/relkit/relkit/release/plan"
)

// Chart publishes the charts repo's chart packages.
type Chart mg.Namespace

// Publish packages every chart of the charts repo's HEAD that the chart repositories do not hold yet and publishes it, dependencies first.
//
// Usage: go tool mage chart:publish [-dryRun] [-push].
// Run by CI after every merge on the main branch and on release branches.
// Every chart folder of the commit counts (nested groups too), not a diff
// against HEAD^: what an earlier run missed is published now. Where to is
// charts.publish in relkit.yaml: a static chart repository kept in git
// (git, branch: default gh-pages, created when missing; dir; url) and/or
// an OCI registry (oci://host/path).
//
// Packages are what helm package makes (.helmignore applied, file://
// dependencies under charts/), read from git objects, never from the
// worktree, and reproducible: the same commit always gives byte-identical
// packages (file times from the last commit on the first-parent line that
// changed the chart), so anyone can rebuild one and compare digests.
// Remote dependencies (https:// chart repositories, oci://) are fetched at
// their pinned version (Chart.lock when committed), checked against the
// repository's digest and kept in .git/relkit/charts-cache. A shallow
// clone that lacks a chart's last change is exit 3 (fetch-depth: 0).
//
// A version already published with the same digest is skipped (a rerun
// does nothing); with another digest (in a target or in
// charts.repository) the run is refused naming both digests, and nothing
// is written anywhere. A chart is published only after every chart of the
// repo it depends on. The static repository gets the packages and a
// merged index.yaml (entries kept, versions highest first) in one commit,
// pushed without force; when another publisher moved the branch meanwhile
// relkit reads it again, merges and retries (at most 8 times), so no
// entry is ever lost. OCI pushes use Helm's media types and annotations,
// tag = version with '+' written as '_', image:push's credentials
// (docker/podman config), images.mirrors and retries; each tag is asked
// again right before its push and read back after it, and a chart whose
// dependency failed is not pushed.
//
// -dryRun prints every package with its digest and where it would go, and
// writes nothing (not even the dependency cache); without -push the run is
// a dry run too. -push writes. Site commits are by RELKIT_GIT_AUTHOR, else
// git.author, else the charts repo's git config, else relkit.
// RELKIT_FORMAT=json prints the plan (with what was applied) as JSON.
// Exit: 0 published or nothing to do, 1 refused or failed, 2 usage, 3
// could not decide (a repository, registry or dependency could not be
// reached, a shallow clone). It runs only alone: another target or an
// extra word on the command line is refused before anything is written
// (exit 2).
//
// Examples: go tool mage chart:publish -dryRun; go tool mage chart:publish -push
func (Chart) Publish(ctx context.Context,
	dryRun *bool, // print every package, its digest and destination; write nothing
	push *bool, // publish (commit and push the static repository, push to OCI)
) error {
	ws, format, err := startAlone("chart:publish", 0)
	if err != nil {
		return err
	}
	if ws.Charts == nil || ws.Charts.Publish == nil {
		return mg.Fatal(plan.ExitFailed, ws.File+": charts.publish is not set; expected git (a repo for the static chart repository), oci (oci://host/path) or both (see docs/config.md)")
	}
	ident, err := plan.Author(ws, "")
	if err != nil {
		return mg.Fatal(plan.ExitUndecided, err.Error())
	}
	opt := chartpublish.Options{
		DryRun: flagOn(dryRun), Push: flagOn(push), Author: ident,
		Registry: chartrepo.Options{BaseDir: ws.Root, Mirrors: ws.Images.Mirrors},
	}
	return releaseExit(chartpublish.Run(ctx, ws, opt, os.Stdout, format))
}
