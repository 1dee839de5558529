package manifestfile

import (
	"fmt"
	"strings"
)

// Problem is one thing that went wrong with one subject.
type Problem struct{ Subject, Err string }

// maxNamed bounds the subjects named per grouped problem.
const maxNamed = 4

// Group merges problems with the same error into one line each, in order
// of first appearance: one unreachable registry is one line naming a few
// of its images and how many, not one line per image.
func Group(kind string, probs []Problem) []string {
	var order []string
	subjects := map[string][]string{}
	for _, p := range probs {
		if _, ok := subjects[p.Err]; !ok {
			order = append(order, p.Err)
		}
		subjects[p.Err] = append(subjects[p.Err], p.Subject)
	}
	out := make([]string, 0, len(order))
	for _, e := range order {
		s := subjects[e]
		if len(s) == 1 {
			out = append(out, fmt.Sprintf("%s %s: %s", kind, s[0], e))
			continue
		}
		named := strings.Join(s[:min(len(s), maxNamed)], ", ")
		if len(s) > maxNamed {
			named += fmt.Sprintf(" and %d more", len(s)-maxNamed)
		}
		out = append(out, fmt.Sprintf("%d %ss (%s): %s", len(s), kind, named, e))
	}
	return out
}
