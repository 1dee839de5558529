package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlLineRE is the "line N: " yaml.v3 puts before a syntax error.
var yamlLineRE = regexp.MustCompile(`^line (\d+): `)

// syntaxError turns a yaml.v3 syntax error into "file:line: YAML syntax:
// ...", with the line of the offending text.
//
// yaml.v3 does not report where the problem is: it reports the line of
// the construct being parsed (the mapping or flow sequence that holds
// it), counted from 0 for parser errors and from 1 for scanner errors,
// and no line at all when that is the first line. So a tab on line 3 is
// "line 2", a key indented one space too little under a mapping opened
// on line 1 is "line 1", an unclosed quote is the line where the stream
// ended. The line is found instead from the text: the first line whose
// prefix of the file already fails with the same message.
func syntaxError(file string, data []byte, err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	hint := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		hint, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	line := firstFailingLine(data, msg, hint)
	advice := ""
	if l := lineText(data, line); strings.Contains(l[:len(l)-len(strings.TrimLeft(l, " \t"))], "\t") {
		advice = "; indent with spaces, YAML does not allow tabs there"
	}
	return fmt.Sprintf("%s:%d: YAML syntax: %s%s", file, line, msg, advice)
}

// maxSyntaxProbes bounds the re-parses firstFailingLine makes; a binary
// search over a file of MaxConfigBytes needs far fewer.
const maxSyntaxProbes = 40

// firstFailingLine is the smallest n such that the first n lines of data
// fail to parse with message msg: the error a prefix shows is the error
// of the whole text once the prefix holds the offending text. The line
// yaml.v3 gave (hint) is at most a line or two before it in most cases,
// which settles it in a few parses; otherwise a binary search finds it.
// Each probe parses a prefix, so probing near the hint first also keeps
// a long file with an error near its end from being parsed whole twenty
// times.
func firstFailingLine(data []byte, msg string, hint int) int {
	ends := lineEnds(data)
	n := len(ends)
	probes := 0
	fails := func(l int) bool {
		probes++
		var doc yaml.Node
		err := yaml.NewDecoder(bytes.NewReader(data[:ends[l-1]])).Decode(&doc)
		if err == nil || errors.Is(err, io.EOF) {
			return false
		}
		return yamlLineRE.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "") == msg
	}
	lo, hi := 1, n // fails(hi) holds: it is the whole text
	if hint = min(max(hint, 1), n); hint > 1 && fails(hint-1) {
		hi = hint - 1
	} else {
		for l := hint; l <= min(hint+2, n); l++ {
			if fails(l) {
				return l
			}
			lo = l + 1
		}
	}
	for lo < hi && probes < maxSyntaxProbes {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}

// lineEnds lists the offset just past each line of data (its newline
// included).
func lineEnds(data []byte) []int {
	var ends []int
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	if len(ends) == 0 {
		ends = []int{0}
	}
	return ends
}

// lineText is line n (from 1) of data without its newline.
func lineText(data []byte, n int) string {
	for i := 1; len(data) > 0; i++ {
		l, rest, _ := bytes.Cut(data, []byte("\n"))
		if i == n {
			return string(l)
		}
		data = rest
	}
	return ""
}
