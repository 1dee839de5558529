package patch

import (
	"context"
	"testing"

	"github.com/relkit/relkit/release/demo/demotest"
)

// fixture is the demo workspace after release:branch 2.1 was cut and
// pushed: real repos with bare remotes.
type fixture struct {
	*demotest.Line
	t   *testing.T
	ctx context.Context
}

const line = "2.1"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{Line: demotest.CutLine(t, demotest.Build(t), line), t: t, ctx: context.Background()}
}
