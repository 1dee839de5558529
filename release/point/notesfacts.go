package point

import (
	"maps"
	"slices"
	"strings"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/workspace"
)

// What the reads of notes.go mean: pure functions from rendered charts
// and git log output to Facts, tested without git.

// chartsOf lists the charts of render results.
func chartsOf(results []render.Result) []charts.Chart {
	var list []charts.Chart
	for _, res := range results {
		list = append(list, res.Chart)
	}
	return list
}

// chartName is how the notes name a chart: its name, else its directory.
func chartName(c charts.Chart) string {
	if c.Name == "" {
		return c.Dir
	}
	return c.Name
}

// chartFacts lists the release's charts, each with its version in the
// previous release (matched by directory; "" when it is new).
func chartFacts(now, prev []charts.Chart) []ChartFact {
	prevByDir := map[string]string{}
	for _, c := range prev {
		prevByDir[c.Dir] = c.Version
	}
	var out []ChartFact
	for _, c := range now {
		out = append(out, ChartFact{Name: chartName(c), Dir: c.Dir, Version: c.Version, Prev: prevByDir[c.Dir]})
	}
	return out
}

// renderedImages lists the images the render results hold, by image
// repository (tags and charts sorted, the component that builds it
// named), and the charts that did not render fully. A reference that
// does not parse is left out: check:images reports it.
func renderedImages(results []render.Result, ws *workspace.Config) (map[string]*ImageFact, []string) {
	images := map[string]*ImageFact{}
	var bad []string
	for _, res := range results {
		if res.Err != nil || len(res.Failed) > 0 {
			bad = append(bad, res.Chart.Dir)
		}
		for _, img := range res.Images {
			ref, err := imageref.Parse(img.Ref)
			if err != nil {
				continue
			}
			im := images[ref.Name()]
			if im == nil {
				im = &ImageFact{Name: ref.Name()}
				if c, ok := componentOf(ws, ref); ok {
					im.Component = c.Name
				}
				images[ref.Name()] = im
			}
			if tag := tagAndDigest(ref); !slices.Contains(im.Tags, tag) {
				im.Tags = append(im.Tags, tag)
			}
			if name := chartName(res.Chart); !slices.Contains(im.Charts, name) {
				im.Charts = append(im.Charts, name)
			}
		}
	}
	for _, im := range images {
		slices.Sort(im.Tags)
		slices.Sort(im.Charts)
	}
	return images, bad
}

// tagAndDigest is how the notes show what a reference pins: "1.2.3",
// "1.2.3@sha256:...", or "@sha256:..." for a digest alone.
func tagAndDigest(ref imageref.Ref) string {
	if ref.Digest == "" {
		return ref.Tag
	}
	return ref.Tag + "@" + ref.Digest
}

func componentOf(ws *workspace.Config, ref imageref.Ref) (*workspace.Repo, bool) {
	for _, c := range ws.Components {
		if slices.ContainsFunc(c.Images, ref.SameRepository) {
			return c, true
		}
	}
	return nil, false
}

// imageFacts lists the release's images by repository name, each with its
// tags in the previous release.
func imageFacts(now, prev map[string]*ImageFact) []ImageFact {
	var out []ImageFact
	for _, n := range slices.Sorted(maps.Keys(now)) {
		im := *now[n]
		im.Prev = nil
		if p := prev[n]; p != nil {
			im.Prev = p.Tags
		}
		out = append(out, im)
	}
	return out
}

// changedComponents lists, by name, the components whose shipped release
// changed: an image of theirs went from one release tag to another (forms
// are images.releaseTagForms). The first such image of a component names
// its change; an image with several tags says nothing.
func changedComponents(images []ImageFact, forms []string) []ComponentFact {
	byComp := map[string]*ComponentFact{}
	for _, im := range images {
		if im.Component == "" || !im.Changed() || len(im.Tags) != 1 || len(im.Prev) != 1 {
			continue
		}
		oldV, _, ok1 := imageref.ReleaseVersion(im.Prev[0], forms)
		newV, _, ok2 := imageref.ReleaseVersion(im.Tags[0], forms)
		if !ok1 || !ok2 || byComp[im.Component] != nil {
			continue
		}
		byComp[im.Component] = &ComponentFact{Name: im.Component, Old: oldV, New: newV}
	}
	var out []ComponentFact
	for _, name := range slices.Sorted(maps.Keys(byComp)) {
		out = append(out, *byComp[name])
	}
	return out
}

// markTaken marks the component releases the branch took as they were:
// taken holds "<component> <version>" values of patch.UseTrailer.
func markTaken(list []ComponentFact, taken []string) {
	for i, c := range list {
		list[i].Taken = slices.Contains(taken, c.Name+" "+c.New)
	}
}

// componentLogFormat is the git log format componentSubjects reads, with
// --name-only: a record separator, the subject, the message, the files.
const componentLogFormat = "%x1e%s%x00%B%x00"

// componentSubjects reads a component's log (componentLogFormat, newest
// first) and returns the subjects oldest first, leaving out relkit's
// commits, commits changing only versionFile, and commits changing no
// file.
func componentSubjects(log, versionFile string) []string {
	var subjects []string
	for _, rec := range strings.Split(log, "\x1e") {
		parts := strings.SplitN(rec, "\x00", 3)
		if len(parts) < 3 {
			continue
		}
		subject, body := parts[0], parts[1]
		files := strings.Fields(parts[2])
		if isRelkit(body) || (len(files) == 1 && files[0] == versionFile) || len(files) == 0 {
			continue
		}
		subjects = append(subjects, subject)
	}
	slices.Reverse(subjects)
	return subjects
}

// pickedLogFormat is the git log format pickedCommits reads: a record
// separator, the hash, the subject, the message.
const pickedLogFormat = "%x1e%H%x00%s%x00%B"

// pickedCommits reads the charts branch's log (pickedLogFormat, newest
// first) and returns its commits oldest first, each with the commit it
// was cherry-picked from (the last -x line), relkit's own left out.
func pickedCommits(log string) []CommitFact {
	var list []CommitFact
	for _, rec := range strings.Split(log, "\x1e") {
		parts := strings.SplitN(rec, "\x00", 3)
		if len(parts) < 3 || isRelkit(parts[2]) {
			continue
		}
		c := CommitFact{Hash: parts[0], Subject: parts[1]}
		if from := cherry.PickedFrom(parts[2]); len(from) > 0 {
			c.From = from[len(from)-1]
		}
		list = append(list, c)
	}
	slices.Reverse(list)
	return list
}

// trailerValuesOfLog returns the values of trailer key in a log of
// NUL-terminated commit messages (format %B%x00), one per message at most.
func trailerValuesOfLog(log, key string) []string {
	var out []string
	for _, msg := range strings.Split(log, "\x00") {
		if v := trailerValue(msg, key); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// isRelkit reports whether a commit message carries a relkit trailer.
func isRelkit(msg string) bool {
	for _, line := range strings.Split(msg, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "Relkit-") {
			return true
		}
	}
	return false
}
