package workspace

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestYAMLErrorsNameTheOffendingLine(t *testing.T) {
	t.Parallel()
	root := newRoot(t, "charts")
	file := filepath.Join(root, "relkit.yaml")
	for _, tc := range []struct {
		name, text string
		line       int
		want       string
	}{
		// yaml.v3 says "line 2" for each of the first three.
		{"tab before a key", "charts:\n  path: charts\n\tmainBranch: x\n", 3, "tab"},
		{"tab-only line", "charts:\n  path: charts\n\t\nbranchPrefix: x\n", 3, "tab"},
		{"tab before a list item", "charts:\n  path: charts\ncomponents:\n\t- name: a\n", 4, "indent with spaces"},
		{"tab on the first line", "\tcharts: x\n", 1, "indent with spaces"},
		{"key indented too little", "charts:\n  path: charts\n mainBranch: x\n", 3, "did not find expected key"},
		{"key indented too much", "charts:\n    path: charts\n  mainBranch: x\n", 3, "did not find expected key"},
		{"key indented into a value", "charts:\n  path: charts\n     mainBranch: x\n", 3, "mapping values are not allowed"},
		{"mapping after a list item", "charts:\n  path: charts\ncomponents:\n  - name: a\n  path: b\n", 5, "did not find expected '-' indicator"},
		{"unclosed double quote", "charts:\n  path: \"charts\n  mainBranch: x\n", 2, "unexpected end of stream"},
		{"unclosed single quote", "branchPrefix: 'rel-\n\ncharts:\n  path: charts\n", 1, "unexpected end of stream"},
		{"unclosed flow list", "charts:\n  path: charts\ncomponents: [{name: a, path: b}\nbranched: []\n", 3, "did not find expected ',' or ']'"},
		{"two values on the first line", "a: b: c\n", 1, "mapping values are not allowed"},
		{"unknown anchor", "charts:\n  path: charts\n  name: *nowhere\n", 3, "unknown anchor"},
		{"bad escape", "charts:\n  path: charts\n  name: \"\\q\"\n", 3, "unknown escape"},
		{"no newline at the end", "charts:\n  path: charts\n  name: @x", 3, "cannot start any token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(file, []byte(tc.text))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.text)
			}
			want := fmt.Sprintf("%s:%d: YAML syntax: ", file, tc.line)
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got  %q\nwant %q... %q", err, want, tc.want)
			}
			if strings.Contains(err.Error(), "line ") {
				t.Errorf("yaml.v3's own (wrong) line is still in the message: %q", err)
			}
		})
	}
	// Duplicate keys are legal YAML for yaml.v3's node parser; relkit's
	// decoder refuses them at the second key.
	_, err := Parse(file, []byte("charts:\n  path: charts\n  name: a\n  path: charts\n"))
	if err == nil || !strings.Contains(err.Error(), file+":4: key \"path\" appears twice in charts") {
		t.Errorf("duplicate key: %v", err)
	}
	_, err = Parse(file, []byte("charts:\n  path: charts\ncomponents:\n  - name: a\n    path: charts\n    images: [x]\n    name: b\n"))
	if err == nil || !strings.Contains(err.Error(), file+":7: key \"name\" appears twice in components[0]") {
		t.Errorf("duplicate key in a list item: %v", err)
	}
}

func TestConfigSizeIsCapped(t *testing.T) {
	t.Parallel()
	root := newRoot(t, "charts")
	text := "charts: {path: charts}\n# " + strings.Repeat("x", MaxConfigBytes) + "\n"
	_, err := Parse(filepath.Join(root, "relkit.yaml"), []byte(text))
	if err == nil || !strings.Contains(err.Error(), "at most 1024 KiB") {
		t.Errorf("a config over %d bytes: %v", MaxConfigBytes, err)
	}
}

// billionLaughs nests levels lists of width aliases each to the previous
// level, so that the last anchor stands for width^levels strings, and
// sets key to it.
func billionLaughs(key string, width, levels int) string {
	var b strings.Builder
	b.WriteString("charts: {path: charts}\nlol0: &l0 lol\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "lol%d: &l%d [", i, i)
		for j := range width {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	fmt.Fprintf(&b, "%s *l%d\n", key, levels)
	return b.String()
}

// wide is an anchored list of n strings followed by a list of n aliases
// to a mapping using it: n*n values from about 30n bytes.
func wide(n int, mapping, list string) string {
	items := strings.TrimSuffix(strings.Repeat("x, ", n), ", ")
	refs := strings.TrimSuffix(strings.Repeat("*m, ", n), ", ")
	return "charts: {path: charts}\nx-list: &l [" + items + "]\nx-map: &m " + mapping + "\n" + list + " [" + refs + "]\n"
}

func TestAliasBombsAreRefused(t *testing.T) {
	t.Parallel()
	root := newRoot(t, "charts")
	file := filepath.Join(root, "relkit.yaml")
	for _, tc := range []struct{ name, text, want string }{
		// yaml.v3 keeps aliases as nodes; the decoder meets a list where
		// a string belongs and stops there.
		{"billion laughs in a string list", billionLaughs("images:\n  movingTags:", 10, 9), "expected a string, got a list"},
		{"billion laughs as the config", billionLaughs("render:", 10, 9), "expected a mapping, got a list"},
		// Where the schema nests, the expansion itself is bounded.
		{"components times images", wide(2000, "{name: a, path: charts, images: *l}", "components:"), "aliases expand to more than"},
		{"values map of lists", "charts: {path: charts}\nx-list: &l [" + strings.TrimSuffix(strings.Repeat("x, ", 2000), ", ") +
			"]\nrender:\n  values: {" + valuesRefs(2000) + "}\n", "aliases expand to more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(file, []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n > maxProblems+1 {
				t.Errorf("%d problems reported; at most %d plus a count", n, maxProblems)
			}
		})
	}
	// Sharing blocks through anchors is fine.
	root = newRoot(t, "charts", "amf", "smf")
	shared := "charts: {path: charts}\ndockerfiles:\n  buildArgs: &args {GO: \"1.22\"}\ncomponents:\n" +
		"  - {name: amf, path: amf, buildArgs: *args}\n  - {name: smf, path: smf, buildArgs: *args}\n"
	c, err := Parse(filepath.Join(root, "relkit.yaml"), []byte(shared))
	if err != nil {
		t.Fatal(err)
	}
	if smf, _ := c.Component("smf"); smf.BuildArgs["GO"] != "1.22" {
		t.Errorf("alias not followed: %+v", smf.BuildArgs)
	}
}

// valuesRefs is n render.values entries, each an alias to the list &l.
func valuesRefs(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "c%d: *l", i)
	}
	return b.String()
}

func TestProblemsAreCapped(t *testing.T) {
	t.Parallel()
	root := newRoot(t, "charts")
	text := "charts: {path: charts}\n" + strings.Repeat("bogus: 1\n", 5000)
	_, err := Parse(filepath.Join(root, "relkit.yaml"), []byte(text))
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxProblems+1 || !strings.Contains(lines[len(lines)-1], "and 4900 more problem(s)") {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}
