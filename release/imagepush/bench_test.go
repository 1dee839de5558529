package imagepush

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/relkit/relkit/release/imagepush/imagepushtest"
)

// BenchmarkPush20Images copies 20 images of 5 layers each from a staging
// registry to a separate target registry (both in-process, on loopback):
// "batch" is one Push for all 20 with bounded parallelism, "one-by-one" is
// one Push per image in sequence, the shape of one `crane copy` per image
// (bench/bench.sh compares against crane itself). Layer size:
// RELKIT_BENCH_LAYER_BYTES (default 256 KiB).
func BenchmarkPush20Images(b *testing.B) {
	const images, layers = 20, 5
	size := int64(256 << 10)
	if v, err := strconv.ParseInt(os.Getenv("RELKIT_BENCH_LAYER_BYTES"), 10, 64); err == nil && v > 0 {
		size = v
	}
	staging := newTestReg(b)
	sources, err := imagepushtest.SeedStaging(context.Background(), staging.host, images, layers, size)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// A fresh target registry per round: the in-process registry keeps
	// blobs across repositories, so a second round into the same one
	// would upload nothing.
	imagesFor := func(b *testing.B) ([]Image, func()) {
		target := newTestReg(b)
		var out []Image
		for i, src := range sources {
			out = append(out, Image{
				Source: src,
				Repos:  []string{target.repo(fmt.Sprintf("release/img-%02d", i))},
				Tags:   []string{"1.0.0"},
			})
		}
		return out, target.srv.Close
	}
	// One unmeasured round: the first one pays for heap growth and
	// connection setup, which would otherwise land on whichever
	// sub-benchmark runs first.
	warm := request("", nil)
	warm.Images, _ = imagesFor(b)
	if _, err := Push(ctx, warm); err != nil {
		b.Fatal(err)
	}
	for _, jobs := range []int{2, 8} {
		b.Run(fmt.Sprintf("batch/jobs=%d", jobs), func(b *testing.B) {
			for b.Loop() {
				req := request("", nil)
				var done func()
				req.Images, done = imagesFor(b)
				req.Jobs = jobs
				res, err := Push(ctx, req)
				if err != nil || len(res.With(StatusPushed)) != images {
					b.Fatalf("Push: %v\n%s", err, res)
				}
				done()
			}
			b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N)/images*1000, "ms/image")
		})
	}
	b.Run("one-by-one", func(b *testing.B) {
		for b.Loop() {
			ims, done := imagesFor(b)
			for _, im := range ims {
				res, err := Push(ctx, request(im.Source, im.Repos, im.Tags...))
				if err != nil || len(res.With(StatusPushed)) != 1 {
					b.Fatalf("Push: %v\n%s", err, res)
				}
			}
			done()
		}
		b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N)/images*1000, "ms/image")
	})
}
