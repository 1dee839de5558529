//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/release/branch"
	"github.com/relkit/relkit/release/manifest"
	"github.com/relkit/relkit/release/manifestfile"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/point"
	"github.com/relkit/relkit/release/safetext"
	"github.com/relkit/relkit/release/status"
	"github.com/relkit/relkit/release/tagging"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// Release cuts release branches and tags releases.
type Release mg.Namespace

// Branch cuts minor release X.Y: branch aether-X.Y on the charts, docs and branched repos, then moves every main branch on to the next minor.
//
// Usage: go tool mage release:branch X.Y [-dryRun] [-push|-review].
// After check:all passes, from each repo's main branch: the charts, docs and
// branched repos (system-tests) get branch <branchPrefix>X.Y at their main
// branch's head; on the charts repo's main branch every chart's version
// goes to its next minor (1.2.3 -> 1.3.0, no -dev), file:// dependency pins
// follow, and VERSION becomes X.(Y+1).0-dev, in one commit; each
// component's VERSION goes to its next minor -dev (1.2.3 -> 1.3.0-dev) and
// the docs VERSION to X.(Y+1).0-dev, one commit each. Edits change only
// the version bytes of each file.
//
// With -dryRun the plan is printed even when the checks fail (the exit
// status still says they did). Everything is planned and printed first,
// and every run (dry runs and runs without -push too) asks each repo's
// origin what it has. Any problem anywhere (a dirty checkout, one not on
// its main branch or mid-merge, the charts VERSION outside X.Y, the docs
// VERSION off that line, a branch already elsewhere, a remote ahead or
// behind) stops the run before it writes. A release branch relkit did not
// make (cut by hand, here or only on origin) is refused, naming its
// commit, the tags at and on it and whether main has it; it is never
// taken as done. Commits are by RELKIT_GIT_AUTHOR="Name <email>", else
// git.author in relkit.yaml, else each repo's git config, and carry the
// trailer "Relkit-Release-Branch: aether-X.Y": a second run (from any
// clone) sees relkit's finished work, so after success it does nothing
// and after a failure it does only what is left. A shallow clone is
// deepened from origin first (a dry run stops with exit 3 instead).
//
// -dryRun prints the plan (every branch, file change, commit and push) and
// writes nothing. -push also pushes each repo's new branch and main branch
// in one atomic, never forced push per repo; every remote is checked
// first, and nothing is pushed anywhere if any remote moved since it was
// read.
// -review sends the new commits for review instead of pushing them
// (review: in relkit.yaml; with review.default: true, -push does, unless
// -review=false): Gerrit gets them on refs/for/<branch> with topic
// relkit-release-branch-X.Y and a Change-Id each, so a rerun updates the
// same changes; GitHub and Gitea get branch relkit/release-branch-X.Y and
// one pull request per repo, updated on a rerun (token from GITHUB_TOKEN
// or GITEA_TOKEN, never printed). The new branches are created directly at
// main's head (a commit the remote has); the bump commits go for review
// into main. Tags are not pushed: CI's release:tag tags the merged commit.
// -review with -push is a usage error (exit 2).
// RELKIT_FORMAT=json prints the plan (with what was applied) as
// JSON. Exit: 0 done or nothing to do, 1 refused or failed (another relkit
// run writing the same repos included), 2 usage, 3 could not decide (an
// unreadable repo, an unreachable remote, a shallow clone in a dry run).
// It runs only alone: another target or an extra word on the command
// line is refused before anything is written (exit 2).
//
// Examples: go tool mage release:branch 2.1 -dryRun; go tool mage release:branch 2.1 -push
func (Release) Branch(ctx context.Context,
	line string, // the minor release to cut, X.Y (2.1)
	dryRun *bool, // print the plan and write nothing
	push *bool, // push the new branches and main branches (atomic per repo, never forced)
	review *bool, // send the bump commits for review instead of pushing them
) error {
	run, err := startLine("release:branch", 1, line, review, push, nil, nil)
	if err != nil {
		return err
	}
	opts := branch.Options{Line: line, DryRun: flagOn(dryRun), Push: run.push, Review: run.mode.Plan(), Author: settings.author,
		Checks: releaseChecks, CheckReport: os.Stderr}
	return releaseExit(branch.Run(ctx, run.ws, opts, os.Stdout, run.format))
}

