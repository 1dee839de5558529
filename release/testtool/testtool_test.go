package testtool

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how Missing ended the test instead
// of ending it.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestMissingFailsUnderCIAndSkipsElsewhere(t *testing.T) {
	for _, c := range []struct {
		ci       string
		set      bool
		wantFail bool
	}{
		{"true", true, true},
		{"1", true, true},
		{"yes", true, true},
		{"", false, false},
		{"", true, false},
		{"false", true, false},
		{"0", true, false},
	} {
		if c.set {
			t.Setenv("CI", c.ci)
		} else {
			t.Setenv("CI", "x") // restored after the test
			os.Unsetenv("CI")
		}
		r := &recorder{TB: t}
		Missing(r, "frob is not installed")
		name := fmt.Sprintf("CI=%q (set %v)", c.ci, c.set)
		switch {
		case c.wantFail && (r.fatal == "" || r.skip != ""):
			t.Errorf("%s: want a failure, got fatal %q skip %q", name, r.fatal, r.skip)
		case !c.wantFail && (r.skip == "" || r.fatal != ""):
			t.Errorf("%s: want a skip, got fatal %q skip %q", name, r.fatal, r.skip)
		}
		if msg := r.fatal + r.skip; !strings.Contains(msg, "frob is not installed") {
			t.Errorf("%s: the message %q does not say what is missing", name, msg)
		}
	}
}

// TestGitHTTPBackendFollowsExecPath puts a git on PATH whose exec path is a
// temp dir: the backend is looked up there, and its absence is reported
// with that path.
func TestGitHTTPBackendFollowsExecPath(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		Missing(t, "sh is not installed")
	}
	bin, core := t.TempDir(), t.TempDir()
	fake := "#!/bin/sh\n[ \"$1\" = --exec-path ] && echo '" + core + "'\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	if p := GitHTTPBackend(r); p != "" || !strings.Contains(r.fatal, filepath.Join(core, "git-http-backend")) {
		t.Errorf("without a backend in %s: path %q, fatal %q", core, p, r.fatal)
	}
	backend := filepath.Join(core, "git-http-backend")
	if err := os.WriteFile(backend, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = &recorder{TB: t}
	if p := GitHTTPBackend(r); p != backend || r.fatal != "" || r.skip != "" {
		t.Errorf("with %s: path %q, fatal %q, skip %q", backend, p, r.fatal, r.skip)
	}
}

// ServeDockerRegistry's registry serves, and asks for credentials exactly
// when it is given an htpasswd file.
func TestServeDockerRegistryAuthOnlyWithHtpasswd(t *testing.T) {
	for _, c := range []struct {
		opt  RegistryOptions
		want int
	}{
		{RegistryOptions{}, http.StatusOK},
		// The hash is never checked: a request without credentials is
		// refused before it is.
		{RegistryOptions{Htpasswd: "relkit:$2a$04$yS0n1rkT3JcK0KMHqOXqeuBcKZ5j0Yd3sMY3YnU3XWSiTqVYx9wWS\n", Delete: true}, http.StatusUnauthorized},
	} {
		host := ServeDockerRegistry(t, c.opt)
		resp, err := http.Get("http://" + host + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%+v: /v2/ answered %d, want %d", c.opt, resp.StatusCode, c.want)
		}
	}
}
