package charts

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"
)

// DepEntry is one entry of a dependencies list with its index in the list,
// as chart bumps need it to address the entry's version for an edit.
type DepEntry struct {
	// Index is the entry's position in the dependencies sequence.
	Index                     int
	Name, Version, Repository string
	// Line is the line of the version value (0 when there is none).
	Line int
}

// DepEntries reads the mapping entries of a dependencies sequence node (nil
// or any other kind of node gives none); entries that are not mappings are
// skipped but still count for Index.
func DepEntries(n *yaml.Node) []DepEntry {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []DepEntry
	for i, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		d := dependencyOf(item)
		out = append(out, DepEntry{Index: i, Name: d.Name, Version: d.Version, Repository: d.Repository, Line: d.Line})
	}
	return out
}

// FollowPin decides a file:// dependency's new pin when the chart it points
// at goes from version old to next: an exact pin follows (next; "" when it
// already is next), an empty pin or a range that still accepts next stays
// (""), and a range that would not accept it is an error (relkit does not
// rewrite ranges people chose).
func FollowPin(pin, old, next string) (string, error) {
	p := strings.TrimSpace(pin)
	if p == "" {
		return "", nil
	}
	if _, err := semver.StrictNewVersion(p); err == nil {
		if p == next {
			return "", nil
		}
		return next, nil
	}
	cons, err := semver.NewConstraint(p)
	if err != nil {
		return "", fmt.Errorf("version %q is neither a version nor a range", pin)
	}
	if cons.Check(semver.MustParse(next)) {
		return "", nil
	}
	return "", fmt.Errorf("the range %q does not accept the chart's new version %s (from %s); pin it exactly or widen it", pin, next, old)
}
