package review

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Paging of the pull request lists: GitHub filters by head itself (one
// page is the normal case); Gitea has no head filter, so its open pull
// requests are read page by page, at most giteaPages pages.
const (
	githubPage  = 100
	githubPages = 10
	giteaPage   = 50
	giteaPages  = 20
)

// hub is GitHub's or Gitea's pull request API.
type hub struct {
	kind workspace.ReviewKind
	c    *client
}

// pull is the part of a pull request (GitHub's and Gitea's share these
// fields) relkit reads.
type pull struct {
	Number  int    `json:"number"`
	State   string `json:"state"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	Head    struct {
		Ref  string `json:"ref"`
		Sha  string `json:"sha"`
		Repo *struct {
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
}

func (p pull) open(kind workspace.ReviewKind, repo RepoID) Open {
	return Open{Host: string(kind), Project: repo.String(), Number: p.Number, URL: p.HTMLURL, Title: p.Title,
		Branch: p.Base.Ref, Head: p.Head.Ref, Revision: p.Head.Sha}
}

func newHub(opt Options, kind workspace.ReviewKind) (*hub, error) {
	name := "GitHub"
	auth := func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+opt.Token)
		r.Header.Set("Accept", "application/vnd.github+json")
		r.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	}
	if kind == workspace.ReviewGitea {
		name = "Gitea"
		auth = func(r *http.Request) { r.Header.Set("Authorization", "token "+opt.Token) }
	}
	c, err := newClient(opt, name, auth)
	if err != nil {
		return nil, err
	}
	return &hub{kind: kind, c: c}, nil
}

func pullsPath(repo RepoID) string {
	return "/repos/" + url.PathEscape(repo.Owner) + "/" + url.PathEscape(repo.Name) + "/pulls"
}

// openPulls lists the open pull requests from head (a branch of repo
// itself), lowest number first.
func (h *hub) openPulls(ctx context.Context, repo RepoID, head string) ([]pull, error) {
	size, pages := githubPage, githubPages
	q := url.Values{"state": {"open"}, "per_page": {strconv.Itoa(size)}, "head": {repo.Owner + ":" + head}}
	if h.kind == workspace.ReviewGitea {
		size, pages = giteaPage, giteaPages
		q = url.Values{"state": {"open"}, "limit": {strconv.Itoa(size)}}
	}
	var out []pull
	for page := 1; page <= pages; page++ {
		q.Set("page", strconv.Itoa(page))
		var batch []pull
		if _, err := h.c.do(ctx, http.MethodGet, pullsPath(repo), q, nil, &batch); err != nil {
			return nil, err
		}
		for _, p := range batch {
			fromRepo := p.Head.Repo == nil || strings.EqualFold(p.Head.Repo.FullName, repo.String())
			if p.Head.Ref == head && fromRepo && p.State != "closed" {
				out = append(out, p)
			}
		}
		if len(batch) < size {
			slices.SortFunc(out, func(a, b pull) int { return a.Number - b.Number })
			return out, nil
		}
	}
	return nil, &plan.Undecided{Err: fmt.Errorf("%s lists more than %d open pull requests in %s; relkit reads no further and cannot tell whether %s has one",
		h.c.host, size*pages, repo, head)}
}

func (h *hub) create(ctx context.Context, repo RepoID, base, head, title, body string) (pull, error) {
	var p pull
	in := map[string]string{"title": title, "body": body, "head": head, "base": base}
	_, err := h.c.do(ctx, http.MethodPost, pullsPath(repo), nil, in, &p)
	return p, err
}

func (h *hub) update(ctx context.Context, repo RepoID, number int, title, body string) (pull, error) {
	var p pull
	in := map[string]string{"title": title, "body": body}
	_, err := h.c.do(ctx, http.MethodPatch, pullsPath(repo)+"/"+strconv.Itoa(number), nil, in, &p)
	return p, err
}

// prepareHub asks the API first (a refused token stops the run before
// anything is pushed), then reads the remote: the branch must still be at
// the base, and the review branch, when it exists, must hold a beginning
// of the planned chain (same trees and messages on the same base) that
// the run can extend without forcing.
func (p *Prepared) prepareHub(ctx context.Context) error {
	kind := workspace.ReviewKind(p.req.Host)
	h, err := newHub(p.opt, kind)
	if err != nil {
		return err
	}
	p.hub = h
	if p.repo, err = remoteRepo(ctx, p.dir, p.remote); err != nil {
		return err
	}
	pulls, err := h.openPulls(ctx, p.repo, p.req.Head)
	if err != nil {
		return err
	}
	if len(pulls) > 0 {
		p.pull = &pulls[0]
		if p.pull.Base.Ref != p.req.Branch {
			return fmt.Errorf("pull request #%d from %s goes into %s, not %s; close it (or set its base to %s) and run again",
				p.pull.Number, p.req.Head, p.pull.Base.Ref, p.req.Branch, p.req.Branch)
		}
	}
	headRef := "refs/heads/" + p.req.Head
	refs, err := p.remoteBranch(ctx, headRef)
	if err != nil {
		return err
	}
	at := refs[headRef]
	if at == "" {
		return nil
	}
	if !gitx.HasCommit(ctx, p.dir, at) {
		if err := gitx.Fetch(ctx, p.dir, p.remote, headRef); err != nil {
			return &plan.Undecided{Err: fmt.Errorf("fetching %s from %s: %w", p.req.Head, p.remote, err)}
		}
	}
	held, linear, err := commitsSince(ctx, p.dir, p.req.Base, at)
	if err != nil {
		return p.diverged(at, err.Error())
	}
	k := heldPrefix(p.req.Base, p.chain, held)
	switch {
	case !linear:
		return p.diverged(at, "its commits are not one line on "+gitx.Short(p.req.Base))
	case k < len(held):
		return p.diverged(at, fmt.Sprintf("its commit %d %q is not the planned %q", k+1, held[k].subject(), p.chain[min(k, len(p.chain)-1)].subject()))
	}
	// Everything the branch holds is the beginning of the plan (or it is
	// already merged into the base): extending it is a fast-forward.
	p.held = held
	return nil
}

// diverged is the refusal for a review branch the run cannot extend
// without forcing.
func (p *Prepared) diverged(at, why string) error {
	pr := "any pull request from it"
	if p.pull != nil {
		pr = fmt.Sprintf("pull request #%d", p.pull.Number)
	}
	return fmt.Errorf("%s already has the review branch %s at %s with other commits than this run makes for %s (%s). "+
		"relkit never force-pushes: if that review is obsolete (or was squash-merged), close %s and delete the branch "+
		"(git push %s --delete %s), then run again; if it should land first, merge it, then run again",
		p.remote, p.req.Head, gitx.Short(at), p.req.Branch, why, pr, p.remote, p.req.Head)
}

// submitHub pushes what the review branch lacks (a fast-forward, never
// forced), then opens the pull request, or updates its title and body.
func (p *Prepared) submitHub(ctx context.Context) (Result, error) {
	ref := "refs/heads/" + p.req.Head
	res := Result{Ref: ref, Reused: len(p.held)}
	tip, err := p.pushTip(ctx)
	if err != nil {
		return res, err
	}
	n := len(p.chain)
	pushed := ""
	if tip == "" {
		res.Tip = p.held[len(p.held)-1].Hash
		pushed = fmt.Sprintf("%s on %s already holds the %s", p.req.Head, p.remote, countCommits(n))
	} else {
		if err := p.push(ctx, tip, ref); err != nil {
			return res, fmt.Errorf("%w; nothing was pushed and no pull request was opened", err)
		}
		res.Tip, res.Pushed = tip, n-len(p.held)
		pushed = fmt.Sprintf("pushed %s to %s on %s", countCommits(res.Pushed), p.req.Head, p.remote)
	}
	title, body := p.title(), clip(p.req.Body)
	h := p.hub
	verb := ""
	var pr pull
	if p.pull == nil {
		pr, err = h.create(ctx, p.repo, p.req.Branch, p.req.Head, title, body)
		verb = "opened"
		if isStatus(err, http.StatusUnprocessableEntity, http.StatusConflict) {
			// Opened meanwhile by another run? Then update that one.
			if open, lerr := h.openPulls(ctx, p.repo, p.req.Head); lerr == nil && len(open) > 0 {
				p.pull, err = &open[0], nil
			}
		}
		if err != nil {
			return res, fmt.Errorf("%s, but opening the pull request failed: %w; run the same command again to open it", pushed, err)
		}
	}
	if p.pull != nil {
		pr, verb = *p.pull, "left unchanged"
		if p.pull.Title != title || p.pull.Body != body {
			if pr, err = h.update(ctx, p.repo, p.pull.Number, title, body); err != nil {
				return res, fmt.Errorf("%s, but updating pull request #%d failed: %w; run the same command again to update it", pushed, p.pull.Number, err)
			}
			verb = "updated"
		}
	}
	o := pr.open(h.kind, p.repo)
	res.Reviews = []Open{o}
	res.Summary = fmt.Sprintf("%s; %s pull request #%d into %s", pushed, verb, o.Number, p.req.Branch)
	if o.URL != "" {
		res.Summary += ": " + o.URL
	}
	return res, nil
}

// title is the request's title, or the last commit's subject.
func (p *Prepared) title() string {
	if t := strings.TrimSpace(p.req.Title); t != "" {
		return t
	}
	return p.chain[len(p.chain)-1].subject()
}

// clip bounds a pull request body to what the APIs take.
func clip(body string) string {
	if len(body) <= maxBody {
		return body
	}
	cut := maxBody
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return body[:cut] + "\n\n(cut: the plan is longer than a pull request body may be)"
}
