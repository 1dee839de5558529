package checks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// branchLine is the rule a checkout answers to: the main branch (the docs
// on the charts' X.Y) or the release branch of a line (the same X.Y.n).
type branchLine struct {
	known   bool
	release bool
	line    version.Line
}

func (b branchLine) branch(ws *workspace.Config, r *workspace.Repo) string {
	if b.release {
		return ws.ReleaseBranch(b.line.String())
	}
	return r.MainBranch
}

// sideVersion is one side of the docs/charts comparison.
type sideVersion struct {
	v *semver.Version
	// where names the file and its source for the message:
	// "charts VERSION:1 (checkout of master)" or
	// "charts VERSION:1 on origin/aether-2.1".
	where string
}

// docsVersionLine is the docs-version-line rule: the docs repo publishes
// the release the charts repo makes, so its VERSION must be on the
// charts' release line, judged on the branch each checkout is on (see
// version.DocsLine). When the docs and charts checkouts are on different
// branches, each checkout is compared with the other repo's branch of the
// same name (local, else origin's). A side that is missing or invalid is
// left to the other rules; a checkout whose branch cannot be told (a
// detached HEAD on no known branch) is judged by the X.Y rule, which
// holds on every branch.
func docsVersionLine(ctx context.Context, ws *workspace.Config) ([]report.Finding, error) {
	docs, charts := ws.Docs, ws.Charts
	if docs == nil || charts == nil || docs.VersionFile == "" || charts.VersionFile == "" {
		return nil, nil
	}
	dl, err := checkoutLine(ctx, ws, docs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", docs.Name, err)
	}
	cl, err := checkoutLine(ctx, ws, charts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", charts.Name, err)
	}
	var lines []branchLine
	for _, l := range []branchLine{dl, cl} {
		if l.known && (len(lines) == 0 || lines[0] != l) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		lines = []branchLine{{}} // neither branch is known: the worktrees, X.Y only
	}
	var out []report.Finding
	for _, l := range lines {
		d, err := versionOn(ctx, ws, docs, dl, l)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", docs.Name, err)
		}
		c, err := versionOn(ctx, ws, charts, cl, l)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", charts.Name, err)
		}
		if d.v == nil || c.v == nil {
			continue
		}
		want := version.DocsLine(c.v, d.v, l.release)
		if want == "" {
			continue
		}
		rule := "on the main branch the docs are on the charts' X.Y"
		switch {
		case l.release:
			rule = "on release branch " + ws.ReleaseBranch(l.line.String()) + " the docs name the charts' point release X.Y.n (a -dev version stands for the release before it or the one it heads for)"
		case !l.known:
			rule = "the branch of neither checkout is known, so only X.Y is compared"
		}
		out = append(out, report.Finding{Check: versionsCheck, Rule: "docs-version-line", Severity: report.Error,
			Repo: docs.Name, File: docs.VersionFile, Line: 1, Subject: d.v.Original(),
			Message: fmt.Sprintf("%s is %s but %s is %s: the docs must be on the charts' release line (%s); expected the docs at %s",
				d.where, d.v.Original(), c.where, c.v.Original(), rule, want)})
	}
	return out, nil
}

// versionOn reads r's VERSION for line l: the worktree when the checkout
// is on l (or on no known branch), else the branch of l from git (local,
// else origin's). nil version when there is nothing valid to compare.
func versionOn(ctx context.Context, ws *workspace.Config, r *workspace.Repo, at, l branchLine) (sideVersion, error) {
	label := fmt.Sprintf("%s %s:1", r.Name, r.VersionFile)
	if !at.known || at == l {
		data, err := repofs.Read(r.Dir, r.VersionFile, repofs.MaxVersion)
		if _, _, refused := repofs.Refused(err); refused || errors.Is(err, os.ErrNotExist) {
			// Nothing to compare; check:versions reports the file itself
			// (file-not-regular, version-missing).
			return sideVersion{}, nil
		}
		if err != nil {
			return sideVersion{}, err
		}
		where := label + " (checkout of " + at.branch(ws, r) + ")"
		if !at.known {
			where = label + " (checkout)"
		}
		return parseSide(data, where), nil
	}
	branch := l.branch(ws, r)
	for _, ref := range []string{"refs/heads/" + branch, "refs/remotes/origin/" + branch} {
		h, ok, err := gitx.RevCommit(ctx, r.Dir, ref)
		if err != nil {
			return sideVersion{}, err
		}
		if !ok {
			continue
		}
		g, err := gitx.Open(r.Dir)
		if err != nil {
			return sideVersion{}, err
		}
		data, err := g.FileAt(plumbing.NewHash(h), r.VersionFile)
		g.Close()
		if errors.Is(err, os.ErrNotExist) {
			return sideVersion{}, nil
		}
		if err != nil {
			return sideVersion{}, err
		}
		return parseSide(data, label+" on "+strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/remotes/")), nil
	}
	return sideVersion{}, nil // the repo has no such branch: release:branch's business
}

func parseSide(data []byte, where string) sideVersion {
	f, prob := version.Parse(data)
	if prob != nil {
		return sideVersion{} // version-invalid says so
	}
	return sideVersion{v: f.Version, where: where}
}

// checkoutLine tells which branch's rule r's checkout answers to: the
// branch HEAD is on when it is the main branch or a release branch;
// otherwise (a detached HEAD as CI checks out, or a topic branch) the
// branch that contains HEAD, or HEAD's first parent for a merge commit
// made for a change under review: the main branch when it is among them,
// else the single release branch. Unknown when none or several release
// branches do.
func checkoutLine(ctx context.Context, ws *workspace.Config, r *workspace.Repo) (branchLine, error) {
	out, err := gitx.Git(ctx, r.Dir, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		var ce *gitx.CmdError
		if !errors.As(err, &ce) || ce.ExitCode() != 1 {
			return branchLine{}, err
		}
	}
	if l, ok := lineOfBranch(ws, r, strings.TrimSpace(out)); ok {
		return l, nil
	}
	for _, rev := range []string{"HEAD", "HEAD^1"} {
		c, ok, err := gitx.RevCommit(ctx, r.Dir, rev)
		if err != nil || !ok {
			return branchLine{}, err
		}
		refs, err := gitx.Git(ctx, r.Dir, "for-each-ref", "--format=%(refname)", "--contains", c, "refs/heads", "refs/remotes")
		if err != nil {
			return branchLine{}, err
		}
		var found []branchLine
		for _, ref := range strings.Fields(refs) {
			name, ok := strings.CutPrefix(ref, "refs/heads/")
			if !ok {
				// refs/remotes/<remote>/<branch>
				_, name, _ = strings.Cut(strings.TrimPrefix(ref, "refs/remotes/"), "/")
			}
			l, ok := lineOfBranch(ws, r, name)
			if !ok {
				continue
			}
			if !l.release {
				return l, nil
			}
			if len(found) == 0 || found[0] != l {
				found = append(found, l)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return branchLine{}, nil
		}
	}
	return branchLine{}, nil
}

func lineOfBranch(ws *workspace.Config, r *workspace.Repo, branch string) (branchLine, bool) {
	if branch == "" {
		return branchLine{}, false
	}
	if branch == r.MainBranch {
		return branchLine{known: true}, true
	}
	if rest, ok := strings.CutPrefix(branch, ws.BranchPrefix); ok {
		if l, err := version.ParseLine(rest); err == nil && l.String() == rest {
			return branchLine{known: true, release: true, line: l}, true
		}
	}
	return branchLine{}, false
}
