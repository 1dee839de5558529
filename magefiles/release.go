//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/release/branch"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/tagging"
)

// Release cuts release branches and tags releases.
type Release mg.Namespace

// Branch cuts minor release X.Y: branch aether-X.Y on the charts, docs and branched repos, then moves every main branch on to the next minor.
//
// Usage: go tool mage release:branch X.Y [-dryRun] [-push].
// After check:all passes, from each repo's main branch: the charts, docs and
// branched repos (system-tests) get branch <branchPrefix>X.Y at their main
// branch's head; on the charts repo's main branch every chart's version
// goes to its next minor (1.2.3 -> 1.3.0, no -dev), file:// dependency pins
// follow, and VERSION becomes X.(Y+1).0-dev, in one commit; each
// component's VERSION goes to its next minor -dev (1.2.3 -> 1.3.0-dev) and
// the docs VERSION to X.(Y+1).0-dev, one commit each. Edits change only
// the version bytes of each file.
//
// Everything is planned and printed first. Any problem anywhere (a dirty
// checkout, one not on its main branch, the charts VERSION outside X.Y, a
// branch already elsewhere, a remote ahead or behind) stops the run before
// it writes. Commits are by RELKIT_GIT_AUTHOR="Name <email>", else
// git.author in relkit.yaml, else each repo's git config, and carry the
// trailer "Relkit-Release-Branch: aether-X.Y": a second run sees finished
// work, so after success it does nothing and after a failure it does only
// what is left.
//
// -dryRun prints the plan (every branch, file change, commit and push) and
// writes nothing. -push also pushes each repo's new branch and main branch
// in one atomic, never forced push per repo; every remote is checked
// first, and nothing is pushed anywhere if any remote moved since it was
// read. RELKIT_FORMAT=json prints the plan (with what was applied) as
// JSON. Exit: 0 done or nothing to do, 1 refused or failed, 3 could not
// decide (an unreadable repo, an unreachable remote).
//
// Examples: go tool mage release:branch 2.1 -dryRun; go tool mage release:branch 2.1 -push
func (Release) Branch(ctx context.Context,
	line string, // the minor release to cut, X.Y (2.1)
	dryRun *bool, // print the plan and write nothing
	push *bool, // push the new branches and main branches (atomic per repo, never forced)
) error {
	if err := branch.CheckLine(line); err != nil {
		return mg.Fatal(plan.ExitFailed, err.Error())
	}
	mg.CtxDeps(ctx, Check.All)
	ws, err := runner.Workspace()
	if err != nil {
		return mg.Fatal(plan.ExitUndecided, err.Error())
	}
	format, err := plan.FormatFromEnv()
	if err != nil {
		return mg.Fatal(plan.ExitUndecided, err.Error())
	}
	opts := branch.Options{Line: line, DryRun: flagOn(dryRun), Push: flagOn(push)}
	return releaseExit(branch.Run(ctx, ws, opts, os.Stdout, format))
}

// Tag creates the annotated release tag of every repo whose VERSION is a release, on the commit that set it.
//
// Usage: go tool mage release:tag [-repo=NAME] [-dryRun] [-push].
// For each workspace repo with a VERSION file (or only -repo=NAME) whose
// VERSION at the head of the current branch is a release (X.Y.Z, no
// pre-release), the tag <tagPrefix>X.Y.Z (v1.2.3 with tagPrefix: v) goes
// on the commit that last changed VERSION, with a message naming relkit
// and the version. A tag already on that commit is fine; on another commit
// it is an error and relkit never moves it. An invalid VERSION (CR,
// trailing space, leading v) is an error, never silently "not a release".
//
// -push pushes the tags; the tagged commit must already be on the remote's
// main or current branch, and a tag the remote already has on the same
// commit is fetched instead. -dryRun prints the plan and writes nothing.
// RELKIT_FORMAT=json prints the plan as JSON. Exit: 0, 1 refused or
// failed, 3 could not decide.
//
// Example: go tool mage release:tag -repo=hss -push
func (Release) Tag(ctx context.Context,
	repo *string, // only this repo (its name in relkit.yaml)
	dryRun *bool, // print the plan and write nothing
	push *bool, // push the tags
) error {
	ws, err := runner.Workspace()
	if err != nil {
		return mg.Fatal(plan.ExitUndecided, err.Error())
	}
	format, err := plan.FormatFromEnv()
	if err != nil {
		return mg.Fatal(plan.ExitUndecided, err.Error())
	}
	opts := tagging.Options{DryRun: flagOn(dryRun), Push: flagOn(push)}
	if repo != nil {
		opts.Repo = *repo
	}
	return releaseExit(tagging.Run(ctx, ws, opts, os.Stdout, format))
}

// flagOn reads an optional mage bool flag.
func flagOn(b *bool) bool { return b != nil && *b }

// releaseExit turns a release error into mage's exit status: 1 refused or
// failed, 3 could not decide.
func releaseExit(err error) error {
	if err == nil {
		return nil
	}
	return mg.Fatal(plan.ExitCode(err), err.Error())
}
