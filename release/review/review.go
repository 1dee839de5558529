// Package review sends the commits relkit makes to their branch the way a
// person's would: for review, instead of pushing them onto a protected
// branch.
//
//   - Gerrit: `git push <remote> <tip>:refs/for/<branch>%topic=<topic>`.
//     Every commit carries a Change-Id (ChangeID, SetChangeID) derived
//     from the plan, so a rerun updates the same change with a new patch
//     set; the commits of one run go as one chain (pushing the tip sends
//     its ancestors, Gerrit makes a change of each); Gerrit's "no new
//     changes" answer means the changes are already there.
//   - GitHub and Gitea: the commits go to the review branch
//     relkit/<target>-<line> (Name.Head), and one pull request per repo
//     from it into the branch is opened, or updated (title and body) when
//     one is open already.
//
// Before anything is pushed, Prepare reads everything the push depends
// on: the hosting API (so a refused token stops the run with nothing
// pushed), the remote's branch (still at the plan's base) and what the
// remote already holds for the review. A rerun converges: commits the
// remote already holds with the same tree and message on the same parent
// are reused, not pushed again; only the rest is pushed, re-made on top of
// them with their tree, message, author and committer (Result.Reused).
// Nothing is ever force-pushed, not even relkit's own review branch: one
// that holds other commits than the plan (an older review of the line
// still open, a squash-merged one never deleted) is refused with the way
// out. Branches and tags of the plan are never pushed in review mode,
// with one exception the caller makes through an ordinary plan.Push: a
// new branch created at a commit the remote already has
// (CanCreateDirectly), as a release manager with Create Reference rights
// would; tags belong to the commit that is finally merged (release:tag
// after the merge).
//
// The API calls, all bounded in count and time (readAttempts, page
// limits below):
//
//	Gerrit  GET  <url>/changes/?q=topic:<topic> status:open&o=CURRENT_REVISION&n=100&S=<start>
//	             (<url>/a/changes/... with HTTP basic auth when a user is
//	             given; the answer starts with the )]}' XSSI guard; paged
//	             by _more_changes)
//	GitHub  GET   /repos/{owner}/{repo}/pulls?state=open&head={owner}:{branch}&per_page=100&page=N
//	        POST  /repos/{owner}/{repo}/pulls   {title, body, head, base}
//	        PATCH /repos/{owner}/{repo}/pulls/{number}   {title, body}
//	        (Authorization: Bearer <token>, Accept: application/vnd.github+json,
//	        X-GitHub-Api-Version: 2022-11-28;
//	        https://docs.github.com/en/rest/pulls/pulls)
//	Gitea   GET   /repos/{owner}/{repo}/pulls?state=open&limit=50&page=N
//	              (no head filter in the API: matched on head.ref here)
//	        POST  /repos/{owner}/{repo}/pulls   {title, body, head, base}
//	        PATCH /repos/{owner}/{repo}/pulls/{index}   {title, body}
//	        (Authorization: token <token>; Gitea's API reference at
//	        <gitea>/api/swagger)
//
// owner and repo come from the URL git pushes to (ParseRepoURL). The
// token reaches this package as Options.Token (only magefiles/ reads the
// environment) and is never shown: not in results, errors or logs, even
// when a server echoes it back.
package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Options say how the remote takes reviews.
type Options struct {
	// Kind is review.kind of relkit.yaml: gerrit, github or gitea.
	Kind workspace.ReviewKind
	// URL is the API base: Gerrit's web root (https://review.example.org;
	// optional, needed for listing and for reusing patch sets on a
	// rerun), GitHub's API (https://api.github.com, or
	// https://host/api/v3 for GitHub Enterprise), Gitea's
	// (https://gitea.example.org/api/v1).
	URL string
	// Token authenticates the API calls: a GitHub or Gitea token
	// (required for them), or Gerrit's HTTP password (with User).
	Token string
	// User is the Gerrit account of Token; empty means anonymous REST
	// reads.
	User string
	// TokenName says where Token came from, for messages
	// ("GITHUB_TOKEN"); empty means TokenEnv(Kind).
	TokenName string
	// HTTPClient makes the API calls; nil means a client with a 30 s
	// timeout per request.
	HTTPClient *http.Client
	// RetryDelay is the wait before the second try of a failed read,
	// doubled before the third (0: 1 s).
	RetryDelay time.Duration
}

