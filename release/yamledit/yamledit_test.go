package yamledit

import (
	"strings"
	"testing"
)

// TestApplyKeepsLayout edits Chart.yaml files of every shape seen in real
// charts repos and checks that the output is the input with exactly the
// version bytes replaced.
func TestApplyKeepsLayout(t *testing.T) {
	cases := []struct {
		name, in, want string
		edits          []Edit
	}{
		{
			name:  "plain with comments and blank lines",
			in:    "# Copyright 2024\napiVersion: v2\n\nname: hss   # the HSS\n\n# bumped by CI\nversion: 1.2.3  # keep in sync\nappVersion: \"1.2.3\"\n",
			want:  "# Copyright 2024\napiVersion: v2\n\nname: hss   # the HSS\n\n# bumped by CI\nversion: 1.3.0  # keep in sync\nappVersion: \"1.2.3\"\n",
			edits: []Edit{{Path: []string{"version"}, Value: "1.3.0"}},
		},
		{
			name:  "double quoted",
			in:    "name: x\nversion: \"1.2.3\"\n",
			want:  "name: x\nversion: \"1.3.0\"\n",
			edits: []Edit{{Path: []string{"version"}, Value: "1.3.0"}},
		},
		{
			name:  "single quoted with comment",
			in:    "name: x\nversion: '1.2.3' # pinned\n",
			want:  "name: x\nversion: '1.3.0' # pinned\n",
			edits: []Edit{{Path: []string{"version"}, Value: "1.3.0"}},
		},
		{
			name:  "CRLF line endings",
			in:    "apiVersion: v2\r\nname: x\r\nversion: 0.9.12\r\ndescription: a chart\r\n",
			want:  "apiVersion: v2\r\nname: x\r\nversion: 0.10.0\r\ndescription: a chart\r\n",
			edits: []Edit{{Path: []string{"version"}, Value: "0.10.0"}},
		},
		{
			name:  "no final newline",
			in:    "name: x\nversion: 1.2.3",
			want:  "name: x\nversion: 1.3.0",
			edits: []Edit{{Path: []string{"version"}, Value: "1.3.0"}},
		},
		{
			name:  "byte order mark and explicit tag",
			in:    "\ufeffname: x\nversion: !!str 1.2.3\n",
			want:  "\ufeffname: x\nversion: !!str 1.3.0\n",
			edits: []Edit{{Path: []string{"version"}, Value: "1.3.0"}},
		},
		{
			name:  "non-ASCII before the value on its line",
			in:    "name: x\ndescription: \"Ünïcödé\"\nannotations: {owner: José, version: 1.2.3}\nversion: 1.2.3\n",
			want:  "name: x\ndescription: \"Ünïcödé\"\nannotations: {owner: José, version: 1.3.0}\nversion: 1.2.3\n",
			edits: []Edit{{Path: []string{"annotations", "version"}, Value: "1.3.0"}},
		},
		{
			name: "umbrella dependencies, indented list, flow item, several edits",
			in: "apiVersion: v2\nname: omec-control-plane\nversion: 2.1.4 # umbrella\ndependencies:\n" +
				"    - name: hss\n      version: \"1.2.3\"   # exact pin\n      repository: file://../hss\n" +
				"    - {name: mme, version: '0.4.1', repository: \"file://../mme\"}\n" +
				"    - name: redis\n      version: ~17.0.0\n      repository: https://charts.bitnami.com/bitnami\n",
			want: "apiVersion: v2\nname: omec-control-plane\nversion: 2.2.0 # umbrella\ndependencies:\n" +
				"    - name: hss\n      version: \"1.3.0\"   # exact pin\n      repository: file://../hss\n" +
				"    - {name: mme, version: '0.5.0', repository: \"file://../mme\"}\n" +
				"    - name: redis\n      version: ~17.0.0\n      repository: https://charts.bitnami.com/bitnami\n",
			edits: []Edit{
				{Path: []string{"dependencies", "1", "version"}, Value: "0.5.0"},
				{Path: []string{"version"}, Value: "2.2.0"},
				{Path: []string{"dependencies", "0", "version"}, Value: "1.3.0"},
			},
		},
		{
			name:  "values scalar with tabs in a comment and a document marker",
			in:    "---\nimages:\n  tags:\n    hss: \"registry.example.org/omec/hss:1.2.3\"\t# release\n  pullPolicy: IfNotPresent\n...\n",
			want:  "---\nimages:\n  tags:\n    hss: \"registry.example.org/omec/hss:1.3.0\"\t# release\n  pullPolicy: IfNotPresent\n...\n",
			edits: []Edit{{Path: []string{"images", "tags", "hss"}, Value: "registry.example.org/omec/hss:1.3.0"}},
		},
		{
			name:  "escapes in a double-quoted value elsewhere on the line",
			in:    "a: {x: \"q\\\"uote\", version: \"1.2.3\"}\n",
			want:  "a: {x: \"q\\\"uote\", version: \"1.3.0\"}\n",
			edits: []Edit{{Path: []string{"a", "version"}, Value: "1.3.0"}},
		},
		{
			name:  "value already set changes nothing",
			in:    "version: 1.3.0 # x\n",
			want:  "version: 1.3.0 # x\n",
			edits: []Edit{{Path: []string{"version"}, Value: "1.3.0"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, changes, err := Apply([]byte(c.in), c.edits...)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if string(out) != c.want {
				t.Fatalf("got:\n%q\nwant:\n%q", out, c.want)
			}
			changed := 0
			for _, e := range c.edits {
				if v, _, err := Get(out, e.Path...); err != nil || v != e.Value {
					t.Errorf("%s reads %q (%v) after the edit, want %q", PathString(e.Path), v, err, e.Value)
				}
			}
			for _, ch := range changes {
				if ch.Old == ch.New || ch.Line < 1 {
					t.Errorf("change %+v: expected a line and a real change", ch)
				}
				changed++
			}
			if c.in == c.want && changed != 0 {
				t.Errorf("no-op edit reported %d changes", changed)
			}
		})
	}
}

func TestApplyRefuses(t *testing.T) {
	cases := []struct {
		name, in string
		path     []string
		value    string
		reason   string
		line     int
	}{
		{"anchor", "base: &v 1.2.3\nversion: *v\n", []string{"base"}, "1.3.0", "anchor &v", 1},
		{"alias", "base: &v 1.2.3\nversion: *v\n", []string{"version"}, "1.3.0", "alias", 2},
		{"anchored parent", "deps: &d\n  - version: 1.2.3\nother: *d\n", []string{"deps", "0", "version"}, "1.3.0", "anchor &d", 1},
		{"merge key", "base: &b {version: 1.2.3}\nchart:\n  <<: *b\n", []string{"chart", "version"}, "1.3.0", "merge key", 3},
		{"multi-line plain", "version: 1.2.3\n  more\n", []string{"version"}, "1.3.0", "several lines", 1},
		{"multi-line quoted", "version: \"1.2.3\n  x\"\n", []string{"version"}, "1.3.0", "several lines", 1},
		{"block scalar", "version: |\n  1.2.3\n", []string{"version"}, "1.3.0", "block scalar", 1},
		{"two documents", "version: 1.2.3\n---\nversion: 1.2.3\n", []string{"version"}, "1.3.0", "second YAML document", 2},
		{"duplicate key", "version: 1.2.3\nversion: 1.2.4\n", nil, "", "", 0},
		{"missing key", "name: x\n", []string{"version"}, "1.3.0", "no key \"version\"", 1},
		{"type change", "version: 1.2.3\n", []string{"version"}, "1.3", "quote the value", 1},
		{"mapping", "version:\n  a: 1\n", []string{"version"}, "1.3.0", "expected a single value", 2},
		{"empty value", "version:\n", []string{"version"}, "1.3.0", "is empty", 1},
		{"new value with newline", "version: '1'\n", []string{"version"}, "1\n2", "several lines", 1},
		{"index out of range", "deps:\n  - a\n", []string{"deps", "3"}, "x", "no item \"3\"", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.path == nil {
				// yaml.v3 keeps duplicate keys in a node tree; Lookup refuses them.
				_, _, err := Apply([]byte(c.in), Edit{Path: []string{"version"}, Value: "1.3.0"})
				if err == nil || !strings.Contains(err.Error(), "twice") {
					t.Fatalf("got %v, want a duplicate-key refusal", err)
				}
				return
			}
			out, _, err := Apply([]byte(c.in), Edit{Path: c.path, Value: c.value})
			if err == nil {
				t.Fatalf("Apply succeeded with %q, want a refusal mentioning %q", out, c.reason)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q does not mention %q", err, c.reason)
			}
			if e, ok := err.(*Error); ok && c.line > 0 && e.Line != c.line {
				t.Errorf("error %q names line %d, want %d", err, e.Line, c.line)
			}
		})
	}
}

