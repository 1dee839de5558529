package story

// The demo's chapter on patch releases: a chart fix and a component fix
// made on main are brought onto a release branch (patch:charts,
// patch:component), then the branch gets its point release (release:point)
// and its release notes are shown.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/imagepush"
	"github.com/relkit/relkit/release/imagetags"
	"github.com/relkit/relkit/release/patch"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/point"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/yamledit"
)

// The demo's fixes: a chart template of the charts repo and a component.
const (
	fixChart     = "omec/omec-control-plane"
	fixComponent = "amf"
)

// runPatchRelease is the chapter on the demo's release line.
func runPatchRelease(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	return patchRelease(ctx, w, ws, demoLine)
}

// patchRelease runs on a demo workspace where release:branch minor was
// cut and pushed: it makes a chart fix and an amf fix on their main
// branches (as merged changes would be, pushed), brings both onto
// <prefix>minor with patch:charts and patch:component -push, cuts
// release:point minor -push, and prints the release notes it wrote.
func patchRelease(ctx context.Context, w io.Writer, ws *workspace.Config, minor string) error {
	br := ws.ReleaseBranch(minor)
	if ws.Charts == nil || ws.Docs == nil {
		return fmt.Errorf("%s: the demo needs a charts and a docs repo", ws.File)
	}
	if tip, err := plan.LocalBranch(ctx, ws.Charts.Dir, br); err != nil {
		return err
	} else if tip == "" {
		return fmt.Errorf("%s has no branch %s: run release:branch %s -push first", ws.Charts.Name, br, minor)
	}
	comp, ok := ws.Component(fixComponent)
	if !ok {
		return fmt.Errorf("%s: no component %s", ws.File, fixComponent)
	}

	// A chart fix on master, with the chart version bump master's CI asks for.
	files, err := chartFix(ws.Charts.Dir, fixChart, "templates/amf.yaml", "sleep 2", "sleep 5")
	if err != nil {
		return err
	}
	chartCommit, err := commitAndPush(ctx, w, ws.Charts, "omec-control-plane: give the NRF more time to come up", files)
	if err != nil {
		return err
	}

	// A component fix on amf's master.
	compFix, err := commitAndPush(ctx, w, comp, "Answer NGAP keepalives within 2s",
		map[string][]byte{"keepalive.go": []byte("// SPDX-License-Identifier: Apache-2.0\n\npackage main\n\nconst keepaliveTimeout = 2 // seconds\n")})
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "\n$ go tool mage patch:charts %s %s -push\n\n", minor, chartCommit[:10])
	if err := patch.RunCharts(ctx, ws, patch.Options{Line: minor, Commits: []string{chartCommit}, Push: true}, w, plan.Text); err != nil {
		return fmt.Errorf("patch:charts: %w", err)
	}
	fmt.Fprintf(w, "\n$ go tool mage patch:component %s %s %s -push\n\n", comp.Name, minor, compFix[:10])
	if err := patch.RunComponent(ctx, ws, patch.Options{Line: minor, Component: comp.Name, Commits: []string{compFix}, Push: true}, w, plan.Text); err != nil {
		return fmt.Errorf("patch:component: %w", err)
	}
	if err := publishFromCI(ctx, w, ws, comp, ws.ReleaseBranch(minor)); err != nil {
		return fmt.Errorf("publishing %s's image: %w", comp.Name, err)
	}
	fmt.Fprintf(w, "\n$ go tool mage release:point %s -push\n\n", minor)
	_, res, err := point.Plan(ctx, ws, point.Options{Line: minor, DryRun: true})
	if err != nil {
		return fmt.Errorf("release:point: %w", err)
	}
	if err := point.Run(ctx, ws, point.Options{Line: minor, Push: true}, w, plan.Text); err != nil {
		return fmt.Errorf("release:point: %w", err)
	}
	if res.NotesPath == "" {
		return nil
	}
	notes, err := gitx.Git(ctx, ws.Docs.Dir, "show", br+":"+res.NotesPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s on %s of %s:\n\n%s", res.NotesPath, br, ws.Docs.Name, notes)
	return nil
}

// chartFix is a fix of chart (a directory of the charts repo at dir) as
// its main branch takes it: old replaced by new once in the chart's file
// tmpl, and the chart's version bumped to its next patch, as main's CI
// asks. It returns the files to commit, by path in the repo.
func chartFix(dir, chart, tmpl, old, new string) (map[string][]byte, error) {
	chartFile := chart + "/Chart.yaml"
	meta, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(chartFile)))
	if err != nil {
		return nil, err
	}
	cur, _, err := yamledit.Get(meta, "version")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", chartFile, err)
	}
	v, err := semver.StrictNewVersion(cur)
	if err != nil {
		return nil, fmt.Errorf("%s: version %q: %w", chartFile, cur, err)
	}
	meta, _, err = yamledit.Apply(meta, yamledit.Edit{Path: []string{"version"}, Value: v.IncPatch().String()})
	if err != nil {
		return nil, err
	}
	tmplFile := chart + "/" + tmpl
	text, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tmplFile)))
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(text), old) {
		return nil, fmt.Errorf("%s: the demo's fix expects %q", tmplFile, old)
	}
	text = []byte(strings.Replace(string(text), old, new, 1))
	return map[string][]byte{tmplFile: text, chartFile: meta}, nil
}

