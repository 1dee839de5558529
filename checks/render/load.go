package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/repofs"
)

// maxChartBytes bounds what is read of one chart directory, as Helm bounds
// a chart archive.
const maxChartBytes = 100 << 20

// loadChart loads the chart in directory dir of the repo at root the way
// Helm's loader.LoadDir does (every file except those .helmignore leaves
// out, vendored charts/*.tgz included), but reads each file through
// repofs: a symlink leading out of the repo, a FIFO or a device is never
// read. LoadDir follows symlinks anywhere. Every refused file is returned,
// joined, as the error (the chart is not loaded then), so a check can name
// each one.
func loadChart(ctx context.Context, root, dir string) (*chart.Chart, error) {
	d, err := repofs.Open(root)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ig, err := charts.ReadHelmignore(ctx, root, dir)
	if err != nil {
		return nil, err
	}
	var files []*loader.BufferedFile
	var refused []error
	total := int64(0)
	inChart := func(rel string) string {
		if dir == "." || dir == "" {
			return rel
		}
		return strings.TrimPrefix(rel, dir+"/")
	}
	err = d.Walk(ctx, dir, func(rel string, fi fs.FileInfo, err error) error {
		name := inChart(rel)
		if rel == ".git" {
			// A chart at the top of the repo: git's own files are no
			// chart content (and could be gigabytes).
			if fi != nil && fi.IsDir() {
				return repofs.SkipDir
			}
			return nil
		}
		if err != nil {
			// A refused entry that .helmignore leaves out is never read,
			// by Helm or by relkit.
			if !ig.Ignored(name) && !ig.IgnoredDir(name) {
				refused = append(refused, err)
			}
			return nil
		}
		if fi.IsDir() {
			if ig.IgnoredDir(name) {
				return repofs.SkipDir
			}
			return nil
		}
		if ig.Ignored(name) {
			return nil
		}
		data, err := d.Read(rel, repofs.MaxChartFile)
		if _, _, ok := repofs.Refused(err); ok {
			refused = append(refused, err)
			return nil
		}
		if err != nil {
			return err
		}
		if total += int64(len(data)); total > maxChartBytes {
			return fmt.Errorf("chart %s holds more than %d MiB of files", dir, maxChartBytes>>20)
		}
		files = append(files, &loader.BufferedFile{Name: name, Data: bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(refused) > 0 {
		return nil, errors.Join(refused...)
	}
	return loader.LoadFiles(files)
}
