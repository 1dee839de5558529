package dockerfile

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// doublingFile declares ARG A0=x and then lines ARG Ak=$A(k-1)$A(k-1):
// expanded as written, A38 would be 2^38 bytes (256 GiB).
func doublingFile(lines int) string {
	var b strings.Builder
	b.WriteString("ARG A0=x\n")
	for k := 1; k < lines; k++ {
		fmt.Fprintf(&b, "ARG A%d=$A%d${A%d}\n", k, k-1, k-1)
	}
	fmt.Fprintf(&b, "FROM alpine:$A%d\n", lines-1)
	return b.String()
}

// allocated runs f and returns the bytes it allocated (all of them, freed
// or not: an expansion that builds 10 GB shows here even if the GC keeps up).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestAnalyzeDoublingArgStopsAtTheCap(t *testing.T) {
	file := doublingFile(39)
	var fs []From
	var err error
	alloc := allocated(func() { fs, err = Analyze([]byte(file), Options{}) })
	// The expansions up to the cap allocate about 2 MiB in total; without
	// the cap this is 2^39 bytes.
	if alloc > 256<<20 {
		t.Errorf("Analyze allocated %d MiB; want the expansion bounded", alloc>>20)
	}
	var se SyntaxErrors
	if !errors.As(err, &se) || len(se) != 1 {
		t.Fatalf("error = %v; want one too-large error", err)
	}
	// A20 is 2^20 bytes plus the word's own: the first over MaxExpansion.
	if e := se[0]; e.Line != 21 || !e.TooLarge || !strings.Contains(e.Msg, "ARG A20:") || !strings.Contains(e.Msg, "more than 1048576") {
		t.Errorf("error = %+v; want line 21, ARG A20, too large", e)
	}
	if len(fs) != 1 || fs[0].Kind != Unresolved || fs[0].Line != 40 || !strings.Contains(fs[0].Reason, "ARG A20 (line 21) is too large to expand") {
		t.Fatalf("FROMs = %+v; want the FROM on line 40 unresolved because of A20", fs)
	}
}

func TestAnalyzeExpansionBelowTheCap(t *testing.T) {
	// 2^19 bytes fits: the FROM gets the whole value.
	fs, err := Analyze([]byte(doublingFile(20)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || len(fs[0].Expanded) != len("alpine:")+1<<19 {
		t.Errorf("FROM expanded to %d bytes; want %d", len(fs[0].Expanded), len("alpine:")+1<<19)
	}
}

func TestAnalyzeReplacementCannotMultiply(t *testing.T) {
	// ${A//x/$A} replaces each of 2000 x's with 2000 bytes: 4 MB from a
	// 2 kB value, so the bound squares and refuses before expanding. A
	// single replacement (${A/x/y}) cannot multiply and is expanded.
	file := "ARG A=" + strings.Repeat("x", 2000) + "\nARG B=${A//x/$A}\nARG C=${A/x/y}\nFROM alpine:3.20\n"
	fs, err := Analyze([]byte(file), Options{})
	var se SyntaxErrors
	if !errors.As(err, &se) || len(se) != 1 || se[0].Line != 2 || !se[0].TooLarge {
		t.Fatalf("error = %v; want one too-large error on line 2", err)
	}
	if len(fs) != 1 || fs[0].Kind != Image {
		t.Errorf("FROMs = %+v; want the FROM analysed", fs)
	}
}

func TestAnalyzeTooLargeFrom(t *testing.T) {
	// Each value fits (A18 is 256 KiB; a Dockerfile line holds at most
	// 64 KiB, so big values come from expansion); the FROM joining four of
	// them does not.
	file := strings.TrimSuffix(doublingFile(19), "FROM alpine:$A18\n") + "FROM x:$A18$A18$A18$A18\nFROM alpine:3.20\n"
	fs, err := Analyze([]byte(file), Options{})
	var se SyntaxErrors
	if !errors.As(err, &se) || len(se) != 1 || se[0].Line != 20 || !se[0].TooLarge || !strings.HasPrefix(se[0].Msg, "FROM x:$A18$A18$A18$A18: ") {
		t.Fatalf("error = %v; want one too-large error for the FROM on line 20", err)
	}
	if len(fs) != 1 || fs[0].Line != 21 {
		t.Errorf("FROMs = %+v; want only the FROM on line 21", fs)
	}
}

func TestAnalyzeExpansionWorkBudget(t *testing.T) {
	// 512 KiB copied by each of 200 ARGs is 100 MiB of work, no single
	// word too large: the budget stops the file once and skips the rest.
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(doublingFile(20), "FROM alpine:$A19\n")) // A19: 512 KiB
	for i := range 200 {
		fmt.Fprintf(&b, "ARG B%d=$A19\n", i)
	}
	b.WriteString("FROM alpine:latest\n")
	var fs []From
	var err error
	alloc := allocated(func() { fs, err = Analyze([]byte(b.String()), Options{}) })
	if alloc > 256<<20 {
		t.Errorf("Analyze allocated %d MiB; want the work bounded", alloc>>20)
	}
	var se SyntaxErrors
	if !errors.As(err, &se) || len(se) != 1 || !se[0].TooLarge || !strings.Contains(se[0].Msg, "in total") {
		t.Fatalf("error = %v; want one too-large error for the whole file", err)
	}
	// Building A19 took a little over 1 MiB of the 32; the rest allows
	// about 61 copies of 512 KiB, so an ARG near line 21+61 is refused.
	if se[0].Line < 80 || se[0].Line > 84 {
		t.Errorf("the budget ran out on line %d; want about line 82", se[0].Line)
	}
	if len(fs) != 0 {
		t.Errorf("FROMs = %+v; want none after the budget ran out", fs)
	}
}

func TestExpansionBound(t *testing.T) {
	env := envMap{"A": "12345", "B": "xy", "1": "one", "_": "u", "Ä": "umlaut"}
	for _, tt := range []struct {
		word string
		want int
	}{
		{"plain", 5},
		{"$A", 2 + 5},
		{"${A}-${B}", 9 + 7},
		{"${A:-$B}", 8 + 7},
		{"$1abc", 5 + 3}, // $1 is one name, then "abc"
		{"$_$Ä", len("$_$Ä") + 1 + 6},
		{"$NOPE", 5},
		{"\\$A", 3 + 5}, // escaped references count too: an upper bound
		{"${B/x/$B}", 9 + 4},
		{"${B//x/$B}", 10 + 4 + (14+1)*14},
		{"${A//?/$A$A}", 12 + 15 + (27+1)*27},
	} {
		if got := expansionBound(tt.word, env); got != tt.want {
			t.Errorf("expansionBound(%q) = %d; want %d", tt.word, got, tt.want)
		}
		if r, _, err := shell.NewLex('\\').ProcessWord(tt.word, env); err == nil && len(r) > expansionBound(tt.word, env) {
			t.Errorf("%q expands to %d bytes, above its bound %d", tt.word, len(r), expansionBound(tt.word, env))
		}
	}
	big := envMap{"A": strings.Repeat("a", 1000)}
	if got := expansionBound("${A//a/${A//a/$A}}", big); got != MaxExpansion+1 {
		t.Errorf("nested replacements: bound %d; want saturated at %d", got, MaxExpansion+1)
	}
}
