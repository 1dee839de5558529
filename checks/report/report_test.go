package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/testutil"
)

func sample() *Report {
	r := New("versions", "dockerfiles")
	r.Add(
		Finding{Check: "versions", Rule: "version-invalid", Severity: Error, Repo: "amf", File: "VERSION", Line: 1, Subject: "v1.2.3", Message: "leading v"},
		Finding{Check: "dockerfiles", Rule: "parent-moving-tag", Severity: Warning, Repo: "amf", File: "Dockerfile", Line: 3, Subject: "alpine:latest", Message: "moving, 100% sure"},
		Finding{Check: "versions", Rule: "version-parent-missing", Severity: Warning, Repo: "charts", File: "VERSION", Line: 1, Subject: "2.1.0", Message: "no 2.0.*"},
	)
	return r
}

func TestJSONHasExactlyTheContractFields(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := sample().Write(&buf, Options{Format: JSON}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["errors"] != 1.0 || got["warnings"] != 2.0 {
		t.Errorf("counts = %v/%v", got["errors"], got["warnings"])
	}
	fs := got["findings"].([]any)
	if len(fs) != 3 {
		t.Fatalf("findings = %d", len(fs))
	}
	first := fs[0].(map[string]any)
	for _, k := range []string{"check", "rule", "severity", "repo", "file", "line", "subject", "message"} {
		if _, ok := first[k]; !ok {
			t.Errorf("finding lacks %q: %v", k, first)
		}
	}
	if len(first) != 8 {
		t.Errorf("finding has extra fields: %v", first)
	}
	if first["file"] != "Dockerfile" {
		t.Errorf("findings not sorted by repo, file, line: first is %v", first)
	}
}

func TestEmptyJSONReportHasEmptyList(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := New("versions").Write(&buf, Options{Format: JSON}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"findings": []`) {
		t.Errorf("empty report should have an empty list, got %s", buf.String())
	}
}

func TestTextGroupsByRepoWithEditorLocations(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	o := Options{Format: Text, RepoDir: map[string]string{"amf": "components/amf", "charts": "aether-helm-charts"}}
	if err := sample().Write(&buf, o); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	testutil.ContainsAll(t, "text output", out,
		"amf\n  components/amf/Dockerfile:3: warning [parent-moving-tag]",
		"  components/amf/VERSION:1: error [version-invalid] \"v1.2.3\": leading v",
		"charts\n  aether-helm-charts/VERSION:1: warning",
		"versions, dockerfiles: failed, 1 error, 2 warnings",
	)
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour without a terminal")
	}
	buf.Reset()
	o.Colour = true
	_ = sample().Write(&buf, o)
	if !strings.Contains(buf.String(), "\x1b[31merror") {
		t.Errorf("colour requested but not used")
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	if c := New("x").ExitCode(); c != ExitOK {
		t.Errorf("empty = %d", c)
	}
	w := New("x")
	w.Add(Finding{Severity: Warning})
	if c := w.ExitCode(); c != ExitOK {
		t.Errorf("warnings only = %d", c)
	}
	if c := sample().ExitCode(); c != ExitFindings {
		t.Errorf("errors = %d", c)
	}
	u := sample()
	u.Undecided(errors.New("registry unreachable"))
	if c := u.ExitCode(); c != ExitUndecided {
		t.Errorf("undecided = %d", c)
	}
	merged := New()
	merged.Merge(New("a"))
	merged.Merge(u)
	if merged.ExitCode() != ExitUndecided || len(merged.Findings()) != 3 || len(merged.Checks()) != 3 {
		t.Errorf("merge lost something: %d findings, checks %v", len(merged.Findings()), merged.Checks())
	}
}

func TestGitHubAnnotations(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := sample().Write(&buf, Options{Format: Text, GitHub: true, RepoDir: map[string]string{"amf": "c/amf"}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "::error file=c/amf/VERSION,line=1,title=versions version-invalid::leading v\n") {
		t.Errorf("missing error annotation:\n%s", out)
	}
	if !strings.Contains(out, "::warning file=c/amf/Dockerfile,line=3,title=dockerfiles parent-moving-tag::moving, 100%25 sure\n") {
		t.Errorf("missing or unescaped warning annotation:\n%s", out)
	}
}

func TestJUnit(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := sample()
	r.Undecided(errors.New("cannot read repo"))
	if err := r.Write(&buf, Options{Format: JUnit}); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("invalid XML: %v\n%s", err, buf.String())
	}
	if got.Failures != 1 || got.Errors != 1 || len(got.Suites) != 3 {
		t.Errorf("junit totals: failures %d errors %d suites %d\n%s", got.Failures, got.Errors, len(got.Suites), buf.String())
	}
	if got.Suites[0].Name != "versions" || got.Suites[0].Cases[0].Failure == nil {
		t.Errorf("versions suite should carry the failure: %+v", got.Suites[0])
	}
}

// ParseFormat takes what users type in RELKIT_FORMAT, and names a value it
// does not know together with what it expected.
func TestParseFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Format{"": Text, "text": Text, " JSON ": JSON, "JUnit": JUnit, "json\n": JSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"xml", "jsonl", "text json"} {
		if _, err := ParseFormat(in); err == nil || !strings.Contains(err.Error(), "expected text, json or junit") || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseFormat(%q) error %v; want one naming the value and the choices", in, err)
		}
	}
}

// Only a terminal gets colours; a pipe or a buffer never does.
func TestIsTerminal(t *testing.T) {
	t.Parallel()
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is not a terminal")
	}
}
