package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Gerrit's paging of a query: changes per page and pages at most.
const (
	gerritPage     = 100
	gerritMaxPages = 10
)

// gerritChange is the part of Gerrit's ChangeInfo relkit reads.
type gerritChange struct {
	Project         string `json:"project"`
	Branch          string `json:"branch"`
	Topic           string `json:"topic"`
	ChangeID        string `json:"change_id"`
	Subject         string `json:"subject"`
	Status          string `json:"status"`
	Number          int    `json:"_number"`
	CurrentRevision string `json:"current_revision"`
	Revisions       map[string]struct {
		Number int    `json:"_number"`
		Ref    string `json:"ref"`
	} `json:"revisions"`
	More bool `json:"_more_changes"`
}

// open is the change as an Open review, with its web address under base.
func (g gerritChange) open(base string) Open {
	o := Open{Host: string(workspace.ReviewGerrit), Project: g.Project, Number: g.Number, Title: g.Subject,
		Branch: g.Branch, Topic: g.Topic, ChangeID: g.ChangeID, Revision: g.CurrentRevision}
	if base != "" {
		o.URL = fmt.Sprintf("%s/c/%s/+/%d", strings.TrimRight(base, "/"), g.Project, g.Number)
	}
	return o
}

// currentRef is the ref of the current patch set (refs/changes/NN/N/P).
func (g gerritChange) currentRef() string {
	if r, ok := g.Revisions[g.CurrentRevision]; ok && r.Ref != "" {
		return r.Ref
	}
	return ""
}

// gerritChanges lists the open changes of topic through Gerrit's REST
// API, following _more_changes at most gerritMaxPages pages.
func gerritChanges(ctx context.Context, opt Options, topic string) ([]gerritChange, error) {
	c, err := newClient(opt, "Gerrit", func(r *http.Request) {
		if opt.User != "" {
			r.SetBasicAuth(opt.User, opt.Token)
		}
	})
	if err != nil {
		return nil, err
	}
	path := "/changes/"
	if opt.User != "" {
		path = "/a/changes/" // Gerrit's authenticated REST root
	}
	var all []gerritChange
	for page := range gerritMaxPages {
		q := url.Values{
			"q": {fmt.Sprintf("topic:%q status:open", topic)},
			"o": {"CURRENT_REVISION"},
			"n": {strconv.Itoa(gerritPage)},
			"S": {strconv.Itoa(page * gerritPage)},
		}
		var batch []gerritChange
		if _, err := c.do(ctx, http.MethodGet, path, q, nil, &batch); err != nil {
			return nil, err
		}
		all = append(all, batch...)
		if len(batch) == 0 || !batch[len(batch)-1].More {
			return all, nil
		}
	}
	return nil, &plan.Undecided{Err: fmt.Errorf("gerrit lists more than %d open changes for topic %s; relkit reads no further", gerritPage*gerritMaxPages, topic)}
}

// prepareGerrit checks the chain's Change-Ids and the branch, and finds
// the leading commits whose change's current patch set already says the
// same (a rerun): those are reused rather than pushed as new patch sets,
// which Gerrit would refuse as "no changes made" or add as noise.
func (p *Prepared) prepareGerrit(ctx context.Context) error {
	seen := map[string]string{}
	for _, c := range p.chain {
		id, err := changeIDOf(c)
		if err != nil {
			return err
		}
		if other, dup := seen[id]; dup {
			return fmt.Errorf("commits %s and %s share Change-Id %s; Gerrit refuses that (same Change-Id in multiple changes)", gitx.Short(other), gitx.Short(c.Hash), id)
		}
		seen[id] = c.Hash
	}
	if _, err := p.remoteBranch(ctx); err != nil {
		return err
	}
	if p.opt.URL == "" {
		return nil
	}
	list, err := gerritChanges(ctx, p.opt, p.req.Topic)
	if err != nil {
		return err
	}
	p.changes = map[string]Open{}
	current := map[string]gerritChange{}
	for _, ch := range list {
		if ch.Branch == p.req.Branch {
			p.changes[ch.ChangeID] = ch.open(p.opt.URL)
			current[ch.ChangeID] = ch
		}
	}
	var refs, hashes []string
	for _, c := range p.chain {
		id, _ := changeIDOf(c)
		ch, ok := current[id]
		if !ok || ch.currentRef() == "" {
			break
		}
		refs = append(refs, ch.currentRef())
		hashes = append(hashes, ch.CurrentRevision)
	}
	if len(refs) == 0 {
		return nil
	}
	if err := gitx.Fetch(ctx, p.dir, p.remote, refs...); err != nil {
		return &plan.Undecided{Err: fmt.Errorf("fetching the current patch sets from %s: %w", p.remote, err)}
	}
	held, err := readCommits(ctx, p.dir, hashes)
	if err != nil {
		return err
	}
	p.held = held[:heldPrefix(p.req.Base, p.chain, held)]
	return nil
}

