//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/checks"
)

// Check runs the policy checks that CI runs on every change.
type Check mg.Namespace

// runner loads the workspace once and runs each check once per process, so
// check:all and the release targets that depend on it share the work.
var runner = checks.NewRunner()

// collect is the memoised unit of work behind every check target.
func collect(ctx context.Context, name string) error { return runner.Collect(ctx, name) }

// printChecks prints the merged report of the named checks and turns the
// verdict into mage's exit status: 0 clean, 1 error findings, 3 undecided.
func printChecks(names ...string) error {
	code, summary := runner.Print(os.Stdout, names...)
	if code == 0 {
		return nil
	}
	return mg.Fatal(code, summary)
}

// Versions checks every repo's VERSION file: strict SemVer, release tags used once, parents tagged.
//
// Rules: version-invalid (not SemVer 2.0: leading v, trailing space, CR,
// empty, several lines, leading zeros), version-missing, version-tag-exists
// (a release version whose git tag is already on another commit) and the
// warning version-parent-missing (the previous version of the line has no
// tag; skipped versions are legal).
//
// Workspace: RELKIT_CONFIG or ./relkit.yaml. Output: RELKIT_FORMAT=text
// (default), json or junit; GITHUB_ACTIONS=true adds annotations.
// Exit: 0 clean, 1 errors found, 3 could not decide.
//
// Example: RELKIT_CONFIG=~/aether/relkit.yaml go tool mage check:versions
func (Check) Versions(ctx context.Context) error {
	mg.CtxDeps(ctx, mg.F(collect, "versions"))
	return printChecks("versions")
}

// Dockerfiles checks that no Dockerfile builds FROM a moving or unpinned parent image.
//
// Every Dockerfile, Dockerfile.* and *.Dockerfile of every component
// (vendor/, testdata/, node_modules/ skipped) is parsed with buildkit's
// parser; ARGs are expanded as docker build does, with overrides from
// buildArgs in relkit.yaml. Rules: parent-untagged, parent-moving-tag,
// parent-not-pinned, parent-unresolved-arg, dockerfile-syntax. Findings are
// warnings while the repo's VERSION is a pre-release; RELKIT_STRICT=1 makes
// them errors always.
//
// Example: go tool mage check:dockerfiles
func (Check) Dockerfiles(ctx context.Context) error {
	mg.CtxDeps(ctx, mg.F(collect, "dockerfiles"))
	return printChecks("dockerfiles")
}

// All runs every check once, merges the reports and exits with the worst status.
//
// Each check is a mage dependency, so a target that depends on check:all
// (release:branch does) runs it only once per invocation.
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
