package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/manifestfile"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testutil"
)

// TestManifestWriteAndVerify runs release:manifest and release:verify on
// the demo: a dry run, the commit through a scratch worktree, the no-op
// second run, a verification that holds, then a tag moved behind relkit's
// back and a tag deleted.
func TestManifestWriteAndVerify(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	master := fx.rev(t, "refs/heads/master")
	before := fx.rev(t, "refs/heads/"+fx.branch)

	// Dry run: the manifest, nothing written.
	dry, err := Run(ctx, fx.ws, "2.1", Options{DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if dry.State != DryRun || dry.Release != "2.1.0" || dry.Path != "releases/2.1.0.yaml" || dry.Commit != "" {
		t.Errorf("dry run: state %s, release %s, path %s, commit %q; want dry-run, 2.1.0, releases/2.1.0.yaml, none",
			dry.State, dry.Release, dry.Path, dry.Commit)
	}
	if got := fx.rev(t, "refs/heads/"+fx.branch); got != before {
		t.Errorf("dry run moved %s from %s to %s", fx.branch, before, got)
	}
	var text bytes.Buffer
	if err := dry.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "Dry run: would add releases/2.1.0.yaml on aether-2.1") || !strings.Contains(text.String(), "kind: ReleaseManifest") {
		t.Errorf("dry-run text lacks the plan line or the manifest:\n%s", text.String())
	}
	if strings.Contains(text.String(), "push") {
		t.Errorf("a dry run without -push speaks of pushing:\n%s", text.String())
	}
	// With -push, the dry run says it would push, and does not.
	remoteBranch := func() string { return fx.git(t, fx.charts, "ls-remote", "origin", "refs/heads/"+fx.branch) }
	remoteBefore := remoteBranch()
	if remoteBefore == "" {
		t.Fatal("fixture: origin has no release branch")
	}
	dryPush, err := Run(ctx, fx.ws, "2.1", Options{DryRun: true, Push: true})
	if err != nil {
		t.Fatalf("dry run with -push: %v", err)
	}
	text.Reset()
	dryPush.WriteText(&text)
	if !strings.Contains(text.String(), "Dry run: would push aether-2.1 to origin (never forced).") || dryPush.Pushed {
		t.Errorf("dry run with -push: pushed=%v, text lacks the would-push line:\n%s", dryPush.Pushed, text.String())
	}
	if remoteBranch() != remoteBefore || fx.rev(t, "refs/heads/"+fx.branch) != before {
		t.Errorf("the dry run with -push moved a ref")
	}
	fx.checkoutUntouched(t, master)

	// The real run commits exactly one file on the branch.
	res, err := Run(ctx, fx.ws, "2.1", Options{})
	if err != nil {
		t.Fatalf("release:manifest: %v", err)
	}
	after := fx.rev(t, "refs/heads/"+fx.branch)
	if res.State != Created || res.Commit == "" || res.Commit != after || res.Parent != before {
		t.Fatalf("run: state %s, commit %s, parent %s; branch now %s, was %s", res.State, res.Commit, res.Parent, after, before)
	}
	if !bytes.Equal(res.Data, dry.Data) {
		t.Errorf("the committed manifest differs from the dry run's:\n%s\n---\n%s", res.Data, dry.Data)
	}
	if parent := fx.rev(t, after+"^"); parent != before {
		t.Errorf("manifest commit's parent is %s, want %s", parent, before)
	}
	if files := fx.git(t, fx.charts, "diff-tree", "-r", "--name-only", "--no-commit-id", before, after); files != "releases/2.1.0.yaml" {
		t.Errorf("manifest commit changes %q, want only releases/2.1.0.yaml", files)
	}
	author := fx.git(t, fx.charts, "log", "-1", "--format=%an <%ae>%n%B", after)
	if !strings.HasPrefix(author, "Aether Release Bot <release-bot@aetherproject.org>") || !strings.Contains(author, Trailer+": 2.1.0") {
		t.Errorf("manifest commit author/message:\n%s\nwant the relkit.yaml git.author and the %s trailer", author, Trailer)
	}
	fx.checkoutUntouched(t, master)
	text.Reset()
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "Created releases/2.1.0.yaml on aether-2.1") {
		t.Errorf("run text lacks the created line:\n%s", text.String())
	}
	committed, err := gitx.Git(ctx, fx.charts, "cat-file", "blob", after+":releases/2.1.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if committed != string(res.Data) {
		t.Errorf("committed file differs from Result.Data")
	}
	m, err := manifestfile.Read("releases/2.1.0.yaml", []byte(committed))
	if err != nil {
		t.Fatalf("the committed manifest does not read back: %v", err)
	}
	checkDemoManifest(t, fx, m, before)

	// Same content: no-op.
	again, err := Run(ctx, fx.ws, "2.1", Options{})
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if again.State != Unchanged || again.Commit != "" || fx.rev(t, "refs/heads/"+fx.branch) != after {
		t.Errorf("second run: state %s, commit %q, branch %s; want unchanged and the branch at %s", again.State, again.Commit, fx.rev(t, "refs/heads/"+fx.branch), after)
	}

	// Verify: everything holds.
	v, err := manifestfile.Verify(ctx, fx.ws, "2.1.0", manifestfile.VerifyOptions{})
	if err != nil {
		t.Fatalf("verify of an untouched release: %v", err)
	}
	if v.Source != "branch aether-2.1" || v.Commit != after || len(v.Images) != len(m.Images) || v.ExitCode() != 0 {
		t.Errorf("verify: source %q, commit %s, %d images (want %d), exit %d", v.Source, v.Commit, len(v.Images), len(m.Images), v.ExitCode())
	}
	for _, c := range v.Images {
		if c.Verdict != manifestfile.OK {
			t.Errorf("verify: %s is %s, want ok", c.Ref, c.Verdict)
		}
	}
	if len(v.Tags) == 0 || slices.ContainsFunc(v.Tags, func(tc manifestfile.TagCheck) bool { return tc.Verdict != manifestfile.OK }) {
		t.Errorf("verify: component tags %+v, want all ok", v.Tags)
	}
	if !strings.Contains(v.Notes[0], "tag 2.1.0") {
		t.Errorf("verify notes %q: want a note that there is no tag 2.1.0 to read", v.Notes)
	}
	text.Reset()
	if err := v.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "OK: every image of 2.1.0 still resolves to the recorded digest.") {
		t.Errorf("verify text of an untouched release lacks the OK line:\n%s", text.String())
	}

	// A tag moved behind relkit's back: the same tag, different content.
	amf := imageOf(t, m, "registry.aetherproject.org/omecproject/5gc-amf")
	target, err := fx.svc.Mirror(amf.Ref)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(target, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	other, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, other, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	newDigest, _ := other.Digest()

	// And a tag deleted.
	upf := imageOf(t, m, "ghcr.io/omec-project/upf")
	upfTarget, _ := fx.svc.Mirror(upf.Ref)
	upfTag, _ := name.NewTag(upfTarget, name.Insecure)
	if err := remote.Delete(upfTag, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}

	v, err = manifestfile.Verify(ctx, fx.ws, "2.1.0", manifestfile.VerifyOptions{})
	if err == nil {
		t.Fatal("verify passed after a tag was moved and another deleted")
	}
	if plan.ExitCode(err) != 1 || v.ExitCode() != 1 {
		t.Errorf("verify exit %d, want 1 (failed, not undecided)", plan.ExitCode(err))
	}
	msg := err.Error()
	testutil.ContainsAll(t, "verify error", msg, amf.Ref, amf.Digest, newDigest.String(), upf.Ref+" vanished", upf.Digest)
	verdicts := map[string]manifestfile.Verdict{}
	for _, c := range v.Images {
		verdicts[c.Ref] = c.Verdict
	}
	if verdicts[amf.Ref] != manifestfile.Moved || verdicts[upf.Ref] != manifestfile.Vanished {
		t.Errorf("verdicts: amf %s, upf %s; want moved, vanished", verdicts[amf.Ref], verdicts[upf.Ref])
	}
	for ref, vd := range verdicts {
		if ref != amf.Ref && ref != upf.Ref && vd != manifestfile.OK {
			t.Errorf("%s: %s, want ok (only two images changed)", ref, vd)
		}
	}
	text.Reset()
	if err := v.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	testutil.ContainsAll(t, "verify text", text.String(), "MOVED     "+amf.Ref, "recorded "+amf.Digest, "now      "+newDigest.String(), "VANISHED  "+upf.Ref, "FAILED: 2 item(s)")
}

