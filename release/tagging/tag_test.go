package tagging

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/imagetags"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testutil"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

type fixture struct {
	root    string
	ws      *workspace.Config
	repos   map[string]*demo.Repo
	remotes map[string]string
	// setAt is the commit that set each repo's current VERSION.
	setAt map[string]string
}

func build(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	fx := &fixture{root: dir, repos: map[string]*demo.Repo{}, remotes: map[string]string{}, setAt: map[string]string{}}
	mk := func(name string) *demo.Repo {
		fx.repos[name] = workspacetest.Repo(t, filepath.Join(dir, "repos", name), "master", nil)
		return fx.repos[name]
	}
	charts := mk("charts")
	charts.SetVersion("2.1.2-dev\n")
	fx.setAt["charts"] = charts.SetVersion("2.1.2\n")
	charts.Commit("Docs only", map[string]string{"README.md": "x\n"})

	docs := mk("docs")
	fx.setAt["docs"] = docs.SetVersion("2.1.2-dev\n")

	a := mk("comp-a")
	a.SetVersion("1.2.2\n")
	a.Tag("v1.2.2", "Release 1.2.2", "")
	a.SetVersion("1.2.3-dev\n")
	fx.setAt["comp-a"] = a.SetVersion("1.2.3\n")
	a.Commit("Unrelated change after the release", map[string]string{"main.go": "package main\n"})
	a.Tag("aether-2.1", "", "")

	b := mk("comp-b")
	fx.setAt["comp-b"] = b.SetVersion("0.4.0\n")
	b.Checkout("feature", "HEAD")
	b.Commit("feature work", map[string]string{"f.go": "package f\n"})
	b.Checkout("master", "")
	b.Merge("feature", "Merge feature")

	st := mk("system-tests")
	st.Commit("tests", map[string]string{"README.md": "t\n"})

	for name, r := range fx.repos {
		bare := filepath.Join(dir, "remotes", name+".git")
		r.AddBareRemote(bare)
		fx.remotes[name] = bare
		if err := r.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	cfg := `charts:
  path: repos/charts
docs:
  path: repos/docs
components:
  - name: comp-a
    path: repos/comp-a
    tagPrefix: v
  - name: comp-b
    path: repos/comp-b
branched:
  - name: system-tests
    path: repos/system-tests
git:
  author: Release Bot <release-bot@example.org>
`
	fx.ws = workspacetest.Load(t, dir, cfg)
	return fx
}

func (fx *fixture) git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if r, ok := fx.repos[dir]; ok {
		dir = r.Dir
	}
	out, err := gitx.Git(context.Background(), dir, args...)
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(out)
}

