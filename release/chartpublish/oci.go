package chartpublish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"helm.sh/helm/v3/pkg/chart"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/release/chartpkg"
	"github.com/relkit/relkit/release/plan"
)

// applyOCI pushes t's pending packages one by one in dependency order: a
// chart whose dependency failed is not pushed. Each tag is asked again
// right before its manifest is written (another run may have pushed it:
// the same package is fine, another is refused) and read back after.
func (p *Publication) applyOCI(ctx context.Context, t *target, say func(*target, string, ...any)) error {
	failed := map[string]bool{}
	var errs []error
	for _, pk := range t.pending {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if dep := firstFailed(pk, failed); dep != "" {
			failed[pk.Dir] = true
			errs = append(errs, fmt.Errorf("%s %s not pushed: its dependency %s was not published", pk.Name(), pk.Version(), dep))
			continue
		}
		msg, err := pushChart(ctx, t.oci, pk)
		if err != nil && (chartrepo.Unreachable(err) || imageref.Unreachable(err)) {
			// Nobody knows whether the tag is there now: exit 3.
			err = &plan.Undecided{Err: err}
		}
		if err != nil {
			failed[pk.Dir] = true
			errs = append(errs, fmt.Errorf("%s %s: %w", pk.Name(), pk.Version(), err))
			continue
		}
		say(t, "%s", msg)
	}
	return errors.Join(errs...)
}

func firstFailed(pk *chartpkg.Package, failed map[string]bool) string {
	for _, n := range pk.Needs {
		if failed[n] {
			return n
		}
	}
	return ""
}

// ociManifest is an OCI image manifest as Helm writes a chart's (its
// field order; mediaType is set as the image spec asks).
type ociManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Manifest is what chart:publish pushes for a package: its config blob
// (the chart's metadata as JSON, Helm's config media type), the package
// as the one layer (Helm's chart content media type) and Helm's
// annotations, created being the package's file time so that the same
// commit gives the same manifest.
func Manifest(pk *chartpkg.Package) (manifest, config []byte, err error) {
	md := pk.Chart.Chart.Metadata
	if config, err = json.Marshal(md); err != nil {
		return nil, nil, err
	}
	m := ociManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        descriptor(chartrepo.ConfigMediaType, config),
		Layers:        []v1.Descriptor{descriptor(chartrepo.ChartLayerMediaType, pk.Data)},
		Annotations:   annotations(md, pk.ModTime),
	}
	manifest, err = json.Marshal(m)
	return manifest, config, err
}

func descriptor(mt types.MediaType, data []byte) v1.Descriptor {
	h, _, _ := v1.SHA256(strings.NewReader(string(data)))
	return v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(data))}
}

// annotations are the manifest annotations Helm's registry client writes
// (pkg/registry generateOCIAnnotations): description, title, version,
// url, created, source, authors, then the chart's own annotations except
// title and version.
func annotations(md *chart.Metadata, created time.Time) map[string]string {
	a := map[string]string{}
	put := func(k, v string) {
		if strings.TrimSpace(v) != "" {
			a[k] = v
		}
	}
	put("org.opencontainers.image.description", md.Description)
	put("org.opencontainers.image.title", md.Name)
	put("org.opencontainers.image.version", md.Version)
	put("org.opencontainers.image.url", md.Home)
	put("org.opencontainers.image.created", created.UTC().Format(time.RFC3339))
	if len(md.Sources) > 0 {
		put("org.opencontainers.image.source", md.Sources[0])
	}
	if len(md.Maintainers) > 0 {
		var b strings.Builder
		for i, m := range md.Maintainers {
			if m == nil {
				continue
			}
			b.WriteString(m.Name)
			if m.Email != "" {
				b.WriteString(" (" + m.Email + ")")
			}
			if i < len(md.Maintainers)-1 {
				b.WriteString(", ")
			}
		}
		put("org.opencontainers.image.authors", b.String())
	}
	for k, v := range md.Annotations {
		if k == "org.opencontainers.image.title" || k == "org.opencontainers.image.version" {
			continue
		}
		a[k] = v
	}
	return a
}

// rawManifest is a manifest to PUT as it is.
type rawManifest struct {
	data []byte
	mt   types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.data, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// pushChart pushes one package under its version's tag.
func pushChart(ctx context.Context, o *chartrepo.OCI, pk *chartpkg.Package) (string, error) {
	have, err := o.Manifest(ctx, pk.Name(), pk.Version())
	if err != nil {
		return "", err
	}
	where := o.String()
	if have != nil {
		if have.Digest == pk.Digest {
			return fmt.Sprintf("%s %s: already there with the same digest (another run pushed it)", pk.Name(), pk.Version()), nil
		}
		return "", &chartrepo.DigestConflict{Chart: pk.Name(), Version: pk.Version(), Published: have.Digest, Package: pk.Digest, Where: where}
	}
	repo, err := o.Repository(pk.Name())
	if err != nil {
		return "", err
	}
	manifest, config, err := Manifest(pk)
	if err != nil {
		return "", err
	}
	opts := append([]remote.Option{remote.WithContext(ctx)}, o.Options()...)
	for _, l := range []v1.Layer{static.NewLayer(config, chartrepo.ConfigMediaType), static.NewLayer(pk.Data, chartrepo.ChartLayerMediaType)} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return "", fmt.Errorf("uploading to %s: %w", repo.Name(), err)
		}
	}
	tag := repo.Tag(chartrepo.Tag(pk.Version()))
	if err := remote.Put(tag, rawManifest{manifest, types.OCIManifestSchema1}, opts...); err != nil {
		return "", fmt.Errorf("writing %s: %w", tag, err)
	}
	back, err := o.Manifest(ctx, pk.Name(), pk.Version())
	if err != nil {
		return "", fmt.Errorf("reading %s back: %w", tag, err)
	}
	if back == nil || back.Digest != pk.Digest {
		got := "nothing"
		if back != nil {
			got = back.Digest
		}
		return "", fmt.Errorf("%s holds %s right after the push of %s (a concurrent push?)", tag, got, pk.Digest)
	}
	return fmt.Sprintf("pushed %s %s to %s (manifest %s)", pk.Name(), pk.Version(), tagName(tag), back.Manifest), nil
}

func tagName(t name.Tag) string { return t.Name() }
