package manifest

import (
	"context"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/manifestfile"
)

// TestManifestTagsInEveryForm: repos that switched tag prefix. amf
// (tagPrefix v) shipped a release tagged without the prefix, and the
// charts release (tagPrefix "") is tagged v2.1.0: the manifest records
// the tag that exists, and release:verify reads the release from it.
func TestManifestTagsInEveryForm(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	dry, err := Run(ctx, fx.ws, "2.1", Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	amf := imageOf(t, dry.Manifest, "registry.aetherproject.org/omecproject/5gc-amf")
	if !strings.HasPrefix(amf.GitTag, "v") {
		t.Fatalf("fixture: amf's tag %q should carry the v prefix", amf.GitTag)
	}
	amfDir := fx.w.RepoDir("amf")
	bare := strings.TrimPrefix(amf.GitTag, "v")
	fx.git(t, amfDir, "tag", bare, amf.GitTag+"^{commit}")
	fx.git(t, amfDir, "tag", "-d", amf.GitTag)

	res, err := Run(ctx, fx.ws, "2.1", Options{})
	if err != nil {
		t.Fatalf("release:manifest with amf tagged %s: %v", bare, err)
	}
	got := imageOf(t, res.Manifest, amf.Repository)
	if got.GitTag != bare || got.GitCommit != amf.GitCommit {
		t.Errorf("amf: git tag %q at %.7s, want %q at %.7s", got.GitTag, got.GitCommit, bare, amf.GitCommit)
	}

	fx.git(t, fx.charts, "tag", "v2.1.0", res.Commit)
	v, err := manifestfile.Verify(ctx, fx.ws, "2.1.0", manifestfile.VerifyOptions{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if v.Source != "tag v2.1.0" || v.Commit != res.Commit || v.ExitCode() != 0 {
		t.Errorf("verify: source %q, commit %.7s, exit %d; want tag v2.1.0 at %.7s, all ok", v.Source, v.Commit, v.ExitCode(), res.Commit)
	}
}
