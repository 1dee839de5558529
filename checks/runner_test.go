package checks

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/workspace"
)

// A config error stops every check; each format shows it once, not once
// per check.
func TestConfigErrorIsReportedOncePerFormat(t *testing.T) {
	t.Parallel()
	const problem = "/ws/relkit.yaml:3: unknown key \"mainbranch\" in charts"
	bad := func() (*workspace.Config, error) {
		return nil, &workspace.Error{Problems: []string{problem}}
	}
	for _, format := range []string{"text", "json", "junit"} {
		t.Run(format, func(t *testing.T) {
			f, err := report.ParseFormat(format)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			code, summary := NewRunner(bad, Options{}).Run(context.Background(), &out, report.Options{Format: f}, Names()...)
			if code != report.ExitUndecided {
				t.Fatalf("exit %d, want %d", code, report.ExitUndecided)
			}
			if strings.Contains(summary, "mainbranch") {
				t.Errorf("the summary (printed on stderr) repeats the problem: %q", summary)
			}
			if n := strings.Count(out.String(), "mainbranch"); n != 1 {
				t.Errorf("the problem appears %d times, want once:\n%s", n, out.String())
			}
			switch format {
			case "text":
				if !strings.Contains(out.String(), "could not decide") {
					t.Errorf("text lacks the verdict:\n%s", out.String())
				}
			case "json":
				var r struct {
					Findings  []report.Finding `json:"findings"`
					Undecided []string         `json:"undecided"`
				}
				if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
					t.Fatal(err)
				}
				if len(r.Undecided) != 1 || r.Undecided[0] != problem || len(r.Findings) != 0 {
					t.Errorf("undecided = %q, findings %d; want the one problem", r.Undecided, len(r.Findings))
				}
			case "junit":
				var r struct {
					Tests    int `xml:"tests,attr"`
					Failures int `xml:"failures,attr"`
					Errors   int `xml:"errors,attr"`
					Suites   []struct {
						Cases []struct {
							Name  string `xml:"name,attr"`
							Error *struct {
								Body string `xml:",chardata"`
							} `xml:"error"`
						} `xml:"testcase"`
					} `xml:"testsuite"`
				}
				if err := xml.Unmarshal([]byte(out.String()), &r); err != nil {
					t.Fatal(err)
				}
				var cases int
				for _, s := range r.Suites {
					cases += len(s.Cases)
				}
				if r.Tests != 1 || cases != 1 || r.Errors+r.Failures != 1 || r.Suites[0].Cases[0].Error == nil ||
					!strings.Contains(r.Suites[0].Cases[0].Error.Body, problem) {
					t.Errorf("want exactly one failing case holding the problem:\n%s", out.String())
				}
			}
		})
	}
}
