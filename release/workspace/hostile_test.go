package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/release/repofs"
)

// TestLoadRefusesNonRegularAndHugeConfigs: a config that is a FIFO or
// /dev/zero fails at once instead of hanging or filling memory, and one
// over the cap is refused.
func TestLoadRefusesNonRegularAndHugeConfigs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, []byte("# "+strings.Repeat("x", int(repofs.MaxConfig))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero", huge, dir} {
		done := make(chan error, 1)
		go func() { _, err := Load(p); done <- err }()
		select {
		case err := <-done:
			if _, _, ok := repofs.Refused(err); !ok {
				t.Errorf("Load(%s): %v, want a refusal", p, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("Load(%s) did not return: it blocked on the file", p)
		}
	}
}
