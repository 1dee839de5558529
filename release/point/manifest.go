package point

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/manifestfile"
	"github.com/relkit/relkit/release/plan"
)

// CreatedBy is the createdBy of the release manifests release:point
// commits.
const CreatedBy = "relkit release:point"

// The release manifest releases/X.Y.n.yaml (release/manifest) goes into
// the charts repo's release commit, the one that sets VERSION to X.Y.n and
// gets the tag, so the tag carries it and release:verify X.Y.n reads it
// from there. It is built from the content of the branch tip the release
// commit follows (the charts are the same: the release commit changes only
// VERSION and the manifest), and its chartsCommit is that tip: as with
// release:manifest, the commit that adds a manifest is a child of the
// commit it describes. Nothing in it depends on time, so a plan built
// twice gives the same release commit content.
//
// When the release commit already exists (a tag made by hand or by an
// earlier run, or VERSION already set to X.Y.n by the tip) and lacks the
// manifest, it is built from that commit's content (chartsCommit = the
// release commit) and added by the move-on commit: the tag is never moved,
// and release:verify finds the manifest on the branch.

// reported is a planning error already recorded as a problem of the
// repo; msg is what the problem says.
type reported struct {
	msg string
	err error
}

func (e *reported) Error() string { return "could not decide: " + e.msg }
func (e *reported) Unwrap() error { return e.err }

// buildManifest builds the release manifest of the charts in w (checked
// out at commit, which becomes the manifest's chartsCommit). It asks the
// registry for every image digest: a registry that cannot be asked is a
// problem of pr and a *plan.Undecided error (exit 3); an image the registry
// lacks (or anything else that keeps the manifest from being complete) is
// a problem that refuses the release (ok false, nil error).
func (pt *pointRun) buildManifest(ctx context.Context, pr *plan.Repo, w *cherry.Worktree, commit string) (m *manifestfile.Manifest, ok bool, err error) {
	path := manifestfile.Path(pt.res.Version)
	if pt.checker == nil {
		if pt.checker, err = manifestfile.NewChecker(pt.ws); err != nil {
			return nil, false, err
		}
	}
	m, err = manifestfile.BuildWith(ctx, pt.ws, w.Dir, manifestfile.BuildOptions{
		Release: pt.res.Version, Branch: pt.s.Branch, ChartsCommit: commit, CreatedBy: CreatedBy, Checker: pt.checker})
	if err == nil {
		pt.res.ManifestPath, pt.res.Manifest = path, m
		return m, true, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, false, ctxErr
	}
	// The scratch worktree's path means nothing to the reader.
	msg := strings.ReplaceAll(err.Error(), w.Dir, fmt.Sprintf("%s at %s", pt.s.Branch, gitx.Short(commit)))
	var u *plan.Undecided
	if errors.As(err, &u) {
		p := fmt.Sprintf("the release manifest %s needs the digest of every image, and the registry could not be asked (nothing was written; run again when it answers):%s",
			path, grouped(strings.TrimPrefix(msg, "could not decide: ")))
		pr.Problemf("%s", p)
		return nil, false, &reported{msg: p, err: err}
	}
	pr.Problemf("the release manifest %s cannot be complete, so %s is not released: %s", path, pt.res.Version, msg)
	return nil, false, nil
}

// grouped shortens a list of failed look-ups (a first line, then lines
// "  image REF: ERROR") to those lines, each starting on a new line:
// images that failed the same way share one line (an unreachable registry
// is one line, not one per image). Anything else comes back whole.
func grouped(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	var probs []manifestfile.Problem
	var other []string
	for _, l := range strings.Split(rest, "\n") {
		t := strings.TrimSpace(l)
		if ref, e, ok := strings.Cut(strings.TrimPrefix(t, "image "), ": "); ok && strings.HasPrefix(t, "image ") {
			probs = append(probs, manifestfile.Problem{Subject: ref, Err: e})
		} else if t != "" {
			other = append(other, t)
		}
	}
	if len(probs) == 0 {
		return " " + s
	}
	lines := append(manifestfile.Group("image", probs), other...)
	return "\n  " + strings.Join(lines, "\n  ")
}

// manifestOfRelease handles the manifest when the release commit already
// exists and w is checked out at it: a manifest there is kept (a tag is
// never moved); else one is built from the release commit's content and
// returned for the move-on commit (nil when none is needed). tagged says
// whether the release tag exists already.
func (pt *pointRun) manifestOfRelease(ctx context.Context, pr *plan.Repo, w *cherry.Worktree, tagged bool) (data []byte, ok bool, err error) {
	r, release := pt.ws.Charts, pt.res.Version
	path := manifestfile.Path(release)
	pt.res.ManifestPath = path
	existing, err := w.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	where := "tag " + pt.releaseTag()
	if !tagged {
		where = "the release commit " + gitx.Short(pt.relCommit)
	}
	if existing != nil && tagged {
		// Released as it is: release:verify judges it.
		if m, rerr := manifestfile.Read(path+" at "+where, existing); rerr != nil {
			pr.Notef("%s holds %s, which does not read as a release manifest (release:verify %s will say so): %v", where, path, release, rerr)
		} else if m.Release != release {
			pr.Notef("%s holds %s for release %q; release:verify %s will refuse it", where, path, m.Release, release)
		} else {
			pr.Donef("%s holds the release manifest %s", where, path)
		}
		return nil, true, nil
	}
	m, ok, err := pt.buildManifest(ctx, pr, w, pt.relCommit)
	if !ok || err != nil {
		return nil, ok, err
	}
	if existing != nil {
		// Not tagged yet: the tag will carry what the commit holds, so it
		// must describe the release as it is.
		old, rerr := manifestfile.Read(path, existing)
		if rerr == nil && manifestfile.Equivalent(old, m) {
			pr.Donef("%s holds the release manifest %s, and it describes the release", where, path)
			pt.res.Manifest = old
			return nil, true, nil
		}
		pr.Problemf("%s sets %s to %s and holds a %s that does not describe its charts (built on another commit, or the registry changed); the tag would carry it: set %s back to %s-dev and run release:point again, so the release commit gets a fresh manifest",
			where, r.VersionFile, release, path, r.VersionFile, release)
		return nil, false, nil
	}
	data = m.Marshal()
	pr.Notef("%s has no release manifest: the move-on commit adds %s (%d chart(s), %d image(s) with their registry digests, describing %s)",
		where, path, len(m.Charts), len(m.Images), gitx.Short(pt.relCommit))
	return data, true, nil
}

// manifestDone records where a finished release keeps its manifest: in
// the tagged release commit or on the branch (tip). A release made before
// release:point wrote manifests has none; a rerun only says so.
func (pt *pointRun) manifestDone(g *gitx.Repo, pr *plan.Repo, tip string) {
	r, release := pt.ws.Charts, pt.res.Version
	path := manifestfile.Path(release)
	pt.res.ManifestPath = path
	for _, at := range []struct{ commit, what string }{{pt.relCommit, "tag " + pt.releaseTag()}, {tip, pt.s.Branch}} {
		if _, err := g.FileAt(plumbing.NewHash(at.commit), path); err == nil {
			pr.Donef("%s holds the release manifest %s", at.what, path)
			return
		}
	}
	pr.Notef("%s %s has no release manifest %s (released before release:point wrote one), so release:verify %s cannot check it", r.Name, release, path, release)
}