// tagAt returns the commit a tag names in dir, or "".
func (fx *fixture) tagAt(dir, tag string) string {
	if r, ok := fx.repos[dir]; ok {
		dir = r.Dir
	}
	out, err := gitx.Git(context.Background(), dir, "rev-parse", "-q", "--verify", "refs/tags/"+tag+"^{commit}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func runTag(t *testing.T, fx *fixture, o Options) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), fx.ws, o, &out, plan.Text)
	return out.String(), err
}

func hashTree(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return err
	})
	sort.Strings(paths)
	for _, p := range paths {
		st, _ := os.Lstat(p)
		fmt.Fprintf(h, "%s %v\n", p, st.Mode())
		if st.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			h.Write(data)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestTagAndPush(t *testing.T) {
	t.Parallel()
	fx := build(t)
	before := hashTree(t, fx.root)
	out, err := runTag(t, fx, Options{Push: true, DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if hashTree(t, fx.root) != before {
		t.Fatalf("the dry run wrote to the workspace")
	}
	testutil.ContainsAll(t, "plan", out,
		"create tag 2.1.2 on "+fx.setAt["charts"][:7],
		"create tag v1.2.3 on "+fx.setAt["comp-a"][:7],
		"create tag 0.4.0 on "+fx.setAt["comp-b"][:7],
		"note: VERSION is 2.1.2-dev at the head of master: not a release, no tag",
		"3 tag(s) to create, 3 push(es).",
	)
	if strings.Contains(out, "system-tests") {
		t.Errorf("a repo without VERSION is in the plan:\n%s", out)
	}

	out, err = runTag(t, fx, Options{Push: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for name, tag := range map[string]string{"charts": "2.1.2", "comp-a": "v1.2.3", "comp-b": "0.4.0"} {
		if got := fx.tagAt(name, tag); got != fx.setAt[name] {
			t.Errorf("%s: tag %s on %q, want the commit that set VERSION, %s", name, tag, got, fx.setAt[name])
		}
		if got := fx.tagAt(fx.remotes[name], tag); got != fx.setAt[name] {
			t.Errorf("%s: remote tag %s on %q, want %s", name, tag, got, fx.setAt[name])
		}
		info := fx.git(t, name, "for-each-ref", "--format=%(objecttype)|%(taggername) %(taggeremail)|%(contents)", "refs/tags/"+tag)
		v := strings.TrimPrefix(tag, "v")
		if !strings.HasPrefix(info, "tag|Release Bot <release-bot@example.org>|") || !strings.Contains(info, "relkit release:tag") || !strings.Contains(info, "Release "+v+" of "+name) {
			t.Errorf("%s: tag %s is not an annotated relkit tag naming the version: %q", name, tag, info)
		}
	}
	if fx.tagAt("docs", "2.1.2-dev") != "" {
		t.Errorf("a development version was tagged")
	}

	out, err = runTag(t, fx, Options{Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") {
		t.Errorf("re-run is not a no-op: %v\n%s", err, out)
	}
}

func TestTagOnAnotherCommitIsNeverMoved(t *testing.T) {
	t.Parallel()
	fx := build(t)
	// The commit before the release commit: VERSION is 1.2.3-dev there.
	wrong := fx.git(t, "comp-a", "rev-parse", fx.setAt["comp-a"]+"^")
	fx.git(t, "comp-a", "tag", "v1.2.3", wrong)
	before := hashTree(t, fx.root)
	out, err := runTag(t, fx, Options{})
	var refused *plan.Refused
	if !errors.As(err, &refused) {
		t.Fatalf("want a refusal, got %v\n%s", err, out)
	}
	want := fmt.Sprintf("PROBLEM: tag v1.2.3 already exists on %s, but VERSION was set to 1.2.3 by %s; relkit never moves tags", wrong[:7], fx.setAt["comp-a"][:7])
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if hashTree(t, fx.root) != before {
		t.Errorf("a refused run wrote")
	}
	if fx.tagAt("comp-a", "v1.2.3") != wrong {
		t.Errorf("the tag moved")
	}
	// The same on the remote only.
	fx.git(t, "comp-a", "tag", "-d", "v1.2.3")
	fx.git(t, "comp-a", "push", "-q", "origin", wrong+":refs/tags/v1.2.3")
	out, err = runTag(t, fx, Options{Push: true})
	if err == nil || !strings.Contains(out, "origin already has tag v1.2.3 on "+wrong[:7]) {
		t.Errorf("want a refusal naming the remote tag, got %v\n%s", err, out)
	}
	// Fixed by hand: the next run converges.
	fx.git(t, "comp-a", "push", "-q", "origin", ":refs/tags/v1.2.3")
	pushConverges(t, fx, "comp-a", "v1.2.3")
}

// TestTagOnTheMergeCommitIsTheRelease: CI tagged the commit after the one
// that set VERSION (comp-a: a later commit; comp-b: the merge commit),
// in the configured form or the other; release:tag finds the release
// tagged and makes no second tag, locally or on the remote.
func TestTagOnTheMergeCommitIsTheRelease(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, repo, tag string
		annotated       bool
	}{
		{"comp-a later commit, prefix form, lightweight", "comp-a", "v1.2.3", false},
		{"comp-a later commit, other form, annotated", "comp-a", "1.2.3", true},
		{"comp-b merge commit, prefix form, annotated", "comp-b", "0.4.0", true},
		{"comp-b merge commit, other form, lightweight", "comp-b", "v0.4.0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := build(t)
			head := fx.git(t, tc.repo, "rev-parse", "master")
			if head == fx.setAt[tc.repo] {
				t.Fatal("fixture: the head must be after the VERSION commit")
			}
			args := []string{"tag", tc.tag, head}
			if tc.annotated {
				args = []string{"-c", "user.name=CI", "-c", "user.email=ci@example.org", "tag", "-a", "-m", "by CI", tc.tag, head}
			}
			fx.git(t, tc.repo, args...)
			out, err := runTag(t, fx, Options{Repo: tc.repo, DryRun: true})
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			want := fmt.Sprintf("done: tag %s on %s, a descendant of %s", tc.tag, head[:7], fx.setAt[tc.repo][:7])
			if !strings.Contains(out, want) || strings.Contains(out, "create tag") {
				t.Errorf("want %q and no new tag:\n%s", want, out)
			}
			// Pushed: the tag goes to the remote as it is.
			fx.git(t, tc.repo, "push", "-q", "origin", "master")
			if out, err := runTag(t, fx, Options{Repo: tc.repo, Push: true}); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := fx.tagAt(fx.remotes[tc.repo], tc.tag); got != head {
				t.Errorf("remote tag %s on %q, want %s", tc.tag, got, head)
			}
			for _, other := range []string{"v" + strings.TrimPrefix(tc.tag, "v"), strings.TrimPrefix(tc.tag, "v")} {
				if other != tc.tag && (fx.tagAt(tc.repo, other) != "" || fx.tagAt(fx.remotes[tc.repo], other) != "") {
					t.Errorf("a second form %s was made", other)
				}
			}
		})
	}
}

// TestTagOtherFormOnTheRemoteIsFetched: CI tagged the merge commit on the
// remote in the form tagPrefix does not say, and this clone has not
// fetched the tag: release:tag -push fetches it instead of pushing a
// second tag on the VERSION commit.
func TestTagOtherFormOnTheRemoteIsFetched(t *testing.T) {
	t.Parallel()
	fx := build(t)
	fx.git(t, "comp-b", "push", "-q", "origin", "master")
	head := fx.git(t, "comp-b", "rev-parse", "master")
	fx.git(t, "comp-b", "push", "-q", "origin", head+":refs/tags/v0.4.0")
	out, err := runTag(t, fx, Options{Repo: "comp-b", Push: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "origin has the release as tag v0.4.0 on "+head[:7]) || strings.Contains(out, "create tag") {
		t.Errorf("plan should fetch v0.4.0 and create nothing:\n%s", out)
	}
	if fx.tagAt("comp-b", "v0.4.0") != head || fx.tagAt("comp-b", "0.4.0") != "" || fx.tagAt(fx.remotes["comp-b"], "0.4.0") != "" {
		t.Errorf("want only v0.4.0, fetched")
	}
	// On another VERSION, the remote's tag is refused, not fetched.
	fx2 := build(t)
	fx2.git(t, "comp-a", "push", "-q", "origin", "master")
	dev := fx2.git(t, "comp-a", "rev-parse", fx2.setAt["comp-a"]+"^")
	fx2.git(t, "comp-a", "push", "-q", "origin", dev+":refs/tags/1.2.3")
	out, err = runTag(t, fx2, Options{Repo: "comp-a", Push: true})
	if err == nil || !strings.Contains(out, "origin already has tag 1.2.3 on "+dev[:7]) {
		t.Errorf("want a refusal naming the remote's 1.2.3, got %v\n%s", err, out)
	}
	if fx2.tagAt("comp-a", "v1.2.3") != "" {
		t.Errorf("a refused run tagged")
	}
}

func TestTagMadeElsewhereIsFetched(t *testing.T) {
	t.Parallel()
	fx := build(t)
	other := filepath.Join(fx.root, "other")
	fx.git(t, fx.root, "clone", "-q", fx.remotes["comp-b"], other)
	fx.git(t, other, "-c", "user.name=O", "-c", "user.email=o@x", "tag", "-a", "-m", "by hand", "0.4.0", fx.setAt["comp-b"])
	fx.git(t, other, "push", "-q", "origin", "refs/tags/0.4.0")
	remoteObj := fx.git(t, fx.remotes["comp-b"], "rev-parse", "refs/tags/0.4.0")
	out, err := runTag(t, fx, Options{Repo: "comp-b", Push: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "fetch from origin: 0.4.0") {
		t.Errorf("plan does not fetch the existing tag:\n%s", out)
	}
	if got := fx.git(t, "comp-b", "rev-parse", "refs/tags/0.4.0"); got != remoteObj {
		t.Errorf("local tag object %s, want the remote's %s", got, remoteObj)
	}
}

func TestRejectedTagPushThenRerun(t *testing.T) {
	t.Parallel()
	fx := build(t)
	hooks := filepath.Join(fx.remotes["charts"], "hooks")
	if err := os.MkdirAll(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(hooks, "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'tags need approval' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runTag(t, fx, Options{Push: true})
	if err == nil || !strings.Contains(err.Error(), "charts: push to origin rejected") || !strings.Contains(err.Error(), "tags need approval") {
		t.Fatalf("want the charts push rejected, got %v\n%s", err, out)
	}
	if fx.tagAt(fx.remotes["comp-a"], "v1.2.3") == "" {
		t.Errorf("the other repos' tags were not pushed")
	}
	os.Remove(hook)
	p, err := Plan(context.Background(), fx.ws, Options{Push: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count(plan.Push) != 1 || p.Count(plan.CreateTag) != 0 {
		t.Errorf("re-run should push the one tag left: %s", p.Summary())
	}
	pushConverges(t, fx, "charts", "2.1.2")
}

// pushConverges runs release:tag -push again: it must succeed, and the
// remote of repo must then have tag on the commit that set its VERSION.
func pushConverges(t *testing.T, fx *fixture, repo, tag string) {
	t.Helper()
	if out, err := runTag(t, fx, Options{Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if fx.tagAt(fx.remotes[repo], tag) != fx.setAt[repo] {
		t.Errorf("not converged")
	}
}

func TestTagRefusals(t *testing.T) {
	t.Parallel()
	fx := build(t)
	// A release commit that only exists locally.
	fx.repos["comp-b"].SetVersion("0.5.0\n")
	// A VERSION with a Windows line ending.
	fx.repos["charts"].SetVersion("2.1.3\r\n")
	out, err := runTag(t, fx, Options{Push: true})
	if err == nil {
		t.Fatalf("want a refusal\n%s", out)
	}
	testutil.ContainsAll(t, "output", out,
		"is not on origin's master; push the commit before its tag",
		`PROBLEM: VERSION:1: carriage return (Windows line ending) after "2.1.3"`,
	)
	if _, err := Plan(context.Background(), fx.ws, Options{Repo: "nope"}); err == nil || !strings.Contains(err.Error(), "known: charts, docs, comp-a, comp-b, system-tests") {
		t.Errorf("unknown repo: %v", err)
	}
	if _, err := Plan(context.Background(), fx.ws, Options{Repo: "system-tests"}); err == nil || !strings.Contains(err.Error(), "no VERSION file") {
		t.Errorf("repo without VERSION: %v", err)
	}
}

func TestImageTags(t *testing.T) {
	t.Parallel()
	fx := build(t)
	a := fx.repos["comp-a"]
	head := a.Head()
	a.Tag("v1.2.10", "Release", "")
	a.Tag("1.2.9", "", "")
	a.Tag("v1.3.0-rc1", "", "")
	a.Tag("chart-1.2.3", "", "")
	a.Tag("2024-06-01", "", "")
	a.Tag("v1.2.9", "", "") // the same version twice
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := imagetags.ForHead(ctx, fx.ws, "comp-a", imagetags.HeadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Tags, ",") != "1.2.9,1.2.10" || got.Commit != head || got.Component != "comp-a" {
		t.Errorf("got %+v, want tags 1.2.9,1.2.10 on %s", got, head)
	}
	var buf bytes.Buffer
	got.Write(&buf, plan.Text)
	if buf.String() != "1.2.9\n1.2.10\n" {
		t.Errorf("text output %q", buf.String())
	}
	buf.Reset()
	got.Write(&buf, plan.JSON)
	var decoded map[string]any
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil || decoded["component"] != "comp-a" || decoded["commit"] != head {
		t.Errorf("JSON output %s (%v)", buf.String(), err)
	}

	// A commit with no release tag: nothing, or the dev tag.
	b := fx.repos["comp-b"]
	got, err = imagetags.ForHead(ctx, fx.ws, "comp-b", imagetags.HeadOptions{})
	if err != nil || len(got.Tags) != 0 {
		t.Errorf("untagged commit: %+v, %v; want no tags", got, err)
	}
	buf.Reset()
	got.Write(&buf, plan.JSON)
	if !strings.Contains(buf.String(), `"tags":[]`) {
		t.Errorf("JSON for no tags should hold an empty list: %s", buf.String())
	}
	got, err = imagetags.ForHead(ctx, fx.ws, "comp-b", imagetags.HeadOptions{Dev: true})
	if err != nil || strings.Join(got.Tags, ",") != "master-"+b.Head()[:7] {
		t.Errorf("dev tag: %+v, %v", got, err)
	}

	// A detached CI checkout takes the branch from the environment.
	b.Git("checkout", "-q", "--detach")
	blank := []string{"HOME=/home/ci", "RELKIT_BRANCH=", "GITHUB_HEAD_REF= "}
	if _, err := imagetags.ForHead(ctx, fx.ws, "comp-b", imagetags.HeadOptions{Dev: true, Environ: blank}); plan.ExitCode(err) != plan.ExitUndecided {
		t.Errorf("detached HEAD without a branch: %v, want could-not-decide", err)
	}
	got, err = imagetags.ForHead(ctx, fx.ws, "comp-b", imagetags.HeadOptions{Dev: true, Environ: append(blank, "GITHUB_REF_NAME=feature/Login+SSO")})
	if err != nil || strings.Join(got.Tags, ",") != "feature-Login-SSO-"+b.Head()[:7] {
		t.Errorf("dev tag from GITHUB_REF_NAME: %+v, %v", got, err)
	}
	if _, err := imagetags.ForHead(ctx, fx.ws, "nope", imagetags.HeadOptions{}); err == nil || !strings.Contains(err.Error(), "known: comp-a, comp-b") {
		t.Errorf("unknown component: %v", err)
	}
}
