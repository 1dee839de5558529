package point

import (
	"strings"
	"testing"
)

// These tests render release notes from facts alone: no git, no charts.
// The expected pages are written out in full, so any change to the
// output (a blank line, a marker, a table row) shows.

// fullFacts is a release with something in every section: a changed, a
// new and an unchanged chart, a component patch and a taken release, a
// third-party image update, a new image, fixes with and without a
// cherry-pick source, and a chart that did not render.
func fullFacts() *Facts {
	return &Facts{
		Title: "Aether 2.1.1", Version: "2.1.1", Branch: "aether-2.1",
		ChartsRepo: "aether-helm-charts", Tag: "v2.1.1",
		Prev: "2.1.0", PrevOnBranch: true,
		Charts: []ChartFact{
			{Name: "omec-control-plane", Dir: "omec/omec-control-plane", Version: "0.15.1", Prev: "0.15.0"},
			{Name: "edge-monitoring", Dir: "edge-monitoring", Version: "0.7.0", Prev: "0.7.0"},
			{Name: "roc-api", Dir: "roc-api", Version: "1.0.0"},
		},
		Images: []ImageFact{
			{Name: "registry.example.org/omec/amf", Tags: []string{"1.4.2"}, Charts: []string{"omec-control-plane"}, Component: "amf", Prev: []string{"1.4.0"}},
			{Name: "docker.io/library/busybox", Tags: []string{"1.36"}, Charts: []string{"edge-monitoring", "roc-api"}, Prev: []string{"1.35"}},
			{Name: "docker.io/curlimages/curl", Tags: []string{"7.77.0", "@sha256:abc"}, Charts: []string{"roc-api"}},
			{Name: "docker.io/library/telegraf", Tags: []string{"1.17"}, Charts: []string{"edge-monitoring"}, Prev: []string{"1.17"}},
		},
		Components: []ComponentFact{
			{Name: "amf", Old: "1.4.0", New: "1.4.2", Commits: []string{"Retry AUSF requests on 503", "Fix the NGAP keepalive"}},
			{Name: "smf", Old: "1.3.0", New: "1.3.4", Taken: true},
		},
		Picked: []CommitFact{
			{Hash: "1111111aaaaaaa", Subject: "omec-control-plane: wait longer", From: "2222222bbbbbbb"},
			{Hash: "3333333ccccccc", Subject: "roc-api: made on the branch"},
		},
		Unrendered: []string{"sdcore", "roc"},
	}
}

// quietFacts is a first release with nothing to compare with and no fixes.
func quietFacts() *Facts {
	return &Facts{
		Title: "Release 2.1.0", Version: "2.1.0", Branch: "rel-2.1", ChartsRepo: "charts", Tag: "2.1.0",
		Charts: []ChartFact{{Name: "app", Dir: "app", Version: "1.0.0"}},
		Images: []ImageFact{{Name: "example.org/app", Tags: []string{"1.0.0"}, Charts: []string{"app"}, Component: "app"}},
	}
}

