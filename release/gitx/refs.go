package gitx

import (
	"context"
	"errors"
	"strings"
)

// RevCommit resolves rev to a full commit hash with the git CLI; ok is
// false (and err nil) when rev names no commit.
func RevCommit(ctx context.Context, dir, rev string) (string, bool, error) {
	out, err := Git(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		var ce *CmdError
		if errors.As(err, &ce) && ce.ExitCode() == 1 {
			return "", false, nil
		}
		return "", false, err
	}
	return strings.TrimSpace(out), true, nil
}

// CheckedOut returns the worktree of the repository at dir that has branch
// (a short name) checked out, or "" when no worktree has.
func CheckedOut(ctx context.Context, dir, branch string) (string, error) {
	out, err := Git(ctx, dir, "worktree", "list", "--porcelain")
	if err != nil {
		return "", err
	}
	wt := ""
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "worktree "); ok {
			wt = p
		}
		if line == "branch refs/heads/"+branch {
			return wt, nil
		}
	}
	return "", nil
}

// Short abbreviates a commit hash to 7 characters for messages; anything
// shorter is returned as it is.
func Short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