// TokenEnv is the environment variable magefiles/ reads the token of kind
// from: GITHUB_TOKEN, GITEA_TOKEN, or GERRIT_HTTP_PASSWORD.
func TokenEnv(kind workspace.ReviewKind) string {
	switch kind {
	case workspace.ReviewGitHub:
		return "GITHUB_TOKEN"
	case workspace.ReviewGitea:
		return "GITEA_TOKEN"
	case workspace.ReviewGerrit:
		return "GERRIT_HTTP_PASSWORD"
	}
	return "token"
}

func (o Options) tokenName() string {
	if o.TokenName != "" {
		return o.TokenName
	}
	return TokenEnv(o.Kind)
}

// check says what is missing for kind.
func (o Options) check(kind workspace.ReviewKind) error {
	switch kind {
	case workspace.ReviewGerrit:
		if o.User != "" && o.Token == "" {
			return fmt.Errorf("review: a Gerrit user (%s) without a password; set %s", o.User, o.tokenName())
		}
	case workspace.ReviewGitHub, workspace.ReviewGitea:
		if strings.TrimSpace(o.URL) == "" {
			return fmt.Errorf("review.kind %s needs review.url, the API base URL", kind)
		}
		if o.Token == "" {
			return fmt.Errorf("review.kind %s needs a token to open pull requests: set %s", kind, o.tokenName())
		}
	default:
		return fmt.Errorf("review kind %q: expected gerrit, github or gitea", kind)
	}
	if o.Kind != "" && o.Kind != kind {
		return fmt.Errorf("the plan sends a %s review, but review.kind is %s", kind, o.Kind)
	}
	return nil
}

// Name is what the reviews of one run are grouped by: the target and the
// release line.
type Name struct {
	// Target is the relkit target ("patch:charts"), Line the release
	// line ("2.1").
	Target, Line string
}

// Topic is the Gerrit topic of the run's changes: relkit-patch-charts-2.1.
func (n Name) Topic() string { return "relkit-" + n.slug() }

// Head is the review branch of GitHub and Gitea: relkit/patch-charts-2.1.
func (n Name) Head() string { return "relkit/" + n.slug() }

// slug is target-line in characters safe in a ref name, a push option
// and a query: lower-case letters, digits, '.' and '-'.
func (n Name) slug() string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(n.Target + "-" + n.Line) {
		ok := 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.'
		if !ok {
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		if c == '.' && (dash || b.Len() == 0 || strings.HasSuffix(b.String(), ".")) {
			continue // no "..", no "-.", no leading '.'
		}
		b.WriteRune(c)
		dash = false
	}
	return strings.Trim(b.String(), "-.")
}

// Request is what a review sends (the plan's ReviewRequest).
type Request = plan.ReviewRequest

// NewRequest is the request for count commits, base..tip, made by the run
// n for branch (short name): base is the commit the remote has for branch,
// tip a commit or a local ref resolved when the request is sent.
func NewRequest(kind workspace.ReviewKind, n Name, branch, base, tip string, count int, title, body string) Request {
	r := Request{Host: string(kind), Branch: branch, Base: base, Tip: tip, Count: count, Title: title, Body: body}
	if kind == workspace.ReviewGerrit {
		r.Topic = n.Topic()
	} else {
		r.Head = n.Head()
	}
	return r
}

// NewStep is the plan step sending req to remote; its guard holds the
// branch at req.Base until the send, as a push's guards do.
func NewStep(remote string, req Request) plan.Step {
	return plan.Step{Kind: plan.Review, Remote: remote, Review: &req,
		Guards: []plan.RefUpdate{{Ref: "refs/heads/" + req.Branch, Expect: req.Base}}}
}

// Open is an open review: a Gerrit change or a pull request.
type Open struct {
	Host    string `json:"host"`
	Project string `json:"project"` // Gerrit project, or owner/repo
	Number  int    `json:"number"`
	URL     string `json:"url,omitempty"`
	Title   string `json:"title"`
	// Branch is the branch it goes into; Topic (Gerrit) or Head (the
	// review branch) names the run that made it.
	Branch   string `json:"branch"`
	Topic    string `json:"topic,omitempty"`
	Head     string `json:"head,omitempty"`
	ChangeID string `json:"changeId,omitempty"`
	// Revision is the commit under review (the current patch set, the
	// head's commit).
	Revision string `json:"revision,omitempty"`
}

func (o Open) String() string {
	what := fmt.Sprintf("pull request #%d", o.Number)
	if o.Host == string(workspace.ReviewGerrit) {
		what = fmt.Sprintf("change %d", o.Number)
	}
	s := fmt.Sprintf("%s %q", what, o.Title)
	if o.URL != "" {
		s += " " + o.URL
	}
	return s
}

