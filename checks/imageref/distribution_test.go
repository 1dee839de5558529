package imageref

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/relkit/relkit/release/testtool"
)

// syncBuffer is a bytes.Buffer safe for the registry's output goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDistribution runs docker-registry on a free loopback port with a
// temporary storage directory, optionally behind htpasswd auth, and
// returns host:port once /v2/ answers.
func startDistribution(t *testing.T, htpasswd string) string {
	t.Helper()
	distributionBin := testtool.DockerRegistry(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"+
		"storage:\n  filesystem:\n    rootdirectory: %s\n"+
		"http:\n  addr: %s\n", filepath.Join(dir, "data"), host)
	if htpasswd != "" {
		file := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(file, []byte(htpasswd), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: relkit-test\n    path: %s\n", file)
	}
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, distributionBin, "serve", cfgFile)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", distributionBin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	client := &http.Client{Timeout: time.Second}
	for range 100 {
		resp, err := client.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return host
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer on %s within 10s; its output:\n%s", distributionBin, host, out.String())
	return ""
}

func TestDistributionRegistry(t *testing.T) {
	host := startDistribution(t, "")
	digest := push(t, host, "team/app", "1.0.0")
	c := newChecker(t, Options{Mirrors: map[string]string{"registry.example.org": host}})
	want := map[string]Status{
		host + "/team/app:1.0.0":              Exists,
		host + "/team/app:1.0.1":              Missing,
		host + "/team/none:1.0.0":             Missing,
		host + "/team/app@" + digest:          Exists,
		"registry.example.org/team/app:1.0.0": Exists,
	}
	var refs []Ref
	for s := range want {
		refs = append(refs, mustParse(t, s))
	}
	for _, r := range c.CheckAll(context.Background(), refs) {
		if r.Status != want[r.Ref] {
			t.Errorf("%s (via %s): status %s (err %v); expected %s", r.Ref, r.Contacted, r.Status, r.Err, want[r.Ref])
		}
	}
}

func TestDistributionRegistryAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	host := startDistribution(t, "relkit:"+string(hash)+"\n")
	dockerConfig(t, host, "relkit", "s3cret")
	push(t, host, "team/app", "1.0.0")
	wantAuthOutcomes(t, host)
}