// Tag creates the annotated release tag of every repo whose VERSION is a release, on the commit that set it.
//
// Usage: go tool mage release:tag [-repo=NAME] [-dryRun] [-push].
// For each workspace repo with a VERSION file (or only -repo=NAME) whose
// VERSION at the head of the current branch is a release (X.Y.Z, no
// pre-release), the tag <tagPrefix>X.Y.Z (v1.2.3 with tagPrefix: v) goes
// on the commit that last changed VERSION, with a message naming relkit
// and the version. A tag of the version in any form (1.2.3 or v1.2.3)
// already on that commit, or on a later one with VERSION unchanged (CI
// tags the merge commit), means the release is tagged: nothing is added.
// On any other commit it is an error and relkit never moves it. An
// invalid VERSION (CR, trailing space, leading v) is an error, never
// silently "not a release".
//
// -push pushes the tags; the tagged commit must already be on the remote's
// main or current branch, and a release tag the remote already has (in
// either form) is fetched instead. In a shallow clone (CI's --depth 1) the
// history is fetched from origin first, so the tag goes on the commit
// that set VERSION, not on HEAD; a dry run stops there with exit 3.
// -dryRun prints the plan and writes nothing.
// RELKIT_FORMAT=json prints the plan as JSON. Exit: 0, 1 refused or
// failed, 2 usage (a -repo that is not a versioned repo), 3 could not
// decide.
// It runs only alone: another target or an extra word on the command
// line is refused before anything is written (exit 2).
//
// Example: go tool mage release:tag -repo=hss -push
func (Release) Tag(ctx context.Context,
	repo *string, // only this repo (its name in relkit.yaml)
	dryRun *bool, // print the plan and write nothing
	push *bool, // push the tags
) error {
	ws, format, err := startAlone("release:tag", 0)
	if err != nil {
		return err
	}
	opts := tagging.Options{DryRun: flagOn(dryRun), Push: flagOn(push), Author: settings.author}
	if repo != nil {
		if err := versionedRepoArg(ws, *repo); err != nil {
			return err
		}
		opts.Repo = *repo
	}
	return releaseExit(tagging.Run(ctx, ws, opts, os.Stdout, format))
}

// setup loads the workspace and the output format (RELKIT_FORMAT) every
// release target needs; a problem with either is "could not decide".
func setup() (*workspace.Config, plan.Format, error) {
	ws, err := runner.Workspace()
	if err != nil {
		return nil, "", mg.Fatal(plan.ExitUndecided, safetext.Clean(err.Error()))
	}
	format, err := plan.ParseFormat(settings.format)
	if err != nil {
		return nil, "", mg.Fatal(plan.ExitUndecided, "RELKIT_FORMAT="+err.Error())
	}
	return ws, format, nil
}

// flagOn reads an optional mage bool flag.
func flagOn(b *bool) bool { return b != nil && *b }

// releaseExit turns a release error into mage's exit status: 1 refused or
// failed, 3 could not decide (plan.ExitCode). The message may quote repo content or a URL
// (a git error echoing a remote): it is printed escaped and redacted.
func releaseExit(err error) error {
	if err == nil {
		return nil
	}
	return mg.Fatal(plan.ExitCode(err), safetext.Clean(err.Error()))
}

// Manifest commits releases/X.Y.Z.yaml on the charts repo's release branch: every chart, image digest and component commit of the release.
//
// Usage: go tool mage release:manifest X.Y [-dryRun] [-push|-review].
// X.Y.Z is the VERSION on the charts repo's <branchPrefix>X.Y branch
// without its pre-release part (2.1.1-dev gives releases/2.1.1.yaml). The
// branch is read and committed through a scratch worktree (git worktree
// add --detach), so your checkout is never touched; a branch checked out
// in some worktree is not moved (switch that checkout away, or use
// -dryRun). The manifest (apiVersion relkit/v1, kind ReleaseManifest)
// lists every chart and version on the branch, every image reference the
// charts render to (offline Helm rendering with render: from relkit.yaml)
// with the digest the registry serves for it (images.mirrors honoured),
// and for each image a workspace component builds its git tag and the
// commit that tag names. It holds no timestamps: when the committed
// manifest already says the same, the run changes nothing. An image the
// registry lacks, a component tag missing or a chart that does not render
// fully refuses the manifest; a release already tagged is only written
// while the branch still holds the tagged content.
//
// -dryRun prints the manifest and commits nothing. -push also pushes the
// branch to origin, never forced: origin is read before anything moves
// (a branch there that the result does not contain refuses the run with
// nothing written) and checked again just before the one atomic push.
// The branch moves as release:point moves it, through a plan that takes
// relkit's lock of the repo.
// -review sends the new commits for review instead of pushing them
// (review: in relkit.yaml; with review.default: true, -push does, unless
// -review=false): Gerrit gets them on refs/for/<branch> with topic
// relkit-release-manifest-X.Y and a Change-Id each, so a rerun updates the
// same changes; GitHub and Gitea get branch relkit/release-manifest-X.Y
// and one pull request per repo, updated on a rerun (token from
// GITHUB_TOKEN or GITEA_TOKEN, never printed). Tags are not pushed: CI's
// release:tag tags the merged commit. -review with -push is a usage error
// (exit 2).
// Commits are by RELKIT_GIT_AUTHOR,
// else git.author in relkit.yaml, else git config. RELKIT_FORMAT=json
// prints the result (with the manifest) as JSON. Exit: 0 written or
// already up to date, 1 refused or failed, 2 usage, 3 a registry, repo or
// remote could not be asked.
// It runs only alone: another target or an extra word on the command
// line is refused before anything is written (exit 2).
//
// Examples: go tool mage release:manifest 2.1 -dryRun; go tool mage release:manifest 2.1 -push
func (Release) Manifest(ctx context.Context,
	line string, // the release line, X.Y (2.1)
	dryRun *bool, // print the manifest and commit nothing
	push *bool, // push the release branch afterwards (never forced)
	review *bool, // send the manifest commit for review instead of pushing the branch
) error {
	run, err := startLine("release:manifest", 1, line, review, push, nil, nil)
	if err != nil {
		return err
	}
	res, err := manifest.Run(ctx, run.ws, line, manifest.Options{DryRun: flagOn(dryRun), Push: run.push, Review: run.mode, Author: settings.author})
	if res != nil {
		if werr := res.Write(os.Stdout, run.format); err == nil {
			err = werr
		}
	}
	return releaseExit(err)
}

