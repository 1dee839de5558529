package checks

import (
	"context"
	"fmt"
	"testing"

	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/checks/render/rendertest"
	"github.com/relkit/relkit/release/workspace"
)

// BenchmarkImagesOneChart runs check:images over one chart rendering 1k,
// 10k and 100k images (rendertest.GenerateImageChart): the cost must grow
// linearly with the images of a chart.
func BenchmarkImagesOneChart(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("images=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			if err := rendertest.GenerateImageChart(dir, n); err != nil {
				b.Fatal(err)
			}
			res, err := render.All(context.Background(), dir, render.Options{})
			if err != nil || len(res) != 1 || res[0].Err != nil {
				b.Fatalf("render: %v %v", err, res)
			}
			traced := 0
			for _, img := range res[0].Images {
				if img.Source == render.FromTemplate && img.ValuesFile == "big/values.yaml" {
					traced++
				}
			}
			if traced != n || len(res[0].Images) != n {
				b.Fatalf("%d images, %d rendered and traced to big/values.yaml; expected %d", len(res[0].Images), traced, n)
			}
			ws := &workspace.Config{
				Charts: &workspace.Repo{Name: "charts", Dir: dir},
				Images: workspace.ImagePolicy{MovingTags: workspace.DefaultMovingTags},
			}
			for b.Loop() {
				rep := Images(context.Background(), ws, Options{})
				if err := rep.Err(); err != nil {
					b.Fatal(err)
				}
				if errs, warns := rep.Counts(); errs+warns != 0 {
					b.Fatalf("%d errors, %d warnings; expected none: %v", errs, warns, rep.Findings()[:1])
				}
			}
		})
	}
}
