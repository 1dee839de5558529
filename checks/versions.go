package checks

import (
	"bytes"
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

const versionsCheck = "versions"

// Versions checks the VERSION file of every repo: valid SemVer, a release
// version's tag not already used by another commit, and the previous
// version in its line tagged.
func Versions(ctx context.Context, ws *workspace.Config) *report.Report {
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
	if !vf.IsRelease() {
		return nil, nil
	}
	repo, err := gitx.Open(r.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	defer repo.Close()
	tags, err := repo.Tags()
	if err != nil {
		return nil, fmt.Errorf("%s: listing tags: %w", r.Name, err)
	}
	var out []report.Finding
	v := vf.Version
	tag := r.Tag(v.Original())
	if ref, ok := tags[tag]; ok {
		tagged, err := repo.Peel(ref)
		if err != nil {
			return nil, fmt.Errorf("%s: reading tag %s: %w", r.Name, tag, err)
		}
		setter, err := versionSetter(ctx, repo, r.VersionFile, data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		if tagged != setter {
			where := "an uncommitted change"
			if !setter.IsZero() {
				where = "commit " + short(setter)
			}
			out = append(out, finding("version-tag-exists", report.Error, 1, v.Original(),
				"tag %s already exists on commit %s, but VERSION was set to %s by %s; a release version is tagged once: set VERSION to an unreleased version (next patch %s)",
				tag, short(tagged), v.Original(), where, nextFree(v, tags, r.TagPrefix)))
		}
	}
	if parent, ok := missingParent(v, tags, r.TagPrefix); ok {
		out = append(out, finding("version-parent-missing", report.Warning, 1, v.Original(),
			"no tag for the version before %s (expected %s); fine if %s was skipped on purpose", v.Original(), parent, parent))
	}
	return out, nil
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

// releaseTags returns the SemVer release versions among tags that carry
// prefix (tags without the prefix count too, as old manual tags often lack
// it).
func releaseTags(tags map[string]plumbing.Hash, prefix string) []*semver.Version {
	var out []*semver.Version
	for name := range tags {
		s := name
		if prefix != "" && strings.HasPrefix(s, prefix) {
			s = s[len(prefix):]
		}
		if version.IsRelease(s) {
			if v, err := semver.StrictNewVersion(s); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// missingParent says which version should precede v when none of the
// repo's tags is such a parent: X.Y.(Z-1) for Z>0; some X.(Y-1).* for Z=0
// and Y>0; some .*.* for X.0.0.
func missingParent(v *semver.Version, tags map[string]plumbing.Hash, prefix string) (string, bool) {
	maj, min, pat := v.Major(), v.Minor(), v.Patch()
	if maj == 0 && min == 0 && pat == 0 {
		return "", false
	}
	var want func(t *semver.Version) bool
	var name string
	switch {
	case pat > 0:
		want = func(t *semver.Version) bool { return t.Major() == maj && t.Minor() == min && t.Patch() == pat-1 }
		name = fmt.Sprintf("%s%d.%d.%d", prefix, maj, min, pat-1)
	case min > 0:
		want = func(t *semver.Version) bool { return t.Major() == maj && t.Minor() == min-1 }
		name = fmt.Sprintf("%s%d.%d.*", prefix, maj, min-1)
	default:
		want = func(t *semver.Version) bool { return t.Major() == maj-1 }
		name = fmt.Sprintf("%s%d.*.*", prefix, maj-1)
	}
	for _, t := range releaseTags(tags, prefix) {
		if want(t) {
			return "", false
		}
	}
	return name, true
}

// nextFree is the first patch release after v whose tag does not exist.
func nextFree(v *semver.Version, tags map[string]plumbing.Hash, prefix string) string {
	n := *v
	for range 10_000 {
		n = n.IncPatch()
		if _, ok := tags[prefix+n.String()]; !ok {
			return n.String()
		}
	}
	return n.String()
}
