package charts

import "strings"

// SkipDir says whether Discover never looks for charts in a directory of
// this name (.git, vendor, node_modules, CI folders, hidden folders), for
// callers that walk a repo some other way (chart:publish walks git trees).
func SkipDir(name string) bool { return skipDir(name) || strings.HasPrefix(name, ".") }
