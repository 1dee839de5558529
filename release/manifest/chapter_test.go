package manifest

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemoManifestChapter(t *testing.T) {
	fx := newFixture(t)
	var out bytes.Buffer
	if err := DemoManifest(context.Background(), &out, fx.ws, "2.1"); err != nil {
		t.Fatalf("DemoManifest: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"== release:manifest 2.1",
		"Created releases/2.1.0.yaml on aether-2.1",
		"apiVersion: relkit/v1",
		"gitTag: v1.4.1",
		"== release:verify 2.1.0",
		"OK: every image of 2.1.0 still resolves to the recorded digest.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("chapter output lacks %q", want)
		}
	}
	if testing.Verbose() {
		t.Log("\n" + out.String())
	}
}
