// Package report holds the findings every relkit check produces and renders
// them for people (grouped text), for machines (JSON), for Jenkins (JUnit)
// and for GitHub Actions (workflow annotations).
package report

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Severity of a finding.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Exit codes shared by every check target. Mage itself uses 2 for usage
// errors, so "could not decide" is 3.
const (
	ExitOK        = 0
	ExitFindings  = 1
	ExitUndecided = 3
)

// Finding is one thing a check has to say about one file.
type Finding struct {
	Check    string   `json:"check"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Repo     string   `json:"repo"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Subject  string   `json:"subject"`
	Message  string   `json:"message"`
}

// Report collects the findings of one or more checks, plus the problems that
// stopped a check from deciding (a repo it could not read, a registry it
// could not reach). It is safe for concurrent use.
type Report struct {
	mu         sync.Mutex
	findings   []Finding
	undecided  []error
	checksSeen []string
}

// New returns an empty report for the named checks.
func New(checks ...string) *Report {
	return &Report{checksSeen: slices.Clone(checks)}
}

// Add records findings.
func (r *Report) Add(f ...Finding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.findings = append(r.findings, f...)
}

// Undecided records that a check could not reach a verdict.
func (r *Report) Undecided(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.undecided = append(r.undecided, err)
}

// Merge adds everything of other to r.
func (r *Report) Merge(other *Report) {
	if other == nil {
		return
	}
	other.mu.Lock()
	f := slices.Clone(other.findings)
	u := slices.Clone(other.undecided)
	c := slices.Clone(other.checksSeen)
	other.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.findings = append(r.findings, f...)
	r.undecided = append(r.undecided, u...)
	for _, name := range c {
		if !slices.Contains(r.checksSeen, name) {
			r.checksSeen = append(r.checksSeen, name)
		}
	}
}

// Findings returns the findings sorted by repo, file, line, rule, subject.
func (r *Report) Findings() []Finding {
	r.mu.Lock()
	out := slices.Clone(r.findings)
	r.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Repo, b.Repo),
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Subject, b.Subject),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return out
}

// Checks names the checks that contributed to the report.
func (r *Report) Checks() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.checksSeen)
}

// Err joins every "could not decide" problem, or nil.
func (r *Report) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.undecided...)
}

// Counts returns the number of error- and warning-level findings.
func (r *Report) Counts() (errs, warns int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.findings {
		if f.Severity == Error {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

// ExitCode is 3 when any check could not decide, else 1 when any finding is
// an error, else 0.
func (r *Report) ExitCode() int {
	if r.Err() != nil {
		return ExitUndecided
	}
	if errs, _ := r.Counts(); errs > 0 {
		return ExitFindings
	}
	return ExitOK
}

// Location formats file:line the way editors and compilers do.
func (f Finding) Location() string {
	switch {
	case f.File == "":
		return "."
	case f.Line > 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	default:
		return f.File
	}
}
