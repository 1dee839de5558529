package version

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Line is a minor release line, MAJOR.MINOR ("2.1"): what release branches
// are named after and what every release target takes as its argument.
type Line struct{ Major, Minor uint64 }

// lineRE bounds each number to 9 digits so it always fits.
var lineRE = regexp.MustCompile(`^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$`)

// ParseLine reads a release line argument (surrounding space ignored).
func ParseLine(s string) (Line, error) {
	m := lineRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Line{}, fmt.Errorf("release line %q: expected MAJOR.MINOR such as 2.1", s)
	}
	major, _ := strconv.ParseUint(m[1], 10, 64)
	minor, _ := strconv.ParseUint(m[2], 10, 64)
	return Line{major, minor}, nil
}

func (l Line) String() string { return fmt.Sprintf("%d.%d", l.Major, l.Minor) }

// After reports whether l is a later line than o.
func (l Line) After(o Line) bool {
	return l.Major > o.Major || l.Major == o.Major && l.Minor > o.Minor
}
