package review

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
)

// ChangeIDTrailer is the trailer Gerrit identifies a change by.
const ChangeIDTrailer = "Change-Id"

// Key names one commit relkit makes for review by what the plan says it
// is, never by its content: a rerun that makes the commit again (another
// date, a rebuilt tree) gets the same Change-Id, so Gerrit takes it as a
// new patch set of the same change instead of a new change.
type Key struct {
	// Target is the relkit target ("patch:charts"), Line the release
	// line ("2.1").
	Target string
	Line   string
	// Repo is the repo's name in relkit.yaml, Branch the branch the
	// commit is for (short name).
	Repo   string
	Branch string
	// Step says which commit of the plan this is, in words that stay the
	// same across reruns: "bump charts", "release 2.1.3", "move on to
	// 2.1.4-dev", "pick <hash of the fix>". Never a hash of a commit
	// relkit itself makes.
	Step string
}

// ChangeID is the Change-Id of the commit k names: "I" and the SHA-1 of
// k's fields (length-prefixed, so no two keys share an encoding), the form
// Gerrit's commit-msg hook makes.
func ChangeID(k Key) string {
	h := sha1.New()
	for _, f := range []string{"relkit review change", k.Target, k.Line, k.Repo, k.Branch, k.Step} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return "I" + hex.EncodeToString(h.Sum(nil))
}

// ValidChangeID reports whether id has the form Gerrit accepts: "I" and
// 40 lowercase hex digits.
func ValidChangeID(id string) bool {
	if len(id) != 41 || id[0] != 'I' {
		return false
	}
	for _, c := range id[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// SetChangeID returns msg with exactly one Change-Id trailer, id, in its
// footer. An existing Change-Id trailer is replaced in place; otherwise
// the line goes where Gerrit's commit-msg hook puts it: into the trailer
// block (the last paragraph, when git would parse it as trailers) before
// the first Signed-off-by, else at its end, else as a new last paragraph.
// Every other line (relkit's own trailers, "(cherry picked from commit
// ...)") stays as it was. The result ends in exactly one newline.
func SetChangeID(msg, id string) string {
	lines := messageLines(msg)
	start := trailerStart(lines)
	if start < 0 {
		return strings.Join(append(lines, "", ChangeIDTrailer+": "+id), "\n") + "\n"
	}
	body, block := lines[:start], lines[start:]
	var kept []string
	at, sob := -1, -1
	for i := 0; i < len(block); i++ {
		if strings.EqualFold(trailerToken(block[i]), ChangeIDTrailer) {
			if at < 0 {
				at = len(kept)
			}
			// Drop the trailer with its continuation lines.
			for i+1 < len(block) && block[i+1] != "" && isSpace(block[i+1][0]) {
				i++
			}
			continue
		}
		if sob < 0 && strings.EqualFold(trailerToken(block[i]), "Signed-off-by") {
			sob = len(kept)
		}
		kept = append(kept, block[i])
	}
	switch {
	case at >= 0:
	case sob >= 0:
		at = sob
	default:
		at = len(kept)
	}
	out := append([]string{}, body...)
	out = append(out, kept[:at]...)
	out = append(out, ChangeIDTrailer+": "+id)
	out = append(out, kept[at:]...)
	return strings.Join(out, "\n") + "\n"
}

// EnsureChangeID keeps a message whose footer already holds exactly one
// valid Change-Id (a cherry-picked fix keeps the Change-Id of its change
// on the main branch, as Gerrit's own cherry-pick does: on another branch
// it is another change, linked to the first) and sets id otherwise.
func EnsureChangeID(msg, id string) string {
	if ids := ChangeIDs(msg); len(ids) == 1 && ValidChangeID(ids[0]) {
		return msg
	}
	return SetChangeID(msg, id)
}

// ChangeIDs lists the values of the Change-Id trailers in msg's footer,
// as Gerrit reads them (none when the last paragraph is not trailers).
func ChangeIDs(msg string) []string {
	lines := messageLines(msg)
	start := trailerStart(lines)
	if start < 0 {
		return nil
	}
	var ids []string
	for _, l := range lines[start:] {
		if tok := trailerToken(l); strings.EqualFold(tok, ChangeIDTrailer) {
			_, v, _ := strings.Cut(l, ":")
			ids = append(ids, strings.TrimSpace(v))
		}
	}
	return ids
}

// messageLines splits a message into lines without the trailing blank
// ones.
func messageLines(msg string) []string {
	lines := strings.Split(msg, "\n")
	for len(lines) > 0 && isBlank(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// gitGeneratedPrefixes are the lines git itself writes into a trailer
// block (trailer.c's git_generated_prefixes).
var gitGeneratedPrefixes = []string{"Signed-off-by: ", "(cherry picked from commit "}

// trailerStart is the index of the first line of the trailer block, or -1
// when the message has none. It follows git's rules (trailer.c,
// find_trailer_block_start, with no trailer.* configuration), so a
// Change-Id lands where `git interpret-trailers` and Gerrit's hook would
// put it: the block is the last paragraph, never the title paragraph, and
// counts as trailers when all its lines are trailers, or when it holds a
// git-generated line and at least a quarter of its lines are trailers.
// Lines starting with a space continue the line above.
func trailerStart(lines []string) int {
	title := len(lines)
	for i, l := range lines {
		if isBlank(l) {
			title = i
			break
		}
	}
	trailers, others, continuations := 0, 0, 0
	recognized, onlyBlank := false, true
	for i := len(lines) - 1; i >= title; i-- {
		l := lines[i]
		if isBlank(l) {
			if onlyBlank {
				continue
			}
			others += continuations
			if recognized && trailers*3 >= others || trailers > 0 && others == 0 {
				return i + 1
			}
			return -1
		}
		onlyBlank = false
		if hasGitPrefix(l) {
			trailers++
			continuations = 0
			recognized = true
			continue
		}
		switch {
		case separatorAt(l) >= 1 && !isSpace(l[0]):
			trailers++
			continuations = 0
		case isSpace(l[0]):
			continuations++
		default:
			others += 1 + continuations
			continuations = 0
		}
	}
	return -1
}

func hasGitPrefix(l string) bool {
	for _, p := range gitGeneratedPrefixes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// separatorAt is the index of the ':' ending a trailer token (letters,
// digits and '-', then optional blanks), or -1; trailer.c's
// find_separator.
func separatorAt(l string) int {
	blank := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c == ':':
			return i
		case !blank && (isAlnum(c) || c == '-'):
		case i > 0 && (c == ' ' || c == '\t'):
			blank = true
		default:
			return -1
		}
	}
	return -1
}

// trailerToken is the token of a trailer line ("Change-Id"), or "".
func trailerToken(l string) string {
	if l == "" || isSpace(l[0]) {
		return ""
	}
	i := separatorAt(l)
	if i < 1 {
		return ""
	}
	return strings.TrimRight(l[:i], " \t")
}

// isBlank and isSpace use git's own notion of white space (sane_ctype):
// space, tab, CR and LF, not vertical tab or form feed.
func isBlank(l string) bool { return strings.TrimLeft(l, " \t\r") == "" }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
