// Package tagging makes and reads the git tags that name releases:
// release:tag creates the annotated tag of each repo whose VERSION is a
// release, on the commit that set that VERSION; image:tags turns the
// release tags on a commit into the docker tags CI gives its image.
package tagging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// Options of release:tag.
type Options struct {
	// Repo limits the run to one repo (by name); empty means every repo
	// with a VERSION file.
	Repo   string
	DryRun bool
	// Push pushes the tags (and checks the remote first).
	Push bool
	// Remote defaults to origin.
	Remote string
	// Author overrides the tagger ("Name <email>"); see plan.Author.
	Author   string
	Parallel int
}

// Plan works out which tags to create (and push) without writing.
func Plan(ctx context.Context, ws *workspace.Config, opt Options) (*plan.Plan, error) {
	if opt.Remote == "" {
		opt.Remote = "origin"
	}
	ident, err := plan.Author(ws, opt.Author)
	if err != nil {
		return nil, err
	}
	var repos []*workspace.Repo
	if opt.Repo != "" {
		r, ok := ws.Repo(opt.Repo)
		if !ok {
			return nil, fmt.Errorf("no repo %q in %s; known: %s", opt.Repo, ws.File, strings.Join(repoNames(ws), ", "))
		}
		if r.VersionFile == "" {
			return nil, fmt.Errorf("repo %q has no VERSION file, so it has no release tags", opt.Repo)
		}
		repos = []*workspace.Repo{r}
	} else {
		for _, r := range ws.Repos() {
			if r.VersionFile != "" {
				repos = append(repos, r)
			}
		}
	}
	action := "release:tag"
	if opt.Repo != "" {
		action += " -repo=" + opt.Repo
	}
	if opt.Push {
		action += " -push"
	}
	p := &plan.Plan{Action: action, DryRun: opt.DryRun, Author: ident.String()}
	err = p.ReadRepos(ctx, repos, opt.Parallel, func(ctx context.Context, r *workspace.Repo, pr *plan.Repo) error {
		return planTag(ctx, r, opt, ident, pr)
	})
	return p, err
}

// Run plans, prints and (unless a dry run or refused) applies release:tag.
func Run(ctx context.Context, ws *workspace.Config, opt Options, w io.Writer, f plan.Format) error {
	p, err := Plan(ctx, ws, opt)
	ident, _ := plan.Author(ws, opt.Author)
	return plan.Execute(ctx, p, err, w, f, plan.Options{Ident: ident, Parallel: opt.Parallel})
}

func repoNames(ws *workspace.Config) []string {
	var names []string
	for _, r := range ws.Repos() {
		names = append(names, r.Name)
	}
	return names
}

