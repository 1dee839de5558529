//go:build mage

package main

//mage:multiline // keep the line breaks of these doc comments in mage -h

import (
	"context"
	"io"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/workspace"
)

// Check runs the policy checks that CI runs on every change.
type Check mg.Namespace

// runner loads the workspace once and runs each check once per process, so
// check:all and the release targets that depend on it share the work.
var runner = checks.NewRunner(func() (*workspace.Config, error) { return workspace.LoadDefault(settings.config) }, settings.checks)

// collect is the memoised unit of work behind every check target.
func collect(ctx context.Context, name string) error { return runner.Collect(ctx, name) }

// printChecks prints the merged report of the named checks and turns the
// verdict into mage's exit status: 0 clean, 1 error findings, 3 undecided.
func printChecks(names ...string) error {
	code, summary := printReport(os.Stdout, names...)
	if code == 0 {
		return nil
	}
	return mg.Fatal(code, summary)
}

// Versions checks every repo's VERSION file: strict SemVer, release tags used once, parents tagged, docs on the charts' line.
//
// Rules: version-invalid (not SemVer 2.0: leading v, trailing space, CR,
// empty, several lines, leading zeros), version-missing, version-tag-exists
// (a release version whose git tag names another release: a commit with
// another VERSION, an earlier commit, or one not descending from the
// commit that set VERSION; a tag CI put on a later commit with VERSION
// unchanged, such as the merge commit, is that release),
// version-tag-conflict (1.2.3 and v1.2.3 on different commits: an error
// for the version VERSION holds, a warning for older ones),
// docs-version-line (the docs repo's VERSION is not on the charts repo's
// release line: the same X.Y on the main branch, the same X.Y.n on a
// release branch, a -dev version standing for the release before it or
// the one it heads for) and the warning version-parent-missing (the
// previous version of the line has no tag; skipped versions are legal).
// Tags count in every form, 1.2.3 and v1.2.3 (and tagPrefix+1.2.3),
// whatever tagPrefix says.
//
// Workspace: RELKIT_CONFIG or ./relkit.yaml. Output: RELKIT_FORMAT=text
// (default), json or junit; GITHUB_ACTIONS=true adds annotations.
// Exit: 0 clean, 1 errors found, 3 could not decide.
//
// A file that is not a regular file inside the repo (a symlink leading
// out of it, a FIFO, a device, over the size cap) is not read: rule
// file-not-regular (error) names it and says why, never its content.
//
// Example: RELKIT_CONFIG=~/aether/relkit.yaml go tool mage check:versions
func (Check) Versions(ctx context.Context) error {
	mg.CtxDeps(ctx, mg.F(collect, "versions"))
	return printChecks("versions")
}

// Dockerfiles checks that no Dockerfile builds on a moving or unpinned parent image.
//
// Every build file of every component is read: Dockerfile and Containerfile,
// <name>.* and *.<name>, in any letter case (vendor/, testdata/,
// node_modules/ skipped; a symlinked build file only when it stays in the
// repo). Each is parsed with buildkit's parser; ARGs are expanded as docker
// build does, with overrides from buildArgs in relkit.yaml. The parents
// are the base of every FROM and the image a COPY --from or RUN
// --mount=from names (not a stage name or index). Rules: parent-untagged,
// parent-moving-tag, parent-not-pinned, parent-unresolved-arg,
// dockerfile-syntax, dockerfile-arg-too-large (an ARG whose expansion
// would pass 1 MiB, such as one doubling another), file-not-regular (a
// symlink leaving the repo, a FIFO). Findings are warnings while the repo's
// VERSION is a pre-release; RELKIT_STRICT=1 makes them errors always.
//
// A file that is not a regular file inside the repo (a symlink leading
// out of it, a FIFO, a device, over the size cap) is not read: rule
// file-not-regular (error) names it and says why, never its content.
//
// Example: go tool mage check:dockerfiles
func (Check) Dockerfiles(ctx context.Context) error {
	mg.CtxDeps(ctx, mg.F(collect, "dockerfiles"))
	return printChecks("dockerfiles")
}

