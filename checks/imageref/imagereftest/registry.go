// Package imagereftest seeds registries for the benchmarks and tests of
// checks/imageref and for checks/render/bench.
package imagereftest

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// SeedRegistry fills the registry at host (plain HTTP, e.g. an in-process
// test registry) with n tags spread over 20 repositories, and returns the
// n references. Benchmarks and the bench script share it.
func SeedRegistry(ctx context.Context, host string, n int) ([]string, error) {
	const repos = 20
	img, err := random.Image(256, 1)
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(remote.WithContext(ctx), remote.WithJobs(8))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	for i := range n {
		s := fmt.Sprintf("%s/bench/app%02d:1.%d.%d", host, i%repos, i/repos/100, i/repos%100)
		ref, err := name.NewTag(s, name.Insecure)
		if err != nil {
			return nil, err
		}
		if i < repos {
			err = remote.Write(ref, img, remote.Reuse(pusher), remote.WithContext(ctx))
		} else {
			err = remote.Tag(ref, img, remote.Reuse(pusher), remote.WithContext(ctx))
		}
		if err != nil {
			return nil, fmt.Errorf("seeding %s: %w", s, err)
		}
		out = append(out, s)
	}
	return out, nil
}
