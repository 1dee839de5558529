//go:build mage

package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/release/invocation"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/review"
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

// useArg checks that -use names a release version X.Y.Z (no v, no
// pre-release): which release it is, and whether it fits the line, the
// plan decides.
func useArg(use string) error {
	if use == "" || version.IsRelease(use) {
		return nil
	}
	return usage(fmt.Errorf("-use=%s: expected a release version X.Y.Z (3.1.4), an existing release of the component", use))
}

// fromArg checks that -from names something that can be a branch: git's
// ref-name rules, checked without a repo (git check-ref-format).
func fromArg(from string) error {
	if from == "" {
		return nil
	}
	if bad := strings.ContainsAny(from, " ~^:?*[\\\x7f") || strings.HasPrefix(from, "-") || strings.HasPrefix(from, "/") ||
		strings.HasSuffix(from, "/") || strings.HasSuffix(from, ".lock") || strings.HasSuffix(from, ".") ||
		strings.Contains(from, "..") || strings.Contains(from, "//") || strings.Contains(from, "@{") || from == "@" ||
		strings.IndexFunc(from, func(r rune) bool { return r < 0x20 }) >= 0; bad {
		return usage(fmt.Errorf("-from=%q: not a branch name; expected the branch the commits come from (fix/nrf-wait, origin/fix/nrf-wait)", from))
	}
	return nil
}

// pushMode reads a committing target's -review and -push (see
// review.Choose): a review mode for -review (or -push with
// review.default: true), else whether to push directly. The token comes
// from GITHUB_TOKEN, GITEA_TOKEN or GERRIT_HTTP_PASSWORD (with
// GERRIT_USER) and goes nowhere else.
func pushMode(ws *workspace.Config, target, line string, reviewFlag, pushFlag *bool) (*review.Mode, bool, error) {
	useReview, push, err := review.Choose(reviewFlag, pushFlag, ws.Review)
	if err != nil {
		return nil, false, usage(fmt.Errorf("%s: %w", target, err))
	}
	if !useReview {
		return nil, push, nil
	}
	token := settings.getenv(review.TokenEnv(ws.Review.Kind))
	return review.NewMode(ws.Review, review.Name{Target: target, Line: line}, token, settings.getenv("GERRIT_USER")), false, nil
}

// startAlone is the preamble of a target that writes and takes no release
// line: it runs alone (see alone), then loads the workspace and the
// output format (see setup).
func startAlone(target string, required int) (*workspace.Config, plan.Format, error) {
	if err := alone(target, required); err != nil {
		return nil, "", err
	}
	return setup()
}

// lineRun is what a target that commits on a release line starts from.
type lineRun struct {
	ws     *workspace.Config
	format plan.Format
	// mode is the review mode of -review (nil when not reviewing), push
	// whether to push directly.
	mode *review.Mode
	push bool
}

// startLine is the preamble of every target that commits on release line
// line, its refusals in this order: the command line (the target alone,
// with its required arguments), the line X.Y, args (the target's own
// checks that need no workspace, in its order; each is pure, so making
// them all first changes nothing but which error comes first), the
// workspace and the output format (a config error is reported once, not
// again by the checks), wsArg on the workspace (nil: none), and last
// -review with -push.
func startLine(target string, required int, line string, reviewFlag, pushFlag *bool, args []error, wsArg func(*workspace.Config) error) (*lineRun, error) {
	if err := alone(target, required); err != nil {
		return nil, err
	}
	if err := lineArg(line); err != nil {
		return nil, err
	}
	for _, err := range args {
		if err != nil {
			return nil, err
		}
	}
	ws, format, err := setup()
	if err != nil {
		return nil, err
	}
	if wsArg != nil {
		if err := wsArg(ws); err != nil {
			return nil, err
		}
	}
	mode, push, err := pushMode(ws, target, line, reviewFlag, pushFlag)
	if err != nil {
		return nil, err
	}
	return &lineRun{ws: ws, format: format, mode: mode, push: push}, nil
}

// reviewOptions is how release:status lists open reviews: nil without a
// review: section in relkit.yaml.
func reviewOptions(ws *workspace.Config) *review.Options {
	if ws.Review == nil {
		return nil
	}
	return &review.NewMode(ws.Review, review.Name{}, settings.getenv(review.TokenEnv(ws.Review.Kind)), settings.getenv("GERRIT_USER")).Options
}