// Images checks that every image the charts render is a released SemVer tag, and with -registry that it exists.
//
// Every chart of the charts repo is rendered offline with the Helm SDK
// (dependencies, conditions, aliases, capabilities from render: in
// relkit.yaml); every string under an "image" key is collected, and values
// such as images.tags.* are scanned too. Findings point at the values file
// and line that set the tag. Rules: image-untagged, image-moving-tag,
// image-not-release, image-waived (warning), waiver-expired,
// chart-render-failed, chart-dependency-missing, chart-invalid and, when the image is built
// by a workspace component, image-tag-not-in-repo (the tag's version, in
// any accepted form, is no git tag X.Y.Z or vX.Y.Z of the component) and
// image-tag-form (a warning: the chart uses another release form than the
// component's imageTagForm, which counts as a release form for its images).
//
// A chart that cannot render with its values (a `required` value, `fail`)
// hides images: that exits 3 unless render.values gives it values or
// render.skip lists it with a reason (then chart-render-skipped, a
// warning each run; a skip entry naming no chart is render-skip-stale).
// One chart's render stops at 64 MB of output or 30 s
// (chart-render-failed); the other charts are still checked.
//
// Flags: -registry (or RELKIT_REGISTRY=1) also asks each registry whether
// the tag exists (image-missing); an unreachable registry or refused auth
// exits 3, never passes. Credentials come from the docker/podman config.
//
// A file that is not a regular file inside the repo (a symlink leading
// out of it, a FIFO, a device, over the size cap) is not read: rule
// file-not-regular (error) names it and says why, never its content.
//
// Example: go tool mage check:images -registry
func (Check) Images(ctx context.Context, registry *bool) error {
	setRegistryFlag(registry)
	mg.CtxDeps(ctx, mg.F(collect, "images"))
	return printChecks("images")
}

// Charts checks that every changed chart has a bumped, unpublished SemVer version and exact file:// pins.
//
// Each chart is compared with a base:
//   - RELKIT_BASE=<ref> when set: the merge base of HEAD and ref;
//   - on a release branch: its last point-release tag;
//   - on the main branch: the commits not yet pushed, or the last commit
//     once pushed (HEAD^);
//   - on a detached HEAD (what CI checks out): a commit on main's history
//     is judged by what it changed (HEAD^); a pull request's merge commit
//     (GitHub's refs/pull/N/merge) by its first parent, the target branch
//     tip; any other commit by its merge base with origin/<main>; with no
//     main branch to compare with it exits 3 asking for RELKIT_BASE;
//   - on a work branch: the merge base with the main branch (with no
//     commits of its own, only its uncommitted changes count).
//
// Changes to files .helmignore excludes do not count, nor a Chart.yaml
// edit that parses to the same content (blank lines, comments, key order,
// quoting). Rules: chart-version-invalid, chart-not-bumped,
// chart-version-not-increased, chart-version-published (against
// charts.repository: an index.yaml URL or directory, or oci://),
// dependency-pin-mismatch, dependency-missing, chart-kube-version (the
// chart's kubeVersion excludes render.kubeVersion, so helm refuses it),
// chart-invalid (a Chart.yaml that cannot be read; the other charts are
// still checked).
//
// A file that is not a regular file inside the repo (a symlink leading
// out of it, a FIFO, a device, over the size cap) is not read: rule
// file-not-regular (error) names it and says why, never its content.
//
// Example: RELKIT_BASE=origin/master go tool mage check:charts
func (Check) Charts(ctx context.Context) error {
	mg.CtxDeps(ctx, mg.F(collect, "charts"))
	return printChecks("charts")
}

// printReport writes the merged report of the named checks to w as the
// environment asks (see reportOptions) and returns the exit code with a
// one-line summary.
func printReport(w io.Writer, names ...string) (int, string) {
	ro, err := reportOptions(w)
	if err != nil {
		return report.ExitUndecided, err.Error()
	}
	return runner.Print(w, ro, names...)
}

// setRegistryFlag makes -registry do what RELKIT_REGISTRY=1 does for the
// images check.
func setRegistryFlag(registry *bool) {
	if registry != nil && *registry {
		o := runner.Options()
		o.Registry = true
		runner.SetOptions(o)
	}
}

// releaseChecks is the gate of release:branch (plan.Gate): every check,
// run once as a mage dependency (sharing results with check:all), its
// report written to w (the target passes stderr, so that its own output,
// a JSON plan, stays alone on stdout). The library decides what a
// failure stops.
func releaseChecks(ctx context.Context, w io.Writer) (int, string) {
	names := checks.Names()
	deps := make([]any, 0, len(names))
	for _, n := range names {
		deps = append(deps, mg.F(collect, n))
	}
	mg.CtxDeps(ctx, deps...)
	return printReport(w, names...)
}

// All runs every check once, merges the reports and exits with the worst status.
//
// Each check is a mage dependency, so a target that depends on check:all
// (release:branch does) runs it only once per invocation.
//
// RELKIT_REGISTRY=1 makes the images check ask the registries too. It
// takes no flags so that release targets can depend on it.
//
// Example: RELKIT_FORMAT=junit go tool mage check:all > relkit-junit.xml
func (Check) All(ctx context.Context) error {
	names := checks.Names()
	deps := make([]any, 0, len(names))
	for _, n := range names {
		deps = append(deps, mg.F(collect, n))
	}
	mg.CtxDeps(ctx, deps...)
	return printChecks(names...)
}
