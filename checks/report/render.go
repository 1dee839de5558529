package report

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/term"

	"github.com/relkit/relkit/release/safetext"
)

// Format selects how a report is written.
type Format string

const (
	Text  Format = "text"
	JSON  Format = "json"
	JUnit Format = "junit"
)

// Options controls rendering.
type Options struct {
	Format Format
	// Colour turns on ANSI colours in text output.
	Colour bool
	// GitHub adds GitHub Actions workflow commands (::error ...) after the
	// main output.
	GitHub bool
	// RepoDir maps a repo name to its directory relative to the workspace
	// root, so text output and annotations show paths an editor can open.
	RepoDir map[string]string
}

// ParseFormat reads a format name (RELKIT_FORMAT's value in the targets):
// text (also when empty), json or junit, in any letter case.
func ParseFormat(name string) (Format, error) {
	switch f := strings.ToLower(strings.TrimSpace(name)); f {
	case "", "text":
		return Text, nil
	case "json":
		return JSON, nil
	case "junit":
		return JUnit, nil
	default:
		return Text, fmt.Errorf("%q: expected text, json or junit", f)
	}
}

// IsTerminal reports whether w is a terminal, where colours help; the
// caller also honours the user's wish for none (NO_COLOR).
func IsTerminal(w io.Writer) bool {
	file, ok := w.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// Write renders r to w. Findings carry repository content (a Dockerfile
// line, a chart value, a path), so every format removes credentials from
// URLs, and text and GitHub annotations escape control characters (JSON
// and JUnit escape them through their encoders).
func (r *Report) Write(w io.Writer, o Options) error {
	r = r.redacted()
	var err error
	switch o.Format {
	case JSON:
		err = r.writeJSON(w)
	case JUnit:
		err = r.writeJUnit(w)
	default:
		err = r.writeText(w, o)
	}
	if err == nil && o.GitHub {
		err = r.writeGitHub(w, o)
	}
	return err
}

func (o Options) displayPath(f Finding) string {
	if f.File == "" {
		return o.RepoDir[f.Repo]
	}
	if dir, ok := o.RepoDir[f.Repo]; ok && dir != "" && dir != "." {
		return path.Join(dir, f.File)
	}
	return f.File
}

// redacted is a copy of r with the credentials of every URL in its text
// removed (safetext.Redact).
func (r *Report) redacted() *Report {
	out := New(r.Checks()...)
	for _, f := range r.Findings() {
		f.Repo, f.File, f.Subject, f.Message = safetext.Redact(f.Repo), safetext.Redact(f.File), safetext.Redact(f.Subject), safetext.Redact(f.Message)
		out.Add(f)
	}
	r.mu.Lock()
	undecided := slices.Clone(r.undecided)
	r.mu.Unlock()
	for _, err := range undecided {
		out.Undecided(errors.New(safetext.Redact(err.Error())))
	}
	return out
}

type jsonReport struct {
	Findings  []Finding `json:"findings"`
	Errors    int       `json:"errors"`
	Warnings  int       `json:"warnings"`
	Undecided []string  `json:"undecided,omitempty"`
}

func (r *Report) writeJSON(w io.Writer) error {
	out := jsonReport{Findings: r.Findings()}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	out.Errors, out.Warnings = r.Counts()
	if err := r.Err(); err != nil {
		out.Undecided = strings.Split(err.Error(), "\n")
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiBold   = "\x1b[1m"
	ansiReset  = "\x1b[0m"
)

func (r *Report) writeText(w io.Writer, o Options) error {
	paint := func(code, s string) string {
		if !o.Colour {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	lastRepo, lastFile := "\x00", "\x00"
	for _, f := range r.Findings() {
		if f.Repo != lastRepo {
			if lastRepo != "\x00" {
				b.WriteString("\n")
			}
			name := safetext.Escape(f.Repo)
			if name == "" {
				name = "(workspace)"
			}
			b.WriteString(paint(ansiBold, name) + "\n")
			lastRepo, lastFile = f.Repo, "\x00"
		}
		if f.File != lastFile {
			lastFile = f.File
		}
		sev := paint(ansiYellow, "warning")
		if f.Severity == Error {
			sev = paint(ansiRed, "error")
		}
		loc := safetext.Escape(o.displayPath(f))
		if f.Line > 0 {
			loc = fmt.Sprintf("%s:%d", loc, f.Line)
		}
		subject := ""
		if f.Subject != "" {
			subject = fmt.Sprintf(" %q", f.Subject)
		}
		fmt.Fprintf(&b, "  %s: %s [%s]%s: %s\n", loc, sev, safetext.Escape(f.Rule), subject, safetext.Escape(f.Message))
	}
	if err := r.Err(); err != nil {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(paint(ansiRed, "could not decide:") + "\n")
		for _, line := range strings.Split(err.Error(), "\n") {
			b.WriteString("  " + safetext.Escape(line) + "\n")
		}
	}
	errs, warns := r.Counts()
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	checks := strings.Join(r.Checks(), ", ")
	if checks == "" {
		checks = "checks"
	}
	verdict := "passed"
	switch r.ExitCode() {
	case ExitFindings:
		verdict = "failed"
	case ExitUndecided:
		verdict = "could not decide"
	}
	fmt.Fprintf(&b, "%s: %s, %s, %s\n", checks, verdict, plural(errs, "error"), plural(warns, "warning"))
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// GitHub workflow commands need %, CR and LF escaped in the message, and
// also , and : in property values.
func ghEscape(s string, property bool) string {
	s = safetext.Escape(s)
	s = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
	if property {
		s = strings.NewReplacer(":", "%3A", ",", "%2C").Replace(s)
	}
	return s
}

func (r *Report) writeGitHub(w io.Writer, o Options) error {
	var b strings.Builder
	for _, f := range r.Findings() {
		kind := "warning"
		if f.Severity == Error {
			kind = "error"
		}
		props := []string{}
		if p := o.displayPath(f); p != "" {
			props = append(props, "file="+ghEscape(p, true))
		}
		if f.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", f.Line))
		}
		props = append(props, "title="+ghEscape(f.Check+" "+f.Rule, true))
		fmt.Fprintf(&b, "::%s %s::%s\n", kind, strings.Join(props, ","), ghEscape(f.Message, false))
	}
	if err := r.Err(); err != nil {
		fmt.Fprintf(&b, "::error title=relkit could not decide::%s\n", ghEscape(err.Error(), false))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// writeJUnit writes one suite per check and one test case per finding; an
// error-level finding is a failure, a warning passes with its text in
// system-out, and a check with no error gets one passing case so that the
// suite is never empty. "Could not decide" is a JUnit error.
func (r *Report) writeJUnit(w io.Writer) error {
	findings := r.Findings()
	names := r.Checks()
	for _, f := range findings {
		if !slices.Contains(names, f.Check) {
			names = append(names, f.Check)
		}
	}
	root := junitSuites{Name: "relkit"}
	for _, name := range names {
		s := junitSuite{Name: name}
		failed := false
		for _, f := range findings {
			if f.Check != name {
				continue
			}
			c := junitCase{
				Name:      fmt.Sprintf("%s %s %s", f.Rule, f.Location(), f.Subject),
				ClassName: "relkit." + name + "." + f.Repo,
			}
			text := fmt.Sprintf("%s: %s [%s] %s", f.Location(), f.Severity, f.Rule, f.Message)
			if f.Severity == Error {
				c.Failure = &junitMessage{Message: f.Message, Type: f.Rule, Body: text}
				s.Failures++
				failed = true
			} else {
				c.SystemOut = text
			}
			s.Cases = append(s.Cases, c)
		}
		if !failed {
			s.Cases = append(s.Cases, junitCase{Name: name + " has no error", ClassName: "relkit." + name})
		}
		s.Tests = len(s.Cases)
		root.Suites = append(root.Suites, s)
		root.Tests += s.Tests
		root.Failures += s.Failures
	}
	if err := r.Err(); err != nil {
		root.Suites = append(root.Suites, junitSuite{
			Name: "relkit", Tests: 1, Errors: 1,
			Cases: []junitCase{{Name: "could not decide", ClassName: "relkit",
				Error: &junitMessage{Message: "a check could not decide", Type: "undecided", Body: err.Error()}}},
		})
		root.Tests++
		root.Errors++
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
