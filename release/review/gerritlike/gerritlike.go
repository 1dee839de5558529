// Package gerritlike is a Gerrit-like review remote made of real parts:
// a bare git repo whose hooks take pushes to refs/for/<branch> as Gerrit
// does (a change per commit keyed by its Change-Id trailer and branch,
// patch sets under refs/changes/, "no new changes", no direct branch
// updates, no tags) and an http.Handler answering Gerrit's changes query
// (GET [/a]/changes/?q=...) from what the hooks recorded.
//
// It is what relkit's review tests run against (through reviewtest, which
// adds testing.TB conveniences) and what the demo shows -review on. It is
// not a Gerrit: no users, permissions, votes or web UI; submit is an
// administrator's fast-forward.
package gerritlike

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/relkit/relkit/release/gitx"
)

var (
	//go:embed hooks/pre-receive
	preReceive string
	//go:embed hooks/proc-receive
	procReceive string
)

// Remote is one project of the Gerrit-like server.
type Remote struct {
	Project string
	// Dir is the bare repo: the git remote's URL.
	Dir string
	// URL is the REST (and web) root the handler is served at; Create
	// writes it into the repo so the hooks print change addresses under
	// it, as Gerrit does after a push. Empty means none.
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

// Ref is the ref of the newest patch set, refs/changes/NN/N/P.
func (c Change) Ref() string {
	return fmt.Sprintf("refs/changes/%02d/%d/%d", c.Number%100, c.Number, len(c.Patchsets))
}

// Create makes the bare repo at r.Dir (which must not exist yet) with the
// hooks, branch master unborn.
func (r *Remote) Create(ctx context.Context) error {
	if r.Project == "" || r.Dir == "" {
		return errors.New("gerritlike: a remote needs a project and a directory")
	}
	if _, err := os.Stat(r.Dir); err == nil {
		return fmt.Errorf("gerritlike: %s exists already", r.Dir)
	}
	url := r.URL
	if url == "" {
		url = "http://gerrit.invalid"
	}
	if _, err := gitx.Git(ctx, "", "init", "-q", "--bare", "--template=", "-b", "master", r.Dir); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"receive.procReceiveRefs", "refs/for"}, {"gerrit.project", r.Project}, {"gerrit.url", url}} {
		if _, err := gitx.Git(ctx, r.Dir, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(r.Dir, "hooks"), 0o755); err != nil {
		return err
	}
	for name, script := range map[string]string{"pre-receive": preReceive, "proc-receive": procReceive} {
		if err := os.WriteFile(filepath.Join(r.Dir, "hooks", name), []byte(script), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// Admin sets refs of the project from the repo at from, as an
// administrator would on the server: no hook runs (another person's merge,
// a branch moved on the server, the project's import). Each refspec is
// src:dst ("refs/heads/*:refs/heads/*"); "+" forces.
func (r *Remote) Admin(ctx context.Context, from string, refspecs ...string) error {
	_, err := gitx.Git(ctx, r.Dir, append([]string{"fetch", "-q", "--no-tags", from}, refspecs...)...)
	return err
}

// Pushes lists every ref update a push asked for, accepted or not, as
// "old new ref".
func (r *Remote) Pushes() ([]string, error) {
	return readLines(filepath.Join(r.Dir, "gerrit", "pushes"))
}

// Calls lists the REST requests made, as "GET /changes/?...".
func (r *Remote) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Changes lists the recorded changes by number.
func (r *Remote) Changes(ctx context.Context) ([]Change, error) {
	refs, err := gitx.Git(ctx, r.Dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/changes/")
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
	lines, err := readLines(filepath.Join(r.Dir, "gerrit", "changes"))
	if err != nil {
		return nil, err
	}
	var out []Change
	for _, line := range lines {
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
		subject, err := gitx.Git(ctx, r.Dir, "log", "-1", "--format=%s", c.Current())
		if err != nil {
			return nil, err
		}
		c.Subject = strings.TrimSpace(subject)
		out = append(out, c)
	}
	return out, nil
}

// Submit merges change n as Gerrit's fast-forward-only submit does: its
// branch moves to the current patch set, which must be made on the
// branch's tip. It marks the change MERGED.
func (r *Remote) Submit(ctx context.Context, n int) error {
	c, err := r.change(ctx, n)
	if err != nil {
		return err
	}
	if _, err := gitx.Git(ctx, r.Dir, "update-ref", "refs/heads/"+c.Branch, c.Current(), c.Current()+"^"); err != nil {
		return fmt.Errorf("submitting change %d: %w", n, err)
	}
	return r.SetStatus(ctx, n, "MERGED")
}

// SetStatus marks change n NEW, MERGED or ABANDONED.
func (r *Remote) SetStatus(ctx context.Context, n int, status string) error {
	if _, err := r.change(ctx, n); err != nil {
		return err
	}
	path := filepath.Join(r.Dir, "gerrit", "changes")
	lines, err := readLines(path)
	if err != nil {
		return err
	}
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if f[0] == strconv.Itoa(n) {
			f[4] = status
			lines[i] = strings.Join(f, "\t")
		}
	}
	data := strings.Join(lines, "\n")
	if data != "" {
		data += "\n"
	}
	return os.WriteFile(path, []byte(data), 0o644)
}

func (r *Remote) change(ctx context.Context, n int) (Change, error) {
	all, err := r.Changes(ctx)
	if err != nil {
		return Change{}, err
	}
	for _, c := range all {
		if c.Number == n {
			return c, nil
		}
	}
	return Change{}, fmt.Errorf("no change %d in %s", n, r.Project)
}

// readLines reads a file of lines (none when it is missing).
func readLines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// changeInfo is Gerrit's ChangeInfo, the fields the remote fills.
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

// ServeHTTP answers GET [/a]/changes/?q=<query>[&o=CURRENT_REVISION][&n=N][&S=start]
// with a )]}'-prefixed JSON list, as Gerrit does. The query is a
// conjunction of topic:, status:, branch:, project: and change: terms.
func (r *Remote) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.calls = append(r.calls, req.Method+" "+req.URL.RequestURI())
	r.mu.Unlock()
	path := req.URL.Path
	if p, ok := strings.CutPrefix(path, "/a"); ok {
		user, pass, ok := req.BasicAuth()
		if r.User != "" && (!ok || user != r.User || pass != r.Password) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		path = p
	} else if r.User != "" {
		// Anonymous users see nothing of this project.
		writeGerrit(w, []changeInfo{})
		return
	}
	if req.Method != http.MethodGet || path != "/changes/" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	q := req.URL.Query()
	match, err := parseQuery(q.Get("q"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	changes, err := r.Changes(req.Context())
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
		if !match(r.Project, c) {
			continue
		}
		info := changeInfo{ID: r.Project + "~" + c.Branch + "~" + c.ChangeID, Project: r.Project, Branch: c.Branch,
			Topic: c.Topic, ChangeID: c.ChangeID, Subject: c.Subject, Status: c.Status, Number: c.Number}
		if withRevision {
			info.CurrentRevision = c.Current()
			info.Revisions = map[string]revisionInfo{c.Current(): {Number: len(c.Patchsets), Ref: c.Ref()}}
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