func TestApplyIsAllOrNothing(t *testing.T) {
	in := "version: 1.2.3\nbase: &b x\n"
	out, changes, err := Apply([]byte(in), Edit{Path: []string{"version"}, Value: "1.3.0"}, Edit{Path: []string{"base"}, Value: "y"})
	if err == nil || out != nil || changes != nil {
		t.Fatalf("got %q, %v, %v; want a refusal and no output", out, changes, err)
	}
}

func TestSetVersionKeepsBytes(t *testing.T) {
	cases := []struct{ in, want, old string }{
		{"1.2.3\n", "1.3.0-dev\n", "1.2.3"},
		{"1.2.3-dev\r\n", "1.3.0-dev\r\n", "1.2.3-dev"},
		{"1.2.3", "1.3.0-dev", "1.2.3"},
		{"2.1.0-dev1\n\n", "1.3.0-dev\n\n", "2.1.0-dev1"},
		{"1.2.3 \n", "1.3.0-dev \n", "1.2.3"},
		{"\ufeff1.2.3\r\n", "\ufeff1.3.0-dev\r\n", "1.2.3"},
		{"v1.2.3\n", "1.3.0-dev\n", "v1.2.3"},
		{"1.5.0-rc1\nsecond line\n", "1.3.0-dev\nsecond line\n", "1.5.0-rc1"},
	}
	for _, c := range cases {
		out, old, err := SetVersion([]byte(c.in), "1.3.0-dev")
		if err != nil {
			t.Errorf("SetVersion(%q): %v", c.in, err)
			continue
		}
		if string(out) != c.want || old != c.old {
			t.Errorf("SetVersion(%q) = %q, old %q; want %q, old %q", c.in, out, old, c.want, c.old)
		}
	}
	for _, bad := range []string{"", "\n", "  \r\n", "1.2.3 beta\n"} {
		if out, _, err := SetVersion([]byte(bad), "1.3.0-dev"); err == nil {
			t.Errorf("SetVersion(%q) = %q, want an error", bad, out)
		} else if !strings.HasPrefix(err.Error(), "line 1:") {
			t.Errorf("SetVersion(%q) error %q does not name the line", bad, err)
		}
	}
}