// checkDemoManifest compares a manifest of the freshly cut demo branch
// with what the demo says its charts render and its registry serves.
func checkDemoManifest(t *testing.T, fx *fixture, m *manifestfile.Manifest, chartsCommit string) {
	t.Helper()
	ctx := context.Background()
	if m.APIVersion != manifestfile.APIVersion || m.Kind != manifestfile.Kind || m.Release != "2.1.0" || m.Branch != "aether-2.1" ||
		m.ChartsCommit != chartsCommit || m.CreatedBy != manifestfile.DefaultCreatedBy {
		t.Errorf("header: %s %s release %s branch %s commit %s by %q", m.APIVersion, m.Kind, m.Release, m.Branch, m.ChartsCommit, m.CreatedBy)
	}
	var charts []manifestfile.Chart
	for _, c := range fx.w.Charts {
		charts = append(charts, manifestfile.Chart{Name: c.Name, Path: c.Dir, Version: c.Version})
	}
	if !slices.Equal(m.Charts, charts) {
		t.Errorf("charts:\n%v\nwant\n%v", m.Charts, charts)
	}
	var refs, want []string
	for _, im := range m.Images {
		refs = append(refs, im.Ref)
	}
	for _, im := range fx.w.Images {
		want = append(want, im.Ref)
	}
	if !slices.Equal(refs, want) {
		t.Fatalf("images:\n  %s\nwant\n  %s", strings.Join(refs, "\n  "), strings.Join(want, "\n  "))
	}
	for i, im := range m.Images {
		d := fx.w.Images[i]
		wantDigest, err := demo.Digest(im.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if im.Digest != wantDigest {
			t.Errorf("%s: digest %s, the demo registry serves %s", im.Ref, im.Digest, wantDigest)
		}
		if !slices.Equal(im.Charts, d.Charts) || im.Component != d.Component {
			t.Errorf("%s: charts %v component %q; want %v %q", im.Ref, im.Charts, im.Component, d.Charts, d.Component)
		}
		if im.Component == "" {
			if im.GitTag != "" || im.GitCommit != "" {
				t.Errorf("%s: not a component image, but has git tag %q commit %q", im.Ref, im.GitTag, im.GitCommit)
			}
			continue
		}
		comp, _ := fx.w.Component(im.Component)
		if im.GitTag != comp.Tag(im.Tag) {
			t.Errorf("%s: git tag %q, want %q", im.Ref, im.GitTag, comp.Tag(im.Tag))
		}
		commit, err := gitx.Git(ctx, fx.w.RepoDir(comp.Name), "rev-parse", im.GitTag+"^{commit}")
		if err != nil || strings.TrimSpace(commit) != im.GitCommit {
			t.Errorf("%s: git commit %s, tag %s names %s (%v)", im.Ref, im.GitCommit, im.GitTag, commit, err)
		}
	}
}

func imageOf(t *testing.T, m *manifestfile.Manifest, repo string) manifestfile.Image {
	t.Helper()
	found := m.Find(repo)
	if len(found) != 1 {
		t.Fatalf("Find(%s) = %v, want one image", repo, found)
	}
	return found[0]
}

// TestManifestUnreachableRegistry: with the registry gone, neither the
// manifest nor the verification can decide: exit 3, nothing written.
func TestManifestUnreachableRegistry(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	if _, err := Run(ctx, fx.ws, "2.1", Options{}); err != nil {
		t.Fatalf("release:manifest: %v", err)
	}
	head := fx.rev(t, "refs/heads/"+fx.branch)
	fx.svc.Close()

	v, err := manifestfile.Verify(ctx, fx.ws, "2.1.0", manifestfile.VerifyOptions{})
	var u *plan.Undecided
	if !errors.As(err, &u) || plan.ExitCode(err) != 3 {
		t.Fatalf("verify with the registry down: %v (exit %d), want undecided (exit 3)", err, plan.ExitCode(err))
	}
	for _, c := range v.Images {
		if c.Verdict != manifestfile.Unknown {
			t.Errorf("%s: %s with the registry down, want unknown", c.Ref, c.Verdict)
		}
	}
	var text bytes.Buffer
	_ = v.WriteText(&text)
	if !strings.Contains(text.String(), "UNKNOWN: some images could not be checked") {
		t.Errorf("verify text:\n%s", text.String())
	}
	if got := fx.rev(t, "refs/heads/"+fx.branch); got != head {
		t.Errorf("verify moved the branch to %s", got)
	}

	// Rewriting (a chart changed) cannot get digests: undecided, no commit.
	fx.commitOnBranch(t, "Touch the GUI chart", map[string]string{"aether-roc-gui/NOTES.md": "notes\n"})
	head = fx.rev(t, "refs/heads/"+fx.branch)
	_, err = Run(ctx, fx.ws, "2.1", Options{})
	if plan.ExitCode(err) != 3 {
		t.Errorf("release:manifest with the registry down: %v (exit %d), want exit 3", err, plan.ExitCode(err))
	}
	if got := fx.rev(t, "refs/heads/"+fx.branch); got != head {
		t.Errorf("branch moved to %s although the manifest could not be built", got)
	}
}

// TestManifestPushAndRefusals: -push reaches the remote; a branch checked
// out by the user is not moved; a tagged release whose content changed is
// not rewritten; an updated branch gets an updated manifest.
func TestManifestPushAndRefusals(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	remoteHead := func() string {
		out, err := gitx.Git(ctx, fx.w.Remotes[demo.ChartsRepo], "rev-parse", "refs/heads/"+fx.branch)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	res, err := Run(ctx, fx.ws, "2.1", Options{Push: true})
	if err != nil {
		t.Fatalf("release:manifest -push: %v", err)
	}
	if !res.Pushed || remoteHead() != res.Commit {
		t.Errorf("pushed %v, remote %s at %s, want the manifest commit %s", res.Pushed, fx.branch, remoteHead(), res.Commit)
	}

	// The user has the branch checked out: refused, dry run still fine.
	fx.git(t, fx.charts, "checkout", "-q", fx.branch)
	fx.commitOnBranchInCheckout(t, "omec-control-plane: note", "omec/omec-control-plane/NOTES.md", "n\n")
	_, err = Run(ctx, fx.ws, "2.1", Options{})
	if err == nil || !strings.Contains(err.Error(), "is checked out in "+fx.charts) {
		t.Errorf("run with the branch checked out: %v; want a refusal naming the checkout", err)
	}
	if _, err := Run(ctx, fx.ws, "2.1", Options{DryRun: true}); err != nil {
		t.Errorf("dry run with the branch checked out: %v", err)
	}
	fx.git(t, fx.charts, "checkout", "-q", "master")

	// A changed branch gets an updated manifest with the new chartsCommit.
	head := fx.rev(t, "refs/heads/"+fx.branch)
	upd, err := Run(ctx, fx.ws, "2.1", Options{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if upd.State != Unchanged {
		// NOTES.md is not rendered: the content is the same, so unchanged.
		t.Errorf("a change no chart renders: state %s, want unchanged", upd.State)
	}
	fx.commitOnBranch(t, "Set version to 2.1.0", map[string]string{"VERSION": "2.1.0\n"})
	fx.git(t, fx.charts, "tag", "2.1.0", fx.branch)
	rel, err := Run(ctx, fx.ws, "2.1", Options{})
	if err != nil || rel.State != Unchanged {
		t.Errorf("tagged release, same content: state %v, err %v; want unchanged", rel, err)
	}
	fx.editOnBranch(t, "aether-roc-gui: bump", "aether-roc-gui/Chart.yaml", "version: '2.2.0'", "version: '2.2.1'")
	_, err = Run(ctx, fx.ws, "2.1", Options{})
	if err == nil || !strings.Contains(err.Error(), "already tagged") {
		t.Errorf("tagged release with changed content: %v; want a refusal", err)
	}
	if head == "" {
		t.Fatal("no branch head")
	}

	// Verify reads the tag first once it holds the manifest.
	v, err := manifestfile.Verify(ctx, fx.ws, "2.1.0", manifestfile.VerifyOptions{})
	if err != nil || v.Source != "tag 2.1.0" {
		t.Errorf("verify after tagging: source %q, err %v; want tag 2.1.0", v.Source, err)
	}
}

// commitOnBranchInCheckout commits in the user's checkout (on the branch).
func (fx *fixture) commitOnBranchInCheckout(t *testing.T, msg, file, content string) {
	t.Helper()
	fx.commitIn(t, fx.charts, msg, file, content)
}

// TestManifestPushIsPlanned: with -push the remote is read before anything
// moves; a remote branch the result does not contain (someone pushed to
// it) refuses the run with nothing written, the local branch where it
// was, and the remote untouched.
func TestManifestPushIsPlanned(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	remote := fx.w.Remotes[demo.ChartsRepo]
	other := filepath.Join(t.TempDir(), "other")
	fx.git(t, filepath.Dir(other), "clone", "-q", "--branch", fx.branch, remote, other)
	fx.git(t, other, "-c", "user.name=Other", "-c", "user.email=o@example.org", "commit", "-q", "--allow-empty", "-m", "elsewhere")
	fx.git(t, other, "push", "-q", "origin", fx.branch)
	remoteBefore := fx.git(t, remote, "rev-parse", "refs/heads/"+fx.branch)
	localBefore := fx.rev(t, "refs/heads/"+fx.branch)

	res, err := Run(ctx, fx.ws, "2.1", Options{Push: true})
	if plan.ExitCode(err) != plan.ExitFailed || !strings.Contains(fmt.Sprint(err), "which the result does not contain") {
		t.Fatalf("push onto a remote that moved on: %v (%+v); want a refusal naming the remote branch", err, res)
	}
	if got := fx.rev(t, "refs/heads/"+fx.branch); got != localBefore {
		t.Errorf("the local branch moved to %s although the run was refused", got)
	}
	if got := fx.git(t, remote, "rev-parse", "refs/heads/"+fx.branch); got != remoteBefore {
		t.Errorf("the remote branch moved to %s", got)
	}

	// Without -push the local branch moves, and the remote is not asked.
	res, err = Run(ctx, fx.ws, "2.1", Options{})
	if err != nil || res.State != Created || fx.rev(t, "refs/heads/"+fx.branch) != res.Commit || res.Pushed {
		t.Errorf("local run: %+v, %v; want the branch moved to the manifest commit, nothing pushed", res, err)
	}
}
