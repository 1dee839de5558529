package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// VersionToken finds the version in VERSION file content: the first line
// without surrounding blanks, a byte-order mark or a carriage return. It
// returns the token and its byte range.
func VersionToken(data []byte) (string, int, int, error) {
	end := bytes.IndexByte(data, '\n')
	if end < 0 {
		end = len(data)
	}
	line := data[:end]
	start := 0
	if bytes.HasPrefix(line, []byte("\ufeff")) {
		start = 3
	}
	for start < len(line) && isBlank(line[start]) {
		start++
	}
	stop := len(line)
	for stop > start && (isBlank(line[stop-1]) || line[stop-1] == '\r') {
		stop--
	}
	if stop == start {
		return "", 0, 0, errors.New("line 1: no version on the first line; expected a SemVer version such as 1.2.3")
	}
	tok := string(line[start:stop])
	if strings.ContainsAny(tok, " \t") {
		return "", 0, 0, fmt.Errorf("line 1: %q holds more than one word; expected the version alone", tok)
	}
	return tok, start, stop, nil
}

// SetVersion replaces the version on the first line of a VERSION file and
// keeps every other byte: the line ending (LF, CRLF or none at the end of
// the file), any further lines, even stray blanks. It returns the new
// content and the old version.
func SetVersion(data []byte, newVersion string) ([]byte, string, error) {
	if newVersion == "" || strings.ContainsAny(newVersion, " \t\r\n") {
		return nil, "", fmt.Errorf("new version %q: expected a single word", newVersion)
	}
	old, start, stop, err := VersionToken(data)
	if err != nil {
		return nil, "", err
	}
	out := make([]byte, 0, len(data)-len(old)+len(newVersion))
	out = append(out, data[:start]...)
	out = append(out, newVersion...)
	out = append(out, data[stop:]...)
	if got, _, _, err := VersionToken(out); err != nil || got != newVersion {
		return nil, "", fmt.Errorf("line 1: after the edit the version reads %q, expected %q; nothing was changed", got, newVersion)
	}
	return out, old, nil
}
