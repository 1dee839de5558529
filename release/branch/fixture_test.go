package branch

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/testtool"
	"github.com/relkit/relkit/release/workspace"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

// fixture is a workspace of real repos with bare remotes.
type fixture struct {
	root    string
	ws      *workspace.Config
	repos   map[string]*demo.Repo
	remotes map[string]string // repo name -> bare dir
	server  *gitServer
}

type fixtureOpts struct {
	// components is the number of component repos (at least 4 get the
	// special VERSION shapes).
	components int
	// genCharts adds simple generated charts to the charts repo.
	genCharts int
	// httpRepos are served over smart HTTP with a token instead of as
	// file remotes.
	httpRepos []string
}

// Field-note shapes of the charts repo.
var chartFiles = map[string]string{
	"VERSION":   "2.1.3-dev\n",
	"README.md": "# charts\n",
	// Plain, comments, blank lines, trailing comment on the version line.
	"apps/hss/Chart.yaml": "# Copyright 2024 the Aether authors\napiVersion: v2\n\nname: hss\n" +
		"description: Home Subscriber Server\n\n# bump on every change\nversion: 1.2.3   # keep in sync with the image\nappVersion: \"1.2.3\"\n",
	"apps/hss/values.yaml": "image:\n  repository: registry.example.org/omec/hss\n  tag: \"1.2.3\"\n",
	// Double quoted, CRLF.
	"apps/mme/Chart.yaml": "apiVersion: v2\r\nname: mme\r\nversion: \"1.0.4\"\r\nappVersion: v1.0.4\r\n",
	// Single quoted, no final newline.
	"apps/spgw/Chart.yaml": "apiVersion: v2\nname: spgw\nversion: '0.9.1'",
	// Umbrella, nested group, deps of every kind.
	"omec/omec-control-plane/Chart.yaml": "apiVersion: v2\nname: omec-control-plane\nversion: 3.0.7\n" +
		"dependencies:\n" +
		"  - name: hss\n    version: 1.2.3 # exact pin\n    repository: file://../../apps/hss\n    condition: hss.enabled\n" +
		"  - name: mme\n    alias: mme-a\n    version: \"^1.0.0\"\n    repository: \"file://../../apps/mme\"\n" +
		"  - name: spgw\n    version: '0.9.0'\n    repository: file://../../apps/spgw\n" +
		"  - name: redis\n    version: ~17.0.0\n    repository: https://charts.bitnami.com/bitnami\n" +
		"  - name: common\n    version: 2.0.0\n    repository: oci://registry.example.org/charts\n",
	"omec/omec-control-plane/charts/hss-1.2.3.tgz":       "\x1f\x8b\x08\x00binary",
	"omec/omec-control-plane/charts/vendored/Chart.yaml": "apiVersion: v2\nname: vendored\nversion: 0.1.0\n",
	"omec/omec-control-plane/templates/configmap.yaml":   "kind: ConfigMap\n",
	"legacy/old/Chart.yaml":                              "apiVersion: v1\nname: old\nversion: 0.4.2\n",
	"legacy/old/requirements.yaml":                       "dependencies:\n- name: hss\n  version: \"1.2.3\"\n  repository: file://../../apps/hss\n",
	".github/workflows/Chart.yaml":                       "not: a chart\n",
}

// Field-note shapes of VERSION files, by component index.
var componentVersions = []string{"1.2.3\n", "1.4.0-dev\r\n", "0.3.1", "2.0.0-dev1\n"}

func componentName(i int) string { return fmt.Sprintf("comp-%02d", i) }

