package gitx

import (
	"context"
	"strings"
)

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
