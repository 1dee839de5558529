package imageref

import (
	"strings"
	"testing"

	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

const dig = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	cases := []struct {
		in                          string
		registry, repo, tag, digest string
		canonical                   string
	}{
		{"nginx", "", "nginx", "", "", "index.docker.io/library/nginx"},
		{"nginx:1.25.3", "", "nginx", "1.25.3", "", "index.docker.io/library/nginx"},
		{"curlimages/curl:7.77.0", "", "curlimages/curl", "7.77.0", "", "index.docker.io/curlimages/curl"},
		{"registry.example.org/proxy/omec/hss:1.2.3", "registry.example.org", "proxy/omec/hss", "1.2.3", "", "registry.example.org/proxy/omec/hss"},
		{"registry:5000/team/app:1.0.0", "registry:5000", "team/app", "1.0.0", "", "registry:5000/team/app"},
		{"registry:5000/team/app", "registry:5000", "team/app", "", "", "registry:5000/team/app"},
		{"localhost/app:v1.2.3", "localhost", "app", "v1.2.3", "", "localhost/app"},
		{"myhost/app:1.0.0", "", "myhost/app", "1.0.0", "", "index.docker.io/myhost/app"},
		{"ghcr.io/org/app@" + dig, "ghcr.io", "org/app", "", dig, "ghcr.io/org/app"},
		{"ghcr.io/org/app:1.2.3@" + dig, "ghcr.io", "org/app", "1.2.3", dig, "ghcr.io/org/app"},
		{"[::1]:5000/app:1.0.0", "[::1]:5000", "app", "1.0.0", "", "[::1]:5000/app"},
	}
	for _, c := range cases {
		r, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if r.Registry != c.registry || r.Repository != c.repo || r.Tag != c.tag || r.Digest != c.digest {
			t.Errorf("Parse(%q) = registry %q repo %q tag %q digest %q; expected %q %q %q %q",
				c.in, r.Registry, r.Repository, r.Tag, r.Digest, c.registry, c.repo, c.tag, c.digest)
		}
		if got := r.Canonical(); got != c.canonical {
			t.Errorf("Parse(%q).Canonical() = %q; expected %q", c.in, got, c.canonical)
		}
		if r.String() != c.in {
			t.Errorf("Parse(%q).String() = %q; expected the original", c.in, r.String())
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"", "registry.example.org/omec/hss:", "Org/App:1.0", "app:bad tag", "app@sha256:short",
		"app@", "registry.example.org/", "app:" + strings.Repeat("x", 200), "a//b:1.0.0",
	} {
		if r, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v; expected an error", in, r)
		} else if !strings.Contains(err.Error(), "image reference") && !strings.Contains(err.Error(), "empty") {
			t.Errorf("Parse(%q): error %q does not say what was parsed", in, err)
		}
	}
}

func TestSameRepository(t *testing.T) {
	r, _ := Parse("nginx:1.25.3")
	for _, other := range []string{"nginx", "docker.io/library/nginx", "index.docker.io/library/nginx", "library/nginx"} {
		if !r.SameRepository(other) {
			t.Errorf("nginx should be the same repository as %q", other)
		}
	}
	if r.SameRepository("ghcr.io/nginx") {
		t.Errorf("nginx should not match ghcr.io/nginx")
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.1.2.3": true, "localhost:5000": true, "localhost": true, "[::1]:5000": true,
		"registry.example.org": false, "10.0.0.1:5000": false, "127.0.0.1.example.org": false, "128.0.0.1": false,
		"localhost.example.org": false, "registry.localhost:5000": true, "[0:0:0:0:0:0:0:1]:5000": true, "::1": true,
		"[::2]:5000": false, "localhost:": true,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v; expected %v", host, got, want)
		}
	}
}

var policy = workspace.ImagePolicy{MovingTags: workspace.DefaultMovingTags, ReleaseTagForms: []string{"rel-{version}"}}

// classifySeeds are the tag shapes of the field notes with their class
// under policy; they seed the fuzzer and run as a normal test.
var classifySeeds = []struct {
	ref  string
	want Class
}{
	{"org/x:1.2.3", Release},
	{"org/x:v1.2.3", Release},
	{"org/x:rel-1.2.3", Release},
	{"org/x:master-771c0c3", NotRelease},
	{"org/x:1.2.3-dev", NotRelease},
	{"org/x:1.17", NotRelease},
	{"org/x:1.02.3", NotRelease},
	{"org/x:V1.2.3", NotRelease},
	{"org/x:stable", Moving},
	{"org/x:latest", Moving},
	{"org/x:Master", Moving},
	{"org/x", Untagged},
	{"registry:5000/team/app", Untagged},
	{"registry:5000/team/app:1.0.0", Release},
	{"org/x@" + dig, Pinned},
	{"org/x:1.2.3@" + dig, Pinned},
	{"org/x:master-771c0c3@" + dig, Pinned},
	{"org/x:latest@" + dig, PinnedMoving},
}