func TestChartHelpers(t *testing.T) {
	chart := "apiVersion: v2\nname: umbrella\nversion: \"0.3.0\" # x\ndependencies:\n" +
		"  - name: hss\n    version: 1.2.3\n    repository: file://../hss\n" +
		"  - name: db\n    alias: db-a\n    version: '1.0.0'\n" +
		"  - name: db\n    alias: db-b\n    version: '1.0.0'\n"
	out, ch, err := SetChartVersion([]byte(chart), "0.3.1")
	if err != nil || ch == nil || ch.Old != "0.3.0" || ch.Line != 3 {
		t.Fatalf("SetChartVersion: %v %+v", err, ch)
	}
	out, ch, err = SetDependencyVersion(out, "db-b", "1.1.0")
	if err != nil || ch.Line != 13 {
		t.Fatalf("SetDependencyVersion by alias: %v %+v", err, ch)
	}
	out, _, err = SetDependencyVersion(out, "hss", "1.3.0")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer(`"0.3.0"`, `"0.3.1"`, "version: 1.2.3", "version: 1.3.0").Replace(chart)
	want = want[:strings.LastIndex(want, "'1.0.0'")] + "'1.1.0'\n"
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if _, _, err := SetDependencyVersion(out, "db", "2.0.0"); err == nil || !strings.Contains(err.Error(), "2 entries are named \"db\"") {
		t.Errorf("ambiguous name: %v", err)
	}
	if _, _, err := SetDependencyVersion(out, "nope", "2.0.0"); err == nil || !strings.Contains(err.Error(), "no dependency named") {
		t.Errorf("missing name: %v", err)
	}
	values := "image:\n  tag: \"1.2.3\"  # released\n"
	out, ch, err = SetValue([]byte(values), "1.2.4", "image", "tag")
	if err != nil || string(out) != "image:\n  tag: \"1.2.4\"  # released\n" || ch.Old != "1.2.3" {
		t.Errorf("SetValue: %q %+v %v", out, ch, err)
	}
	if _, ch, err := SetChartVersion([]byte("version: 1.0.0\n"), "1.0.0"); err != nil || ch != nil {
		t.Errorf("no-op set: %+v %v", ch, err)
	}
}
