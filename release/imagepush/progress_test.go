package imagepush

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestTerminalProgress drives the terminal reporter as two pushers would:
// a status line summing both, finished targets printed above it, and the
// status line cleared at the end.
func TestTerminalProgress(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := &reporter{w: &buf, tty: true}
	a, b := r.updates(), r.updates()
	a <- v1.Update{Total: 3 << 20, Complete: 1 << 20}
	b <- v1.Update{Total: 1 << 20, Complete: 1 << 20}
	a <- v1.Update{Error: errors.New("ignored")}
	seen := false
	for range 2000 {
		r.mu.Lock()
		seen = r.last[0].Total != 0 && r.last[1].Total != 0
		r.mu.Unlock()
		if seen {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !seen {
		t.Fatal("the reporter never received both updates")
	}
	r.finished(Target{Ref: "registry.example.org/app:1.0.0", Status: StatusPushed})
	r.close()
	out := buf.String()
	for _, want := range []string{
		"\r\033[Kpushed        registry.example.org/app:1.0.0\n",
		"\r\033[Kpushing: 2.0 MiB of 4.0 MiB, 1 targets done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("status line not cleared at the end:\n%q", out)
	}
}

func TestNonTerminalProgressHasNoChannels(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := newReporter(&buf)
	if r.updates() != nil {
		t.Fatal("a non-terminal writer got a progress channel")
	}
	r.finished(Target{Ref: "x:1", Status: StatusIdentical})
	r.close()
	if got := buf.String(); got != "identical     x:1\n" {
		t.Errorf("output %q, want one line", got)
	}
}
