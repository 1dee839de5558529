package dockerfile

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// MaxExpansion is the longest word (an ARG value, an image reference)
// Analyze expands. docker build has no such limit, so an ARG whose default
// doubles an earlier one (ARG B=$A$A, 39 lines) reaches 10 GB and takes the
// machine with it; relkit refuses before expanding instead.
const MaxExpansion = 1 << 20

// maxExpansionWork bounds what all expansions of one file may produce
// together, lexer probes included: many modest words can add up to
// gigabytes of copying too (ARG B1=$A ... ARG B400000=$A).
const maxExpansionWork = 32 << 20

// tooLarge says why a word was not expanded.
type tooLarge struct {
	bound int
	// work is set when the file's total budget ran out rather than the
	// word being too long on its own.
	work bool
}

func (e *tooLarge) Error() string {
	if e.work {
		return fmt.Sprintf("the variable expansions of this file would produce more than %d bytes in total; relkit stops expanding here", maxExpansionWork)
	}
	if e.bound > MaxExpansion {
		return fmt.Sprintf("it would expand to more than %d bytes, the most relkit expands; expected values of a reasonable size (an ARG that doubles an earlier one grows without bound)", MaxExpansion)
	}
	return fmt.Sprintf("it would expand to up to %d bytes, more than the %d relkit expands", e.bound, MaxExpansion)
}

// expand is the lexer's ProcessWordWithMatches with a size check first:
// it computes an upper bound of the result from the word and the lengths
// of the values it can reach, and expands only when that bound fits in
// MaxExpansion and in what is left of the file's budget. The bound is
// charged to the budget whether or not the word expands.
func (a *analysis) expand(word string, env envMap) (shell.ProcessWordResult, error) {
	bound := expansionBound(word, env)
	if bound > MaxExpansion {
		return shell.ProcessWordResult{}, &tooLarge{bound: bound}
	}
	if bound > a.budget {
		a.budget = 0
		return shell.ProcessWordResult{}, &tooLarge{bound: bound, work: true}
	}
	a.budget -= bound
	return a.lex.ProcessWordWithMatches(word, env)
}

// expansionBound is an upper bound of the length of word expanded with env.
//
// Outside ${NAME/pattern/replacement}, the result is made of the word's own
// characters and, for each $ reference, at most the value of the variable
// it names (a ${X:-default} yields the value or the default, and the
// default's characters and references are counted where they stand); so
// len(word) plus the lengths of every referenced value bounds it. A
// replacement can multiply: each match in the value (at most len+1 of them)
// gains the expanded replacement, so every replacement operator squares the
// bound. Escaped or quoted references are counted too, which only loosens
// the bound. The result saturates just above MaxExpansion.
func expansionBound(word string, env envMap) int {
	const ceiling = MaxExpansion + 1
	bound := len(word)
	replacements := 0
	for i := 0; i < len(word); i++ {
		if word[i] != '$' {
			continue
		}
		j := i + 1
		braced := j < len(word) && word[j] == '{'
		if braced {
			j++
		}
		name, end := shellName(word, j)
		if v, ok := env[name]; ok {
			bound += len(v)
		}
		if braced && strings.HasPrefix(word[end:], "//") {
			replacements++
		}
		if bound >= ceiling {
			return ceiling
		}
	}
	for range replacements {
		// b + (b+1)*b, checked before it can overflow.
		if bound >= ceiling || (bound+1) > ceiling/max(bound, 1) {
			return ceiling
		}
		bound += (bound + 1) * bound
	}
	return min(bound, ceiling)
}

// shellName reads a variable name at word[i:] as buildkit's lexer does: a
// run of digits, one special parameter character, or letters, digits and
// underscores. It returns the name and where it ends.
func shellName(word string, i int) (string, int) {
	start := i
	if i >= len(word) {
		return "", i
	}
	r, size := utf8.DecodeRuneInString(word[i:])
	switch {
	case unicode.IsDigit(r):
		for i < len(word) {
			r, size := utf8.DecodeRuneInString(word[i:])
			if !unicode.IsDigit(r) {
				break
			}
			i += size
		}
		return word[start:i], i
	case isSpecialParam(r):
		return word[i : i+size], i + size
	}
	for i < len(word) {
		r, size := utf8.DecodeRuneInString(word[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		i += size
	}
	return word[start:i], i
}

// isSpecialParam matches buildkit's list of POSIX special parameters.
func isSpecialParam(r rune) bool {
	switch r {
	case '@', '*', '#', '?', '-', '$', '!', '0':
		return true
	}
	return false
}
