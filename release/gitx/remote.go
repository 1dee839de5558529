package gitx

import (
	"context"
	"fmt"
	"strings"
)

// RemoteRefs maps full ref names to the hash a remote has for them.
// Annotated tags also appear peeled, as "refs/tags/x^{}".
type RemoteRefs map[string]string

// LsRemote asks remote (a name or URL) for the given full ref names (all
// refs when none are given). A ref the remote does not have is simply
// absent from the result.
func LsRemote(ctx context.Context, dir, remote string, refs ...string) (RemoteRefs, error) {
	args := append([]string{"ls-remote", "--", remote}, refs...)
	for _, r := range refs {
		// A tag's peeled line is only listed when asked for by name.
		if strings.HasPrefix(r, "refs/tags/") {
			args = append(args, r+"^{}")
		}
	}
	out, err := Git(ctx, dir, args...)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, r := range refs {
		want[r], want[r+"^{}"] = true, true
	}
	m := RemoteRefs{}
	for _, line := range strings.Split(out, "\n") {
		hash, name, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			continue
		}
		// ls-remote matches patterns by their tail; keep exact names only.
		if len(refs) == 0 || want[name] {
			m[name] = hash
		}
	}
	return m, nil
}

// Fetch runs git fetch from remote without tags, for the given refspecs
// (the remote's configured ones when none are given). It never forces.
func Fetch(ctx context.Context, dir, remote string, refspecs ...string) error {
	for _, rs := range refspecs {
		if strings.HasPrefix(rs, "+") {
			return fmt.Errorf("refusing forced refspec %q", rs)
		}
	}
	args := append([]string{"fetch", "--quiet", "--no-tags", "--", remote}, refspecs...)
	_, err := Git(ctx, dir, args...)
	return err
}

// Push pushes refspecs (local:remote) to remote in one atomic push: the
// remote takes all of them or none. It never forces; a refspec starting
// with "+" is refused.
func Push(ctx context.Context, dir, remote string, refspecs ...string) error {
	if len(refspecs) == 0 {
		return nil
	}
	for _, rs := range refspecs {
		if strings.HasPrefix(rs, "+") {
			return fmt.Errorf("refusing forced refspec %q", rs)
		}
	}
	args := append([]string{"push", "--atomic", "--porcelain", "--", remote}, refspecs...)
	out, err := Git(ctx, dir, args...)
	if ce, ok := err.(*CmdError); ok {
		ce.Stderr = pushReasons(ce.Stderr, out)
	}
	return err
}

// pushReasons condenses a failed push to what says why: the remote's own
// messages, git's errors, and (from --porcelain stdout) each ref that was
// not updated with its reason.
func pushReasons(stderr, stdout string) string {
	var keep []string
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "remote:"):
			if msg := strings.TrimSpace(strings.TrimPrefix(line, "remote:")); msg != "" {
				keep = append(keep, "remote: "+msg)
			}
		case strings.HasPrefix(line, "fatal:"), strings.HasPrefix(line, "error:") && !strings.Contains(line, "failed to push some refs"):
			keep = append(keep, line)
		}
	}
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "!\t"); ok {
			keep = append(keep, "rejected "+strings.ReplaceAll(rest, "\t", " "))
		}
	}
	if len(keep) == 0 {
		return strings.TrimSpace(stderr)
	}
	return strings.Join(keep, "; ")
}