func planTag(ctx context.Context, r *workspace.Repo, opt Options, ident gitx.Ident, pr *plan.Repo) error {
	// The commit that set VERSION is found in history: a shallow clone
	// would name HEAD. A real run fetches the history first; a dry run
	// (which writes nothing) stops.
	deepenFrom := opt.Remote
	if opt.DryRun {
		deepenFrom = ""
	}
	note, err := gitx.NeedHistory(ctx, r.Name, r.Dir, deepenFrom)
	if err != nil {
		return err
	}
	if note != "" {
		pr.Notef("%s", note)
	}
	g, err := gitx.Open(r.Dir)
	if err != nil {
		return err
	}
	defer g.Close()
	head, headBranch, err := g.Head()
	if err != nil {
		return err
	}
	where := headBranch
	if where == "" {
		where = "HEAD (detached)"
	}
	data, err := g.FileAt(head, r.VersionFile)
	if errors.Is(err, os.ErrNotExist) {
		pr.Problemf("%s does not exist at the head of %s", r.VersionFile, where)
		return nil
	} else if err != nil {
		return err
	}
	vf, prob := version.Parse(data)
	if prob != nil {
		pr.Problemf("%s:%d: %s", r.VersionFile, prob.Line, prob.Reason)
		return nil
	}
	v := vf.Version.Original()
	if !vf.IsRelease() {
		pr.Notef("%s is %s at the head of %s: not a release, no tag", r.VersionFile, v, where)
		return nil
	}
	commit, err := g.LastChange(ctx, head, r.VersionFile)
	if err != nil {
		return err
	}
	tag := r.Tag(v)
	ref := plumbing.NewTagReferenceName(tag).String()
	if _, err := gitx.Git(ctx, r.Dir, "check-ref-format", ref); err != nil {
		pr.Problemf("%q (tagPrefix %q + VERSION) is not a valid tag name", tag, r.TagPrefix)
		return nil
	}
	tags, err := g.ReleaseTags(r.TagPrefix)
	if err != nil {
		return err
	}
	// An existing tag of v in any form is this release when it names the
	// commit that set VERSION or a descendant with VERSION unchanged (CI
	// tags the merge commit); relkit then tags nothing again.
	rel, localTag, err := tags.Release(v)
	if err != nil {
		return err
	}
	setter := commit
	if localTag {
		for _, t := range rel.Tags {
			ok, err := g.CarriesRelease(ctx, t.Commit, setter, r.VersionFile)
			if err != nil {
				return err
			}
			if !ok {
				pr.Problemf("tag %s already exists on %s, but %s was set to %s by %s; relkit never moves tags: check which commit is the release",
					t.Name, gitx.Short(t.Commit.String()), r.VersionFile, v, gitx.Short(setter.String()))
				return nil
			}
		}
		if rel.Conflict() {
			pr.Problemf("the tags of %s name different commits (%s); relkit never moves or deletes tags: decide which commit is the release and delete the other tag by hand", v, rel.Describe())
			return nil
		}
		tag, commit = rel.Tag, rel.Commit
		ref = plumbing.NewTagReferenceName(tag).String()
		if commit == setter {
			pr.Donef("tag %s on %s", tag, gitx.Short(commit.String()))
		} else {
			pr.Donef("tag %s on %s, a descendant of %s (which set %s to %s) with %s unchanged: the release is tagged", tag, gitx.Short(commit.String()), gitx.Short(setter.String()), r.VersionFile, v, r.VersionFile)
		}
	}
	create := func() {
		pr.Steps = append(pr.Steps, plan.Step{Kind: plan.CreateTag, Ref: ref, Commit: commit.String(), Message: plan.TagMessage(r.Name, v)})
		if ident.Name == "" {
			if _, err := gitx.Git(ctx, r.Dir, "var", "GIT_COMMITTER_IDENT"); err != nil {
				pr.Problemf("git has no identity to tag with here; set git.author in relkit.yaml, %s, or user.name and user.email", plan.AuthorEnv)
			}
		}
	}
	if !opt.Push {
		if !localTag {
			create()
		}
		return nil
	}

	// The remote: its tags of v in every form, and the branches that
	// should hold the commit.
	remote := opt.Remote
	heads := []string{plumbing.NewBranchReferenceName(r.MainBranch).String()}
	if headBranch != "" && headBranch != r.MainBranch {
		heads = append(heads, plumbing.NewBranchReferenceName(headBranch).String())
	}
	var formRefs []string
	for _, f := range version.TagForms(r.TagPrefix) {
		if name := plumbing.NewTagReferenceName(f + v).String(); name != ref {
			formRefs = append(formRefs, name)
		}
	}
	got, err := gitx.LsRemote(ctx, r.Dir, remote, append(append([]string{ref}, formRefs...), heads...)...)
	if err != nil {
		return fmt.Errorf("asking %s: %w", remote, err)
	}
	remoteAt := func(name string) string {
		if at := got[name+"^{}"]; at != "" {
			return at
		}
		return got[name] // a lightweight tag
	}
	// A tag of v on the remote in any form (CI's tag, or one made in
	// another clone) is the release when it names the release commit, or
	// a descendant of the commit that set VERSION with VERSION unchanged;
	// relkit then fetches it rather than make a second tag.
	var fetch []plan.RefUpdate
	remoteHas := false
	for _, name := range append([]string{ref}, formRefs...) {
		at := remoteAt(name)
		if at == "" {
			continue
		}
		remoteHas = true
		short := strings.TrimPrefix(name, "refs/tags/")
		if at != commit.String() {
			if !gitx.HasCommit(ctx, r.Dir, at) {
				pr.Problemf("%s has tag %s on %s, a commit this clone does not have; fetch %s and run again, so relkit can tell whether it is the release", remote, short, gitx.Short(at), remote)
				continue
			}
			ok, err := g.CarriesRelease(ctx, plumbing.NewHash(at), setter, r.VersionFile)
			if err != nil {
				return err
			}
			if !ok || localTag {
				pr.Problemf("%s already has tag %s on %s, not on %s which is the release of %s %s (set by %s); relkit never moves tags: check which commit is the release",
					remote, short, gitx.Short(at), gitx.Short(commit.String()), r.VersionFile, v, gitx.Short(setter.String()))
				continue
			}
		}
		switch {
		case localTag && name == ref:
			pr.Donef("%s has tag %s", remote, short)
		case localTag:
			pr.Donef("%s has the release as tag %s", remote, short)
		case len(fetch) == 0:
			fetch = append(fetch, plan.RefUpdate{Ref: name, Local: name, Expect: got[name]})
			if name != ref {
				pr.Notef("%s has the release as tag %s on %s; fetching it instead of making %s", remote, short, gitx.Short(at), tag)
			}
		}
	}
	if remoteHas {
		if len(fetch) > 0 && len(pr.Problems) == 0 {
			pr.Steps = append(pr.Steps, plan.Step{Kind: plan.Fetch, Remote: remote, Updates: fetch})
		}
		return nil
	}
	onRemote := false
	for _, h := range heads {
		if got[h] == "" {
			continue
		}
		ok, err := gitx.IsAncestor(ctx, r.Dir, commit.String(), got[h])
		if err != nil {
			return err
		}
		if ok {
			onRemote = true
			break
		}
	}
	if !onRemote {
		pr.Problemf("%s (which set %s to %s) is not on %s's %s; push the commit before its tag, so the tag does not publish it",
			gitx.Short(commit.String()), r.VersionFile, v, remote, strings.Join(shortRefs(heads), " or "))
		return nil
	}
	if !localTag {
		create()
	}
	pr.Steps = append(pr.Steps, plan.Step{Kind: plan.Push, Remote: remote,
		Updates: []plan.RefUpdate{{Ref: ref, Local: ref, Note: "tag on " + gitx.Short(commit.String())}}})
	return nil
}

func shortRefs(refs []string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = strings.TrimPrefix(r, "refs/heads/")
	}
	return out
}
