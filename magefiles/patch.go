//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/release/patch"
)

// Patch brings fixes from main onto a release line.
type Patch mg.Namespace

// Charts cherry-picks chart fixes onto the charts repo's release branch aether-X.Y and bumps the charts they touch.
//
// Usage: go tool mage patch:charts X.Y COMMIT[,COMMIT...] [-dryRun] [-push].
// Each commit (in order) is cherry-picked with `git cherry-pick -x` in a
// scratch worktree detached at the branch's tip, so no checkout is
// touched. A conflict that is only the chart's version line (main bumped
// it too) is settled with the branch's version; any other conflict stops
// the run with the branch exactly as it was, naming the files and the
// commands to finish by hand. Every chart the fixes touched gets the next
// patch of its version on the branch (1.2.4 -> 1.2.5, whatever main says)
// and exact file:// pins on it follow. check:charts (against the
// branch's tip) and check:images must pass on the result before anything
// is written. A fix already on the branch (its -x trailer among the
// branch's commits since it left main) is not picked again, so a second
// run does nothing.
//
// -dryRun prints the plan and writes nothing. -push also pushes the
// branch: every remote is checked first, never forced. RELKIT_FORMAT=json
// prints the plan as JSON. Exit: 0 done or nothing to do, 1 refused or
// failed, 2 usage, 3 could not decide.
// It runs only alone: another target or an extra word on the command
// line is refused before anything is written (exit 2).
//
// Example: go tool mage patch:charts 2.1 4f2a9c1,77be0d3 -push
func (Patch) Charts(ctx context.Context,
	line string, // the release line, X.Y (2.1)
	commits string, // the fixes on main, comma-separated, applied in order
	dryRun *bool, // print the plan and write nothing
	push *bool, // push the release branch (never forced)
) error {
	if err := alone("patch:charts", 2); err != nil {
		return err
	}
	if err := lineArg(line); err != nil {
		return err
	}
	if err := commitsArg(patch.SplitCommits(commits)); err != nil {
		return err
	}
	ws, format, err := setup()
	if err != nil {
		return err
	}
	opts := patch.Options{Line: line, Commits: patch.SplitCommits(commits), DryRun: flagOn(dryRun), Push: flagOn(push)}
	return releaseExit(patch.RunCharts(ctx, ws, opts, os.Stdout, format))
}

// Component brings a component fix onto release X.Y: branch, pick, patch release and tag, then the charts follow.
//
// Usage: go tool mage patch:component NAME X.Y COMMIT[,COMMIT...] [-dryRun] [-push].
// 1. The version release X.Y ships is the tag of NAME's image in the
// charts of aether-X.Y, rendered offline with the values file and line
// that set it. 2. When NAME has no aether-X.Y branch it is created at the
// commit that set VERSION to that version (the newest such commit of
// main; a version main never had is looked up through its release tag;
// one never set is an error listing the versions that were). 3. The fixes
// are cherry-picked there (-x), VERSION goes to the next free patch
// release, committed and tagged with an annotated tag as release:tag
// does. 4. On the charts' aether-X.Y the image tag changes exactly where
// the values set it (image.tag, a full reference in images.tags.x of
// which only the tag changes, a prefix joined to images.tags.x, or the
// chart's appVersion), the changed charts get their next patch versions,
// and check:charts and check:images must pass. All commits are made in
// scratch worktrees; nothing moves until the plan is applied.
//
// -dryRun prints all four steps and writes nothing. -push pushes the
// component branch and tag and the charts branch, checking every remote
// first, never forced. A run that failed partway can be run again: it
// finds what is done and does the rest. Exit: 0, 1 refused or failed, 2
// usage (a bad X.Y, an unknown component), 3 could not decide.
// It runs only alone: another target or an extra word on the command
// line is refused before anything is written (exit 2).
//
// Example: go tool mage patch:component amf 2.1 9c03e7a -push
func (Patch) Component(ctx context.Context,
	name string, // the component, as named in relkit.yaml
	line string, // the release line, X.Y (2.1)
	commits string, // the fixes on the component's main, comma-separated, in order
	dryRun *bool, // print the plan and write nothing
	push *bool, // push the component's branch and tag and the charts branch
) error {
	if err := alone("patch:component", 3); err != nil {
		return err
	}
	if err := lineArg(line); err != nil {
		return err
	}
	if err := commitsArg(patch.SplitCommits(commits)); err != nil {
		return err
	}
	ws, format, err := setup()
	if err != nil {
		return err
	}
	if err := componentArg(ws, name); err != nil {
		return err
	}
	opts := patch.Options{Line: line, Component: name, Commits: patch.SplitCommits(commits), DryRun: flagOn(dryRun), Push: flagOn(push)}
	return releaseExit(patch.RunComponent(ctx, ws, opts, os.Stdout, format))
}