// buildFixture builds a workspace in dir.
func buildFixture(tb testing.TB, dir string, o fixtureOpts) *fixture {
	tb.Helper()
	fx := &fixture{root: dir, repos: map[string]*demo.Repo{}, remotes: map[string]string{}}
	newRepo := func(name string) *demo.Repo {
		fx.repos[name] = workspacetest.Repo(tb, filepath.Join(dir, "repos", name), "master", nil)
		return fx.repos[name]
	}
	charts := newRepo("charts")
	files := map[string]string{}
	for k, v := range chartFiles {
		files[k] = v
	}
	for i := range o.genCharts {
		files[fmt.Sprintf("gen/chart-%03d/Chart.yaml", i)] = fmt.Sprintf("apiVersion: v2\nname: chart-%03d\nversion: 0.%d.%d\n", i, i%7, i%3)
		files[fmt.Sprintf("gen/chart-%03d/values.yaml", i)] = "replicas: 1\n"
	}
	charts.Commit("Initial charts", files)
	charts.Commit("Tune hss", map[string]string{"apps/hss/values.yaml": "image:\n  repository: registry.example.org/omec/hss\n  tag: \"1.2.3\"\nreplicas: 2\n"})

	docs := newRepo("docs")
	docs.Commit("Docs", map[string]string{"VERSION": "2.1.2\n", "index.md": "# Aether\n"})

	st := newRepo("system-tests")
	st.Commit("Tests", map[string]string{"README.md": "tests\n"})
	st.Commit("More tests", map[string]string{"smoke.robot": "*** Test Cases ***\n"})

	var comps strings.Builder
	for i := range o.components {
		name := componentName(i)
		r := newRepo(name)
		v := componentVersions[i%len(componentVersions)]
		if i >= len(componentVersions) {
			v = fmt.Sprintf("1.%d.%d-dev\n", i%5, i%4)
		}
		r.Commit("Start", map[string]string{"VERSION": v, "Dockerfile": "FROM scratch\n", "main.go": "package main\n"})
		r.Commit("Work", map[string]string{"main.go": "package main\n\nfunc main() {}\n"})
		prefix := ""
		if i%2 == 0 {
			prefix = "\n    tagPrefix: v"
		}
		fmt.Fprintf(&comps, "  - name: %s\n    path: repos/%s%s\n", name, name, prefix)
	}
	for name, r := range fx.repos {
		bare := filepath.Join(dir, "remotes", name+".git")
		r.AddBareRemote(bare)
		// A relative URL keeps a copied workspace pointing at its own remotes.
		r.Git("remote", "set-url", "origin", "../../remotes/"+name+".git")
		fx.remotes[name] = bare
		if err := r.Err(); err != nil {
			tb.Fatalf("building %s: %v", name, err)
		}
	}
	if len(o.httpRepos) > 0 {
		fx.server = startGitServer(tb, filepath.Join(dir, "remotes"))
		for i, name := range o.httpRepos {
			r := fx.repos[name]
			if i%2 == 0 {
				// Token in a scoped http.extraHeader.
				r.Git("remote", "set-url", "origin", fx.server.URL+"/"+name+".git")
				r.Git("config", "http."+fx.server.URL+"/.extraHeader", "Authorization: Bearer "+fx.server.token)
			} else {
				// Token as the password in the URL.
				u := strings.Replace(fx.server.URL, "http://", "http://relkit:"+fx.server.token+"@", 1)
				r.Git("remote", "set-url", "origin", u+"/"+name+".git")
			}
			if err := r.Err(); err != nil {
				tb.Fatal(err)
			}
		}
	}
	cfg := fmt.Sprintf(`branchPrefix: aether-
charts:
  path: repos/charts
docs:
  path: repos/docs
components:
%sbranched:
  - name: system-tests
    path: repos/system-tests
git:
  author: Release Bot <release-bot@example.org>
`, comps.String())
	fx.ws = workspacetest.Load(tb, dir, cfg)
	return fx
}

// git runs git in a repo of the fixture (by name) or any dir.
func (fx *fixture) git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	if r, ok := fx.repos[dir]; ok {
		dir = r.Dir
	}
	out, err := gitx.Git(context.Background(), dir, args...)
	if err != nil {
		tb.Fatalf("git %v in %s: %v", args, dir, err)
	}
	return strings.TrimSpace(out)
}

// rev returns the commit of rev in dir, or "" when it does not exist.
func (fx *fixture) rev(dir, rev string) string {
	if r, ok := fx.repos[dir]; ok {
		dir = r.Dir
	}
	out, err := gitx.Git(context.Background(), dir, "rev-parse", "--verify", "-q", rev+"^{commit}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// hashTree hashes every file under dir (paths, modes, contents, symlink
// targets), .git included.
func hashTree(tb testing.TB, dir string) string {
	tb.Helper()
	h := sha256.New()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		st, err := os.Lstat(p)
		if err != nil {
			tb.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00%v\x00", rel, st.Mode())
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			io.WriteString(h, t)
		case st.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				tb.Fatal(err)
			}
			h.Write(data)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// gitServer serves the bare repos under root over git's smart HTTP
// protocol, on loopback, to requests that carry its token.
type gitServer struct {
	*httptest.Server
	token string
	// denied counts requests turned away for lack of the token.
	denied atomic.Int32
}

func startGitServer(tb testing.TB, root string) *gitServer {
	tb.Helper()
	backend := testtool.GitHTTPBackend(tb)
	gs := &gitServer{token: "s3cr3t-token"}
	cgiH := &cgi.Handler{
		Path: backend,
		Root: "/",
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=relkit"},
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !gs.authorized(r) {
			gs.denied.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="relkit-test"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		cgiH.ServeHTTP(w, r)
	})
	gs.Server = httptest.NewUnstartedServer(h)
	gs.Start() // httptest listens on 127.0.0.1
	tb.Cleanup(gs.Close)
	return gs
}

func (gs *gitServer) authorized(r *http.Request) bool {
	a := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(a, "Bearer "); ok {
		return tok == gs.token
	}
	if enc, ok := strings.CutPrefix(a, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return false
		}
		_, pass, _ := strings.Cut(string(raw), ":")
		return pass == gs.token
	}
	return false
}

// writeHook installs a shell hook in a git dir (bare repo or .git) and
// returns its path.
func writeHook(tb testing.TB, gitDir, name, body string) string {
	tb.Helper()
	dir := filepath.Join(gitDir, "hooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		tb.Fatal(err)
	}
	return p
}
