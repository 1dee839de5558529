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
	if err != nil {
		// --porcelain puts the per-ref verdicts on stdout; keep them.
		if ce, ok := err.(*CmdError); ok {
			ce.Stderr = strings.TrimSpace(ce.Stderr + "\n" + rejectedLines(out))
		}
		return err
	}
	return nil
}

// rejectedLines keeps the lines of push --porcelain output that name a
// ref that was not updated.
func rejectedLines(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "!\t") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}
