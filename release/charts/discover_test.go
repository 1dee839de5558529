package charts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const spdxHeader = "# SPDX-FileCopyrightText: 2022-present Open Networking Foundation\n# SPDX-License-Identifier: Apache-2.0\n\n"

// One unreadable Chart.yaml is that chart's error, with file and line;
// the other charts are found and read as usual.
func TestDiscoverKeepsGoingPastInvalidCharts(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a/Chart.yaml":       "apiVersion: v2\nname: a\nversion: 1.0.0\n",
		"group/b/Chart.yaml": "apiVersion: v2\nname: b\nversion: 2.0.0\n",
		// a key indented under a scalar, below a comment header (line 7)
		"c/Chart.yaml": spdxHeader + "apiVersion: v2\nname: c\nversion: 1.0.0\n  description: oops\n",
		// its vendored subchart is still its own, not a chart of the repo
		"c/charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
		// a sequence, not a mapping
		"d/Chart.yaml": spdxHeader + "- name: d\n- version: 1.0.0\n",
		// v1 with a broken requirements.yaml (the '-' indicator on line 5)
		"e/Chart.yaml":        "apiVersion: v1\nname: e\nversion: 1.0.0\n",
		"e/requirements.yaml": "dependencies:\n  - name: x\n    version: 1.0.0\n    repository: https://example.org\n   - name: y\n",
		// an unterminated flow sequence: the last line
		"f/Chart.yaml": "apiVersion: v2\nname: f\nversion: [1.0.0\n",
	})
	list, err := Discover(context.Background(), root)
	if err != nil {
		t.Fatalf("Discover: %v; expected the walk to go on past invalid charts", err)
	}
	var dirs []string
	for _, c := range list {
		dirs = append(dirs, c.Dir)
	}
	if got := strings.Join(dirs, " "); got != "a c d e f group/b" {
		t.Fatalf("dirs = %q; expected a c d e f group/b", got)
	}
	want := map[string]struct {
		file string
		line int
		msg  string
	}{
		"c": {"c/Chart.yaml", 7, "mapping values are not allowed"},
		"d": {"d/Chart.yaml", 4, "found a sequence; expected a mapping"},
		"e": {"e/requirements.yaml", 5, "did not find expected '-' indicator"},
		"f": {"f/Chart.yaml", 3, "did not find expected ',' or ']'"},
	}
	for _, c := range list {
		w, bad := want[c.Dir]
		if !bad {
			if c.Err != nil || c.Name == "" || c.Version == "" {
				t.Errorf("%s: err %v, name %q, version %q; expected it read", c.Dir, c.Err, c.Name, c.Version)
			}
			continue
		}
		var ce *ChartError
		if !errors.As(c.Err, &ce) {
			t.Errorf("%s: Err = %v; expected a *ChartError", c.Dir, c.Err)
			continue
		}
		if ce.File != w.file || ce.Line != w.line || !strings.Contains(ce.Err.Error(), w.msg) {
			t.Errorf("%s: %s:%d %v; expected %s:%d and %q", c.Dir, ce.File, ce.Line, ce.Err, w.file, w.line, w.msg)
		}
		if c.File != c.Dir+"/Chart.yaml" {
			t.Errorf("%s: File = %q; expected it set even when invalid", c.Dir, c.File)
		}
	}
	err = Invalid(list)
	for _, f := range []string{"c/Chart.yaml:7", "d/Chart.yaml:4", "e/requirements.yaml:5", "f/Chart.yaml:3"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Invalid = %v; expected it to name %s", err, f)
		}
	}
	if err := Invalid(list[:1]); err != nil {
		t.Errorf("Invalid(a) = %v; expected nil", err)
	}
}

// The line of a syntax error is the line with the problem, whichever of
// libyaml's parser or scanner found it.
func TestSyntaxErrorLine(t *testing.T) {
	for _, tc := range []struct {
		text string
		line int
	}{
		{"a: 1\nb: 2\n- c\n", 3},                                 // parser, no header
		{"# h\n# h\na: 1\nb:\n  c: 1\n d: 2\n", 6},               // parser, block mapping after a header
		{"a:\n\tb: 1\n", 2},                                      // scanner: a tab
		{"a: 'unterminated\nb: 2\n", 3},                          // scanner: end of stream after the last line
		{"a: {b: 1\nc: 2", 2},                                    // parser, no final newline
		{"apiVersion: v2\nname: x\nversion: 1.0.0\n\"a: 1\n", 5}, // unterminated quote
	} {
		_, err := ParseMeta([]byte(tc.text))
		if err == nil {
			t.Errorf("%q parsed; expected a syntax error", tc.text)
			continue
		}
		line, _ := syntaxError([]byte(tc.text), err)
		lines := strings.Count(tc.text, "\n")
		if !strings.HasSuffix(tc.text, "\n") {
			lines++
		}
		if line != min(tc.line, lines) {
			t.Errorf("%q: line %d (%v); expected %d", tc.text, line, err, min(tc.line, lines))
		}
	}
}

func TestDiscoverCancelled(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"a/Chart.yaml": "apiVersion: v2\nname: a\nversion: 1.0.0\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Discover(ctx, root); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; expected context.Canceled", err)
	}
}
