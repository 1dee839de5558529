package plan

import (
	"fmt"
	"strings"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/workspace"
)

// AuthorEnv names the environment variable that sets the identity of the
// commits and tags relkit makes ("Name <email>").
const AuthorEnv = "RELKIT_GIT_AUTHOR"

// Author returns the identity of relkit's commits and tags: override when
// not empty (the release steps' Options.Author, which the targets fill
// from RELKIT_GIT_AUTHOR; an error names that variable), else git.author
// from relkit.yaml. An empty identity means each repo's own git config.
func Author(ws *workspace.Config, override string) (gitx.Ident, error) {
	file := "relkit.yaml"
	wsAuthor := ""
	if ws != nil {
		file, wsAuthor = ws.File, ws.GitAuthor
	}
	for _, src := range []struct{ name, val string }{
		{AuthorEnv, override}, {"git.author in " + file, wsAuthor},
	} {
		if strings.TrimSpace(src.val) == "" {
			continue
		}
		id, err := gitx.ParseIdent(src.val)
		if err != nil {
			return gitx.Ident{}, fmt.Errorf("%s: %w", src.name, err)
		}
		return id, nil
	}
	return gitx.Ident{}, nil
}
