package testutil

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestContainsAllReportsEachMissingLine(t *testing.T) {
	r := &recorder{}
	ContainsAll(r, "the plan", "create tag v1.2.3\npush to origin\n", "create tag v1.2.3", "create branch", "push to origin", "delete")
	want := []string{
		"the plan lacks \"create branch\":\ncreate tag v1.2.3\npush to origin\n",
		"the plan lacks \"delete\":\ncreate tag v1.2.3\npush to origin\n",
	}
	if fmt.Sprint(r.errs) != fmt.Sprint(want) {
		t.Errorf("errors %q, want %q", r.errs, want)
	}
	r = &recorder{}
	ContainsAll(r, "the plan", "anything")
	if len(r.errs) != 0 {
		t.Errorf("no wants, errors %q", r.errs)
	}
}
