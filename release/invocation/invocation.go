// Package invocation checks the command line a mutating target was
// started from, before it writes anything.
//
// Mage (v1.17) runs every word of the command line as a target: after a
// target it takes exactly the target's required arguments, then every
// word starting with "-" as the target's flags, and the next other word
// starts the next target. So `release:branch 2.1 2.2 -dryRun` runs
// release:branch 2.1 for real, then fails on the unknown target "2.2"
// that the -dryRun went to, and `patch:charts 2.1 C1 C2 -dryRun` picks C1
// for real. A target body cannot see how mage split the words, but the
// compiled magefile gets the command line in os.Args whichever way it was
// started: `go tool mage` and `go run magefile.go` compile it and run it
// with the words after mage's own flags; a `mage -compile`d binary gets
// the words as typed, its main taking -v, -l, -h and -t first. Alone
// re-reads those words the way the generated main does.
package invocation

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Error is a command line a mutating target refuses to run from: a usage
// error (exit 2).
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Alone checks that args (os.Args[1:] of the compiled magefile) run
// target and nothing else: optionally the flags of mage's own main, then
// target (mage compares names without case), then exactly required
// positional arguments, none of which looks like a flag, then only flags.
// Whatever else is on the line would be run by mage as further targets,
// before or after this one, with flags meant for this one.
func Alone(args []string, target string, required int) error {
	words, err := targetWords(args)
	if err != nil {
		return &Error{fmt.Sprintf("%s: cannot read the command line: %v", target, err)}
	}
	if len(words) == 0 || !strings.EqualFold(words[0], target) {
		first := "nothing"
		if len(words) > 0 {
			first = fmt.Sprintf("%q", words[0])
		}
		return &Error{fmt.Sprintf("%s changes repositories, so it runs only as the one target of the command line, but %s came first (%s); run it on its own",
			target, first, strings.Join(words, " "))}
	}
	rest := words[1:]
	if len(rest) < required {
		return &Error{fmt.Sprintf("%s takes %d argument(s), got %d", target, required, len(rest))}
	}
	for i, a := range rest[:required] {
		if strings.HasPrefix(a, "-") {
			return &Error{fmt.Sprintf("%s: argument %d is %q, which looks like a flag; give the %d argument(s) first, then the flags", target, i+1, a, required)}
		}
	}
	for _, a := range rest[required:] {
		if !strings.HasPrefix(a, "-") {
			return &Error{fmt.Sprintf("%s takes %d argument(s), then only its flags; %q after them would be run by mage as another target, taking the flags after it, so %s refuses to run: nothing was done",
				target, required, strings.Join(rest[required:], " "), target)}
		}
	}
	return nil
}

// targetWords drops the flags the generated main of a compiled magefile
// parses before the targets (see mage's template: -v, -l, -h and -t
// <duration>), with the same flag package, and returns the words after
// them.
func targetWords(args []string) ([]string, error) {
	fs := flag.NewFlagSet("magefile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Bool("v", false, "")
	fs.Bool("l", false, "")
	fs.Bool("h", false, "")
	fs.Duration("t", 0, "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}