// commitAndPush commits files on the repo's main branch (commitOnMain),
// pushes it, and returns the commit.
func commitAndPush(ctx context.Context, w io.Writer, r *workspace.Repo, msg string, files map[string][]byte) (string, error) {
	h, err := commitOnMain(ctx, r, msg, files)
	if err != nil {
		return "", err
	}
	if _, err := gitx.Git(ctx, r.Dir, "push", "--quiet", "origin", r.MainBranch); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "%s: %s %q merged on %s\n", r.Name, h[:10], msg, r.MainBranch)
	return h, nil
}

// commitOnMain commits files on the repo's main branch (its checkout must
// be on it) with the checkout's own git identity and message msg, and
// returns the commit.
func commitOnMain(ctx context.Context, r *workspace.Repo, msg string, files map[string][]byte) (string, error) {
	if _, branch, err := head(ctx, r.Dir); err != nil {
		return "", err
	} else if branch != r.MainBranch {
		return "", fmt.Errorf("%s: the checkout is on %q, expected %s", r.Dir, branch, r.MainBranch)
	}
	var paths []string
	for p, data := range files {
		if err := os.WriteFile(filepath.Join(r.Dir, filepath.FromSlash(p)), data, 0o644); err != nil {
			return "", err
		}
		paths = append(paths, p)
	}
	if _, err := gitx.Git(ctx, r.Dir, append([]string{"add", "--"}, paths...)...); err != nil {
		return "", err
	}
	if _, err := gitx.GitEnv(ctx, r.Dir, nil, []byte(strings.TrimRight(msg, "\n")+"\n"), "commit", "--quiet", "-F", "-"); err != nil {
		return "", err
	}
	out, err := gitx.Git(ctx, r.Dir, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

func head(ctx context.Context, dir string) (string, string, error) {
	g, err := gitx.Open(dir)
	if err != nil {
		return "", "", err
	}
	defer g.Close()
	h, b, err := g.Head()
	return h.String(), b, err
}

// publishFromCI plays the component's CI pipeline after its patch release:
// on a scratch checkout of the release branch's tip (which carries the new
// release tag) image:tags gives the docker tags and image:push publishes
// the image built there. The demo has no docker build, so the image is the
// demo's deterministic stand-in, and the push runs with
// RELKIT_ALLOW_LOCAL_PUSH=1 in place of a CI environment.
func publishFromCI(ctx context.Context, w io.Writer, ws *workspace.Config, comp *workspace.Repo, branch string) error {
	tmp, err := os.MkdirTemp("", "relkit-demo-ci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	wt := filepath.Join(tmp, comp.Name)
	if _, err := gitx.Git(ctx, comp.Dir, "worktree", "add", "--quiet", "--detach", wt, branch); err != nil {
		return err
	}
	defer gitx.Git(context.WithoutCancel(ctx), comp.Dir, "worktree", "remove", "--force", wt)
	ci := *ws
	ci.Components = nil
	for _, c := range ws.Components {
		if c.Name == comp.Name {
			cc := *c
			cc.Dir = wt
			c = &cc
		}
		ci.Components = append(ci.Components, c)
	}
	tags, err := imagetags.ForHead(ctx, &ci, comp.Name, imagetags.HeadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n(%s's CI, on %s at %s)\n$ go tool mage image:tags %s\n%s\n", comp.Name, branch, tags.Commit[:10], comp.Name, strings.Join(tags.Tags, "\n"))
	if len(tags.Tags) == 0 || len(comp.Images) == 0 {
		return fmt.Errorf("%s: no release tag at %s", comp.Name, branch)
	}
	img, err := demo.DemoImage(comp.Images[0] + ":" + tags.Tags[0])
	if err != nil {
		return err
	}
	src := filepath.Join(tmp, "image.oci")
	p, err := layout.Write(src, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img); err != nil {
		return err
	}
	fmt.Fprintf(w, "$ go tool mage image:push %s image.oci\n", comp.Name)
	_, err = imagepush.PushComponent(ctx, &ci, imagepush.ComponentOptions{Name: comp.Name, Source: src, Out: w,
		Environ: []string{imagepush.AllowLocalEnv + "=1"}})
	return err
}
