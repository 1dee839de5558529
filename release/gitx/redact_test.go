package gitx

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestGitErrorsHideURLCredentials: git echoes the remote URL it failed on;
// the error relkit returns (and prints) never holds the credentials in it.
func TestGitErrorsHideURLCredentials(t *testing.T) {
	t.Parallel()
	// A loopback port nobody listens on: the fetch fails at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	if _, err := Git(context.Background(), dir, "init", "-q"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, url := range []string{
		"http://relkit-bot:s3cr3t-pass@" + addr + "/org/repo.git",
		"http://ghp_t0kenAsUser@" + addr + "/org/repo.git",
	} {
		_, err := Git(ctx, dir, "ls-remote", url)
		var ce *CmdError
		if !errors.As(err, &ce) {
			t.Fatalf("ls-remote %s: %v, want a git error", url, err)
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cr3t-pass") || strings.Contains(msg, "ghp_t0kenAsUser") || strings.Contains(msg, "relkit-bot") {
			t.Errorf("the git error prints the credentials: %s", msg)
		}
		if !strings.Contains(msg, addr+"/org/repo.git") {
			t.Errorf("the git error lost the remote: %s", msg)
		}
	}
}
