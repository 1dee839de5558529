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
	// Author overrides the tagger ("Name <email>"); see branch.Author.
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

// Message is the annotation of a release tag.
func Message(repo, v string) string {
	return fmt.Sprintf("%s %s\n\nRelease %s of %s, %srelease:tag on the commit\nthat set its VERSION to %s.\n", repo, v, v, repo, relkitMark, v)
}

// relkitMark is in every tag message relkit writes.
const relkitMark = "tagged by relkit "

// ByRelkit reports whether an annotated tag's message is one relkit wrote
// (Message): a rerun takes over only tags it made itself.
func ByRelkit(msg string) bool { return strings.Contains(msg, relkitMark) }

func planTag(ctx context.Context, r *workspace.Repo, opt Options, ident gitx.Ident, pr *plan.Repo) error {
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
	tags, err := g.Tags()
	if err != nil {
		return err
	}
	localTag := false
	if obj, ok := tags[tag]; ok {
		at, err := g.Peel(obj)
		if err != nil {
			return err
		}
		if at != commit {
			pr.Problemf("tag %s already exists on %s, but %s was set to %s by %s; relkit never moves tags: check which commit is the release",
				tag, gitx.Short(at.String()), r.VersionFile, v, gitx.Short(commit.String()))
			return nil
		}
		localTag = true
		pr.Donef("tag %s on %s", tag, gitx.Short(commit.String()))
	}
	create := func() {
		pr.Steps = append(pr.Steps, plan.Step{Kind: plan.CreateTag, Ref: ref, Commit: commit.String(), Message: Message(r.Name, v)})
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

	// The remote: its tag, and the branches that should hold the commit.
	remote := opt.Remote
	heads := []string{plumbing.NewBranchReferenceName(r.MainBranch).String()}
	if headBranch != "" && headBranch != r.MainBranch {
		heads = append(heads, plumbing.NewBranchReferenceName(headBranch).String())
	}
	got, err := gitx.LsRemote(ctx, r.Dir, remote, append([]string{ref}, heads...)...)
	if err != nil {
		return fmt.Errorf("asking %s: %w", remote, err)
	}
	remoteObj := got[ref]
	if remoteObj != "" {
		remoteAt := got[ref+"^{}"]
		if remoteAt == "" {
			remoteAt = remoteObj // a lightweight tag
		}
		switch {
		case remoteAt != commit.String():
			pr.Problemf("%s already has tag %s on %s, not on %s which set %s to %s; relkit never moves tags", remote, tag, gitx.Short(remoteAt), gitx.Short(commit.String()), r.VersionFile, v)
		case localTag:
			pr.Donef("%s has tag %s", remote, tag)
		default:
			// Made elsewhere: take the remote's tag rather than make a
			// second tag object of the same name.
			pr.Steps = append(pr.Steps, plan.Step{Kind: plan.Fetch, Remote: remote,
				Updates: []plan.RefUpdate{{Ref: ref, Local: ref, Expect: remoteObj}}})
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
