package story

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The demo's CI chapter publishes every chart to the static repository
// in git and to the OCI registry, a rerun has nothing to do, and
// release:status then shows the 2.1 line's charts published.
func TestDemoPublishesAndStatusShowsPublished(t *testing.T) {
	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "demo")
	if err := Run(context.Background(), Options{Dir: dir, Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	i := strings.Index(text, ". CI publishes the charts")
	j := strings.Index(text, ". Release status of the 2.1 line")
	if i < 0 || j < i {
		t.Fatalf("no publish chapter before the status:\n%s", text)
	}
	chapter, status := text[i:j], text[j:]
	for _, want := range []string{"chart package(s) to publish", "committed", "on gh-pages and pushed", "pushed ", "Nothing to do: chart:publish -push is already complete"} {
		if !strings.Contains(chapter, want) {
			t.Errorf("publish chapter lacks %q:\n%s", want, chapter)
		}
	}
	m := regexp.MustCompile(`Charts: (\d+) on the branch, (\d+) published, (\d+) pending`).FindStringSubmatch(status)
	if m == nil || m[1] == "0" || m[1] != m[2] || m[3] != "0" {
		t.Errorf("status does not show every chart published: %v\n%s", m, status)
	}
}
