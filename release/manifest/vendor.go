package manifest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/relkit/relkit/release/charts"
)

// maxVendorDepth bounds chains of file:// dependencies.
const maxVendorDepth = 10

// renderRoot returns the tree to render the charts of chartsDir from. When
// a chart has file:// dependencies that are not vendored in its charts/
// directory, it is a temporary copy of chartsDir (without .git) in which
// they are, as `helm dependency build` would before packaging: an umbrella
// chart's images come from its subcharts. chartsDir itself is never
// written. cleanup removes the copy.
func renderRoot(ctx context.Context, chartsDir string) (root string, cleanup func(), err error) {
	list, err := charts.Discover(ctx, chartsDir)
	if err != nil {
		return "", nil, err
	}
	need := false
	for _, c := range list {
		for _, d := range c.Dependencies {
			if strings.HasPrefix(d.Repository, "file://") && !vendored(chartsDir, c.Dir, d.Name) {
				need = true
			}
		}
	}
	if !need {
		return chartsDir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "relkit-render-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	root = filepath.Join(tmp, "charts")
	if err := copyTree(ctx, chartsDir, root, maxCopyFiles*10); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("copying %s to render it: %w", chartsDir, err)
	}
	for _, c := range list {
		if err := vendorInto(ctx, root, c.Dir, c.Dir, 0); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	return root, cleanup, nil
}

// vendorInto vendors the file:// dependencies of the chart whose files are
// in dest (relative to root) and whose file:// paths are relative to
// origin (its directory in the repo).
func vendorInto(ctx context.Context, root, dest, origin string, depth int) error {
	if depth > maxVendorDepth {
		return fmt.Errorf("%s: file:// dependencies nest more than %d deep", origin, maxVendorDepth)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := charts.ReadChart(root, dest)
	if err != nil {
		return nil // the renderer reports an unreadable chart
	}
	for _, d := range c.Dependencies {
		rel, ok := strings.CutPrefix(d.Repository, "file://")
		if !ok || d.Name == "" || strings.ContainsAny(d.Name, `/\`) {
			continue
		}
		target := path.Clean(path.Join(origin, rel))
		if !filepath.IsLocal(filepath.FromSlash(target)) {
			continue
		}
		sub := path.Join(dest, "charts", d.Name)
		if vendored(root, dest, d.Name) {
			continue
		}
		local, err := charts.ReadChart(root, target)
		if err != nil || local.Name != d.Name || !satisfies(d.Version, local.Version) {
			continue
		}
		if target == dest || strings.HasPrefix(sub, target+"/") || target == "." {
			continue // a chart inside its own dependency would copy forever
		}
		if err := copyTree(ctx, filepath.Join(root, filepath.FromSlash(target)), filepath.Join(root, filepath.FromSlash(sub)), maxCopyFiles); err != nil {
			return fmt.Errorf("vendoring %s into %s: %w", target, sub, err)
		}
		if err := vendorInto(ctx, root, sub, target, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// vendored reports whether dest/charts already holds chart name, as a
// directory or an archive.
func vendored(root, dest, name string) bool {
	dir := filepath.Join(root, filepath.FromSlash(dest), "charts")
	if st, err := os.Stat(filepath.Join(dir, name, "Chart.yaml")); err == nil && !st.IsDir() {
		return true
	}
	matches, _ := filepath.Glob(filepath.Join(dir, name+"-*.tgz"))
	return len(matches) > 0
}

// satisfies reports whether version meets the declared pin (an exact
// version or a constraint; empty takes anything).
func satisfies(pin, version string) bool {
	pin = strings.TrimSpace(pin)
	if pin == "" {
		return true
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return false
	}
	c, err := semver.NewConstraint(pin)
	if err != nil {
		return false
	}
	return c.Check(v)
}

// maxCopyFiles bounds one copied chart (and, ten times over, a copied
// charts repo).
const maxCopyFiles = 10_000

// copyTree copies the regular files of src into dst (created), at most
// limit of them, skipping dot-directories (.git among them).
func copyTree(ctx context.Context, src, dst string, limit int) error {
	n := 0
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != src && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if n++; n > limit {
			return fmt.Errorf("more than %d files", limit)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}
