package manifestfile

import (
	"strings"
	"testing"
)

const (
	sha1 = "a047af21cb8cdd332663690fcf815a16b26daec2"
	dig1 = "sha256:fe095e7a7734754a2017d26fb7a6b85907397d8f2f3b0d0c4153b2734a7bcd8c"
	dig2 = "sha256:4ecd2923ecd6457c3de042d699b8524df294a8c1b1ca704742cb9a43ac8309b8"
)

func sample() *Manifest {
	return &Manifest{APIVersion: APIVersion, Kind: Kind, Release: "2.1.0", Branch: "aether-2.1",
		ChartsCommit: sha1, CreatedBy: DefaultCreatedBy,
		Charts: []Chart{{Name: "roc-api", Path: "roc-api", Version: "0.10.1"}, {Name: "omec-control-plane", Path: "omec/omec-control-plane", Version: "0.14.1"}},
		Images: []Image{
			{Ref: "telegraf:1.17.3", Repository: "telegraf", Tag: "1.17.3", Digest: dig2, Charts: []string{"edge-monitoring"}},
			{Ref: "registry.aetherproject.org/omecproject/5gc-amf:1.4.1", Repository: "registry.aetherproject.org/omecproject/5gc-amf",
				Tag: "1.4.1", Digest: dig1, Charts: []string{"omec/omec-control-plane", "aether", "aether"}, Component: "amf", GitTag: "v1.4.1", GitCommit: sha1},
		}}
}

func TestMarshalIsSortedAndReadsBack(t *testing.T) {
	m := sample()
	data := m.Marshal()
	text := string(data)
	if !strings.HasPrefix(text, "# Release manifest of 2.1.0") {
		t.Errorf("no header comment:\n%s", text)
	}
	// Sorted: charts by path, images by ref, image charts deduplicated.
	if i, j := strings.Index(text, "path: omec/omec-control-plane"), strings.Index(text, "path: roc-api"); i < 0 || j < 0 || i > j {
		t.Errorf("charts not sorted by path:\n%s", text)
	}
	if i, j := strings.Index(text, "ref: registry.aetherproject.org"), strings.Index(text, "ref: telegraf"); i < 0 || j < 0 || i > j {
		t.Errorf("images not sorted by ref:\n%s", text)
	}
	if strings.Count(text, "- aether\n") != 1 {
		t.Errorf("image charts not deduplicated:\n%s", text)
	}
	if m.Images[0].Ref != "telegraf:1.17.3" {
		t.Errorf("Marshal sorted the caller's manifest in place")
	}
	if string(m.Marshal()) != text {
		t.Errorf("Marshal is not deterministic")
	}
	back, err := Read("releases/2.1.0.yaml", data)
	if err != nil {
		t.Fatalf("Read(Marshal()): %v", err)
	}
	if string(back.Marshal()) != text {
		t.Errorf("round trip changed the manifest:\n%s\n---\n%s", back.Marshal(), text)
	}
	if Path("2.1.0") != "releases/2.1.0.yaml" {
		t.Errorf("Path = %s", Path("2.1.0"))
	}
}

func TestEquivalentIgnoresOnlyCommitAndCreator(t *testing.T) {
	a, b := sample(), sample()
	b.ChartsCommit, b.CreatedBy = strings.Repeat("b", 40), "relkit release:point"
	b.Images[0], b.Images[1] = b.Images[1], b.Images[0]
	if !Equivalent(a, b) {
		t.Errorf("manifests differing in chartsCommit, createdBy and order are not equivalent")
	}
	b.Images[0].Digest = dig2
	if Equivalent(a, b) {
		t.Errorf("a changed digest is still equivalent")
	}
	c := sample()
	c.Charts[0].Version = "0.10.2"
	if Equivalent(a, c) {
		t.Errorf("a changed chart version is still equivalent")
	}
}

func TestReadNamesFileLineAndExpectation(t *testing.T) {
	good := string(sample().Marshal())
	for _, tc := range []struct {
		name, data, want string
	}{
		{"kind", strings.Replace(good, "kind: ReleaseManifest", "kind: Release", 1), `releases/2.1.0.yaml:5: kind is "Release"; expected ReleaseManifest`},
		{"apiVersion", strings.Replace(good, "relkit/v1", "relkit/v2", 1), `releases/2.1.0.yaml:4: apiVersion is "relkit/v2"; expected relkit/v1`},
		{"release", strings.Replace(good, "release: 2.1.0", "release: 2.1.0-dev", 1), `releases/2.1.0.yaml:6: release is "2.1.0-dev"; expected a release version X.Y.Z`},
		{"digest", strings.Replace(good, "digest: "+dig2, "digest: latest", 1), `images[1] (telegraf:1.17.3) has digest "latest"; expected the registry digest sha256:`},
		{"unknown key", strings.Replace(good, "createdBy:", "createdby:", 1), `releases/2.1.0.yaml:9: field createdby not found; expected a relkit release manifest`},
		{"syntax", good + "  - : [\n", `releases/2.1.0.yaml:`},
		{"bad ref", strings.Replace(good, "ref: telegraf:1.17.3", "ref: 'telegraf:'", 1), `empty tag after ':'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read("releases/2.1.0.yaml", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read: %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

func TestFindAndComponentImages(t *testing.T) {
	m := sample()
	m.Images = append(m.Images, Image{Ref: "docker.io/library/busybox:1.36.1", Repository: "docker.io/library/busybox", Tag: "1.36.1", Digest: dig2})
	if got := m.Find("busybox"); len(got) != 1 || got[0].Tag != "1.36.1" {
		t.Errorf("Find(busybox) = %v, want the docker.io/library/busybox image", got)
	}
	if got := m.Find("docker.io/telegraf"); len(got) != 1 || got[0].Ref != "telegraf:1.17.3" {
		t.Errorf("Find(docker.io/telegraf) = %v, want telegraf:1.17.3", got)
	}
	if got := m.Find("registry.aetherproject.org/omecproject/5gc-smf"); len(got) != 0 {
		t.Errorf("Find of an absent repo = %v", got)
	}
	if got := m.ComponentImages("amf"); len(got) != 1 || got[0].GitTag != "v1.4.1" {
		t.Errorf("ComponentImages(amf) = %v", got)
	}
	if c, ok := m.Chart("roc-api"); !ok || c.Version != "0.10.1" {
		t.Errorf("Chart(roc-api) = %v %v", c, ok)
	}
}

func TestGroupMergesSameError(t *testing.T) {
	got := Group("image", []Problem{{"a:1", "down"}, {"b:1", "down"}, {"c:1", "denied"}, {"d:1", "down"}, {"e:1", "down"}, {"f:1", "down"}})
	want := []string{"5 images (a:1, b:1, d:1, e:1 and 1 more): down", "image c:1: denied"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Group = %q, want %q", got, want)
	}
}
