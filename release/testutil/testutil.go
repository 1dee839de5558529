// Package testutil holds the small assertions many of relkit's test
// packages make the same way. It imports only the standard library, so
// any package's tests can use it.
package testutil

import (
	"strings"
	"testing"
)

// ContainsAll reports, as a test error, each of wants that text does not
// contain, quoting text so the failure shows what was there instead.
// what names the text in the message ("dry-run output", "the notes").
func ContainsAll(tb testing.TB, what, text string, wants ...string) {
	tb.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			tb.Errorf("%s lacks %q:\n%s", what, want, text)
		}
	}
}
