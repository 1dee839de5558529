//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/release/patch"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Patch brings fixes from main onto a release line.
type Patch mg.Namespace

// Charts cherry-picks chart fixes onto the charts repo's release branch aether-X.Y and bumps the charts they touch.
//
// Usage: go tool mage patch:charts X.Y COMMIT[,COMMIT...] [-from=BRANCH] [-dryRun] [-push|-review].
// Every commit must be on the charts repo's main branch (merged and
// reviewed); a commit of an unmerged work branch, or one from another
// repository, is refused unless -from names the branch it comes from, and
// then it must be on that branch.
// Each commit (in order) is cherry-picked with `git cherry-pick -x` in a
// scratch worktree detached at the branch's tip, so no checkout is
// touched. A conflict that is only the chart's version line (main bumped
// it too) is settled with the branch's version; any other conflict stops
// the run with the branch exactly as it was, naming the files and the
// commands to finish by hand. Every chart the fixes touched gets the next
// free patch of its version on the branch (1.2.4 -> 1.2.5, whatever main
// says): a version the chart ever had on any branch, tag or
// remote-tracking branch of the charts repo, or that the chart repository
// (charts.repository) holds, is skipped, and the plan says why ("4.1.1..
// 4.1.3 used on master"). Exact file:// pins on a bumped chart follow, and
// the charts pinning it are bumped the same way. check:charts (against the
// branch's tip) and check:images must pass on the result before anything
// is written. A fix already on the branch (its -x trailer among the
// branch's commits since it left main) is not picked again, so a second
// run does nothing.
//
// -dryRun prints the plan and writes nothing. -push also pushes the
// branch: every remote is checked first, never forced.
// -review sends the new commits for review instead of pushing them
// (review: in relkit.yaml; with review.default: true, -push does, unless
// -review=false): Gerrit gets them on refs/for/<branch> with topic
// relkit-patch-charts-X.Y and a Change-Id each, so a rerun updates the
// same changes; GitHub and Gitea get branch relkit/patch-charts-X.Y and
// one pull request per repo, updated on a rerun (token from GITHUB_TOKEN
// or GITEA_TOKEN, never printed). Tags are not pushed: CI's release:tag
// tags the merged commit. -review with -push is a usage error (exit 2).
// RELKIT_FORMAT=json prints the plan as JSON. Exit: 0 done or nothing to do, 1 refused or
// failed, 2 usage, 3 could not decide.
// It runs only alone: another target or an extra word on the command
// line is refused before anything is written (exit 2).
//
// Example: go tool mage patch:charts 2.1 4f2a9c1,77be0d3 -push
func (Patch) Charts(ctx context.Context,
	line string, // the release line, X.Y (2.1)
	commits string, // the fixes on main, comma-separated, applied in order
	from *string, // the branch the commits come from, when not main
	dryRun *bool, // print the plan and write nothing
	push *bool, // push the release branch (never forced)
	review *bool, // send the new commits for review instead of pushing them
) error {
	run, err := startLine("patch:charts", 2, line, review, push,
		[]error{commitsArg(patch.SplitCommits(commits)), fromArg(flagStr(from))}, nil)
	if err != nil {
		return err
	}
	opts := patch.Options{Line: line, Commits: patch.SplitCommits(commits), From: flagStr(from), DryRun: flagOn(dryRun), Push: run.push, Review: run.mode.Plan(),
		Author: settings.author, Checks: plan.ChecksWith(settings.checks)}
	return releaseExit(patch.RunCharts(ctx, run.ws, opts, os.Stdout, run.format))
}