func TestRenderMarkdown(t *testing.T) {
	want := strings.Join([]string{
		"<!-- relkit:release-notes begin: written by relkit release:point; what is between these markers is rewritten -->",
		"",
		"Aether 2.1.1 is point release 2.1.1 of branch aether-2.1 of aether-helm-charts (tag v2.1.1). The images of sdcore, roc could not all be listed: they did not render offline.",
		"",
		"## Changes since 2.1.0",
		"",
		"### Chart versions",
		"",
		"| Chart | 2.1.0 | 2.1.1 |",
		"|---|---|---|",
		"| omec-control-plane | 0.15.0 | 0.15.1 |",
		"| roc-api | (new) | 1.0.0 |",
		"",
		"### Component releases",
		"",
		"- **amf** 1.4.0 → 1.4.2",
		"  - Retry AUSF requests on 503",
		"  - Fix the NGAP keepalive",
		"- **smf** 1.3.0 → 1.3.4 (an existing release, shipped as it is: every change listed comes with it)",
		"",
		"### Other image updates",
		"",
		"- `docker.io/library/busybox` 1.35 → 1.36",
		"- `docker.io/curlimages/curl` (new) → 7.77.0, @sha256:abc",
		"",
		"### Fixes on aether-2.1",
		"",
		"- omec-control-plane: wait longer (`1111111`, cherry-picked from `2222222`)",
		"- roc-api: made on the branch (`3333333`)",
		"",
		"## Charts",
		"",
		"| Chart | Path | Version |",
		"|---|---|---|",
		"| omec-control-plane | `omec/omec-control-plane` | 0.15.1 |",
		"| edge-monitoring | `edge-monitoring` | 0.7.0 |",
		"| roc-api | `roc-api` | 1.0.0 |",
		"",
		"## Images",
		"",
		"| Image | Tag | Charts |",
		"|---|---|---|",
		"| `registry.example.org/omec/amf` (amf) | 1.4.2 | omec-control-plane |",
		"| `docker.io/library/busybox` | 1.36 | edge-monitoring, roc-api |",
		"| `docker.io/curlimages/curl` | 7.77.0, @sha256:abc | roc-api |",
		"| `docker.io/library/telegraf` | 1.17 | edge-monitoring |",
		"",
		"<!-- relkit:release-notes end -->",
		"",
	}, "\n")
	assertText(t, Render(fullFacts(), Markdown), want)

	quiet := strings.Join([]string{
		"<!-- relkit:release-notes begin: written by relkit release:point; what is between these markers is rewritten -->",
		"",
		"Release 2.1.0 is point release 2.1.0 of branch rel-2.1 of charts (tag 2.1.0).",
		"",
		"## Changes",
		"",
		"No chart, image or fix changed.",
		"",
		"## Charts",
		"",
		"| Chart | Path | Version |",
		"|---|---|---|",
		"| app | `app` | 1.0.0 |",
		"",
		"## Images",
		"",
		"| Image | Tag | Charts |",
		"|---|---|---|",
		"| `example.org/app` (app) | 1.0.0 | app |",
		"",
		"<!-- relkit:release-notes end -->",
		"",
	}, "\n")
	assertText(t, Render(quietFacts(), Markdown), quiet)
	// Any format that is not reStructuredText is Markdown.
	assertText(t, Render(quietFacts(), Format("")), quiet)
}

