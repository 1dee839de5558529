package render

import (
	"strings"
	"testing"
)

// FuzzCollectImages: any rendered text, valid YAML or not, gives back
// trimmed, non-empty, distinct references and never panics.
func FuzzCollectImages(f *testing.F) {
	for _, s := range []string{
		"spec:\n  containers:\n    - image: org/x:1.2.3\n",
		"image: {repository: org/x, tag: 1.0.0, registry: r.io/}\n",
		"a: [\nimage: org/broken:1\n",
		"---\nimage: &a org/x:1\nother: *a\n---\nimage: ~\n",
		"image: \"  spaced:1.0.0  \"\n",
		"images: {image: [org/y:1]}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := collectImages(s)
		seen := map[string]bool{}
		for _, ref := range got {
			if ref == "" || strings.TrimSpace(ref) != ref {
				t.Fatalf("collectImages(%q) returned %q", s, ref)
			}
			if seen[ref] {
				t.Fatalf("collectImages(%q) returned %q twice", s, ref)
			}
			seen[ref] = true
		}
	})
}