// changeIDOf is the commit's one valid Change-Id, or why Gerrit would
// refuse the commit.
func changeIDOf(c commit) (string, error) {
	ids := ChangeIDs(c.Message)
	switch {
	case len(ids) == 0:
		return "", fmt.Errorf("commit %s %q has no Change-Id in its message footer; Gerrit would refuse it (relkit's review commits get one from review.SetChangeID)", gitx.Short(c.Hash), c.subject())
	case len(ids) > 1:
		return "", fmt.Errorf("commit %s %q has %d Change-Id lines in its message footer; Gerrit would refuse it", gitx.Short(c.Hash), c.subject(), len(ids))
	case !ValidChangeID(ids[0]):
		return "", fmt.Errorf("commit %s %q: Change-Id %q is not I and 40 hex digits; Gerrit would refuse it", gitx.Short(c.Hash), c.subject(), ids[0])
	}
	return ids[0], nil
}

// submitGerrit pushes the chain to refs/for/<branch> with the topic, or
// nothing when every change already holds its commit.
func (p *Prepared) submitGerrit(ctx context.Context) (Result, error) {
	ref := "refs/for/" + p.req.Branch + "%topic=" + p.req.Topic
	res := Result{Ref: ref, Reused: len(p.held)}
	tip, err := p.pushTip(ctx)
	if err != nil {
		return res, err
	}
	n := len(p.chain)
	switch {
	case tip == "":
		res.Tip = p.held[len(p.held)-1].Hash
		res.Summary = fmt.Sprintf("%s already up for review on %s (topic %s): nothing pushed", countCommits(n), p.remote, p.req.Topic)
	default:
		res.Tip = tip
		err := p.push(ctx, tip, ref)
		var pe *PushError
		switch {
		case errors.As(err, &pe) && strings.Contains(pe.Reason, "(no new changes)"):
			// Gerrit has every commit already: the run converged.
			res.Summary = fmt.Sprintf("%s already up for review on %s (Gerrit: no new changes, topic %s)", countCommits(n), p.remote, p.req.Topic)
		case errors.As(err, &pe) && strings.Contains(pe.Reason, "(no changes made)") && p.opt.URL == "":
			return res, fmt.Errorf("%w; Gerrit already has one of these commits as it is: set review.url so relkit can compare with the current patch sets and push only what changed", err)
		case err != nil:
			return res, err
		default:
			res.Pushed = n - len(p.held)
			res.Summary = fmt.Sprintf("pushed %s for review to refs/for/%s on %s (topic %s)", countCommits(res.Pushed), p.req.Branch, p.remote, p.req.Topic)
			if len(p.held) > 0 {
				res.Summary += fmt.Sprintf("; %d already there", len(p.held))
			}
		}
	}
	if p.opt.URL == "" {
		return res, nil
	}
	// Say which changes the commits are, and which open changes of the
	// topic on this branch the run no longer makes.
	list, err := gerritChanges(ctx, p.opt, p.req.Topic)
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("the push went through, but listing the changes failed: %v", redactErr(err, p.opt.Token)))
		return res, nil
	}
	ours := map[string]bool{}
	byID := map[string]Open{}
	for _, ch := range list {
		if ch.Branch == p.req.Branch {
			byID[ch.ChangeID] = ch.open(p.opt.URL)
		}
	}
	var nums []string
	for _, c := range p.chain {
		id, _ := changeIDOf(c)
		ours[id] = true
		if o, ok := byID[id]; ok {
			res.Reviews = append(res.Reviews, o)
			nums = append(nums, strconv.Itoa(o.Number))
		}
	}
	if len(nums) > 0 {
		res.Summary += ": changes " + strings.Join(nums, ", ")
	}
	for _, ch := range list {
		if ch.Branch == p.req.Branch && !ours[ch.ChangeID] {
			res.Notes = append(res.Notes, fmt.Sprintf("change %d %q of topic %s is not made by this run; abandon it if it is obsolete", ch.Number, ch.Subject, p.req.Topic))
		}
	}
	return res, nil
}

func countCommits(n int) string {
	if n == 1 {
		return "1 commit"
	}
	return fmt.Sprintf("%d commits", n)
}
