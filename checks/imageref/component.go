package imageref

import "github.com/relkit/relkit/release/workspace"

// ComponentFor finds the component of ws that builds r's repository: the
// one whose image list names it exactly, else one naming the same
// repository once normalised (docker.io/x and x); nil when none does.
func ComponentFor(ws *workspace.Config, r Ref) *workspace.Repo {
	if c, ok := ws.ComponentForImage(r.Name()); ok {
		return c
	}
	for _, c := range ws.Components {
		for _, img := range c.Images {
			if r.SameRepository(img) {
				return c
			}
		}
	}
	return nil
}
