package testtool

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// RegistryOptions configure the docker-registry ServeDockerRegistry runs.
type RegistryOptions struct {
	// Htpasswd, when set, is the content of an htpasswd file (bcrypt
	// hashes): the registry then asks every client for basic auth.
	Htpasswd string
	// Delete lets clients delete manifests and blobs.
	Delete bool
}

// ServeDockerRegistry runs Debian's docker-registry (the CNCF distribution
// registry) on a free loopback port, storing in a temp dir, until the test
// ends, and returns its host:port once /v2/ answers. A missing binary ends
// the test through Missing; one that exits early or does not answer
// within 10s fails it with the registry's output.
func ServeDockerRegistry(tb testing.TB, opt RegistryOptions) string {
	tb.Helper()
	bin := DockerRegistry(tb)
	dir := tb.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		tb.Fatal(err)
	}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"+
		"storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: %t\n"+
		"http:\n  addr: %s\n  secret: %s\n", filepath.Join(dir, "data"), opt.Delete, host, hex.EncodeToString(secret))
	if opt.Htpasswd != "" {
		file := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(file, []byte(opt.Htpasswd), 0o600); err != nil {
			tb.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: relkit-test\n    path: %s\n", file)
	}
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", cfgFile)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		cancel()
		<-exited
	})
	// Any answer on /v2/ (200, or 401 behind auth) means it serves.
	client := &http.Client{Timeout: time.Second}
	for range 100 {
		if resp, err := client.Get("http://" + host + "/v2/"); err == nil {
			resp.Body.Close()
			return host
		}
		select {
		case <-exited:
			tb.Fatalf("%s exited early:\n%s", bin, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	tb.Fatalf("%s did not answer on http://%s/v2/ within 10s; its output:\n%s", bin, host, out.String())
	return ""
}

// lockedBuffer is a bytes.Buffer safe for a process's output goroutines
// and a test reading it meanwhile.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
