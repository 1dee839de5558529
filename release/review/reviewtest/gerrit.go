package reviewtest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/release/review/gerritlike"
)

// Gerrit is a Gerrit-like remote (gerritlike.Remote) in the test's
// temporary directory, its REST handler served on loopback for the
// test's life; its methods fail the test instead of returning errors.
type Gerrit struct {
	*gerritlike.Remote
	t testing.TB
}

// Change is one change as the remote recorded it.
type Change = gerritlike.Change

// NewGerrit makes a Gerrit-like remote for project whose branches start
// as seed's (a repo; nil refspecs copies every branch).
func NewGerrit(t testing.TB, project string, seed string, refspecs ...string) *Gerrit {
	t.Helper()
	g := &Gerrit{t: t, Remote: &gerritlike.Remote{Project: project, Dir: filepath.Join(t.TempDir(), "gerrit", filepath.FromSlash(project)+".git")}}
	srv := httptest.NewServer(g.Remote)
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	if err := g.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	if seed != "" {
		if len(refspecs) == 0 {
			refspecs = []string{"refs/heads/*:refs/heads/*"}
		}
		g.Admin(seed, refspecs...)
	}
	return g
}

// Admin sets refs of the project from the repo at from, bypassing review
// (another person's merge, a branch moved on the server).
func (g *Gerrit) Admin(from string, refspecs ...string) {
	g.t.Helper()
	if err := g.Remote.Admin(context.Background(), from, refspecs...); err != nil {
		g.t.Fatal(err)
	}
}

// Refs maps every ref of the project to its value.
func (g *Gerrit) Refs() map[string]string { return Refs(g.t, g.Dir) }

// Pushes lists every ref update a push asked for, accepted or not, as
// "old new ref".
func (g *Gerrit) Pushes() []string {
	g.t.Helper()
	pushes, err := g.Remote.Pushes()
	if err != nil {
		g.t.Fatal(err)
	}
	return pushes
}

// Changes lists the recorded changes by number.
func (g *Gerrit) Changes() []Change {
	g.t.Helper()
	changes, err := g.Remote.Changes(context.Background())
	if err != nil {
		g.t.Fatal(err)
	}
	return changes
}

// Submit merges change n as Gerrit's fast-forward-only submit does.
func (g *Gerrit) Submit(n int) {
	g.t.Helper()
	if err := g.Remote.Submit(context.Background(), n); err != nil {
		g.t.Fatal(err)
	}
}

// Abandon marks change n ABANDONED.
func (g *Gerrit) Abandon(n int) {
	g.t.Helper()
	if err := g.SetStatus(context.Background(), n, "ABANDONED"); err != nil {
		g.t.Fatal(err)
	}
}
