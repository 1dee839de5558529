package review

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/relkit/relkit/release/gitx"
)

// RepoID is a repository on GitHub or Gitea: its owner (user or
// organisation) and name.
type RepoID struct{ Owner, Name string }

func (r RepoID) String() string { return r.Owner + "/" + r.Name }

// ParseRepoURL reads owner and name from a git remote URL: the last two
// path segments, without a ".git" suffix. It takes https and http URLs
// (with credentials, ports, a sub-path install such as
// https://host/gitea/owner/repo), ssh:// and git:// URLs, scp-like
// addresses (git@host:owner/repo.git) and local paths or file:// URLs (a
// bare mirror laid out as .../owner/repo.git).
func ParseRepoURL(raw string) (RepoID, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return RepoID{}, errors.New("empty remote URL")
	}
	var path string
	switch {
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil {
			return RepoID{}, fmt.Errorf("remote URL %q: %w", redactURL(s), err)
		}
		path = u.Path
	case isSCPLike(s):
		_, path, _ = strings.Cut(s, ":")
	default:
		path = s
	}
	var segs []string
	for _, p := range strings.Split(path, "/") {
		if p != "" && p != "." {
			segs = append(segs, p)
		}
	}
	if len(segs) < 2 {
		return RepoID{}, fmt.Errorf("remote URL %q: expected .../<owner>/<repo>[.git]", redactURL(s))
	}
	id := RepoID{Owner: segs[len(segs)-2], Name: strings.TrimSuffix(segs[len(segs)-1], ".git")}
	if id.Name == "" || id.Name == ".." || id.Owner == ".." {
		return RepoID{}, fmt.Errorf("remote URL %q: expected .../<owner>/<repo>[.git]", redactURL(s))
	}
	return id, nil
}

// isSCPLike reports whether s is git's scp-like syntax, [user@]host:path:
// a colon before any slash.
func isSCPLike(s string) bool {
	colon, slash := strings.IndexByte(s, ':'), strings.IndexByte(s, '/')
	return colon > 0 && (slash < 0 || colon < slash)
}

// redactURL drops credentials from a URL for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	if at := strings.IndexByte(s, '@'); at >= 0 && strings.Contains(s[:at], "://") {
		scheme, _, _ := strings.Cut(s, "://")
		return scheme + "://" + s[at+1:]
	}
	return s
}

// remoteRepo finds owner and name of remote (a remote's name, or a URL or
// path) from the URL git pushes to.
func remoteRepo(ctx context.Context, dir, remote string) (RepoID, error) {
	u := remote
	if out, err := gitx.Git(ctx, dir, "remote", "get-url", "--push", "--", remote); err == nil {
		u = strings.TrimSpace(out)
	}
	id, err := ParseRepoURL(u)
	if err != nil {
		return RepoID{}, fmt.Errorf("remote %s: %w", remote, err)
	}
	return id, nil
}
