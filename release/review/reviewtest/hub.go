package reviewtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

//go:embed hooks/hub-pre-receive
var hubPreReceive string

// Hub is a GitHub- or Gitea-like remote: a bare repo whose branches
// matching Protect's patterns take no push (as branch protection does),
// that refuses forced updates and deletions, and an httptest server
// implementing the pull request endpoints relkit calls:
//
//	GET   /repos/{owner}/{repo}/pulls        (GitHub: state, head=owner:branch, per_page, page;
//	                                          Gitea: state, limit, page; no head filter)
//	POST  /repos/{owner}/{repo}/pulls        {title, body, head, base}
//	PATCH /repos/{owner}/{repo}/pulls/{n}    {title, body}
//
// Gitea's endpoints live under /api/v1, as on a real Gitea. Every request
// must carry the token (GitHub: "Bearer <token>" or "token <token>";
// Gitea: "token <token>"); request bodies are checked field by field and
// refused with 422 like the real APIs when something is missing, unknown,
// or names a branch the repo does not have.
type Hub struct {
	t    testing.TB
	Kind string // "github" or "gitea"
	// Owner and Name are the repository's; Dir is the bare repo (the git
	// remote's URL), laid out as .../Owner/Name.git.
	Owner, Name string
	Dir         string
	// URL is the API base (review.url).
	URL string

	mu sync.Mutex
	// token is the one the API accepts; expired makes it answer 401
	// Bad credentials to everything, as for a revoked or expired token.
	token   string
	expired bool
	pulls   []*Pull
	calls   []string
	bodies  []map[string]any
}

// NewHub makes a GitHub-like (kind "github") or Gitea-like ("gitea")
// remote for owner/name whose branches start as seed's, taking token.
func NewHub(t testing.TB, kind, owner, name, seed, token string) *Hub {
	t.Helper()
	if kind != "github" && kind != "gitea" {
		t.Fatalf("hub kind %q: expected github or gitea", kind)
	}
	h := &Hub{t: t, Kind: kind, Owner: owner, Name: name, token: token,
		Dir: filepath.Join(t.TempDir(), kind, owner, name+".git")}
	newBare(t, h.Dir, map[string]string{"pre-receive": hubPreReceive},
		[2]string{"receive.denyNonFastForwards", "true"},
		[2]string{"receive.denyDeletes", "true"})
	if err := os.MkdirAll(filepath.Join(h.Dir, "hub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.Dir, "hub", "kind"), []byte(kind+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if seed != "" {
		adminFetch(t, h.Dir, seed, "refs/heads/*:refs/heads/*")
	}
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	if kind == "gitea" {
		h.URL += "/api/v1"
	}
	return h
}

// Protect refuses pushes to branches matching the shell patterns.
func (h *Hub) Protect(patterns ...string) {
	h.t.Helper()
	path := filepath.Join(h.Dir, "hub", "protected")
	writeLines(h.t, path, append(readLines(h.t, path), patterns...))
}

// Restrict refuses creating or updating branches matching the shell
// patterns (a ruleset restricting creations; Protect allows creation, as
// GitHub's default branch protection does).
func (h *Hub) Restrict(patterns ...string) {
	h.t.Helper()
	path := filepath.Join(h.Dir, "hub", "restricted")
	writeLines(h.t, path, append(readLines(h.t, path), patterns...))
}

// Expire makes the API refuse the token from now on.
func (h *Hub) Expire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expired = true
}

// Refs maps every ref of the bare repo to its value.
func (h *Hub) Refs() map[string]string { return Refs(h.t, h.Dir) }

// Pushes lists every ref update a push asked for, accepted or not, as
// "old new ref".
func (h *Hub) Pushes() []string { return readLines(h.t, filepath.Join(h.Dir, "hub", "pushes")) }

// Admin sets refs from the repo at from, as a merge on the server would.
func (h *Hub) Admin(from string, refspecs ...string) { adminFetch(h.t, h.Dir, from, refspecs...) }

// Calls lists the API requests made, as "METHOD /path?query".
func (h *Hub) Calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// Bodies lists the JSON bodies of the POST and PATCH requests, in order.
func (h *Hub) Bodies() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bodies)
}

// Pull is a pull request as the server holds it.
type Pull struct {
	Number      int
	Title, Body string
	Head, Base  string
	State       string // open, closed
}

// Pulls lists every pull request, by number.
func (h *Hub) Pulls() []Pull {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Pull
	for _, p := range h.pulls {
		out = append(out, *p)
	}
	return out
}

// OpenPull opens a pull request by hand (another person's, or an old run's).
func (h *Hub) OpenPull(head, base, title string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := &Pull{Number: len(h.pulls) + 1, Title: title, Head: head, Base: base, State: "open"}
	h.pulls = append(h.pulls, p)
	return p.Number
}

