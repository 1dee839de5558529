// Package testtool finds the outside programs relkit's integration tests
// run (Debian's docker-registry, git's http-backend) and decides what a
// missing one means. Under CI (the CI variable set, as every CI service
// does) the test fails: a CI run that skips its integration tests passes
// without having tested anything. Elsewhere it skips and says how to
// install the program.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DockerRegistryPath is where Debian's docker-registry package installs the
// CNCF distribution registry; PATH is searched first.
const DockerRegistryPath = "/usr/bin/docker-registry"

// UnderCI reports whether the CI variable says this is a CI run: set, and
// not "false" or "0" (a developer's way to turn it off).
func UnderCI() bool {
	v, ok := os.LookupEnv("CI")
	if !ok {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "0":
		return false
	}
	return true
}

// Missing ends the test for a missing program: Fatalf under CI, Skipf
// elsewhere. why names the program and how to get it.
func Missing(tb testing.TB, why string) {
	tb.Helper()
	if UnderCI() {
		tb.Fatalf("%s; CI must run this test, so it fails rather than skips", why)
		return
	}
	tb.Skipf("%s; skipping (under CI this fails)", why)
}

// DockerRegistry returns the path of Debian's docker-registry, or ends the
// test through Missing.
func DockerRegistry(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("docker-registry"); err == nil {
		return p
	}
	if isExecutable(DockerRegistryPath) {
		return DockerRegistryPath
	}
	Missing(tb, "docker-registry is not installed (apt-get install docker-registry)")
	return ""
}

// GitHTTPBackend returns the path of git's http-backend, found in the
// directory `git --exec-path` names (not a distribution's path: git
// installed elsewhere keeps it elsewhere), or ends the test through
// Missing.
func GitHTTPBackend(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		Missing(tb, "git --exec-path failed: "+err.Error()+" (apt-get install git)")
		return ""
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if !isExecutable(p) {
		Missing(tb, p+" is not an executable file (apt-get install git)")
		return ""
	}
	return p
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}
