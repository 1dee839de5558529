// Package manifestfile builds, reads and verifies release manifests: the file
// releases/X.Y.Z.yaml on the charts repo's release branch that says what a
// release is made of. It lists every chart and version on the branch, every
// image reference the charts render to with the digest the registry served
// for it, and, for each image a workspace component builds, the component's
// git tag and the commit it names. release:manifest writes it, release:point
// commits it with the release, release:verify re-resolves every image
// against the registry to prove the release is still what it was. It is
// the model those steps share (release/manifest, release/point,
// release/status); the steps do not import each other.
package manifestfile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/release/version"
)

// APIVersion and Kind identify a manifest file.
const (
	APIVersion = "relkit/v1"
	Kind       = "ReleaseManifest"
)

// Dir is the charts repo directory holding the manifests.
const Dir = "releases"

// Path is the manifest's path in the charts repo for release version v
// ("releases/2.1.0.yaml").
func Path(v string) string { return Dir + "/" + v + ".yaml" }

// Manifest is one release's manifest. Nothing in it depends on when it was
// built, so building it twice from the same content gives the same bytes.
type Manifest struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Kind       string `yaml:"kind" json:"kind"`
	// Release is the release version X.Y.Z.
	Release string `yaml:"release" json:"release"`
	// Branch is the charts repo's release branch (<prefix>X.Y).
	Branch string `yaml:"branch" json:"branch"`
	// ChartsCommit is the charts repo commit whose content the manifest
	// describes: the commit the manifest was built on. The commit that adds
	// the manifest is its child.
	ChartsCommit string `yaml:"chartsCommit" json:"chartsCommit"`
	// CreatedBy names the relkit target that wrote the manifest.
	CreatedBy string  `yaml:"createdBy" json:"createdBy"`
	Charts    []Chart `yaml:"charts" json:"charts"`
	Images    []Image `yaml:"images" json:"images"`
}

// Chart is one chart of the release.
type Chart struct {
	Name string `yaml:"name" json:"name"`
	// Path is the chart directory in the charts repo.
	Path    string `yaml:"path" json:"path"`
	Version string `yaml:"version" json:"version"`
}

// Image is one image reference the release's charts render to.
type Image struct {
	// Ref is the reference exactly as the charts render it.
	Ref string `yaml:"ref" json:"ref"`
	// Repository is the registry and path as written, without tag or
	// digest.
	Repository string `yaml:"repository" json:"repository"`
	Tag        string `yaml:"tag,omitempty" json:"tag,omitempty"`
	// Digest is the manifest digest the registry served for Ref.
	Digest string `yaml:"digest" json:"digest"`
	// Charts are the paths of the charts that render Ref.
	Charts []string `yaml:"charts" json:"charts"`
	// Component is the workspace component that builds the image; GitTag
	// and GitCommit are its git tag for the image tag and the commit the
	// tag names. All three are empty for images built elsewhere.
	Component string `yaml:"component,omitempty" json:"component,omitempty"`
	GitTag    string `yaml:"gitTag,omitempty" json:"gitTag,omitempty"`
	GitCommit string `yaml:"gitCommit,omitempty" json:"gitCommit,omitempty"`
}

// Sort puts charts in path order, images in reference order and each
// image's charts in order: the order Marshal writes.
func (m *Manifest) Sort() {
	slices.SortFunc(m.Charts, func(a, b Chart) int { return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Name, b.Name)) })
	slices.SortFunc(m.Images, func(a, b Image) int { return cmp.Compare(a.Ref, b.Ref) })
	for i := range m.Images {
		slices.Sort(m.Images[i].Charts)
		m.Images[i].Charts = slices.Compact(m.Images[i].Charts)
	}
}

// Marshal renders the manifest as YAML, sorted, with a short header
// comment.
func (m *Manifest) Marshal() []byte {
	c := m.clone()
	c.Sort()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Release manifest of %s: the charts on %s and every image they render to,\n", c.Release, c.Branch)
	b.WriteString("# with the digest the registry served and the component commit that built it.\n")
	fmt.Fprintf(&b, "# Written by relkit; `go tool mage release:verify %s` checks that it still holds.\n", c.Release)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		// Plain strings and slices always encode.
		panic(fmt.Sprintf("manifest: encoding: %v", err))
	}
	_ = enc.Close()
	return b.Bytes()
}

func (m *Manifest) clone() *Manifest {
	c := *m
	c.Charts = slices.Clone(m.Charts)
	c.Images = slices.Clone(m.Images)
	for i := range c.Images {
		c.Images[i].Charts = slices.Clone(c.Images[i].Charts)
	}
	return &c
}

