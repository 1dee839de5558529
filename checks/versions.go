package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

const versionsCheck = "versions"

// Versions checks the VERSION file of every repo: valid SemVer, a release
// version's tag (in any prefix form) not already used by another release,
// the forms of one version's tags on one commit, the previous version in
// its line tagged, and the docs repo on the charts repo's release line.
// It takes no options.
func Versions(ctx context.Context, ws *workspace.Config, _ Options) *report.Report {
	rep := report.New(versionsCheck)
	var repos []*workspace.Repo
	for _, r := range ws.Repos() {
		if r.VersionFile != "" {
			repos = append(repos, r)
		}
	}
	parallel(ctx, repos, func(ctx context.Context, r *workspace.Repo) {
		findings, err := checkVersion(ctx, r)
		rep.Add(findings...)
		rep.Undecided(err)
	})
	findings, err := docsVersionLine(ctx, ws)
	rep.Add(findings...)
	rep.Undecided(err)
	if err := ctx.Err(); err != nil {
		rep.Undecided(err)
	}
	return rep
}

func checkVersion(ctx context.Context, r *workspace.Repo) ([]report.Finding, error) {
	finding := func(rule string, sev report.Severity, line int, subject, format string, args ...any) report.Finding {
		return report.Finding{Check: versionsCheck, Rule: rule, Severity: sev, Repo: r.Name, File: r.VersionFile,
			Line: line, Subject: subject, Message: fmt.Sprintf(format, args...)}
	}
	data, err := repofs.Read(r.Dir, r.VersionFile, repofs.MaxVersion)
	if f := refusedFindings(versionsCheck, r.Name, err); f != nil {
		return f, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return []report.Finding{finding("version-missing", report.Error, 0, "",
			"%s does not exist; expected a VERSION file holding the repo's SemVer version", r.VersionFile)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	vf, prob := version.Parse(data)
	if prob != nil {
		return []report.Finding{finding("version-invalid", report.Error, prob.Line, vf.Raw, "%s", prob.Reason)}, nil
	}
	// Every rule below reads tags and history: a shallow clone decides
	// none of them.
	if _, err := gitx.NeedHistory(ctx, r.Name, r.Dir, ""); err != nil {
		if !vf.IsRelease() {
			// A development version needs no tag; the older releases'
			// tag conflicts are left to a full clone.
			return nil, nil
		}
		return nil, err
	}
	repo, err := gitx.Open(r.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	defer repo.Close()
	tags, err := repo.ReleaseTags(r.TagPrefix)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	v := vf.Version
	conflicts, err := olderConflicts(tags, v.Original())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	var out []report.Finding
	for _, c := range conflicts {
		out = append(out, report.Finding{Check: versionsCheck, Rule: "version-tag-conflict", Severity: report.Warning, Repo: r.Name,
			Subject: c.Version, Message: fmt.Sprintf("the tags of release %s name different commits (%s); relkit goes by %s. "+
				"relkit never moves or deletes tags: delete the wrong one by hand if it matters", c.Version, c.Describe(), c.Tag)})
	}
	if !vf.IsRelease() {
		return out, nil
	}
	rel, tagged, err := tags.Release(v.Original())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	if tagged {
		setter, err := versionSetter(ctx, repo, r.VersionFile, data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		f, err := releaseTagFinding(ctx, repo, r, rel, setter, tags)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		if f != nil {
			out = append(out, finding(f.Rule, report.Error, 1, v.Original(), "%s", f.Message))
		}
	}
	if parent, ok := missingParent(v, tags, r.TagPrefix); ok {
		out = append(out, finding("version-parent-missing", report.Warning, 1, v.Original(),
			"no tag for the version before %s (expected %s); fine if %s was skipped on purpose", v.Original(), parent, parent))
	}
	return out, nil
}

// releaseTagFinding judges the existing tags of the version VERSION holds,
// which setter set (ZeroHash: an uncommitted change). A tag on setter, or
// on a descendant with VERSION unchanged in between (CI tags the merge
// commit), is this release: no finding. A tag anywhere else is
// version-tag-exists; tags of both forms on different commits are
// version-tag-conflict, which says which of them is this release.
func releaseTagFinding(ctx context.Context, repo *gitx.Repo, r *workspace.Repo, rel gitx.Release, setter plumbing.Hash, tags *gitx.ReleaseTags) (*report.Finding, error) {
	v := rel.Version
	where := "an uncommitted change"
	if !setter.IsZero() {
		where = "commit " + short(setter)
	}
	judge := map[plumbing.Hash]string{} // commit -> "" when it carries this release, else why not
	for _, t := range rel.Tags {
		if _, ok := judge[t.Commit]; ok {
			continue
		}
		why, err := notThisRelease(ctx, repo, r.VersionFile, v, t.Commit, setter)
		if err != nil {
			return nil, err
		}
		judge[t.Commit] = why
	}
	if rel.Conflict() {
		var parts []string
		for _, t := range rel.Tags {
			verdict := "this release"
			if why := judge[t.Commit]; why != "" {
				verdict = why
			}
			parts = append(parts, fmt.Sprintf("%s on %s (%s)", t.Name, short(t.Commit), verdict))
		}
		return &report.Finding{Rule: "version-tag-conflict", Message: fmt.Sprintf(
			"release %s has tags on different commits: %s; VERSION was set to %s by %s. Which commit is %s is ambiguous (images and release notes could come from either); relkit never moves or deletes tags: delete the wrong tag by hand, or set VERSION to an unreleased version (next patch %s)",
			v, strings.Join(parts, ", "), v, where, v, nextFree(semver.MustParse(v), tags))}, nil
	}
	why := judge[rel.Commit]
	if why == "" {
		return nil, nil
	}
	return &report.Finding{Rule: "version-tag-exists", Message: fmt.Sprintf(
		"tag %s already exists on commit %s (%s), but VERSION was set to %s by %s; a release version is tagged once: set VERSION to an unreleased version (next patch %s)",
		rel.Tag, short(rel.Commit), why, v, where, nextFree(semver.MustParse(v), tags))}, nil
}

// notThisRelease says why the tagged commit is not the release setter
// made, or "" when it is (see gitx.CarriesRelease).
func notThisRelease(ctx context.Context, repo *gitx.Repo, file, v string, tagged, setter plumbing.Hash) (string, error) {
	if setter.IsZero() {
		return "VERSION is not committed yet", nil
	}
	ok, err := repo.CarriesRelease(ctx, tagged, setter, file)
	if err != nil || ok {
		return "", err
	}
	data, err := repo.FileAt(tagged, file)
	if errors.Is(err, os.ErrNotExist) {
		return "it has no " + file, nil
	}
	if err != nil {
		return "", err
	}
	if there, _ := version.Parse(data); there.Raw != v {
		return fmt.Sprintf("%s is %q there", file, there.Raw), nil
	}
	below, err := gitx.IsAncestor(ctx, repo.Dir, setter.String(), tagged.String())
	if err != nil {
		return "", err
	}
	if !below {
		if earlier, err := gitx.IsAncestor(ctx, repo.Dir, tagged.String(), setter.String()); err != nil {
			return "", err
		} else if earlier {
			return fmt.Sprintf("an earlier commit: %s came back to %s after that release", file, v), nil
		}
		return "it does not descend from " + short(setter), nil
	}
	last, err := repo.LastChange(ctx, tagged, file)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s was changed again in between, last by %s", file, short(last)), nil
}

// olderConflicts lists the released versions other than current (a
// release VERSION's own conflict is an error, see releaseTagFinding) whose
// tags name different commits.
func olderConflicts(tags *gitx.ReleaseTags, current string) ([]gitx.Release, error) {
	all, err := tags.Conflicts()
	return slices.DeleteFunc(all, func(r gitx.Release) bool { return r.Version == current }), err
}

// versionSetter finds the commit that set VERSION to its content in the
// worktree: the last change of the file reachable from HEAD, provided HEAD
// holds the same bytes; ZeroHash when the worktree change is not committed.
func versionSetter(ctx context.Context, repo *gitx.Repo, file string, worktree []byte) (plumbing.Hash, error) {
	head, _, err := repo.Head()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	committed, err := repo.FileAt(head, file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, err
	}
	if !bytes.Equal(committed, worktree) {
		return plumbing.ZeroHash, nil
	}
	return repo.LastChange(ctx, head, file)
}

func short(h plumbing.Hash) string { return h.String()[:7] }

// missingParent says which version should precede v when none of the
// repo's release tags (in any form) is such a parent: X.Y.(Z-1) for Z>0;
// some X.(Y-1).* for Z=0 and Y>0; some .*.* for X.0.0.
func missingParent(v *semver.Version, tags *gitx.ReleaseTags, prefix string) (string, bool) {
	maj, min, pat := v.Major(), v.Minor(), v.Patch()
	if maj == 0 && min == 0 && pat == 0 {
		return "", false
	}
	switch {
	case pat > 0:
		// The common case first, without parsing every tag; then a tag
		// with build metadata (2.1.0+ci) of the same version.
		if tags.Has(fmt.Sprintf("%d.%d.%d", maj, min, pat-1)) ||
			slices.ContainsFunc(tags.SemVers(), func(t *semver.Version) bool { return t.Major() == maj && t.Minor() == min && t.Patch() == pat-1 }) {
			return "", false
		}
		return fmt.Sprintf("%s%d.%d.%d", prefix, maj, min, pat-1), true
	case min > 0:
		// The previous line's releases, as every release step reads a line.
		if len(tags.Line(version.Line{Major: maj, Minor: min - 1})) > 0 {
			return "", false
		}
		return fmt.Sprintf("%s%d.%d.*", prefix, maj, min-1), true
	default:
		if slices.ContainsFunc(tags.SemVers(), func(t *semver.Version) bool { return t.Major() == maj-1 }) {
			return "", false
		}
		return fmt.Sprintf("%s%d.*.*", prefix, maj-1), true
	}
}

// nextFree is the first patch release after v that no tag (in any form)
// names.
func nextFree(v *semver.Version, tags *gitx.ReleaseTags) string {
	n := *v
	for range 10_000 {
		n = n.IncPatch()
		if !tags.Has(n.String()) {
			return n.String()
		}
	}
	return n.String()
}