// Result says what Submit did.
type Result struct {
	// Ref is where the commits went: refs/for/<branch>%topic=<topic>, or
	// refs/heads/<review branch>.
	Ref string `json:"ref"`
	// Tip is the commit now up for review: the request's, or the one the
	// remote already held (or re-made on top of what it held).
	Tip string `json:"tip"`
	// Pushed counts the commits sent; Reused those the remote already
	// held for this review (a rerun: same tree and message on the same
	// parent).
	Pushed int `json:"pushed"`
	Reused int `json:"reused"`
	// Reviews are the changes or the pull request, when the API told.
	Reviews []Open `json:"reviews,omitempty"`
	// Notes are things worth knowing that need no action now.
	Notes []string `json:"notes,omitempty"`
	// Summary says it in one line.
	Summary string `json:"summary"`
}

// Prepared is a review whose every precondition was read; Submit sends it.
type Prepared struct {
	opt    Options
	dir    string
	remote string
	req    Request
	chain  []commit // the planned commits, oldest first
	// reuse leading commits of chain are replaced by held, which the
	// remote already has; the rest are re-made on top of the last of them.
	held []commit
	// gerrit
	changes map[string]Open // by Change-Id, this branch's open changes of the topic
	// github, gitea
	hub  *hub
	repo RepoID
	pull *pull // the open pull request of the review branch
}

// Submit prepares the review and sends it: the push (or nothing, when the
// remote holds it all) and, on GitHub and Gitea, the pull request.
func Submit(ctx context.Context, opt Options, dir, remote string, req Request) (Result, error) {
	p, err := Prepare(ctx, opt, dir, remote, req)
	if err != nil {
		return Result{}, err
	}
	return p.Submit(ctx)
}

// Prepare reads what sending req to remote depends on and pushes nothing:
// the chain base..tip (one line of single-parent commits, each with one
// valid Change-Id for Gerrit), the remote's branch (still at base), the
// API (the token is good, an existing pull request or changes), and what
// the remote already holds for this review. It may fetch that into the
// repo's object store; it moves no ref.
func Prepare(ctx context.Context, opt Options, dir, remote string, req Request) (*Prepared, error) {
	kind := workspace.ReviewKind(req.Host)
	if err := opt.check(kind); err != nil {
		return nil, err
	}
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	p := &Prepared{opt: opt, dir: dir, remote: remote, req: req}
	var err error
	if p.chain, err = readChain(ctx, dir, req.Base, req.Tip); err != nil {
		return nil, err
	}
	if kind == workspace.ReviewGerrit {
		err = p.prepareGerrit(ctx)
	} else {
		err = p.prepareHub(ctx)
	}
	if err != nil {
		return nil, redactErr(err, opt.Token)
	}
	return p, nil
}

// checkRequest refuses a request no remote should see.
func checkRequest(r Request) error {
	switch {
	case r.Branch == "" || r.Base == "" || r.Tip == "":
		return errors.New("review request without branch, base or tip")
	case strings.ContainsAny(r.Branch, "%:") || strings.HasPrefix(r.Branch, "refs/"):
		return fmt.Errorf("branch %q: expected a short branch name without %% or :", r.Branch)
	case r.Host == string(workspace.ReviewGerrit) && (r.Topic == "" || strings.ContainsAny(r.Topic, "%, ")):
		return fmt.Errorf("gerrit topic %q: expected a word without %%, comma or space", r.Topic)
	case r.Host != string(workspace.ReviewGerrit) && (r.Head == "" || r.Head == r.Branch):
		return fmt.Errorf("review branch %q: expected a branch of its own (relkit/<target>-<line>)", r.Head)
	}
	return nil
}

// Describe says what Submit will do, for the progress output.
func (p *Prepared) Describe() string {
	d := p.req
	d.Count = len(p.chain)
	s := d.Describe(p.remote)
	if n := len(p.held); n > 0 {
		s += fmt.Sprintf(" (%d of them already there)", n)
	}
	return s
}

// Submit sends the prepared review.
func (p *Prepared) Submit(ctx context.Context) (Result, error) {
	var res Result
	var err error
	if p.req.Host == string(workspace.ReviewGerrit) {
		res, err = p.submitGerrit(ctx)
	} else {
		res, err = p.submitHub(ctx)
	}
	return res, redactErr(err, p.opt.Token)
}