func TestClassify(t *testing.T) {
	for _, s := range classifySeeds {
		r, err := Parse(s.ref)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s.ref, err)
		}
		if got := Classify(r, policy); got != s.want {
			t.Errorf("Classify(%q) = %s; expected %s", s.ref, got, s.want)
		}
	}
	// Without the declared form, rel-1.2.3 is not a release.
	r, _ := Parse("org/x:rel-1.2.3")
	if got := Classify(r, workspace.ImagePolicy{MovingTags: workspace.DefaultMovingTags}); got != NotRelease {
		t.Errorf("rel-1.2.3 without releaseTagForms: got %s; expected %s", got, NotRelease)
	}
	if v, f, ok := ReleaseVersion("rel-2.0.1-x", []string{"rel-{version}-x"}); !ok || v != "2.0.1" || f != "rel-{version}-x" {
		t.Errorf("ReleaseVersion(rel-2.0.1-x) = %q %q %v; expected 2.0.1 from rel-{version}-x", v, f, ok)
	}
}

// FuzzClassify checks the invariants linking parsing and classification:
// a release tag holds a SemVer release in a declared form, untagged means
// no tag and no digest, moving means the policy lists the tag, and a
// parsed reference gives back its original.
func FuzzClassify(f *testing.F) {
	for _, s := range classifySeeds {
		f.Add(s.ref)
	}
	f.Add("registry.example.org/proxy/omec/hss:1.2.3")
	f.Add("a:b:c")
	f.Add("@sha256:")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, r.String())
		}
		rebuilt := r.Name()
		if r.Tag != "" {
			rebuilt += ":" + r.Tag
		}
		if r.Digest != "" {
			rebuilt += "@" + r.Digest
		}
		if rebuilt != s {
			t.Fatalf("Parse(%q) parts rebuild %q", s, rebuilt)
		}
		c := Classify(r, policy)
		switch c {
		case Untagged:
			if r.Tag != "" || r.Digest != "" {
				t.Fatalf("%q untagged but tag %q digest %q", s, r.Tag, r.Digest)
			}
		case Release:
			v, form, ok := ReleaseVersion(r.Tag, policy.ReleaseTagForms)
			if !ok || !version.IsRelease(v) || strings.Replace(form, "{version}", v, 1) != r.Tag {
				t.Fatalf("%q release but version %q form %q", s, v, form)
			}
			if r.Digest != "" {
				t.Fatalf("%q has a digest but classified %s", s, c)
			}
		case Moving, PinnedMoving:
			if !policy.IsMoving(r.Tag) {
				t.Fatalf("%q classified %s but tag %q is not in the moving list", s, c, r.Tag)
			}
		case NotRelease:
			if r.Tag == "" || policy.IsMoving(r.Tag) {
				t.Fatalf("%q not-release with tag %q", s, r.Tag)
			}
			if _, _, ok := ReleaseVersion(r.Tag, policy.ReleaseTagForms); ok {
				t.Fatalf("%q not-release but tag %q is a release form", s, r.Tag)
			}
		case Pinned:
			if r.Digest == "" {
				t.Fatalf("%q pinned without digest", s)
			}
		default:
			t.Fatalf("%q: unknown class %q", s, c)
		}
		if ct := ClassifyTag(r.Tag, policy); r.Digest == "" && ct != c {
			t.Fatalf("%q: ClassifyTag %s differs from Classify %s without digest", s, ct, c)
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	refs := make([]Ref, 0, len(classifySeeds))
	for _, s := range classifySeeds {
		r, _ := Parse(s.ref)
		refs = append(refs, r)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Classify(refs[i%len(refs)], policy)
	}
}

func BenchmarkParse(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(classifySeeds[i%len(classifySeeds)].ref); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSuggestForm(t *testing.T) {
	for tag, want := range map[string]string{
		"rel-1.2.3":           "rel-{version}",
		"release-2.0.16":      "release-{version}",
		"1.2.3-aether-2.1.x":  "{version}-aether-2.1.x",
		"2.0.16-aether-2.0.x": "{version}-aether-2.0.x",
		"v1.2.3-ubuntu":       "v{version}-ubuntu",
		// not a form: a release already, a build, no single version
		"1.2.3":              "",
		"v1.2.3":             "",
		"1.2.3-dev":          "",
		"1.2.3-rc1":          "",
		"rel-1.2.3-SNAPSHOT": "",
		"1.2.3-1":            "",
		"1.2.3-771c0c3":      "",
		"master-1.2.3":       "",
		"dev-1.2.3":          "",
		"master-771c0c3":     "",
		"1.17":               "",
		"1.2.3.4":            "",
		"1.2.3-to-4.5.6":     "",
		"rel-01.2.3":         "",
		"latest":             "",
	} {
		got, ok := SuggestForm(tag)
		if got != want || ok != (want != "") {
			t.Errorf("SuggestForm(%q) = %q, %v; expected %q", tag, got, ok, want)
			continue
		}
		if ok {
			if v, _, rel := ReleaseVersion(tag, []string{got}); !rel || !version.IsRelease(v) {
				t.Errorf("SuggestForm(%q) = %q, which does not make %q a release", tag, got, tag)
			}
		}
	}
}
