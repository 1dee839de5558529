package imagetags

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

// TestImageTagsInTheComponentsForm: image:tags writes every release git
// tag on HEAD, in either prefix form, as a docker tag in the component's
// imageTagForm, and the tags read back to the same versions.
func TestImageTagsInTheComponentsForm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	mk := func(name string, build func(r *demo.Repo)) *demo.Repo {
		return workspacetest.Repo(t, filepath.Join(dir, name), "main", build)
	}
	// amf: tagPrefix "" and images tagged v1.2.3 (ONOS style); its HEAD
	// carries a tag in the other prefix form and one with build metadata.
	mk("amf", func(amf *demo.Repo) {
		amf.SetVersion("1.2.2\n")
		amf.Tag("1.2.2", "", "") // an older release, not on HEAD
		amf.SetVersion("1.2.3\n")
		amf.Tag("v1.2.3", "Release 1.2.3", "")
		amf.Tag("1.3.0+b.1", "", "")
		amf.Tag("v1.4.0-rc1", "", "") // a pre-release is no release
	})
	// smf: tagPrefix v and images tagged rel-1.2.3 (omec style), with the
	// old unprefixed form on the same commit.
	smf := mk("smf", func(smf *demo.Repo) {
		smf.SetVersion("1.1.0\n")
		smf.Tag("1.0.9", "", "")
		smf.Tag("v1.1.0", "Release 1.1.0", "")
		smf.Tag("rel-1.1.1", "", "") // an image tag form, not a git release tag
		smf.Tag("aether-2.1", "", "")
	})
	// upf: no form, the default bare version.
	mk("charts", func(r *demo.Repo) { r.SetVersion("2.1.0-dev\n") })
	mk("upf", func(upf *demo.Repo) {
		upf.SetVersion("3.0.0\n")
		upf.Tag("v3.0.0", "", "")
	})
	cfg := `charts:
  path: charts
components:
  - name: amf
    path: amf
    imageTagForm: v{version}
  - name: smf
    path: smf
    tagPrefix: v
    imageTagForm: rel-{version}
  - name: upf
    path: upf
`
	ws := workspacetest.Load(t, dir, cfg)
	for _, tc := range []struct {
		comp     string
		want     []string
		versions []string
	}{
		{"amf", []string{"v1.2.3", "v1.3.0_b.1"}, []string{"1.2.3", "1.3.0+b.1"}},
		{"smf", []string{"rel-1.0.9", "rel-1.1.0"}, []string{"1.0.9", "1.1.0"}},
		{"upf", []string{"3.0.0"}, []string{"3.0.0"}},
	} {
		got, err := ForHead(ctx, ws, tc.comp, HeadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.comp, err)
		}
		if strings.Join(got.Tags, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: tags %v, want %v", tc.comp, got.Tags, tc.want)
		}
		r, _ := ws.Component(tc.comp)
		for i, tag := range got.Tags {
			v, ok := r.ImageTagVersion(tag)
			if !ok || i >= len(tc.versions) || v != tc.versions[i] {
				t.Errorf("%s: tag %s reads back as %q, %v; want %v", tc.comp, tag, v, ok, tc.versions)
			}
		}
		var buf bytes.Buffer
		if err := got.Write(&buf, plan.Text); err != nil {
			t.Fatal(err)
		}
		if buf.String() != strings.Join(tc.want, "\n")+"\n" {
			t.Errorf("%s: text output %q", tc.comp, buf.String())
		}
	}
	// The dev tag is not in the release form.
	got, err := ForHead(ctx, ws, "smf", HeadOptions{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Tags); n != 3 || got.Tags[2] != "main-"+smf.Head()[:7] {
		t.Errorf("smf -dev: %v, want the two release tags and main-<sha7>", got.Tags)
	}
}

func TestDevTag(t *testing.T) {
	sha := "0123456789abcdef0123456789abcdef01234567"
	long := strings.Repeat("x", 200)
	cases := map[string]string{
		"master":               "master-0123456",
		"release/aether-2.1":   "release-aether-2.1-0123456",
		"..hidden":             "hidden-0123456",
		"-dash":                "dash-0123456",
		"ünïcode branch":       "n-code-branch-0123456",
		"":                     "branch-0123456",
		long:                   strings.Repeat("x", 120) + "-0123456",
		"a" + long[:119] + ".": "a" + long[:119] + "-0123456",
	}
	for in, want := range cases {
		got := DevTag(in, sha)
		if got != want {
			t.Errorf("DevTag(%q) = %q, want %q", in, got, want)
		}
		if len(got) > MaxDockerTag {
			t.Errorf("DevTag(%q) is %d characters long", in, len(got))
		}
	}
}

// The branch of a detached CI checkout comes from the first variable of
// BranchEnv that is set and not blank, with Jenkins' origin/ and a
// refs/heads/ prefix removed.
func TestBranchFromEnviron(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		environ []string
		want    string
	}{
		{nil, ""},
		{[]string{"HOME=/root", "PATH=/bin"}, ""},
		{[]string{"RELKIT_BRANCH=  ", "GITHUB_HEAD_REF=", "GITHUB_REF_NAME=main"}, "main"},
		{[]string{"GITHUB_REF_NAME=main", "GITHUB_HEAD_REF=feature/x"}, "feature/x"}, // a pull request's head first
		{[]string{"CI_COMMIT_REF_NAME=gl", "RELKIT_BRANCH=mine"}, "mine"},
		{[]string{"GIT_BRANCH=origin/aether-2.1"}, "aether-2.1"},
		{[]string{"BRANCH_NAME=refs/heads/release"}, "release"},
		{[]string{"GIT_BRANCH=refs/heads/origin/x"}, "origin/x"},           // origin/ goes only when it leads
		{[]string{"RELKIT_BRANCH=first", "RELKIT_BRANCH=second"}, "first"}, // as os.Getenv
		{[]string{"NOEQUALS", "BRANCH_NAME= dev "}, "dev"},
	} {
		if got := BranchFromEnviron(tc.environ); got != tc.want {
			t.Errorf("BranchFromEnviron(%q) = %q, want %q", tc.environ, got, tc.want)
		}
	}
}