// Status shows release line X.Y on one screen: branches, last and next version, commits since, unpublished images, published and pending charts, check findings.
//
// Usage: go tool mage release:status X.Y.
// For every workspace repo: whether <branchPrefix>X.Y exists locally and
// on origin (git ls-remote). For the charts repo: the last point release
// (highest X.Y.Z tag on the branch, 1.2.3 or v1.2.3 whatever tagPrefix
// says; releases of the line made elsewhere are noted), the next version
// (VERSION on the branch, or the next untagged X.Y.n-dev when VERSION is
// a release already tagged), the commits on the branch since that tag (or
// since it left the main branch). Then, from the branch content in a
// scratch worktree: the images
// the charts render that the registry does not have yet, each chart
// version as published (every charts.publish target holds it; without
// charts.publish, charts.repository) or pending (chart:publish has yet to
// put it there),
// and the findings of check:images and check:charts (judged against the
// last point release). With review: in relkit.yaml, also the open reviews
// relkit's targets made for the line (Gerrit: the changes of topics
// relkit-<target>-X.Y through its REST API; GitHub and Gitea: the pull
// requests from branches relkit/<target>-X.Y in each repo) and what
// waits for each. Nothing is written.
//
// RELKIT_FORMAT=json prints everything, including the images and charts
// that are fine, as one JSON document. Exit: 0, 2 a bad X.Y, or 3 when a
// registry, the chart repository or a remote could not be asked (shown as
// UNKNOWN, never as missing). Findings do not change the exit status; the check targets
// judge.
//
// Example: go tool mage release:status 2.1
func (Release) Status(ctx context.Context,
	line string, // the release line, X.Y (2.1)
) error {
	if err := lineArg(line); err != nil {
		return err
	}
	ws, format, err := setup()
	if err != nil {
		return err
	}
	st, err := status.Collect(ctx, ws, line, status.Options{Review: reviewOptions(ws)})
	if err != nil {
		return releaseExit(err)
	}
	if err := st.Write(os.Stdout, format); err != nil {
		return mg.Fatal(plan.ExitFailed, err.Error())
	}
	return releaseExit(st.Err())
}

