package imagepush

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/release/demo"
	rplan "github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// TestPushComponentOnTheDemoWorkspace runs image:push's whole path: tags
// from the component's release git tag, the dirty and dev refusals, and a
// push through the workspace's registry mirror.
func TestPushComponentOnTheDemoWorkspace(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	w, err := demo.Build(ctx, filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := demo.Serve(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	load := func() *workspace.Config {
		ws, err := workspace.Load(w.ConfigFile)
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	src := layoutOf(t, randomIndex(t))
	local := []string{AllowLocalEnv + "=1"}
	var out strings.Builder

	// amf's master is 1.5.0-dev: no release tag, nothing pushed.
	_, err = PushComponent(ctx, load(), ComponentOptions{Name: "amf", Source: src, Out: &out, Environ: local})
	var refused *rplan.Refused
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "release tag") {
		t.Fatalf("a dev commit must be refused, got %v", err)
	}

	amf := w.Repos["amf"]
	amf.SetVersion("1.5.0\n")
	amf.Tag("v1.5.0", "relkit release 1.5.0", "")
	amf.Write(map[string]string{"scratch.txt": "not committed\n"})
	if err := amf.Err(); err != nil {
		t.Fatal(err)
	}
	_, err = PushComponent(ctx, load(), ComponentOptions{Name: "amf", Source: src, Out: &out, Environ: local})
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "scratch.txt") {
		t.Fatalf("a dirty worktree must be refused naming the file, got %v", err)
	}
	amf.Remove("scratch.txt")

	res, err := PushComponent(ctx, load(), ComponentOptions{Name: "amf", Source: src, Out: &out, Environ: local})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out.String())
	}
	if len(res.With(StatusPushed)) != len(res.Targets) || len(res.Targets) == 0 {
		t.Fatalf("want every target pushed: %+v", res.Targets)
	}
	comp, _ := w.Component("amf")
	for _, repo := range comp.Images {
		mirrored, err := svc.Mirror(repo + ":1.5.0")
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(mirrored, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(ref)
		if err != nil {
			t.Fatalf("%s not in the registry after the push: %v", mirrored, err)
		}
		if desc.Digest != res.Targets[0].Digest {
			t.Errorf("%s holds %s, pushed %s", mirrored, desc.Digest, res.Targets[0].Digest)
		}
	}
	// Same content again: identical, nothing written.
	res, err = PushComponent(ctx, load(), ComponentOptions{Name: "amf", Source: src, Out: &out, Environ: local})
	if err != nil || len(res.With(StatusIdentical)) != len(res.Targets) {
		t.Fatalf("re-push should be a no-op: %v %+v", err, res.Targets)
	}
	// Different content under the released tag: refused.
	_, err = PushComponent(ctx, load(), ComponentOptions{Name: "amf", Source: layoutOf(t, randomImage(t, 2)), Out: &out, Environ: local})
	if !errors.As(err, &refused) || rplan.ExitCode(err) != rplan.ExitFailed {
		t.Fatalf("a different digest under an existing tag must be refused (exit 1), got %v", err)
	}

	// The component's imageTagForm: the same release pushed as rel-1.5.0.
	ws := load()
	c, _ := ws.Component("amf")
	c.ImageTagForm = "rel-{version}"
	res, err = PushComponent(ctx, ws, ComponentOptions{Name: "amf", Source: src, Out: &out, Environ: local})
	if err != nil {
		t.Fatalf("push in the rel- form: %v\n%s", err, out.String())
	}
	for _, tg := range res.Targets {
		if !strings.HasSuffix(tg.Ref, ":rel-1.5.0") || tg.Status != StatusPushed {
			t.Errorf("target %s: want every tag in the form rel-1.5.0, pushed", tg)
		}
	}

	// The registry (through the workspace's mirror) is gone: could not
	// decide, exit 3.
	ws = load()
	for k := range ws.Images.Mirrors {
		ws.Images.Mirrors[k] = closedPort(t)
	}
	amf.SetVersion("1.5.1\n")
	amf.Tag("v1.5.1", "relkit release 1.5.1", "")
	if err := amf.Err(); err != nil {
		t.Fatal(err)
	}
	_, err = PushComponent(ctx, ws, ComponentOptions{Name: "amf", Source: src, Out: &out, Environ: local})
	if code := rplan.ExitCode(err); code != rplan.ExitUndecided {
		t.Fatalf("unreachable registry: exit %d (%v), want 3", code, err)
	}
}
