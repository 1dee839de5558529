package reviewtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	//go:embed hooks/gerrit-pre-receive
	gerritPreReceive string
	//go:embed hooks/gerrit-proc-receive
	gerritProcReceive string
)

// Gerrit is a Gerrit-like remote: a bare repo whose hooks take pushes to
// refs/for/<branch> the way Gerrit does (a change per commit, keyed by
// Change-Id and branch; patch sets under refs/changes/; "no new changes";
// no direct branch updates, no tags) and a REST server answering
// GET /changes/?q=... from what the hooks recorded.
type Gerrit struct {
	t       testing.TB
	Project string
	// Dir is the bare repo: the git remote's URL.
	Dir string
	// URL is the REST (and web) root.
	URL string
	// User and Password, when set, are required by the REST API under
	// /a/ (HTTP basic auth), as Gerrit's authenticated root.
	User, Password string

	mu    sync.Mutex
	calls []string
}

// Change is one change as the remote recorded it.
type Change struct {
	Number   int
	Branch   string
	ChangeID string
	Topic    string
	Status   string // NEW, MERGED, ABANDONED
	// Patchsets are the commits of patch sets 1, 2, ...
	Patchsets []string
	Subject   string
}

// Current is the commit of the newest patch set.
func (c Change) Current() string { return c.Patchsets[len(c.Patchsets)-1] }

// NewGerrit makes a Gerrit-like remote for project whose branches start
// as seed's (a repo; nil refspecs copies every branch).
func NewGerrit(t testing.TB, project string, seed string, refspecs ...string) *Gerrit {
	t.Helper()
	g := &Gerrit{t: t, Project: project, Dir: filepath.Join(t.TempDir(), "gerrit", filepath.FromSlash(project)+".git")}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	newBare(t, g.Dir, map[string]string{"pre-receive": gerritPreReceive, "proc-receive": gerritProcReceive},
		[2]string{"receive.procReceiveRefs", "refs/for"},
		[2]string{"gerrit.project", project},
		[2]string{"gerrit.url", g.URL})
	if seed != "" {
		if len(refspecs) == 0 {
			refspecs = []string{"refs/heads/*:refs/heads/*"}
		}
		adminFetch(t, g.Dir, seed, refspecs...)
	}
	return g
}

// Admin sets refs of the project from the repo at from, bypassing review
// (another person's merge, a branch moved on the server).
func (g *Gerrit) Admin(from string, refspecs ...string) { adminFetch(g.t, g.Dir, from, refspecs...) }

// Refs maps every ref of the project to its value.
func (g *Gerrit) Refs() map[string]string { return Refs(g.t, g.Dir) }

// Pushes lists every ref update a push asked for, accepted or not, as
// "old new ref".
func (g *Gerrit) Pushes() []string { return readLines(g.t, filepath.Join(g.Dir, "gerrit", "pushes")) }

// Calls lists the REST requests made, as "GET /changes/?...".
func (g *Gerrit) Calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

// Changes lists the recorded changes by number.
func (g *Gerrit) Changes() []Change {
	g.t.Helper()
	out, err := g.changes()
	if err != nil {
		g.t.Fatal(err)
	}
	return out
}

func (g *Gerrit) changes() ([]Change, error) {
	refs, err := run(g.Dir, nil, "", "for-each-ref", "--format=%(refname) %(objectname)", "refs/changes/")
	if err != nil {
		return nil, err
	}
	sets := map[int]map[int]string{}
	for _, line := range strings.Split(refs, "\n") {
		name, hash, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		parts := strings.Split(name, "/") // refs changes NN N P
		if len(parts) != 5 {
			continue
		}
		n, err1 := strconv.Atoi(parts[3])
		ps, err2 := strconv.Atoi(parts[4])
		if err1 != nil || err2 != nil {
			continue
		}
		if sets[n] == nil {
			sets[n] = map[int]string{}
		}
		sets[n][ps] = hash
	}
	var out []Change
	for _, line := range readLines(g.t, filepath.Join(g.Dir, "gerrit", "changes")) {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("gerrit/changes: bad line %q", line)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("gerrit/changes: bad number in %q", line)
		}
		c := Change{Number: n, Branch: f[1], ChangeID: f[2], Topic: f[3], Status: f[4]}
		for ps := 1; sets[n][ps] != ""; ps++ {
			c.Patchsets = append(c.Patchsets, sets[n][ps])
		}
		if len(c.Patchsets) == 0 {
			return nil, fmt.Errorf("change %d has no patch set", n)
		}
		if c.Subject, err = run(g.Dir, nil, "", "log", "-1", "--format=%s", c.Current()); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Submit merges change n as Gerrit's fast-forward-only submit does: its
// branch moves to the current patch set, which must be made on the
// branch's tip. It marks the change MERGED.
func (g *Gerrit) Submit(n int) {
	g.t.Helper()
	c := g.change(n)
	Git(g.t, g.Dir, "update-ref", "refs/heads/"+c.Branch, c.Current(), c.Current()+"^")
	g.setStatus(n, "MERGED")
}

// Abandon marks change n ABANDONED.
func (g *Gerrit) Abandon(n int) { g.setStatus(n, "ABANDONED") }

func (g *Gerrit) change(n int) Change {
	g.t.Helper()
	for _, c := range g.Changes() {
		if c.Number == n {
			return c
		}
	}
	g.t.Fatalf("no change %d", n)
	return Change{}
}

func (g *Gerrit) setStatus(n int, status string) {
	g.t.Helper()
	g.change(n)
	path := filepath.Join(g.Dir, "gerrit", "changes")
	lines := readLines(g.t, path)
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if f[0] == strconv.Itoa(n) {
			f[4] = status
			lines[i] = strings.Join(f, "\t")
		}
	}
	writeLines(g.t, path, lines)
}

