// Package imagetags works out the docker tags of a component's commit:
// every release git tag on it in the component's image tag form, and a
// development tag <branch>-<sha7>. image:tags prints them and image:push
// pushes the image under them; it sits below both so the release steps do
// not import each other.
package imagetags

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// ImageTags are the docker tags for one commit of a component.
type ImageTags struct {
	Component string   `json:"component"`
	Commit    string   `json:"commit"`
	Tags      []string `json:"tags"`
}

// BranchEnv lists the environment variables read, in order, for the
// branch name of a detached HEAD (CI checkouts): relkit's own, GitHub
// Actions (pull requests, then pushes), Jenkins, GitLab.
var BranchEnv = []string{"RELKIT_BRANCH", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "BRANCH_NAME", "GIT_BRANCH", "CI_COMMIT_REF_NAME"}

// MaxDockerTag is the longest tag a registry accepts.
const MaxDockerTag = 128

// HeadOptions tune ForHead.
type HeadOptions struct {
	// Dev adds the development tag <branch>-<sha7>.
	Dev bool
	// Environ is the environment (KEY=value entries, as the process has
	// them) a detached HEAD's branch name is read from, the first of
	// BranchEnv set; nil means none, so a detached HEAD has no dev tag.
	Environ []string
}

// ForHead returns the docker tags of the commit at HEAD of component name:
// every release git tag on the commit (TagPrefix+X.Y.Z, vX.Y.Z or X.Y.Z,
// whatever tagPrefix says: repos switched prefixes over the years) as the
// docker tag of X.Y.Z in the component's imageTagForm (Repo.ImageTag:
// 1.2.3, v1.2.3, rel-1.2.3), oldest version first; with o.Dev, also
// <branch>-<sha7>.
func ForHead(ctx context.Context, ws *workspace.Config, name string, o HeadOptions) (*ImageTags, error) {
	r, ok := ws.Component(name)
	if !ok {
		var names []string
		for _, c := range ws.Components {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("no component %q in %s; known: %s", name, ws.File, strings.Join(names, ", "))
	}
	// Release tags are missing from a shallow clone's cut-off history.
	if _, err := gitx.NeedHistory(ctx, r.Name, r.Dir, ""); err != nil {
		return nil, &plan.Undecided{Err: err}
	}
	g, err := gitx.Open(r.Dir)
	if err != nil {
		return nil, &plan.Undecided{Err: err}
	}
	defer g.Close()
	head, headBranch, err := g.Head()
	if err != nil {
		return nil, &plan.Undecided{Err: err}
	}
	tags, err := g.Tags()
	if err != nil {
		return nil, &plan.Undecided{Err: fmt.Errorf("%s: listing tags: %w", r.Name, err)}
	}
	out := &ImageTags{Component: r.Name, Commit: head.String(), Tags: []string{}}
	var versions []*semver.Version
	seen := map[string]bool{}
	for tag, obj := range tags {
		v, ok := releaseVersion(r, tag)
		if !ok || seen[v] {
			continue
		}
		at, err := g.Peel(obj)
		if err != nil {
			return nil, &plan.Undecided{Err: fmt.Errorf("%s: reading tag %s: %w", r.Name, tag, err)}
		}
		if at != head {
			continue
		}
		seen[v] = true
		versions = append(versions, semver.MustParse(v))
	}
	slices.SortFunc(versions, func(a, b *semver.Version) int { return a.Compare(b) })
	for _, v := range versions {
		out.Tags = append(out.Tags, r.ImageTag(v.Original()))
	}
	if o.Dev {
		b := headBranch
		if b == "" {
			b = BranchFromEnviron(o.Environ)
		}
		if b == "" {
			return nil, &plan.Undecided{Err: fmt.Errorf("%s: HEAD is detached and none of %s is set, so there is no branch name for the development tag", r.Name, strings.Join(BranchEnv, ", "))}
		}
		out.Tags = append(out.Tags, DevTag(b, head.String()))
	}
	return out, nil
}

// releaseVersion reads a git tag as a release version of r.
func releaseVersion(r *workspace.Repo, tag string) (string, bool) {
	for _, prefix := range []string{r.TagPrefix, "v", ""} {
		if rest, ok := strings.CutPrefix(tag, prefix); ok && version.IsRelease(rest) {
			return rest, true
		}
	}
	return "", false
}

// BranchFromEnviron returns the branch CI checked out, from the first of
// BranchEnv set (not blank) in environ (KEY=value entries): Jenkins'
// origin/ and any refs/heads/ prefix removed. "" when none is set.
func BranchFromEnviron(environ []string) string {
	env := map[string]string{}
	for _, kv := range environ {
		// The first entry of a key wins, as for the process environment.
		if k, v, ok := strings.Cut(kv, "="); ok {
			if _, dup := env[k]; !dup {
				env[k] = v
			}
		}
	}
	for _, k := range BranchEnv {
		if v := strings.TrimSpace(env[k]); v != "" {
			if k == "GIT_BRANCH" {
				v = strings.TrimPrefix(v, "origin/")
			}
			return strings.TrimPrefix(v, "refs/heads/")
		}
	}
	return ""
}

var notTagChar = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// DevTag is the development tag <branch>-<sha7>, the branch sanitised for
// docker: runs of other characters become '-', it cannot start with '.'
// or '-', and the whole tag stays within 128 characters.
func DevTag(branch, commit string) string {
	sha := commit
	if len(sha) > 7 {
		sha = sha[:7]
	}
	b := notTagChar.ReplaceAllString(branch, "-")
	b = strings.TrimLeft(b, ".-")
	if b == "" {
		b = "branch"
	}
	if limit := MaxDockerTag - len(sha) - 1; len(b) > limit {
		b = strings.TrimRight(b[:limit], ".-")
	}
	return b + "-" + sha
}

// Write prints the tags one per line, or as JSON.
func (t *ImageTags) Write(w io.Writer, f plan.Format) error {
	if f == plan.JSON {
		enc := json.NewEncoder(w)
		return enc.Encode(t)
	}
	for _, tag := range t.Tags {
		if _, err := fmt.Fprintln(w, tag); err != nil {
			return err
		}
	}
	return nil
}