// Close closes pull request n.
func (h *Hub) Close(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pulls[n-1].State = "closed"
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, r.Method+" "+r.URL.RequestURI())
	path := r.URL.Path
	if h.Kind == "gitea" {
		p, ok := strings.CutPrefix(path, "/api/v1")
		if !ok {
			hubError(w, http.StatusNotFound, "Not Found")
			return
		}
		path = p
	}
	auth := r.Header.Get("Authorization")
	ok := auth == "token "+h.token || h.Kind == "github" && auth == "Bearer "+h.token
	if !ok || h.expired {
		hubError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	prefix := "/repos/" + h.Owner + "/" + h.Name + "/pulls"
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		hubError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch {
	case rest == "" && r.Method == http.MethodGet:
		h.list(w, r)
	case rest == "" && r.Method == http.MethodPost:
		in, ok := h.body(w, r, "title", "body", "head", "base")
		if ok {
			h.create(w, in)
		}
	case strings.HasPrefix(rest, "/") && r.Method == http.MethodPatch:
		n, err := strconv.Atoi(rest[1:])
		if err != nil || n < 1 || n > len(h.pulls) {
			hubError(w, http.StatusNotFound, "Not Found")
			return
		}
		in, ok := h.body(w, r, "title", "body")
		if ok {
			p := h.pulls[n-1]
			if in["title"] == "" {
				hubError(w, http.StatusUnprocessableEntity, "Validation Failed: title is empty")
				return
			}
			p.Title, p.Body = in["title"], in["body"]
			h.write(w, http.StatusOK, h.json(p))
		}
	default:
		hubError(w, http.StatusNotFound, "Not Found")
	}
}

// body reads a JSON object of string fields, all of them among allowed,
// and records it.
func (h *Hub) body(w http.ResponseWriter, r *http.Request, allowed ...string) (map[string]string, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		hubError(w, http.StatusUnsupportedMediaType, "expected a JSON body, got Content-Type "+ct)
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		hubError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		hubError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil, false
	}
	h.bodies = append(h.bodies, raw)
	in := map[string]string{}
	for k, v := range raw {
		s, isString := v.(string)
		if !slices.Contains(allowed, k) || !isString {
			hubError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Validation Failed: field %q is not expected here", k))
			return nil, false
		}
		in[k] = s
	}
	return in, true
}

func (h *Hub) create(w http.ResponseWriter, in map[string]string) {
	for _, f := range []string{"title", "head", "base"} {
		if in[f] == "" {
			hubError(w, http.StatusUnprocessableEntity, "Validation Failed: "+f+" is missing")
			return
		}
	}
	head := in["head"]
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if owner != h.Owner {
			hubError(w, http.StatusUnprocessableEntity, "Validation Failed: head is from another repository")
			return
		}
		head = branch
	}
	refs := Refs(h.t, h.Dir)
	for _, b := range []string{head, in["base"]} {
		if refs["refs/heads/"+b] == "" {
			hubError(w, http.StatusUnprocessableEntity, "Validation Failed: branch "+b+" does not exist")
			return
		}
	}
	for _, p := range h.pulls {
		if p.State == "open" && p.Head == head && p.Base == in["base"] {
			hubError(w, http.StatusUnprocessableEntity, "Validation Failed: A pull request already exists for "+h.Owner+":"+head+".")
			return
		}
	}
	p := &Pull{Number: len(h.pulls) + 1, Title: in["title"], Body: in["body"], Head: head, Base: in["base"], State: "open"}
	h.pulls = append(h.pulls, p)
	h.write(w, http.StatusCreated, h.json(p))
}

func (h *Hub) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	size, err := strconv.Atoi(q.Get("per_page"))
	if h.Kind == "gitea" {
		size, err = strconv.Atoi(q.Get("limit"))
	}
	if err != nil || size < 1 {
		size = 30
	}
	size = min(size, 100)
	if h.Kind == "gitea" {
		size = min(size, 50) // Gitea's MAX_RESPONSE_ITEMS
	}
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	var all []map[string]any
	for i := len(h.pulls) - 1; i >= 0; i-- { // newest first, as both do
		p := h.pulls[i]
		if state != "all" && p.State != state {
			continue
		}
		if head := q.Get("head"); h.Kind == "github" && head != "" && head != h.Owner+":"+p.Head {
			continue
		}
		all = append(all, h.json(p))
	}
	start := min((page-1)*size, len(all))
	end := min(start+size, len(all))
	h.write(w, http.StatusOK, all[start:end])
}

// json is the pull request as the APIs show it (the fields both share).
func (h *Hub) json(p *Pull) map[string]any {
	sha, _ := run(h.Dir, nil, "", "rev-parse", "-q", "--verify", "refs/heads/"+p.Head)
	web := strings.TrimSuffix(h.URL, "/api/v1")
	return map[string]any{
		"number": p.Number, "state": p.State, "title": p.Title, "body": p.Body,
		"html_url": fmt.Sprintf("%s/%s/%s/pull/%d", web, h.Owner, h.Name, p.Number),
		"head": map[string]any{"ref": p.Head, "sha": sha,
			"repo": map[string]any{"full_name": h.Owner + "/" + h.Name}},
		"base": map[string]any{"ref": p.Base},
	}
}

func (h *Hub) write(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		hubError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(data)
}

func hubError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	data, _ := json.Marshal(map[string]string{"message": msg})
	w.Write(data)
}
