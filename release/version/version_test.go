package version

import (
	"strings"
	"testing"
)

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // "" = valid; else a substring of the reason
		line     int
		release  bool
	}{
		{"release", "1.2.3\n", "", 0, true},
		{"dev", "1.2.3-dev\n", "", 0, false},
		{"dev with number", "2.1.0-dev1\n", "", 0, false},
		{"rc", "1.5.0-rc1\n", "", 0, false},
		{"build metadata", "1.2.3+build.5\n", "", 0, true},
		{"no final newline", "1.2.3", "", 0, true},
		{"trailing blank line", "1.2.3\n\n", "", 0, true},
		{"leading v", "v1.2.3\n", `leading "v"`, 1, false},
		{"leading V", "V1.2.3", `leading "V"`, 1, false},
		{"CRLF", "1.2.3\r\n", "carriage return", 1, false},
		{"CR without newline", "1.2.3\r", "carriage return", 1, false},
		{"trailing space", "1.2.3 \n", "trailing white space", 1, false},
		{"trailing tab", "1.2.3\t", "trailing white space", 1, false},
		{"leading space", " 1.2.3\n", "leading white space", 1, false},
		{"two lines", "1.2.3\n1.2.4\n", "more than one line", 2, false},
		{"second line after blank", "1.2.3\n\nnotes\n", "more than one line", 3, false},
		{"blank line with spaces", "1.2.3\n  \n", "white space on line 2", 2, false},
		{"empty", "", "empty", 1, false},
		{"only newline", "\n", "white space", 1, false},
		{"empty first line", "\n1.2.3\n", "first line is empty", 1, false},
		{"leading zero major", "01.2.3", "leading zero in the major", 1, false},
		{"leading zero minor", "1.02.3", "leading zero in the minor", 1, false},
		{"leading zero patch", "1.2.03", "leading zero in the patch", 1, false},
		{"leading zero prerelease", "1.2.3-01", "numeric pre-release identifier", 1, false},
		{"two numbers", "1.2\n", "2 of the 3 numbers", 1, false},
		{"word", "latest\n", "1 of the 3 numbers", 1, false},
		{"bad prerelease", "1.2.3-dev_1", "not SemVer 2.0", 1, false},
		{"empty prerelease id", "1.2.3-dev..1", "empty pre-release identifier", 1, false},
		{"BOM", "\ufeff1.2.3", "invisible", 1, false},
		{"four numbers", "1.2.3.4", "not SemVer 2.0", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := Parse([]byte(tt.in))
			if tt.want == "" {
				if p != nil {
					t.Fatalf("Parse(%q): unexpected problem %v", tt.in, p)
				}
				if f.IsRelease() != tt.release {
					t.Errorf("IsRelease = %v, want %v", f.IsRelease(), tt.release)
				}
				if IsRelease(f.Raw) != tt.release {
					t.Errorf("IsRelease(%q) disagrees with File.IsRelease", f.Raw)
				}
				return
			}
			if p == nil {
				t.Fatalf("Parse(%q) accepted %v, want a problem containing %q", tt.in, f.Version, tt.want)
			}
			if !strings.Contains(p.Reason, tt.want) {
				t.Errorf("reason %q does not contain %q", p.Reason, tt.want)
			}
			if p.Line != tt.line {
				t.Errorf("line = %d, want %d", p.Line, tt.line)
			}
			if f.Version != nil {
				t.Errorf("an invalid file must not carry a version, got %v", f.Version)
			}
		})
	}
}

func TestNewlineStyleIsRecorded(t *testing.T) {
	for in, want := range map[string]string{"1.2.3\n": "\n", "1.2.3": ""} {
		f, p := Parse([]byte(in))
		if p != nil || f.Newline != want {
			t.Errorf("Parse(%q) newline = %q (problem %v), want %q", in, f.Newline, p, want)
		}
	}
}

// FuzzParse checks the parser's contract on any input: it never panics, a
// file it accepts is strict SemVer and round-trips, and a file it rejects
// says why on a real line.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.2.3\n", "1.2.3-dev", "v1.2.3", "1.2.3\r\n", "1.2.3 ", "", "1.2.3\n1.2.4",
		"01.2.3", "1.2.3-rc.1+b.2", "2.1.0-dev1\n\n", "\ufeff1.0.0", "1.2", "1.2.3-0a.00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, p := Parse(data)
		lines := strings.Count(string(data), "\n") + 1
		if p != nil {
			if p.Reason == "" || p.Line < 1 || p.Line > lines {
				t.Fatalf("Parse(%q): problem %+v has no reason or a line outside 1..%d", data, p, lines)
			}
			if file.Version != nil {
				t.Fatalf("Parse(%q): rejected but carries a version", data)
			}
			return
		}
		if file.Version == nil || !Valid(file.Raw) || file.Version.Original() != file.Raw {
			t.Fatalf("Parse(%q) accepted %q, which is not strict SemVer", data, file.Raw)
		}
		if strings.TrimSpace(file.Raw) != file.Raw {
			t.Fatalf("Parse(%q) accepted white space in %q", data, file.Raw)
		}
	})
}

// A number that does not fit 64 bits is not a version relkit can hold: a
// hostile tag or VERSION with one is refused, never parsed into a panic.
func TestOverflowingNumbersAreNotVersions(t *testing.T) {
	for _, s := range []string{"18446744073709551616.0.0", "1.99999999999999999999.0", "1.0.18446744073709551616", "18446744073709551616.0.0+b"} {
		if Valid(s) || IsRelease(s) {
			t.Errorf("%s: Valid=%v IsRelease=%v, want both false", s, Valid(s), IsRelease(s))
		}
		if _, prob := Parse([]byte(s + "\n")); prob == nil {
			t.Errorf("%s: Parse accepted it", s)
		}
	}
	for _, s := range []string{"18446744073709551615.0.0", "1.2.3", "1.2.3-rc.1"} {
		if !Valid(s) {
			t.Errorf("%s: Valid=false, want true", s)
		}
	}
}
