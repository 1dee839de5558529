package chartpublish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v3/pkg/chart"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/checks/chartrepo/repotest"
	"github.com/relkit/relkit/release/chartpkg"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/testtool"
)

// Against Debian's docker-registry: both targets at once; the OCI
// artifacts have Helm's media types and annotations, tags with '+' as
// '_', and load with Helm's loader; a rerun is a no-op; a different
// package under a pushed tag is refused and nothing is overwritten.
func TestPublishToOCIRegistry(t *testing.T) {
	host := testtool.ServeDockerRegistry(t, testtool.RegistryOptions{})
	files := platform()
	files["apps/web/Chart.yaml"] = chartYAML("web", "0.1.0+build.7") + "home: https://example.org/web\nsources: [https://git.example.org/web]\nmaintainers:\n  - name: Ops\n    email: ops@example.org\nannotations:\n  team: ran\n"
	fx := newFixture(t, files)
	ws := fx.ws("    git: site.git\n    oci: oci://" + host + "/aether/charts\n")

	out, err := run(t, ws, Options{DryRun: true})
	if err != nil || !strings.Contains(out, "-> "+host+"/aether/charts/web:0.1.0_build.7") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if out, err = run(t, ws, Options{Push: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "pushed sd-core 2.0.0 to") {
		t.Errorf("no push reported:\n%s", out)
	}
	// The umbrella was pushed after its subcharts.
	if i, j := strings.Index(out, "pushed hss 1.2.3"), strings.Index(out, "pushed sd-core 2.0.0"); i < 0 || j < i {
		t.Errorf("sd-core pushed before hss:\n%s", out)
	}
	site := fx.siteIndex("gh-pages", "")

	for _, cv := range [][2]string{{"hss", "1.2.3"}, {"mme", "0.4.0"}, {"sd-core", "2.0.0"}, {"web", "0.1.0+build.7"}} {
		ref, err := name.NewTag(host+"/aether/charts/"+cv[0]+":"+chartrepo.Tag(cv[1]), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.MediaType != chartrepo.ConfigMediaType || len(m.Layers) != 1 || m.Layers[0].MediaType != chartrepo.ChartLayerMediaType {
			t.Errorf("%s: media types %s / %v", ref, m.Config.MediaType, m.Layers)
		}
		if m.Annotations["org.opencontainers.image.title"] != cv[0] || m.Annotations["org.opencontainers.image.version"] != cv[1] || m.Annotations["org.opencontainers.image.created"] == "" {
			t.Errorf("%s: annotations %v", ref, m.Annotations)
		}
		cfg, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		var md chart.Metadata
		if err := json.Unmarshal(cfg, &md); err != nil || md.Name != cv[0] || md.Version != cv[1] {
			t.Errorf("%s: config %s (%v)", ref, cfg, err)
		}
		layer, err := img.LayerByDigest(m.Layers[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		c := loadPackage(t, data)
		if c.Name() != cv[0] || c.Metadata.Version != cv[1] {
			t.Errorf("%s loads as %s %s", ref, c.Name(), c.Metadata.Version)
		}
		// The same bytes as the static repository's package.
		if d := chartpkg.Digest(data); d != site.Lookup(cv[0], cv[1]).Digest || d != m.Layers[0].Digest.String() {
			t.Errorf("%s: layer %s, site %s", ref, d, site.Lookup(cv[0], cv[1]).Digest)
		}
		if cv[0] == "web" {
			a := m.Annotations
			if a["org.opencontainers.image.url"] != "https://example.org/web" || a["org.opencontainers.image.source"] != "https://git.example.org/web" ||
				a["org.opencontainers.image.authors"] != "Ops (ops@example.org)" || a["team"] != "ran" {
				t.Errorf("web annotations %v", a)
			}
		}
	}

	// Rerun: nothing to do.
	out, err = run(t, ws, Options{Push: true})
	if err != nil || !strings.Contains(out, "Nothing to do") {
		t.Errorf("rerun: %v\n%s", err, out)
	}

	// Another package under a pushed tag: refused with both digests; the
	// tag keeps its manifest.
	hss, _ := name.NewTag(host+"/aether/charts/hss:1.2.3", name.Insecure)
	before, err := remote.Head(hss)
	if err != nil {
		t.Fatal(err)
	}
	published := layerDigest(t, hss)
	fx.commit("hss changed", map[string]string{"omec/hss/values.yaml": "image:\n  tag: 1.2.4\n"})
	out, err = run(t, ws, Options{Push: true})
	var refused *plan.Refused
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), published.String()) || !strings.Contains(err.Error(), host+"/aether/charts") {
		t.Fatalf("want a refusal naming the published digest %s: %v\n%s", published, err, out)
	}
	after, err := remote.Head(hss)
	if err != nil || after.Digest != before.Digest {
		t.Errorf("the tag moved: %v -> %v (%v)", before.Digest, after, err)
	}
}

// The tag is asked again right before the push: a package pushed by
// someone else in the meantime with other content is refused, the same
// one is taken as published, and the chart that depends on a refused one
// is not pushed.
func TestOCIPushRechecksTheTag(t *testing.T) {
	host := repotest.Registry(t)
	fx := newFixture(t, platform())
	ws := fx.ws("    oci: oci://" + host + "/c\n")
	ctx := context.Background()
	p, err := Plan(ctx, ws, Options{Push: true})
	if err != nil {
		t.Fatal(err)
	}
	// Between plan and apply, someone pushes other content as hss 1.2.3
	// and exactly this commit's mme 0.4.0.
	if err := repotest.PushChart(ctx, host, "c", "hss", "1.2.3"); err != nil {
		t.Fatal(err)
	}
	for _, pk := range p.Packages {
		if pk.Name() == "mme" {
			if _, err := pushChart(ctx, p.targets[0].oci, pk); err != nil {
				t.Fatal(err)
			}
		}
	}
	var log bytes.Buffer
	err = p.Apply(ctx, &log)
	if err == nil || !strings.Contains(err.Error(), "hss 1.2.3 is already in") || !strings.Contains(err.Error(), "sd-core 2.0.0 not pushed: its dependency omec/hss was not published") {
		t.Fatalf("apply: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "mme 0.4.0: already there with the same digest") || !strings.Contains(log.String(), "pushed web 0.1.0") {
		t.Errorf("log:\n%s", log.String())
	}
	sd, _ := name.NewTag(host+"/c/sd-core:2.0.0", name.Insecure)
	if _, err := remote.Head(sd); err == nil {
		t.Error("sd-core was pushed although hss was refused")
	}
}

func layerDigest(t *testing.T, ref name.Reference) v1.Hash {
	t.Helper()
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Layers[0].Digest
}
