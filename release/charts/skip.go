package charts

import (
	"path"
	"strings"
)

// SkipDir says whether Discover never looks for charts in a directory of
// this name (.git, vendor, node_modules, CI folders, hidden folders), for
// callers that walk a repo some other way (chart:publish walks git trees).
func SkipDir(name string) bool { return skipDir(name) || strings.HasPrefix(name, ".") }

// IgnoredDir reports whether the folder at rel (relative to the chart
// directory) is left out of the chart archive with everything below it.
func (ig *Ignore) IgnoredDir(rel string) bool {
	rel = strings.TrimPrefix(path.Clean(rel), "./")
	if rel == "." || rel == "" || rel == ".." || strings.HasPrefix(rel, "../") {
		return false
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && ig.ignores(rel[:i], true) {
			return true
		}
	}
	return ig.ignores(rel, true)
}
