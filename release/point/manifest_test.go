package point

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/release/manifest"
	"github.com/relkit/relkit/release/manifestfile"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/yamledit"
)

// tagManifest reads releases/<release>.yaml from the charts repo's
// release tag and checks what the manifest says against the repos and the
// registry themselves: the charts at the tag, every image the demo charts
// render (images maps a repository to its tag where the branch changed it)
// with the digest the registry serves now, and each component image's git
// tag and commit.
func (f *fixture) tagManifest(release string, images map[string]string) *manifestfile.Manifest {
	f.t.Helper()
	path := manifestfile.Path(release)
	m, err := manifestfile.Read(path+" at tag "+release, []byte(f.Show(chartsRepo, release, path)))
	if err != nil {
		f.t.Fatal(err)
	}
	rel := f.Git(chartsRepo, "rev-parse", release+"^{commit}")
	if m.Release != release || m.Branch != "aether-"+line || m.CreatedBy != CreatedBy {
		f.t.Errorf("%s: release %q, branch %q, createdBy %q; want %s, aether-%s, %s", path, m.Release, m.Branch, m.CreatedBy, release, line, CreatedBy)
	}
	if parent := f.Git(chartsRepo, "rev-parse", rel+"^"); m.ChartsCommit != parent {
		f.t.Errorf("%s: chartsCommit %s, want the parent of the release commit, %s", path, m.ChartsCommit, parent)
	}
	if changed := f.Git(chartsRepo, "diff-tree", "-r", "--name-only", "--no-commit-id", rel); changed != "VERSION\n"+path {
		f.t.Errorf("the release commit changes %q; want exactly %s and VERSION", changed, path)
	}

	// Charts: every demo chart, at the version its Chart.yaml has at the tag.
	var got []string
	for _, c := range m.Charts {
		got = append(got, c.Path)
		v, _, err := yamledit.Get([]byte(f.Show(chartsRepo, release, c.Path+"/Chart.yaml")), "version")
		if err != nil {
			f.t.Fatalf("%s/Chart.yaml at %s: %v", c.Path, release, err)
		}
		if c.Version != v {
			f.t.Errorf("%s: chart %s has version %s, Chart.yaml at tag %s says %s", path, c.Path, c.Version, release, v)
		}
	}
	var want []string
	for _, c := range f.W.Charts {
		want = append(want, c.Dir)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		f.t.Errorf("%s lists charts %v; want every demo chart %v", path, got, want)
	}

	// Images: what the demo charts render, each with the registry's digest.
	want = want[:0]
	for _, im := range f.W.Images {
		ref := im.Ref
		for repo, tag := range images {
			if rest, ok := strings.CutPrefix(ref, repo+":"); ok {
				_, digest, _ := strings.Cut(rest, "@")
				ref = repo + ":" + tag
				if digest != "" {
					ref += "@" + digest
				}
			}
		}
		want = append(want, ref)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	got = got[:0]
	for _, im := range m.Images {
		got = append(got, im.Ref)
		mirrored, err := f.svc.Mirror(im.Ref)
		if err != nil {
			f.t.Fatal(err)
		}
		if i := strings.IndexByte(mirrored, '@'); i >= 0 && im.Tag != "" {
			mirrored = mirrored[:i] // ask for the tag: what it names now
		}
		ref, err := name.ParseReference(mirrored, name.Insecure)
		if err != nil {
			f.t.Fatal(err)
		}
		desc, err := remote.Head(ref, remote.WithContext(f.ctx))
		if err != nil {
			f.t.Fatalf("the registry has no %s (%s): %v", im.Ref, mirrored, err)
		}
		if im.Digest != desc.Digest.String() {
			f.t.Errorf("%s: image %s has digest %s; the registry serves %s", path, im.Ref, im.Digest, desc.Digest)
		}
		if im.Component != "" {
			comp, _ := f.WS.Component(im.Component)
			if c := f.Git(im.Component, "rev-parse", im.GitTag+"^{commit}"); im.GitCommit != c || !strings.HasPrefix(im.GitTag, comp.TagPrefix) {
				f.t.Errorf("%s: image %s says git tag %s at %s; the %s repo has it at %s", path, im.Ref, im.GitTag, im.GitCommit, im.Component, c)
			}
		}
	}
	if !slices.Equal(got, want) {
		f.t.Errorf("%s lists images\n  %s\nwant\n  %s", path, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	return m
}

// verify runs release:verify release and expects it to pass from the tag.
func (f *fixture) verify(release string) {
	f.t.Helper()
	v, err := manifestfile.Verify(f.ctx, f.WS, release, manifestfile.VerifyOptions{})
	if err != nil {
		var b strings.Builder
		if v != nil {
			_ = v.WriteText(&b)
		}
		f.t.Fatalf("release:verify %s right after release:point: %v\n%s", release, err, b.String())
	}
	if v.Source != "tag "+release || v.Verdict != "ok" || len(v.Images) == 0 {
		f.t.Errorf("release:verify %s read %s (verdict %s, %d images); want the tag, ok", release, v.Source, v.Verdict, len(v.Images))
	}
}

// The point release commits the release manifest with the release: the
// dry run shows it, the tag carries it (every chart, every image with its
// digest), release:verify passes on it, the bytes are those the dry run
// planned, a rerun is a no-op, and release:manifest still writes the next
// release's manifest on the branch.
func TestPointReleaseManifest(t *testing.T) {
	f := newFixture(t)
	f.patchBoth()
	_, dry, err := Plan(f.ctx, f.WS, Options{Line: line, DryRun: true, Push: true})
	if err != nil || dry.Manifest == nil {
		t.Fatalf("dry-run plan: %v (manifest %v)", err, dry)
	}
	out, err := f.point(Options{DryRun: true, Push: true})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	want := fmt.Sprintf("releases/2.1.0.yaml: release manifest (new), %d chart(s), %d image(s) with their registry digests, describing %s",
		len(dry.Manifest.Charts), len(dry.Manifest.Images), f.Git(chartsRepo, "rev-parse", "--short=7", "aether-2.1"))
	if !strings.Contains(out, want) {
		t.Errorf("the dry run should show %q:\n%s", want, out)
	}

	if out, err = f.point(Options{Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := f.tagManifest("2.1.0", map[string]string{"registry.aetherproject.org/omecproject/5gc-amf": "1.4.2"})
	if got := f.Show(chartsRepo, "2.1.0", "releases/2.1.0.yaml"); got != string(dry.Manifest.Marshal()) {
		t.Errorf("the committed manifest differs from the one the dry run planned:\n%s\nplanned:\n%s", got, dry.Manifest.Marshal())
	}
	if amf := m.ComponentImages("amf"); len(amf) != 1 || amf[0].GitTag != "v1.4.2" {
		t.Errorf("the manifest should ship amf v1.4.2, has %+v", amf)
	}
	f.onRemote(chartsRepo, "refs/heads/aether-2.1", "refs/tags/2.1.0")
	f.verify("2.1.0")

	// Rerun: a no-op, which does not even need the registry.
	before := f.hashRepos()
	out, err = f.point(Options{Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") || !strings.Contains(out, "done: tag 2.1.0 holds the release manifest releases/2.1.0.yaml") {
		t.Errorf("a rerun should do nothing and find the manifest in the tag: %v\n%s", err, out)
	}
	if f.hashRepos() != before {
		t.Errorf("the rerun wrote to a repo")
	}

	// release:manifest on the branch, now at 2.1.1-dev, writes 2.1.1's.
	res, err := manifest.Run(f.ctx, f.WS, line, manifest.Options{})
	if err != nil || res.Path != "releases/2.1.1.yaml" || res.State != manifest.Created {
		t.Fatalf("release:manifest %s after the point release: %v (%+v)", line, err, res)
	}
	if got := f.Show(chartsRepo, "aether-2.1", "releases/2.1.0.yaml"); got != string(dry.Manifest.Marshal()) {
		t.Errorf("release:manifest changed the 2.1.0 manifest on the branch")
	}
	f.verify("2.1.0")

	// The next point release rewrites 2.1.1's manifest in its release
	// commit: this one is built on the commit before it.
	out = f.pointAfterChartFix()
	if !strings.Contains(out, "releases/2.1.1.yaml: release manifest (replacing the one on aether-2.1)") {
		t.Errorf("the 2.1.1 plan should say it replaces the branch's manifest:\n%s", out)
	}
	f.tagManifest("2.1.1", map[string]string{"registry.aetherproject.org/omecproject/5gc-amf": "1.4.2"})
	f.verify("2.1.1")
}

// With the registry down the manifest cannot get its digests: the run
// could not decide (exit 3) and writes nothing at all.
func TestPointRegistryDown(t *testing.T) {
	f := newFixture(t)
	f.svc.Close()
	before := f.hashRepos()
	out, err := f.point(Options{Push: true})
	var u *plan.Undecided
	if !errors.As(err, &u) || plan.ExitCode(err) != plan.ExitUndecided {
		t.Fatalf("want could-not-decide (exit 3), got %v (exit %d)\n%s", err, plan.ExitCode(err), out)
	}
	if !strings.Contains(out, "PROBLEM: the release manifest releases/2.1.0.yaml needs the digest of every image, and the registry could not be asked") ||
		!strings.Contains(out, "15 images (") || !strings.Contains(out, " and 11 more): registry 127.0.0.1:") || strings.Contains(out, "could not read the repo") {
		t.Errorf("the plan should say the registry could not be asked, briefly:\n%s", out)
	}
	if f.hashRepos() != before {
		t.Errorf("a run that could not decide wrote to a repo")
	}
	if msg := err.Error(); strings.Count(msg, "\n") > 2 || !strings.Contains(msg, "releases/2.1.0.yaml") {
		t.Errorf("the error should be short and name the manifest: %v", err)
	}
	if strings.Contains(out, "relkit-wt-") || strings.Contains(out, "relkit-scratch-") {
		t.Errorf("the plan names a scratch worktree:\n%s", out)
	}
}

// An image the charts use that the registry lacks (amf 1.4.2 was tagged
// but CI has not pushed it yet) refuses the release, naming the image.
func TestPointRefusedWhenImageMissing(t *testing.T) {
	f := newFixture(t)
	f.patchUnpublished()
	before := f.hashRepos()
	out, err := f.point(Options{Push: true})
	if plan.ExitCode(err) != plan.ExitFailed {
		t.Fatalf("want a refusal (exit 1), got %v (exit %d)\n%s", err, plan.ExitCode(err), out)
	}
	if !strings.Contains(out, "PROBLEM: the release manifest releases/2.1.0.yaml cannot be complete, so 2.1.0 is not released") ||
		!strings.Contains(out, "image registry.aetherproject.org/omecproject/5gc-amf:1.4.2 (charts omec/omec-control-plane) is not in the registry") {
		t.Errorf("the refusal should name the missing image:\n%s", out)
	}
	if f.hashRepos() != before {
		t.Errorf("a refused run wrote to a repo")
	}
}

// A release whose VERSION commit was made by hand (tagged, or not yet)
// without a manifest is finished by release:point: the tag stays on (or
// goes to) the commit that set VERSION, the move-on commit adds the
// manifest of that commit's content, and release:verify finds it on the
// branch.
func TestPointManifestAfterHandRelease(t *testing.T) {
	for _, tagged := range []bool{true, false} {
		t.Run(fmt.Sprintf("tagged=%v", tagged), func(t *testing.T) {
			f := newFixture(t)
			rel := f.CommitOn(chartsRepo, "aether-2.1", "Release 2.1.0", map[string][2]string{"VERSION": {"2.1.0-dev", "2.1.0"}})
			where := "the release commit " + rel[:7]
			if tagged {
				f.Git(chartsRepo, "tag", "-a", "-m", "2.1.0", "2.1.0", rel)
				where = "tag 2.1.0"
			}
			out, err := f.point(Options{})
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, where+" has no release manifest: the move-on commit adds releases/2.1.0.yaml") {
				t.Errorf("the plan should say where the manifest goes:\n%s", out)
			}
			if got := f.Git(chartsRepo, "rev-parse", "2.1.0^{commit}"); got != rel {
				t.Fatalf("tag 2.1.0 is on %s, want the commit that set VERSION, %s", got, rel)
			}
			m, err := manifestfile.Read("releases/2.1.0.yaml", []byte(f.Show(chartsRepo, "aether-2.1", "releases/2.1.0.yaml")))
			if err != nil {
				t.Fatal(err)
			}
			if m.ChartsCommit != rel || f.Git(chartsRepo, "rev-parse", "aether-2.1^") != rel {
				t.Errorf("the manifest should describe the release commit %s and come right after it; chartsCommit %s", rel, m.ChartsCommit)
			}
			v, err := manifestfile.Verify(f.ctx, f.WS, "2.1.0", manifestfile.VerifyOptions{})
			if err != nil || v.Source != "branch aether-2.1" {
				t.Errorf("release:verify 2.1.0: %v (source %v)", err, v)
			}
			out, err = f.point(Options{})
			if err != nil || !strings.Contains(out, "done: aether-2.1 holds the release manifest releases/2.1.0.yaml") || !strings.Contains(out, "Nothing to do") {
				t.Errorf("a rerun should do nothing and find the manifest on the branch: %v\n%s", err, out)
			}
		})
	}
}
