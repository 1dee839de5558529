package manifestfile

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

// TestManifestReadsImageTagsThroughTheForm builds a manifest from charts
// that deploy component images in their imageTagForm (rel-1.2.3, v0.9.1)
// and in a generally accepted release form (v2.0.0 where the form is the
// bare version), from component repos whose git tags use the other prefix
// form than tagPrefix says: each image maps back to its version and git
// tag and commit.
func TestManifestReadsImageTagsThroughTheForm(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	push := func(ref string) {
		t.Helper()
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		r, err := name.ParseReference(reg+"/"+ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
	}
	images := map[string]string{
		"amf": "omec/amf:rel-1.2.3", // form rel-{version}, tagPrefix v, git tag 1.2.3
		"smf": "omec/smf:v2.0.0",    // form {version}: v2.0.0 is read as a release too
		"roc": "onos/roc:v0.9.1",    // form v{version}, tagPrefix "": git tags 0.9.1 and v0.9.1, the prefix form wins
		"upf": "omec/upf:rel-3.0.0", // form rel-{version}, no git tag of 3.0.0 at all
	}
	for _, ref := range images {
		push(ref)
	}

	dir := t.TempDir()
	mk := func(n string, build func(r *demo.Repo)) *demo.Repo {
		return workspacetest.Repo(t, filepath.Join(dir, n), "main", build)
	}
	amf := mk("amf", func(r *demo.Repo) {
		r.SetVersion("1.2.3\n")
		r.Tag("1.2.3", "Release 1.2.3", "")
	})
	smf := mk("smf", func(r *demo.Repo) {
		r.SetVersion("2.0.0\n")
		r.Tag("v2.0.0", "", "")
	})
	var rocOld string
	roc := mk("roc", func(r *demo.Repo) {
		r.SetVersion("0.9.1\n")
		r.Tag("v0.9.1", "", "")
		rocOld = r.Head()
		r.Commit("later", map[string]string{"x": "y\n"})
		r.Tag("0.9.1", "", "") // tagPrefix "" wins over the v form
	})
	upf := mk("upf", func(r *demo.Repo) { r.SetVersion("3.0.0\n") })
	values := "images:\n"
	containers := ""
	for _, n := range []string{"amf", "smf", "roc", "upf"} {
		values += "  " + n + ": " + reg + "/" + images[n] + "\n"
		containers += "        - name: " + n + "\n          image: {{ .Values.images." + n + " }}\n"
	}
	charts := mk("charts", func(r *demo.Repo) {
		r.Commit("core chart", map[string]string{
			"VERSION":                        "2.1.0\n",
			"core/Chart.yaml":                "apiVersion: v2\nname: core\nversion: 0.1.0\n",
			"core/values.yaml":               values,
			"core/templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: core\nspec:\n  template:\n    spec:\n      containers:\n" + containers,
		})
	})
	cfg := `charts:
  path: charts
components:
  - name: amf
    path: amf
    tagPrefix: v
    imageTagForm: rel-{version}
    images: [` + reg + `/omec/amf]
  - name: smf
    path: smf
    images: [` + reg + `/omec/smf]
  - name: roc
    path: roc
    imageTagForm: v{version}
    images: [` + reg + `/onos/roc]
  - name: upf
    path: upf
    imageTagForm: rel-{version}
    images: [` + reg + `/omec/upf]
`
	ws := workspacetest.Load(t, dir, cfg)

	// upf's 3.0.0 was never tagged: refused, naming both tag forms tried.
	_, err := BuildWith(ctx, ws, charts.Dir, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "component upf") || !strings.Contains(err.Error(), "has no git tag 3.0.0 or v3.0.0") {
		t.Fatalf("err = %v, want upf's missing git tag named in both forms", err)
	}
	upf.Tag("v3.0.0", "", "")
	if err := upf.Err(); err != nil {
		t.Fatal(err)
	}
	m, err := BuildWith(ctx, ws, charts.Dir, BuildOptions{})
	if err != nil {
		t.Fatalf("BuildWith: %v", err)
	}
	want := map[string][2]string{ // component -> git tag, commit
		"amf": {"1.2.3", amf.Head()},
		"smf": {"v2.0.0", smf.Head()},
		"roc": {"0.9.1", roc.Head()},
		"upf": {"v3.0.0", upf.Head()},
	}
	if roc.Head() == rocOld {
		t.Fatal("fixture: roc's two tags name the same commit")
	}
	if len(m.Images) != len(want) {
		t.Fatalf("manifest has %d images, want %d:\n%s", len(m.Images), len(want), m.Marshal())
	}
	for _, im := range m.Images {
		w, ok := want[im.Component]
		if !ok {
			t.Errorf("image %s: component %q", im.Ref, im.Component)
			continue
		}
		if im.GitTag != w[0] || im.GitCommit != w[1] {
			t.Errorf("image %s (%s): git tag %s at %s, want %s at %s", im.Ref, im.Component, im.GitTag, im.GitCommit, w[0], w[1])
		}
		if !strings.HasPrefix(im.Digest, "sha256:") {
			t.Errorf("image %s: digest %q", im.Ref, im.Digest)
		}
	}

	// A tag in no release form is refused, naming the component's form.
	charts.Commit("a dev image", map[string]string{"core/values.yaml": strings.Replace(values, "rel-1.2.3", "rel-1.2.3-dev", 1)})
	push("omec/amf:rel-1.2.3-dev")
	_, err = BuildWith(ctx, ws, charts.Dir, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), `tag "rel-1.2.3-dev", which is no release version in its imageTagForm "rel-{version}"`) {
		t.Errorf("err = %v, want the dev tag refused naming the form", err)
	}
}
