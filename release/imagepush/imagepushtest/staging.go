// Package imagepushtest makes what imagepush's benchmarks push: random
// images in a staging registry. BenchmarkPush20Images and the bench
// command behind bench/bench.sh share it, so both push the same shape.
package imagepushtest

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// StagingRef is the reference of staging image i on host
// (host/staging/img-NN:build).
func StagingRef(host string, i int) string {
	return fmt.Sprintf("%s/staging/img-%02d:build", host, i)
}

// SeedStaging pushes n random images of layers layers, size bytes each
// (random, so incompressible), to StagingRef(host, 0..n-1) and returns
// their references. A loopback host is spoken to in plain HTTP, as
// go-containerregistry does for localhost and 127.0.0.1.
func SeedStaging(ctx context.Context, host string, n, layers int, size int64) ([]string, error) {
	out := make([]string, 0, n)
	for i := range n {
		img, err := random.Image(size, int64(layers))
		if err != nil {
			return nil, err
		}
		ref, err := name.ParseReference(StagingRef(host, i))
		if err != nil {
			return nil, err
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("seeding %s: %w", ref, err)
		}
		out = append(out, ref.String())
	}
	return out, nil
}
