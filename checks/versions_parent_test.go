package checks

import (
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
)

// missingParent over real tags in both prefix forms, with build metadata
// and holes.
func TestMissingParent(t *testing.T) {
	r := component(t, t.TempDir(), "repo", func(r *demo.Repo) {
		for _, tag := range []string{"1.0.0", "v1.0.1", "1.2.0+ci.7", "v2.1.0", "v2.1.1", "4.0.0-rc1"} {
			r.SetVersion(tag + "\n")
			r.Tag(tag, "", "")
		}
	})
	g, err := gitx.Open(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	tags, err := g.ReleaseTags("v")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ v, want string }{
		{"1.0.2", ""},       // v1.0.1
		{"1.0.1", ""},       // 1.0.0, the other form
		{"1.2.1", ""},       // 1.2.0+ci.7: the same version with build metadata
		{"1.1.0", ""},       // line 1.0 has releases
		{"1.3.0", ""},       // line 1.2 too
		{"1.4.0", "v1.3.*"}, // a hole
		{"2.1.3", "v2.1.2"}, // a skipped patch
		{"2.2.0", ""},       // line 2.1
		{"3.0.0", ""},       // major 2
		{"4.0.0", "v3.*.*"}, // the rc is no release
		{"5.0.0", "v4.*.*"},
		{"0.0.0", ""},
	} {
		got, missing := missingParent(semver.MustParse(tc.v), tags, "v")
		if got != tc.want || missing != (tc.want != "") {
			t.Errorf("missingParent(%s) = %q %v, want %q", tc.v, got, missing, tc.want)
		}
	}
}
