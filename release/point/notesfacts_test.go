package point

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/workspace"
)

// The facts of the notes from rendered charts and git log output, without
// git or helm.

func TestChartFacts(t *testing.T) {
	now := []charts.Chart{
		{Name: "amf", Dir: "omec/amf", Version: "1.1.0"},
		{Dir: "unnamed", Version: "0.1.0"},
		{Name: "moved", Dir: "new/place", Version: "2.0.0"},
	}
	prev := []charts.Chart{
		{Name: "amf", Dir: "omec/amf", Version: "1.0.0"},
		{Dir: "unnamed", Version: "0.1.0"},
		{Name: "moved", Dir: "old/place", Version: "2.0.0"},
	}
	got := chartFacts(now, prev)
	want := []ChartFact{
		{Name: "amf", Dir: "omec/amf", Version: "1.1.0", Prev: "1.0.0"},
		{Name: "unnamed", Dir: "unnamed", Version: "0.1.0", Prev: "0.1.0"},
		// Charts are matched by directory: a moved chart is new.
		{Name: "moved", Dir: "new/place", Version: "2.0.0"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chartFacts:\n got %+v\nwant %+v", got, want)
	}
	if c := chartFacts(now, nil); c[0].Prev != "" || !c[0].Changed() {
		t.Errorf("without a previous release every chart is new: %+v", c[0])
	}
}

func TestRenderedImagesAndImageFacts(t *testing.T) {
	ws := &workspace.Config{Components: []*workspace.Repo{{Name: "amf", Images: []string{"registry.example.org/omec/amf"}}}}
	res := func(dir, name string, refs ...string) render.Result {
		r := render.Result{Chart: charts.Chart{Dir: dir, Name: name}}
		for _, ref := range refs {
			r.Images = append(r.Images, render.Image{Ref: ref, Chart: dir})
		}
		return r
	}
	broken := res("broken", "broken", "docker.io/library/busybox:1.36")
	broken.Err = errors.New("does not render")
	partial := res("partial", "", "docker.io/library/busybox:1.35")
	partial.Failed = []render.TemplateError{{}}
	now := []render.Result{
		res("cp", "control-plane", "registry.example.org/omec/amf:1.4.2", "registry.example.org/omec/amf:1.4.2", "docker.io/curlimages/curl:7.77.0@sha256:"+strings.Repeat("a", 64)),
		res("mon", "", "docker.io/curlimages/curl@sha256:"+strings.Repeat("b", 64), "not a reference!"),
		broken, partial,
	}
	images, bad := renderedImages(now, ws)
	if want := []string{"broken", "partial"}; !reflect.DeepEqual(bad, want) {
		t.Errorf("unrendered = %v, want %v", bad, want)
	}
	prevImages, _ := renderedImages([]render.Result{res("cp", "control-plane", "registry.example.org/omec/amf:1.4.0", "docker.io/library/busybox:1.36")}, ws)
	got := imageFacts(images, prevImages)
	want := []ImageFact{
		{Name: "docker.io/curlimages/curl", Tags: []string{"7.77.0@sha256:" + strings.Repeat("a", 64), "@sha256:" + strings.Repeat("b", 64)}, Charts: []string{"control-plane", "mon"}},
		{Name: "docker.io/library/busybox", Tags: []string{"1.35", "1.36"}, Charts: []string{"broken", "partial"}, Prev: []string{"1.36"}},
		{Name: "registry.example.org/omec/amf", Tags: []string{"1.4.2"}, Charts: []string{"control-plane"}, Component: "amf", Prev: []string{"1.4.0"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("imageFacts:\n got %+v\nwant %+v", got, want)
	}
}

func TestChangedComponents(t *testing.T) {
	images := []ImageFact{
		{Name: "r/amf", Component: "amf", Tags: []string{"v1.4.2"}, Prev: []string{"1.4.0"}},
		{Name: "r/amf-debug", Component: "amf", Tags: []string{"1.9.9"}, Prev: []string{"1.0.0"}}, // the first image of amf decides
		{Name: "r/smf", Component: "smf", Tags: []string{"rel-1.3.1"}, Prev: []string{"rel-1.3.0"}},
		{Name: "r/upf", Component: "upf", Tags: []string{"2.0.0"}, Prev: []string{"2.0.0"}},                  // unchanged
		{Name: "r/nrf", Component: "nrf", Tags: []string{"1.1.0", "1.2.0"}, Prev: []string{"1.0.0"}},         // several tags say nothing
		{Name: "r/ausf", Component: "ausf", Tags: []string{"1.1.0"}},                                         // new
		{Name: "r/pcf", Component: "pcf", Tags: []string{"master-abc1234"}, Prev: []string{"1.0.0"}},         // not a release
		{Name: "docker.io/library/busybox", Tags: []string{"1.36.0"}, Prev: []string{"1.35.0"}},              // third party
		{Name: "r/ueransim", Component: "ueransim", Tags: []string{"2.0.0-aether"}, Prev: []string{"1.0.0"}}, // no such form
	}
	got := changedComponents(images, []string{"rel-{version}"})
	want := []ComponentFact{{Name: "amf", Old: "1.4.0", New: "1.4.2"}, {Name: "smf", Old: "1.3.0", New: "1.3.1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changedComponents:\n got %+v\nwant %+v", got, want)
	}
	if got := changedComponents(images, nil); len(got) != 1 || got[0].Name != "amf" {
		t.Errorf("without the rel- form only amf changed, got %+v", got)
	}
	markTaken(got, []string{"smf 1.3.1", "amf 1.4.1"})
	if got[0].Taken {
		t.Errorf("amf 1.4.2 was not taken (amf 1.4.1 was): %+v", got[0])
	}
	markTaken(got, []string{"amf 1.4.2"})
	if !got[0].Taken {
		t.Errorf("amf 1.4.2 was taken: %+v", got[0])
	}
}

// gitLog builds git log output in format: fields of one record joined with
// NUL, records each started by the record separator.
func gitLog(records ...[]string) string {
	var b strings.Builder
	for _, r := range records {
		b.WriteString("\x1e" + strings.Join(r, "\x00"))
	}
	return b.String()
}

func TestComponentSubjects(t *testing.T) {
	out := gitLog( // newest first, as git log writes it
		[]string{"Start 1.5 development", "Start 1.5 development\n\nRelkit-Branch: aether-2.1\n", "\nVERSION\n"},
		[]string{"Release 1.4.2", "Release 1.4.2\n", "\nVERSION\n"},
		[]string{"Fix the NGAP keepalive", "Fix the NGAP keepalive\n", "\nkeepalive.go\nVERSION\n"},
		[]string{"Empty commit", "Empty commit\n", "\n"},
		[]string{"Retry AUSF requests on 503", "Retry AUSF requests on 503\n", "\nausf/client.go\n"},
		[]string{"truncated record"},
	)
	want := []string{"Retry AUSF requests on 503", "Fix the NGAP keepalive"}
	if got := componentSubjects(out, "VERSION"); !reflect.DeepEqual(got, want) {
		t.Errorf("componentSubjects = %q, want %q", got, want)
	}
	// The version file is the component's: a commit touching only
	// another repo's VERSION name is a change.
	if got := componentSubjects(out, "version.txt"); len(got) != 3 || got[1] != "Fix the NGAP keepalive" || got[2] != "Release 1.4.2" {
		t.Errorf("with version.txt as the version file, Release 1.4.2 changes code: %q", got)
	}
}

func TestPickedCommits(t *testing.T) {
	src1, src2 := strings.Repeat("1", 40), strings.Repeat("2", 40)
	out := gitLog(
		[]string{"ccc", "Bump chart versions", "Bump chart versions\n\nRelkit-Patch: aether-2.1\n"},
		[]string{"bbb", "Fix twice picked", "Fix twice picked\n\n" + cherry.PickTrailer(src1) + "\n" + cherry.PickTrailer(src2) + "\n"},
		[]string{"aaa", "Made on the branch", "Made on the branch\n"},
	)
	want := []CommitFact{{Hash: "aaa", Subject: "Made on the branch"}, {Hash: "bbb", Subject: "Fix twice picked", From: src2}}
	if got := pickedCommits(out); !reflect.DeepEqual(got, want) {
		t.Errorf("pickedCommits:\n got %+v\nwant %+v", got, want)
	}
	if got := pickedCommits(""); got != nil {
		t.Errorf("no log, no commits: %+v", got)
	}
}

func TestTrailerValuesOfLog(t *testing.T) {
	out := "Update amf\n\nRelkit-Patch: aether-2.1\nRelkit-Use: amf 1.4.3\n\x00Fix\n\x00Update smf\n\n  Relkit-Use:  smf 1.3.1  \n\x00"
	want := []string{"amf 1.4.3", "smf 1.3.1"}
	if got := trailerValuesOfLog(out, "Relkit-Use"); !reflect.DeepEqual(got, want) {
		t.Errorf("trailerValuesOfLog = %q, want %q", got, want)
	}
}