// Verify re-resolves every image of release X.Y.Z's manifest and fails when a tag now names another digest or has vanished.
//
// Usage: go tool mage release:verify X.Y.Z [-from=REV].
// Reads releases/X.Y.Z.yaml from the charts repo without touching the
// checkout (git cat-file): from the release tag when it holds the
// manifest, else the local <branchPrefix>X.Y branch, else
// origin/<branchPrefix>X.Y; -from=REV reads it from that revision only.
// Every image is asked for again through one shared registry client
// (images.mirrors honoured; an image with a digest is looked up by its
// digest). An image whose tag now names a different digest (MOVED) or
// that the registry no longer has (VANISHED) fails the verification,
// naming the image with the recorded and the current digest. Component
// git tags are re-read too: a tag moved to another commit fails; a tag
// missing from the local clone is only a note.
//
// RELKIT_FORMAT=json prints the result as JSON. Exit: 0 the release is
// still what it was, 1 something moved or vanished (or no manifest), 2 a
// bad X.Y.Z, 3 a registry could not be asked and nothing failed.
//
// Example: go tool mage release:verify 2.1.0
func (Release) Verify(ctx context.Context,
	release string, // the release version, X.Y.Z (2.1.0)
	from *string, // read the manifest from this revision of the charts repo
) error {
	if !version.IsRelease(release) {
		return usage(fmt.Errorf("release %q: expected a release version X.Y.Z, such as 2.1.0", release))
	}
	ws, format, err := setup()
	if err != nil {
		return err
	}
	opts := manifestfile.VerifyOptions{}
	if from != nil {
		opts.Rev = *from
	}
	v, err := manifestfile.Verify(ctx, ws, release, opts)
	if v != nil {
		if werr := v.Write(os.Stdout, format); err == nil && werr != nil {
			return mg.Fatal(plan.ExitFailed, werr.Error())
		}
	}
	return releaseExit(err)
}

// Point makes point release X.Y.n of the charts and docs from their aether-X.Y branches, with release notes and the release manifest.
//
// Usage: go tool mage release:point X.Y [-dryRun] [-push|-review].
// check:charts (against the last point release) and check:images must
// pass on the charts repo's aether-X.Y first. Its VERSION then goes from
// X.Y.n-dev (or the last release X.Y.(n-1)) to X.Y.n, committed and
// tagged <tagPrefix>X.Y.n (annotated, on that commit, as release:tag
// does), and on to X.Y.(n+1)-dev. That release commit also adds the
// release manifest releases/X.Y.n.yaml (as release:manifest writes it:
// every chart and version, every image the charts render with the digest
// the registry serves, each component image's git tag and commit;
// chartsCommit is the commit it follows), so the tag carries it and
// release:verify X.Y.n passes right away. The registry must answer for
// every image: one it lacks refuses the release naming it, one it cannot
// be asked about is exit 3, and either way nothing is written. A release
// tagged before (by hand) without a manifest gets it in the move-on
// commit instead; the tag never moves. The docs repo's aether-X.Y gets
// VERSION X.Y.n, the same tag, and the release notes page (docs.releaseNotes in
// relkit.yaml, default release-notes/{version}.md; reStructuredText for a
// .rst path or docs that are mostly .rst): every chart version and image
// tag of the release, and what changed since the previous point release
// (chart versions, component patch releases with their commits, the fixes
// picked onto the branch). A page people already wrote keeps their text;
// relkit writes only between its markers. Every commit is made in a
// scratch worktree; nothing moves until the plan is applied. A rerun finds
// the finished release (trailer Relkit-Point-Release, the tags) and does
// only what is left.
//
// -dryRun prints the plan and writes nothing. -push pushes both branches
// and tags, one atomic push per repo, every remote checked first, never
// forced.
// -review sends the new commits for review instead of pushing them
// (review: in relkit.yaml; with review.default: true, -push does, unless
// -review=false): Gerrit gets them on refs/for/<branch> with topic
// relkit-release-point-X.Y and a Change-Id each, so a rerun updates the
// same changes; GitHub and Gitea get branch relkit/release-point-X.Y and
// one pull request per repo, updated on a rerun (token from GITHUB_TOKEN
// or GITEA_TOKEN, never printed). The charts repo's release commit and its
// move-on commit are two reviews, the second depending on the first (on
// GitHub and Gitea, two commits of one pull request). Tags are not pushed:
// CI's release:tag tags the merged commit. -review with -push is a usage
// error (exit 2).
// RELKIT_FORMAT=json prints the plan as JSON. Exit: 0 done or
// nothing to do, 1 refused or failed, 2 usage, 3 could not decide.
// It runs only alone: another target or an extra word on the command
// line is refused before anything is written (exit 2).
//
// Example: go tool mage release:point 2.1 -push
func (Release) Point(ctx context.Context,
	line string, // the release line, X.Y (2.1)
	dryRun *bool, // print the plan and write nothing
	push *bool, // push the branches and tags (atomic per repo, never forced)
	review *bool, // send the release and move-on commits for review instead of pushing them
) error {
	run, err := startLine("release:point", 1, line, review, push, nil, nil)
	if err != nil {
		return err
	}
	opts := point.Options{Line: line, DryRun: flagOn(dryRun), Push: run.push, Review: run.mode.Plan(), Author: settings.author,
		Checks: plan.ChecksWith(settings.checks)}
	return releaseExit(point.Run(ctx, run.ws, opts, os.Stdout, run.format))
}