func TestRenderRST(t *testing.T) {
	want := strings.Join([]string{
		".. relkit:release-notes begin: written by relkit release:point; what is between these markers is rewritten",
		"",
		"Aether 2.1.1 is point release 2.1.1 of branch aether-2.1 of aether-helm-charts (tag v2.1.1). The images of sdcore, roc could not all be listed: they did not render offline.",
		"",
		"Changes since 2.1.0",
		"-------------------",
		"",
		"Chart versions",
		"~~~~~~~~~~~~~~",
		"",
		".. list-table::",
		"   :header-rows: 1",
		"",
		"   * - Chart",
		"     - 2.1.0",
		"     - 2.1.1",
		"   * - omec-control-plane",
		"     - 0.15.0",
		"     - 0.15.1",
		"   * - roc-api",
		"     - (new)",
		"     - 1.0.0",
		"",
		"Component releases",
		"~~~~~~~~~~~~~~~~~~",
		"",
		"- **amf** 1.4.0 → 1.4.2",
		"",
		"  - Retry AUSF requests on 503",
		"  - Fix the NGAP keepalive",
		"",
		"- **smf** 1.3.0 → 1.3.4 (an existing release, shipped as it is: every change listed comes with it)",
		"",
		"Other image updates",
		"~~~~~~~~~~~~~~~~~~~",
		"",
		"- ``docker.io/library/busybox`` 1.35 → 1.36",
		"- ``docker.io/curlimages/curl`` (new) → 7.77.0, @sha256:abc",
		"",
		"Fixes on aether-2.1",
		"~~~~~~~~~~~~~~~~~~~",
		"",
		"- omec-control-plane: wait longer (``1111111``, cherry-picked from ``2222222``)",
		"- roc-api: made on the branch (``3333333``)",
		"",
		"Charts",
		"------",
		"",
		".. list-table::",
		"   :header-rows: 1",
		"",
		"   * - Chart",
		"     - Path",
		"     - Version",
		"   * - omec-control-plane",
		"     - ``omec/omec-control-plane``",
		"     - 0.15.1",
		"   * - edge-monitoring",
		"     - ``edge-monitoring``",
		"     - 0.7.0",
		"   * - roc-api",
		"     - ``roc-api``",
		"     - 1.0.0",
		"",
		"Images",
		"------",
		"",
		".. list-table::",
		"   :header-rows: 1",
		"",
		"   * - Image",
		"     - Tag",
		"     - Charts",
		"   * - ``registry.example.org/omec/amf`` (amf)",
		"     - 1.4.2",
		"     - omec-control-plane",
		"   * - ``docker.io/library/busybox``",
		"     - 1.36",
		"     - edge-monitoring, roc-api",
		"   * - ``docker.io/curlimages/curl``",
		"     - 7.77.0, @sha256:abc",
		"     - roc-api",
		"   * - ``docker.io/library/telegraf``",
		"     - 1.17",
		"     - edge-monitoring",
		"",
		".. relkit:release-notes end",
		"",
	}, "\n")
	assertText(t, Render(fullFacts(), RST), want)

	// Nothing changed, and an empty cell is a space: an empty list-table
	// item breaks the table. (The tables are written out in full above.)
	quiet := quietFacts()
	quiet.Images[0].Charts = nil
	got := Render(quiet, RST)
	if want := "(tag 2.1.0).\n\nChanges\n-------\n\nNo chart, image or fix changed.\n\nCharts\n------\n\n"; !strings.Contains(got, want) {
		t.Errorf("the quiet rst notes should contain %q:\n%s", want, got)
	}
	if want := "   * - ``example.org/app`` (app)\n     - 1.0.0\n     -  \n\n.. relkit:release-notes end\n"; !strings.HasSuffix(got, want) {
		t.Errorf("the quiet rst notes should end with %q:\n%s", want, got)
	}
}

// A page is new (title, then the section), keeps what people wrote
// around an earlier section, or gets the section added at its end.
func TestPage(t *testing.T) {
	f := quietFacts()
	md, rst := Render(f, Markdown), Render(f, RST)
	cases := []struct {
		name     string
		existing string
		format   Format
		want     string
	}{
		{"new markdown", "", Markdown, "# Release 2.1.0\n\n" + md},
		{"new rst, title underlined to its length", "", RST, "Release 2.1.0\n=============\n\n" + rst},
		{"draft without markers, no final newline", "# Draft\n\nKnown issues: none", Markdown, "# Draft\n\nKnown issues: none\n\n" + md},
		{"draft without markers", "# Draft\n", Markdown, "# Draft\n\n" + md},
		{"section replaced, the text around it kept", "# Draft\n\nBefore.\n<!-- relkit:release-notes begin: old -->\nold\n<!-- relkit:release-notes end -->\nAfter.\n", Markdown,
			"# Draft\n\nBefore.\n" + md + "After.\n"},
		{"rst section replaced at the end", "Draft\n=====\n\n.. relkit:release-notes begin\nold\n.. relkit:release-notes end", RST,
			"Draft\n=====\n\n" + rst},
		{"markers in the wrong order are not a section", "relkit:release-notes end\nrelkit:release-notes begin\n", Markdown,
			"relkit:release-notes end\nrelkit:release-notes begin\n\n" + md},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var existing []byte
			if c.existing != "" {
				existing = []byte(c.existing)
			}
			assertText(t, string(Page(existing, f, c.format)), c.want)
		})
	}
}

func assertText(t *testing.T, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			t.Errorf("line %d: got %q, want %q\ngot:\n%s", i+1, gl, wl, got)
			return
		}
	}
}
