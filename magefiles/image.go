//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/relkit/relkit/release/imagepush"
	"github.com/relkit/relkit/release/imagetags"
)

// Image tells CI how to tag component images.
type Image mg.Namespace

// Tags prints the docker tags for the current commit of component NAME, one per line.
//
// Usage: go tool mage image:tags NAME [-dev].
// Each release git tag on HEAD (v1.2.3 or 1.2.3, whatever tagPrefix says)
// gives the docker tag of its version in the component's imageTagForm:
// 1.2.3 by default, v1.2.3 for v{version}, rel-1.2.3 for rel-{version}
// (the '+' of build metadata becomes '_'). A commit with no release tag
// prints nothing, so CI pushes no release image. -dev also prints the development tag <branch>-<sha7>, the branch
// made safe for docker ([A-Za-z0-9_.-], at most 128 characters); on a
// detached HEAD the branch comes from RELKIT_BRANCH, GITHUB_HEAD_REF,
// GITHUB_REF_NAME, BRANCH_NAME, GIT_BRANCH or CI_COMMIT_REF_NAME.
// RELKIT_FORMAT=json prints {"component": ..., "commit": ..., "tags":
// [...]}. A shallow clone (its release tags may be missing) is not
// answered: run git fetch --unshallow (release:tag -push does) first.
// Exit: 0, 2 unknown component, 3 could not decide.
//
// Example: for t in $(go tool mage image:tags hss -dev); do docker push registry.example.org/omec/hss:$t; done
func (Image) Tags(ctx context.Context,
	name string, // the component, as named in relkit.yaml
	dev *bool, // also print <branch>-<sha7>
) error {
	ws, format, err := setup()
	if err != nil {
		return err
	}
	if err := componentArg(ws, name); err != nil {
		return err
	}
	tags, err := imagetags.ForHead(ctx, ws, name, imagetags.HeadOptions{Dev: flagOn(dev), Environ: settings.environ})
	if err != nil {
		return releaseExit(err)
	}
	return releaseExit(tags.Write(os.Stdout, format))
}

// Push publishes component NAME's image from SOURCE under its release tags; only CI may do it.
//
// Usage: go tool mage image:push NAME SOURCE [-dryRun].
// SOURCE is an OCI image layout directory, a docker save tarball
// (FILE:REPO:TAG picks one image of several), or an image reference in a
// staging registry; a multi-arch index is copied whole. It goes to every
// repository in the component's images list under each tag image:tags
// prints for the component's HEAD.
//
// Refused, with nothing pushed: outside CI (CI=true plus a GitHub Actions,
// GitLab, Jenkins or Tekton marker; RELKIT_ALLOW_LOCAL_PUSH=1 is for
// tests), a dirty worktree, a commit without a release tag, and a tag that
// already holds a different digest in any target repository (tags are
// immutable; the same digest is a no-op). Every target is checked before
// anything is written, and an OCI layout or tarball whose bytes do not
// match their digests is refused before the first write. Credentials come
// from the docker/podman config; 429 and 5xx answers are retried with
// backoff. Each tag is checked again right before its PUT and read back
// after it (and once more a second later): a tag that a concurrent push
// filled with another image fails the run naming both digests, and is
// never written over. Exit: 0 pushed or identical, 1 refused or failed, 2
// usage (an unknown component), 3 could not decide (the registry could not
// be reached: connection refused, DNS, timeouts, 5xx after the retries,
// refused credentials; a repo that cannot be read).
// It runs only alone: another target or an extra word on the command
// line is refused before anything is written (exit 2).
//
// Example (in CI): go tool mage image:push amf oci-layout/
func (Image) Push(ctx context.Context,
	name string, // the component, as named in relkit.yaml
	source string, // OCI layout dir, docker tarball, or staging image reference
	dryRun *bool, // check everything and write nothing
) error {
	ws, _, err := startAlone("image:push", 2)
	if err != nil {
		return err
	}
	if err := componentArg(ws, name); err != nil {
		return err
	}
	_, err = imagepush.PushComponent(ctx, ws, imagepush.ComponentOptions{Name: name, Source: source, DryRun: flagOn(dryRun), Out: os.Stdout,
		Environ: settings.environ})
	return releaseExit(err)
}
