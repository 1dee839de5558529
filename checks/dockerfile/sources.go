package dockerfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// source is the value of a COPY --from or RUN --mount=from.
type source struct {
	via   Via
	value string
	n     *parser.Node
	// stage is the index of the stage the instruction is in.
	stage int
}

// resolveSources adds to the FROMs the COPY --from and RUN --mount=from
// values that name an image. It decides, for every COPY --from and RUN --mount=from, what
// buildkit would take it for (dockerfile2llb's toCommand and
// detectRunMount): an earlier stage, by name or, for COPY only, by index;
// otherwise an image it pulls. A later stage, the instruction's own stage,
// a bad index or a variable in COPY --from stop docker build; those are
// syntax errors here.
func (a *analysis) resolveSources() {
	for _, s := range a.sources {
		if f, ok := a.resolveSource(s); ok {
			a.froms = append(a.froms, f)
		}
	}
}

func (a *analysis) resolveSource(s source) (From, bool) {
	f := From{Via: s.via, Line: s.n.StartLine, EndLine: s.n.EndLine, Index: s.stage,
		Written: s.value, Expanded: s.value, Kind: Image}
	instr := s.via.Describe(s.value)
	fail := func(format string, args ...any) (From, bool) {
		a.errs = append(a.errs, &SyntaxError{Line: f.Line, Msg: instr + ": " + fmt.Sprintf(format, args...)})
		return f, false
	}
	if s.via == ViaCopy {
		// buildkit expands --from with no variables at all and refuses
		// any difference, so COPY --from=$IMAGE never pulls $IMAGE. With
		// no variables the result is no longer than the value.
		r, err := a.lex.ProcessWordWithMatches(s.value, envMap{})
		if err != nil {
			return fail("%v", err)
		}
		if r.Result != s.value {
			return fail("variable expansion is not supported for --from; expected a stage name, a stage index or an image, or a stage built FROM the image with a global ARG and --from naming that stage")
		}
		if idx, err := strconv.Atoi(s.value); err == nil {
			switch {
			case idx < 0 || idx >= a.nstages:
				return fail("invalid stage index %d; the file has %d stages (0 to %d)", idx, a.nstages, a.nstages-1)
			case idx >= s.stage:
				return fail("stage %d is not defined before the current stage %d; expected an earlier stage", idx, s.stage)
			}
			return f, false // an earlier stage: nothing to pull
		}
	}
	if idx, ok := a.stages[strings.ToLower(s.value)]; ok {
		if idx >= s.stage {
			return fail("stage %q is not defined before the current stage; expected an earlier stage", s.value)
		}
		return f, false
	}
	if strings.EqualFold(s.value, "scratch") {
		f.Kind = Scratch
	}
	return f, true
}
