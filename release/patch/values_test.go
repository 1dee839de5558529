package patch

import (
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/render"
)

// TagEditFor writes the new tag the way each kind of value holds it; an
// appVersion the template wraps (v{{ .Chart.AppVersion }}) keeps the
// wrapping, and a new tag that does not fit it is an error, never a
// silently wrong tag.
func TestTagEditFor(t *testing.T) {
	values := "image:\n  tag: rel-3.1.0\nimages:\n  tags:\n    amf: omecproject/5gc-amf:rel-3.1.0\n"
	chart := "apiVersion: v2\nname: amf\nversion: 4.1.0\nappVersion: \"3.1.0\"\n"
	for _, tc := range []struct {
		name         string
		data         string
		img          render.Image
		oldTag, new  string
		want, errSub string
	}{
		{"tag alone", values, render.Image{ValuesFile: "values.yaml", ValuesPath: "image.tag", ValuesLine: 2, ValuesHolds: render.HoldsTag},
			"rel-3.1.0", "rel-3.1.4", "rel-3.1.4", ""},
		{"reference", values, render.Image{ValuesFile: "values.yaml", ValuesPath: "images.tags.amf", ValuesLine: 5, ValuesHolds: render.HoldsRef},
			"rel-3.1.0", "rel-3.1.4", "omecproject/5gc-amf:rel-3.1.4", ""},
		{"reference, another form", values, render.Image{ValuesFile: "values.yaml", ValuesPath: "images.tags.amf", ValuesLine: 5, ValuesHolds: render.HoldsRef},
			"rel-3.1.0", "3.1.4", "omecproject/5gc-amf:3.1.4", ""},
		{"tag that is not the old one", values, render.Image{ValuesFile: "values.yaml", ValuesPath: "image.tag", ValuesLine: 2, ValuesHolds: render.HoldsTag},
			"3.1.0", "3.1.4", "", `holds "rel-3.1.0", expected the tag "3.1.0"`},
		{"appVersion as the tag", chart, render.Image{ValuesFile: "Chart.yaml", ValuesPath: "appVersion", ValuesLine: 4, ValuesHolds: render.HoldsAppVersion},
			"3.1.0", "3.1.4", "3.1.4", ""},
		{"appVersion wrapped in v", chart, render.Image{ValuesFile: "Chart.yaml", ValuesPath: "appVersion", ValuesLine: 4, ValuesHolds: render.HoldsAppVersion},
			"v3.1.0", "v3.1.4", "3.1.4", ""},
		{"appVersion wrapped in rel-", chart, render.Image{ValuesFile: "Chart.yaml", ValuesPath: "appVersion", ValuesLine: 4, ValuesHolds: render.HoldsAppVersion},
			"rel-3.1.0", "rel-3.1.4", "3.1.4", ""},
		{"appVersion wrapped in v, new tag without", chart, render.Image{ValuesFile: "Chart.yaml", ValuesPath: "appVersion", ValuesLine: 4, ValuesHolds: render.HoldsAppVersion},
			"v3.1.0", "3.1.4", "", `the new tag "3.1.4" does not fit that form`},
		{"appVersion not in the tag", chart, render.Image{ValuesFile: "Chart.yaml", ValuesPath: "appVersion", ValuesLine: 4, ValuesHolds: render.HoldsAppVersion},
			"2.0.0", "2.0.1", "", `holds "3.1.0", expected the tag "2.0.0"`},
		{"digest", values, render.Image{Ref: "x@sha256:00", ValuesFile: "values.yaml", ValuesPath: "image.tag", ValuesLine: 2, ValuesHolds: render.HoldsDigest},
			"rel-3.1.0", "rel-3.1.4", "", "pinned by digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := TagEditFor([]byte(tc.data), tc.img, tc.oldTag, tc.new)
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("want an error containing %q, got %v (edit %+v)", tc.errSub, err, e)
				}
				return
			}
			if err != nil || e.New != tc.want {
				t.Fatalf("got %q, %v; want %q", e.New, err, tc.want)
			}
		})
	}
}
