package tagging

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/imagetags"
	"github.com/relkit/relkit/release/plan"
)

// shallowClone replaces the checkout of repo name with a --depth 1 clone
// of its remote (as CI checks out), whose history is cut off at HEAD.
func (fx *fixture) shallowClone(t *testing.T, name string) string {
	t.Helper()
	dir := fx.repos[name].Dir
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	fx.git(t, fx.root, "clone", "-q", "--depth", "1", "file://"+fx.remotes[name], dir)
	if n := fx.git(t, dir, "rev-list", "--count", "HEAD"); n != "1" {
		t.Fatalf("the clone has %s commits, want 1", n)
	}
	return dir
}

// TestTagInAShallowClone: comp-a's VERSION was set one commit before HEAD,
// which a --depth 1 clone does not have. A dry run cannot decide (exit 3)
// and writes nothing; a real run fetches the history from the remote, says
// so, and tags the commit that set VERSION, not HEAD.
func TestTagInAShallowClone(t *testing.T) {
	t.Parallel()
	fx := build(t)
	dir := fx.shallowClone(t, "comp-a")
	head := fx.git(t, dir, "rev-parse", "HEAD")
	if head == fx.setAt["comp-a"] {
		t.Fatalf("fixture: VERSION must be set before HEAD")
	}

	before := hashTree(t, fx.root)
	out, err := runTag(t, fx, Options{Repo: "comp-a", Push: true, DryRun: true})
	if plan.ExitCode(err) != plan.ExitUndecided {
		t.Fatalf("dry run in a shallow clone: want exit 3, got %v (exit %d)\n%s", err, plan.ExitCode(err), out)
	}
	var sh *gitx.ShallowError
	if !errors.As(err, &sh) || !strings.Contains(out, "PROBLEM: could not decide: comp-a is a shallow clone; run git fetch --unshallow in "+dir) {
		t.Errorf("the dry run should name the shallow clone and the command:\n%s\n%v", out, err)
	}
	if strings.Contains(out, "create tag") {
		t.Errorf("a tag was planned from cut-off history:\n%s", out)
	}
	if hashTree(t, fx.root) != before {
		t.Fatalf("the dry run wrote to the workspace")
	}

	out, err = runTag(t, fx, Options{Repo: "comp-a", Push: true})
	if err != nil {
		t.Fatalf("real run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "note: the checkout was a shallow clone; fetched its full history from origin (git fetch --unshallow origin)") {
		t.Errorf("the deepening is not said in the output:\n%s", out)
	}
	if got := fx.tagAt(dir, "v1.2.3"); got != fx.setAt["comp-a"] {
		t.Errorf("tag v1.2.3 on %q, want the commit that set VERSION %s (HEAD is %s)", got, fx.setAt["comp-a"], head)
	}
	if got := fx.tagAt(fx.remotes["comp-a"], "v1.2.3"); got != fx.setAt["comp-a"] {
		t.Errorf("remote tag v1.2.3 on %q, want %s", got, fx.setAt["comp-a"])
	}
	if sh, _ := gitx.IsShallow(dir); sh {
		t.Errorf("still shallow after the real run")
	}
}

// TestImageTagsInAShallowClone: image:tags cannot tell a shallow clone's
// release tags (they were not fetched with it): exit 3 naming the cause,
// never an empty list that would push a release image untagged.
func TestImageTagsInAShallowClone(t *testing.T) {
	t.Parallel()
	fx := build(t)
	a := fx.repos["comp-a"]
	a.Tag("v1.2.4", "Release", "")
	a.Git("push", "-q", "origin", "master", "v1.2.4")
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	dir := fx.shallowClone(t, "comp-a")
	before := hashTree(t, fx.root)
	got, err := imagetags.ForHead(context.Background(), fx.ws, "comp-a", imagetags.HeadOptions{})
	if plan.ExitCode(err) != plan.ExitUndecided || !strings.Contains(err.Error(), "comp-a is a shallow clone; run git fetch --unshallow in "+filepath.Clean(dir)) {
		t.Fatalf("want could-not-decide naming the shallow clone, got %+v, %v", got, err)
	}
	if hashTree(t, fx.root) != before {
		t.Errorf("image:tags wrote to the workspace")
	}
	// Deepened, the same commit has its release tag.
	fx.git(t, dir, "fetch", "-q", "--unshallow", "origin")
	got, err = imagetags.ForHead(context.Background(), fx.ws, "comp-a", imagetags.HeadOptions{})
	if err != nil || strings.Join(got.Tags, ",") != "1.2.4" {
		t.Errorf("after deepening: %+v, %v; want tag 1.2.4", got, err)
	}
}
