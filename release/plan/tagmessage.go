package plan

import (
	"fmt"
	"strings"
)

// TagMessage is the annotation of a release tag.
func TagMessage(repo, v string) string {
	return fmt.Sprintf("%s %s\n\nRelease %s of %s, %srelease:tag on the commit\nthat set its VERSION to %s.\n", repo, v, v, repo, relkitMark, v)
}

// relkitMark is in every tag message relkit writes.
const relkitMark = "tagged by relkit "

// TagByRelkit reports whether an annotated tag's message is one relkit wrote
// (TagMessage): a rerun takes over only tags it made itself.
func TagByRelkit(msg string) bool { return strings.Contains(msg, relkitMark) }