// changeInfo is Gerrit's ChangeInfo, the fields the fixture fills.
type changeInfo struct {
	ID              string                  `json:"id"`
	Project         string                  `json:"project"`
	Branch          string                  `json:"branch"`
	Topic           string                  `json:"topic,omitempty"`
	ChangeID        string                  `json:"change_id"`
	Subject         string                  `json:"subject"`
	Status          string                  `json:"status"`
	Number          int                     `json:"_number"`
	CurrentRevision string                  `json:"current_revision,omitempty"`
	Revisions       map[string]revisionInfo `json:"revisions,omitempty"`
	More            bool                    `json:"_more_changes,omitempty"`
}

type revisionInfo struct {
	Number int    `json:"_number"`
	Ref    string `json:"ref"`
}

// serve answers GET [/a]/changes/?q=<query>[&o=CURRENT_REVISION][&n=N][&S=start]
// with a )]}'-prefixed JSON list, as Gerrit does. The query is a
// conjunction of topic:, status:, branch:, project: and change: terms.
func (g *Gerrit) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.calls = append(g.calls, r.Method+" "+r.URL.RequestURI())
	g.mu.Unlock()
	path := r.URL.Path
	if p, ok := strings.CutPrefix(path, "/a"); ok {
		user, pass, ok := r.BasicAuth()
		if g.User != "" && (!ok || user != g.User || pass != g.Password) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		path = p
	} else if g.User != "" {
		// Anonymous users see nothing of this project.
		writeGerrit(w, []changeInfo{})
		return
	}
	if r.Method != http.MethodGet || path != "/changes/" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	match, err := parseQuery(q.Get("q"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	changes, err := g.changes()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	withRevision := slices.Contains(q["o"], "CURRENT_REVISION")
	var list []changeInfo
	// Gerrit lists the most recently updated first; newest number first
	// stands in for that.
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		if !match(g.Project, c) {
			continue
		}
		info := changeInfo{ID: g.Project + "~" + c.Branch + "~" + c.ChangeID, Project: g.Project, Branch: c.Branch,
			Topic: c.Topic, ChangeID: c.ChangeID, Subject: c.Subject, Status: c.Status, Number: c.Number}
		if withRevision {
			ps := len(c.Patchsets)
			info.CurrentRevision = c.Current()
			info.Revisions = map[string]revisionInfo{c.Current(): {Number: ps,
				Ref: fmt.Sprintf("refs/changes/%02d/%d/%d", c.Number%100, c.Number, ps)}}
		}
		list = append(list, info)
	}
	start, _ := strconv.Atoi(q.Get("S"))
	if start == 0 {
		start, _ = strconv.Atoi(q.Get("start"))
	}
	limit, _ := strconv.Atoi(q.Get("n"))
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	start = min(max(start, 0), len(list))
	end := min(start+limit, len(list))
	page := list[start:end]
	if end < len(list) && len(page) > 0 {
		page[len(page)-1].More = true
	}
	writeGerrit(w, page)
}

func writeGerrit(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	fmt.Fprintf(w, ")]}'\n%s\n", data)
}

// parseQuery reads a conjunction of key:value terms (values may be
// double-quoted); anything else is refused, so a client's query is checked.
func parseQuery(q string) (func(project string, c Change) bool, error) {
	type term struct{ key, value string }
	var terms []term
	for rest := strings.TrimSpace(q); rest != ""; rest = strings.TrimSpace(rest) {
		key, after, ok := strings.Cut(rest, ":")
		if !ok || strings.ContainsAny(key, " \"") {
			return nil, fmt.Errorf("cannot parse query %q", q)
		}
		var value string
		if strings.HasPrefix(after, `"`) {
			end := strings.Index(after[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", q)
			}
			value, rest = after[1:end+1], after[end+2:]
		} else {
			value, rest, _ = strings.Cut(after, " ")
		}
		switch key {
		case "topic", "status", "branch", "project", "change":
		default:
			return nil, fmt.Errorf("unsupported query operator %q", key)
		}
		terms = append(terms, term{key, value})
	}
	if len(terms) == 0 {
		return nil, fmt.Errorf("empty query")
	}
	return func(project string, c Change) bool {
		for _, t := range terms {
			var ok bool
			switch t.key {
			case "topic":
				ok = c.Topic == t.value
			case "branch":
				ok = c.Branch == t.value
			case "project":
				ok = project == t.value
			case "change":
				ok = c.ChangeID == t.value || strconv.Itoa(c.Number) == t.value
			case "status":
				switch t.value {
				case "open":
					ok = c.Status == "NEW"
				case "closed":
					ok = c.Status != "NEW"
				default:
					ok = strings.EqualFold(c.Status, t.value)
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}
