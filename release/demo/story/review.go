package story

// The demo's chapter on review mode: the patch chapter's patch:charts
// again, this time with -review against a Gerrit-like remote. It runs on
// a clone of the charts repo whose origin is that remote, with its own
// relkit-review.yaml, so the other chapters' repos and remotes stay as the
// patch chapter left them.

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/patch"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/review"
	"github.com/relkit/relkit/release/review/gerritlike"
	"github.com/relkit/relkit/release/workspace"
)

// Where the review chapter works, relative to the workspace root: the
// charts clone, its Gerrit-like remote and the config naming them.
const (
	reviewCloneDir  = "review/" + demo.ChartsRepo
	reviewRemoteDir = "remotes/gerrit/" + demo.ChartsRepo + ".git"
	reviewConfig    = "relkit-review.yaml"
)

// The review chapter's fix: a chart of the charts repo the patch chapter
// leaves alone.
const (
	reviewFixChart = "roc-api"
	reviewFixFile  = "templates/service.yaml"
)

// runReview is the review chapter on the demo's release line.
func runReview(ctx context.Context, w io.Writer, ws *workspace.Config, d *demo.Workspace) error {
	return reviewPatch(ctx, w, ws, d.Remotes[demo.ChartsRepo], demoLine)
}

// reviewPatch sets up a Gerrit-like remote holding what the charts repo's
// remote (origin, a path) holds and a clone of it, merges a chart fix on
// its master through review, then runs patch:charts minor -review on the
// clone: the plan (-dryRun), the run, a rerun. It prints the changes
// relkit opened as release:status finds them and refuses to go on if the
// remote's branches or tags moved.
func reviewPatch(ctx context.Context, w io.Writer, ws *workspace.Config, origin, minor string) error {
	if ws.Charts == nil || origin == "" {
		return fmt.Errorf("%s: the demo needs a charts repo with a remote", ws.File)
	}
	br := ws.ReleaseBranch(minor)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	gerrit := &gerritlike.Remote{Project: ws.Charts.Name, Dir: filepath.Join(ws.Root, filepath.FromSlash(reviewRemoteDir)),
		URL: "http://" + l.Addr().String()}
	srv := &http.Server{Handler: gerrit, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	defer srv.Close()

	if err := gerrit.Create(ctx); err != nil {
		return err
	}
	if err := gerrit.Admin(ctx, origin, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"); err != nil {
		return err
	}
	clone := filepath.Join(ws.Root, filepath.FromSlash(reviewCloneDir))
	if _, err := gitx.Git(ctx, "", "clone", "--quiet", gerrit.Dir, clone); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"config", "user.name", "Demo Developer"}, {"config", "user.email", "dev@example.org"},
		{"config", "commit.gpgsign", "false"}, {"config", "tag.gpgsign", "false"},
		{"branch", "--quiet", "--track", br, "origin/" + br},
	} {
		if _, err := gitx.Git(ctx, clone, args...); err != nil {
			return err
		}
	}
	base, err := os.ReadFile(ws.File)
	if err != nil {
		return err
	}
	text, err := reviewConfigText(string(base), gerrit.URL)
	if err != nil {
		return err
	}
	cfgFile := filepath.Join(ws.Root, reviewConfig)
	if err := os.WriteFile(cfgFile, []byte(text), 0o644); err != nil {
		return err
	}
	rws, err := workspace.Load(cfgFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: a clone of %s whose origin is a Gerrit-like remote (%s, REST API %s);\n%s: relkit.yaml with charts.path %s and review: {kind: gerrit, url: %s}\n",
		reviewCloneDir, ws.Charts.Name, reviewRemoteDir, gerrit.URL, reviewConfig, reviewCloneDir, gerrit.URL)

	// A person's fix, reviewed and submitted on master.
	files, err := chartFix(rws.Charts.Dir, reviewFixChart, reviewFixFile, "    - port: {{ .Values.service.port }}\n",
		"    - port: {{ .Values.service.port }}\n    - name: metrics\n      port: 9090\n")
	if err != nil {
		return err
	}
	fix, err := mergeThroughReview(ctx, w, gerrit, rws.Charts, "roc-api: expose the metrics port", files)
	if err != nil {
		return err
	}

	before, err := gitx.LsRemote(ctx, clone, "origin")
	if err != nil {
		return err
	}
	mode := review.NewMode(rws.Review, review.Name{Target: "patch:charts", Line: minor}, "", "")
	opt := patch.Options{Line: minor, Commits: []string{fix}, Review: mode.Plan()}
	cmd := fmt.Sprintf("RELKIT_CONFIG=%s go tool mage patch:charts %s %s -review", reviewConfig, minor, fix[:10])
	for _, run := range []struct {
		note   string
		dryRun bool
	}{{"", true}, {"", false}, {"   (again: the same changes, nothing new)", false}} {
		if run.dryRun {
			fmt.Fprintf(w, "\n$ %s -dryRun\n\n", cmd)
		} else {
			fmt.Fprintf(w, "\n$ %s%s\n\n", cmd, run.note)
		}
		opt.DryRun = run.dryRun
		if err := patch.RunCharts(ctx, rws, opt, w, plan.Text); err != nil {
			return fmt.Errorf("patch:charts -review: %w", err)
		}
	}

	// What relkit opened, as release:status lists it: the topic's open
	// changes from Gerrit's REST API.
	open, err := review.List(ctx, mode.Options, clone, "origin", mode.Name)
	if err != nil {
		return err
	}
	recorded, err := gerrit.Changes(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nOpen changes of topic %s (Gerrit's REST API, as release:status %s lists them):\n", mode.Name.Topic(), minor)
	for _, o := range open {
		ps := 0
		if i := slices.IndexFunc(recorded, func(c gerritlike.Change) bool { return c.Number == o.Number }); i >= 0 {
			ps = len(recorded[i].Patchsets)
		}
		fmt.Fprintf(w, "  change %d into %s, patch set %d, %s\n    %s\n    Change-Id: %s\n", o.Number, o.Branch, ps, o.URL, o.Title, o.ChangeID)
	}
	if len(open) == 0 {
		return errors.New("patch:charts -review opened no change")
	}
	after, err := gitx.LsRemote(ctx, clone, "origin")
	if err != nil {
		return err
	}
	for _, refs := range []gitx.RemoteRefs{before, after} {
		for ref := range refs {
			if (strings.HasPrefix(ref, "refs/heads/") || strings.HasPrefix(ref, "refs/tags/")) && before[ref] != after[ref] {
				return fmt.Errorf("%s changed on the Gerrit-like remote: review mode pushes no branch or tag", ref)
			}
		}
	}
	fmt.Fprintf(w, "%s on the Gerrit-like remote is still at %s and no tag was pushed: the fix reaches the branch when the changes are submitted, and CI's release:tag tags the merged commit.\n",
		br, gitx.Short(before["refs/heads/"+br]))
	return nil
}

// mergeThroughReview commits files on r's main branch as a person would
// (with the Change-Id Gerrit's commit-msg hook adds), pushes it for review
// to refs/for/<main>, and submits the change on the server, as a reviewer
// would after CI voted. It returns the commit.
func mergeThroughReview(ctx context.Context, w io.Writer, gerrit *gerritlike.Remote, r *workspace.Repo, msg string, files map[string][]byte) (string, error) {
	parent, err := gitx.Git(ctx, r.Dir, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	// The hook hashes the commit's content and identity; the message and
	// parent are enough to make the demo's id unique.
	sum := sha1.Sum([]byte(strings.TrimSpace(parent) + "\n" + msg))
	h, err := commitOnMain(ctx, r, review.SetChangeID(msg, "I"+hex.EncodeToString(sum[:])), files)
	if err != nil {
		return "", err
	}
	if _, err := gitx.Git(ctx, r.Dir, "push", "--quiet", "origin", "HEAD:refs/for/"+r.MainBranch); err != nil {
		return "", err
	}
	changes, err := gerrit.Changes(ctx)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(changes, func(c gerritlike.Change) bool { return c.Current() == h })
	if i < 0 {
		return "", fmt.Errorf("the Gerrit-like remote recorded no change for %s", gitx.Short(h))
	}
	if err := gerrit.Submit(ctx, changes[i].Number); err != nil {
		return "", err
	}
	if _, err := gitx.Git(ctx, r.Dir, "fetch", "--quiet", "origin"); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "%s: %s %q reviewed as change %d and submitted on %s\n", r.Name, h[:10], msg, changes[i].Number, r.MainBranch)
	return h, nil
}

// reviewConfigText is the demo's relkit.yaml text base with the charts
// repo at the review clone and a review: section for the Gerrit-like
// remote (url is its REST root; empty leaves it out: pushes for review
// need none, listing changes does).
func reviewConfigText(base, url string) (string, error) {
	const chartsPath = "\n  path: " + demo.ChartsRepo + "\n"
	if strings.Count(base, chartsPath) != 1 {
		return "", fmt.Errorf("the demo's relkit.yaml should name path %s once", demo.ChartsRepo)
	}
	text := strings.Replace(base, chartsPath, "\n  path: "+reviewCloneDir+"\n", 1)
	text += "\n# Commits reach shared branches through review on the charts clone's\n# Gerrit-like remote (the demo's review chapter).\nreview:\n  kind: gerrit\n"
	if url != "" {
		text += "  url: " + url + "\n"
	}
	return text, nil
}
