package patch

import (
	"context"

	"github.com/relkit/relkit/release/gitx"
)

// revCommit resolves rev to a commit, "" when it names none.
func revCommit(ctx context.Context, dir, rev string) (string, error) {
	h, _, err := gitx.RevCommit(ctx, dir, rev)
	return h, err
}
