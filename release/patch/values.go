package patch

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/release/yamledit"
)

// TagEdit is where and how an image's tag changes in a values file (or a
// Chart.yaml appVersion).
type TagEdit struct {
	File string
	// Path is the scalar's key path for yamledit; Display as render
	// reports it ("images.tags.amf").
	Path    []string
	Display string
	Line    int
	Old     string
	New     string
}

// TagEditFor works out the edit that makes img (an image found by
// render, with its values provenance) use newTag instead of oldTag, in
// data (the content of img.ValuesFile). The scalar is found by its key
// path and line, so a key holding dots or the same key in another place
// is never edited by mistake. Three ways of writing the tag are handled:
// the tag alone (image.tag: 1.2.3), a reference ending with the tag
// (images.tags.hss: host/org/hss:1.2.3, or org/hss:1.2.3 joined to an
// images.repository prefix by the template), and the chart's appVersion.
func TagEditFor(data []byte, img render.Image, oldTag, newTag string) (TagEdit, error) {
	e := TagEdit{File: img.ValuesFile, Display: img.ValuesPath, Line: img.ValuesLine}
	where := fmt.Sprintf("%s:%d (%s)", img.ValuesFile, img.ValuesLine, img.ValuesPath)
	switch {
	case img.ValuesFile == "":
		where := img.Template
		if where == "" {
			where = img.Chart
		}
		return e, fmt.Errorf("%s: the tag of %s could not be traced to one value; set it to %s by hand", where, img.Ref, newTag)
	case img.InArchive():
		return e, fmt.Errorf("%s: the tag of %s is set inside a vendored chart archive; override it in the parent chart's values by hand", where, img.Ref)
	case img.ValuesHolds == render.HoldsDigest:
		return e, fmt.Errorf("%s: %s is pinned by digest; relkit cannot know the new image's digest before CI builds it", where, img.Ref)
	}
	doc, err := yamledit.Parse(data)
	if err != nil {
		return e, fmt.Errorf("%s: %w", img.ValuesFile, err)
	}
	n, path := findScalar(doc, img.ValuesPath, img.ValuesLine)
	if n == nil {
		return e, fmt.Errorf("%s: no value %s on line %d; expected the tag %s there", img.ValuesFile, img.ValuesPath, img.ValuesLine, oldTag)
	}
	e.Path, e.Old = path, n.Value
	switch img.ValuesHolds {
	case render.HoldsTag:
		if n.Value != oldTag {
			return e, fmt.Errorf("%s holds %q, expected the tag %q", where, n.Value, oldTag)
		}
		e.New = newTag
	case render.HoldsRef:
		rest, ok := strings.CutSuffix(n.Value, ":"+oldTag)
		if !ok {
			return e, fmt.Errorf("%s holds %q, expected a reference ending in :%s", where, n.Value, oldTag)
		}
		e.New = rest + ":" + newTag
	case render.HoldsAppVersion:
		// The template may wrap appVersion ("v{{ .Chart.AppVersion }}",
		// "rel-{{ .Chart.AppVersion }}"): keep what it adds around the
		// value, and the value takes the rest of the new tag.
		pre, suf, found := strings.Cut(oldTag, n.Value)
		rest, ok := strings.CutPrefix(newTag, pre)
		if ok {
			rest, ok = strings.CutSuffix(rest, suf)
		}
		switch {
		case n.Value == "" || !found:
			return e, fmt.Errorf("%s holds %q, expected the tag %q", where, n.Value, oldTag)
		case !ok || rest == "":
			return e, fmt.Errorf("%s: the template writes appVersion %q as the tag %q; the new tag %q does not fit that form: make the component's imageTagForm the form the chart uses, or set the tag by hand", where, n.Value, oldTag, newTag)
		}
		e.New = rest
	default:
		return e, fmt.Errorf("%s: relkit does not know how %s holds the tag (%q)", where, img.ValuesPath, img.ValuesHolds)
	}
	return e, nil
}

// findScalar finds the scalar whose key path (written the way render
// writes it: a.b[0].c) is display and which sits on line.
func findScalar(doc *yaml.Node, display string, line int) (*yaml.Node, []string) {
	if len(doc.Content) == 0 {
		return nil, nil
	}
	var found *yaml.Node
	var foundPath []string
	var walk func(n *yaml.Node, p []string, shown string, depth int)
	walk = func(n *yaml.Node, p []string, shown string, depth int) {
		if found != nil || depth > 100 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				s := k
				if shown != "" {
					s = shown + "." + k
				}
				walk(n.Content[i+1], append(append([]string(nil), p...), k), s, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, append(append([]string(nil), p...), strconv.Itoa(i)), shown+"["+strconv.Itoa(i)+"]", depth+1)
			}
		case yaml.ScalarNode:
			if shown == display && n.Line == line {
				found, foundPath = n, p
			}
		}
	}
	walk(doc.Content[0], nil, "", 0)
	return found, foundPath
}