// Equivalent reports whether two manifests describe the same release
// content: everything but ChartsCommit and CreatedBy is equal. A manifest
// rebuilt after its own commit (or after commits that did not change what
// it describes) is equivalent to the committed one, so rewriting it would
// change nothing but the commit it names.
func Equivalent(a, b *Manifest) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := a.clone(), b.clone()
	x.ChartsCommit, y.ChartsCommit = "", ""
	x.CreatedBy, y.CreatedBy = "", ""
	return bytes.Equal(x.Marshal(), y.Marshal())
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// Read parses manifest content; file names it in errors. It checks the
// apiVersion, kind and release version and that every image has a
// reference and a digest, and refuses unknown keys (a typo would otherwise
// pass unverified).
func Read(file string, data []byte) (*Manifest, error) {
	var m Manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = regexp.MustCompile(` in type [\w.]+`).ReplaceAllString(msg, "")
		if mm := regexp.MustCompile(`^(?:unmarshal errors:\n\s*)?line (\d+): (.*)$`).FindStringSubmatch(msg); mm != nil {
			return nil, fmt.Errorf("%s:%s: %s; expected a relkit release manifest (%s %s)", file, mm[1], mm[2], APIVersion, Kind)
		}
		return nil, fmt.Errorf("%s: %s; expected a relkit release manifest (%s %s)", file, msg, APIVersion, Kind)
	}
	var probs []string
	lines := keyLines(data)
	bad := func(key, format string, args ...any) {
		line := lines[key]
		if line == 0 {
			line = 1
		}
		probs = append(probs, fmt.Sprintf("%s:%d: %s", file, line, fmt.Sprintf(format, args...)))
	}
	if m.APIVersion != APIVersion {
		bad("apiVersion", "apiVersion is %q; expected %s", m.APIVersion, APIVersion)
	}
	if m.Kind != Kind {
		bad("kind", "kind is %q; expected %s", m.Kind, Kind)
	}
	if !version.IsRelease(m.Release) {
		bad("release", "release is %q; expected a release version X.Y.Z", m.Release)
	}
	if m.ChartsCommit != "" && !shaRE.MatchString(m.ChartsCommit) {
		bad("chartsCommit", "chartsCommit is %q; expected a full commit hash", m.ChartsCommit)
	}
	for i, im := range m.Images {
		key := fmt.Sprintf("images[%d]", i)
		if im.Ref == "" {
			bad(key, "%s has no ref; expected the image reference the charts render", key)
			continue
		}
		if _, err := imageref.Parse(im.Ref); err != nil {
			bad(key, "%s: %v", key, err)
		}
		if !strings.HasPrefix(im.Digest, "sha256:") && !strings.HasPrefix(im.Digest, "sha512:") {
			bad(key, "%s (%s) has digest %q; expected the registry digest sha256:...", key, im.Ref, im.Digest)
		}
		if im.GitCommit != "" && !shaRE.MatchString(im.GitCommit) {
			bad(key, "%s (%s) has gitCommit %q; expected a full commit hash", key, im.Ref, im.GitCommit)
		}
	}
	if len(probs) > 0 {
		return nil, errors.New(strings.Join(probs, "\n"))
	}
	return &m, nil
}

// keyLines maps the top-level keys and "images[i]" to their lines, for
// messages.
func keyLines(data []byte) map[string]int {
	out := map[string]int{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return out
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		out[k.Value] = k.Line
		if k.Value == "images" && v.Kind == yaml.SequenceNode {
			for j, item := range v.Content {
				out[fmt.Sprintf("images[%d]", j)] = item.Line
			}
		}
	}
	return out
}

// Find returns the images of repository repo (registry and path, as a
// component's image list or a chart writes it; Docker Hub short names and
// docker.io spellings match each other), in manifest order.
func (m *Manifest) Find(repo string) []Image {
	var out []Image
	for _, im := range m.Images {
		r, err := imageref.Parse(im.Ref)
		if err != nil {
			continue
		}
		if r.SameRepository(repo) || im.Repository == repo {
			out = append(out, im)
		}
	}
	return out
}

// ComponentImages returns the images the named component built, in
// manifest order: what the release ships of it (the GitTag says which
// version).
func (m *Manifest) ComponentImages(component string) []Image {
	var out []Image
	for _, im := range m.Images {
		if im.Component == component {
			out = append(out, im)
		}
	}
	return out
}

// Chart returns the chart at path p.
func (m *Manifest) Chart(p string) (Chart, bool) {
	for _, c := range m.Charts {
		if c.Path == p {
			return c, true
		}
	}
	return Chart{}, false
}