// pushTip re-makes the planned commits after the held ones on top of the
// last held one, and returns the commit to push ("" when the remote holds
// everything).
func (p *Prepared) pushTip(ctx context.Context) (string, error) {
	k := len(p.held)
	if k == len(p.chain) {
		return "", nil
	}
	if k == 0 {
		return p.chain[len(p.chain)-1].Hash, nil
	}
	return replay(ctx, p.dir, p.held[k-1].Hash, p.chain[k:])
}

// push sends tip to ref on the remote: never forced (gitx.Push refuses a
// forced refspec and never passes --force).
func (p *Prepared) push(ctx context.Context, tip, ref string) error {
	err := gitx.Push(ctx, p.dir, p.remote, tip+":"+ref)
	var ce *gitx.CmdError
	if errors.As(err, &ce) {
		return &PushError{Remote: p.remote, Ref: ref, Reason: strings.TrimSpace(ce.Stderr), err: err}
	}
	return err
}

// PushError is a push the remote (or git) refused.
type PushError struct {
	Remote, Ref string
	// Reason is the remote's own message and git's rejection line.
	Reason string
	err    error
}

func (e *PushError) Error() string {
	return fmt.Sprintf("%s refused the push to %s: %s", e.Remote, e.Ref, e.Reason)
}
func (e *PushError) Unwrap() error { return e.err }

// remoteBranch reads branch and the review branch (when not "") from the
// remote and checks that branch is still at base.
func (p *Prepared) remoteBranch(ctx context.Context, also ...string) (gitx.RemoteRefs, error) {
	refs := append([]string{"refs/heads/" + p.req.Branch}, also...)
	got, err := gitx.LsRemote(ctx, p.dir, p.remote, refs...)
	if err != nil {
		return nil, &plan.Undecided{Err: fmt.Errorf("reading %s: %w", p.remote, err)}
	}
	switch at := got["refs/heads/"+p.req.Branch]; {
	case at == p.req.Base:
	case at == "" && p.req.NewBranch:
		// The plan creates the branch at the base (a commit the remote
		// has) with a push that runs before this review is sent.
	case at == "":
		return nil, fmt.Errorf("%s has no branch %s; a review goes into an existing branch (create the branch first: it is a plain push of a commit the remote has)", p.remote, p.req.Branch)
	default:
		return nil, fmt.Errorf("%s moved on %s since the plan was made (now %s, planned on %s); nothing was pushed: run the same command again to plan on the new %s",
			p.req.Branch, p.remote, gitx.Short(at), gitx.Short(p.req.Base), p.req.Branch)
	}
	return got, nil
}

// Reviewer sends plan.Review steps with its Options; plan.Apply reaches
// it through plan.Reviewer.
type Reviewer struct{ Options Options }

var _ plan.Reviewer = Reviewer{}

// Check prepares the step's review and sends nothing.
func (r Reviewer) Check(ctx context.Context, dir string, s plan.Step) error {
	if s.Review == nil {
		return errors.New("review step without a request")
	}
	_, err := Prepare(ctx, r.Options, dir, s.Remote, *s.Review)
	return err
}

// Send prepares the step's review again (the remote is read right before
// the push) and sends it.
func (r Reviewer) Send(ctx context.Context, dir string, s plan.Step) (string, error) {
	if s.Review == nil {
		return "", errors.New("review step without a request")
	}
	res, err := Submit(ctx, r.Options, dir, s.Remote, *s.Review)
	return res.Summary, err
}

// CanCreateDirectly reports whether u, an update of a plan.Push, may go to
// the remote directly in review mode: the creation of a branch (no
// expected value) at a commit the remote already has on one of its
// branches or tags, so no new content skips review. That is the one push
// of a branch review mode makes (release:branch cutting aether-X.Y at a
// commit of main); anything else goes for review or not at all.
func CanCreateDirectly(ctx context.Context, dir, remote string, u plan.RefUpdate) (bool, error) {
	if !strings.HasPrefix(u.Ref, "refs/heads/") || u.Expect != "" {
		return false, nil
	}
	c, ok, err := gitx.RevCommit(ctx, dir, u.Local)
	if err != nil || !ok {
		return false, err
	}
	refs, err := gitx.LsRemote(ctx, dir, remote)
	if err != nil {
		return false, &plan.Undecided{Err: fmt.Errorf("reading %s: %w", remote, err)}
	}
	fresh, err := newCommits(ctx, dir, c, refs)
	return err == nil && len(fresh) == 0, err
}