// Component brings a component fix onto release X.Y: branch, pick, patch release and tag, then the charts follow.
//
// Usage: go tool mage patch:component NAME X.Y COMMIT[,COMMIT...] [-from=BRANCH] [-use=X.Y.Z] [-dryRun] [-push|-review].
// The commits must be on NAME's main branch unless -from names the
// branch they come from (then they must be on it); an unmerged or foreign
// commit is refused.
// 1. The version release X.Y ships is the tag of NAME's image in the
// charts of aether-X.Y (in NAME's imageTagForm, such as rel-3.1.0, or any
// release tag form), rendered offline with the values file and line that
// set it. 2. When NAME has no aether-X.Y branch it is created at the
// commit that set VERSION to that version (the newest such commit of
// main; a version main never had is looked up through its release tag;
// one never set is an error listing the versions that were); a branch
// made by hand is used as it is. 3. The fixes are cherry-picked there
// (-x), VERSION goes to the next patch release, committed and tagged with
// an annotated tag as release:tag does. When that version is already a
// tag relkit did not make (main released 3.1.1 ... 3.1.7 after 3.1.0
// shipped), the run is refused: it lists each taken version with its
// tags, the commits it carries beyond the shipped version, and whether it
// has the fixes (the commit, a -x pick of it, or the same change). 4. On
// the charts' aether-X.Y the image tag changes exactly where the values
// set it (image.tag, a full reference in images.tags.x of which only the
// tag changes, a prefix joined to images.tags.x, or the chart's
// appVersion), written in NAME's imageTagForm; the changed charts get
// their next free patch versions (as patch:charts), and check:charts and
// check:images must pass. All commits are made in scratch worktrees;
// nothing moves until the plan is applied.
//
// -use=X.Y.Z ships an existing release instead of making one: it must be
// a release tag of NAME in the X.Y line the charts ship, newer than the
// shipped version, with every fix (else the run says which fix is
// missing and which releases have them all). No component tag, branch or
// commit is made; only step 4 runs, and the plan, the charts commit and
// the next release notes list every commit the release carries beyond
// the shipped version.
//
// -dryRun prints all four steps and writes nothing. -push pushes the
// component branch and tag and the charts branch, checking every remote
// first, never forced.
// -review sends the new commits for review instead of pushing them
// (review: in relkit.yaml; with review.default: true, -push does, unless
// -review=false): Gerrit gets them on refs/for/<branch> with topic
// relkit-patch-component-X.Y and a Change-Id each, so a rerun updates the
// same changes; GitHub and Gitea get branch relkit/patch-component-X.Y and
// one pull request per repo, updated on a rerun (token from GITHUB_TOKEN
// or GITEA_TOKEN, never printed). The component's new branch is created
// directly at the branch point (a commit the remote has); the pick and
// release commits go for review into it. Tags are not pushed: CI's
// release:tag tags the merged commit. -review with -push is a usage error
// (exit 2).
// A run that failed partway can be run again: it
// finds what relkit itself did (its tag message and Relkit-Patch
// trailer; never a tag or release someone else made) and does the rest.
// Exit: 0, 1 refused or failed, 2 usage (a bad X.Y, an unknown
// component, a -use that is not X.Y.Z, a -from that is not a branch
// name), 3 could not decide.
// It runs only alone: another target or an extra word on the command
// line is refused before anything is written (exit 2).
//
// Example: go tool mage patch:component amf 2.1 9c03e7a -push
//
// Example: go tool mage patch:component amf 4.1 9c03e7a -use=3.1.4 -dryRun
func (Patch) Component(ctx context.Context,
	name string, // the component, as named in relkit.yaml
	line string, // the release line, X.Y (2.1)
	commits string, // the fixes on the component's main, comma-separated, in order
	from *string, // the branch the commits come from, when not main
	use *string, // ship this existing release X.Y.Z of the component instead of making one
	dryRun *bool, // print the plan and write nothing
	push *bool, // push the component's branch and tag and the charts branch
	review *bool, // send the new commits for review instead of pushing them
) error {
	run, err := startLine("patch:component", 3, line, review, push,
		[]error{commitsArg(patch.SplitCommits(commits)), fromArg(flagStr(from)), useArg(flagStr(use))},
		func(ws *workspace.Config) error { return componentArg(ws, name) })
	if err != nil {
		return err
	}
	opts := patch.Options{Line: line, Component: name, Commits: patch.SplitCommits(commits), From: flagStr(from), Use: flagStr(use),
		DryRun: flagOn(dryRun), Push: run.push, Review: run.mode.Plan(), Author: settings.author, Checks: plan.ChecksWith(settings.checks)}
	return releaseExit(patch.RunComponent(ctx, run.ws, opts, os.Stdout, run.format))
}

// flagStr reads an optional mage string flag.
func flagStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
