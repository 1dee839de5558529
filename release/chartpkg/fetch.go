package chartpkg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/release/repofs"
)

// MaxPackageSize bounds a chart package downloaded for a dependency.
const MaxPackageSize int64 = 64 << 20

// CacheDir is where a repo's verified dependency packages are kept,
// inside its git directory (relkit never writes outside the repos it
// works on): gitDir/relkit/charts-cache.
func CacheDir(gitDir string) string { return filepath.Join(gitDir, "relkit", "charts-cache") }

// Fetcher gets remote dependencies at an exact version: from an https
// chart repository (its index.yaml names the package and its digest; the
// download must have that digest) or an OCI registry (the chart content
// layer of the version's tag, checked against its digest). Verified
// packages are kept in CacheDir, named by what they are and their digest,
// so a later run needs no network and checks the file against the name.
// It is safe for concurrent use.
type Fetcher struct {
	// CacheDir holds verified packages; "" means no cache.
	CacheDir string
	// ReadOnly reads the cache but never writes it (dry runs write
	// nothing).
	ReadOnly bool
	// HTTPClient fetches from https repositories (nil: the default).
	HTTPClient *http.Client
	// Registry configures OCI registries: credentials, images.mirrors,
	// retries, as image:push.
	Registry chartrepo.Options

	mu    sync.Mutex
	repos map[string]chartrepo.Repository
	oci   map[string]*chartrepo.OCI
}

// Fetched says where a dependency came from.
type Fetched struct {
	Repository string `json:"repository"`
	Name       string `json:"name"`
	Version    string `json:"version"`
	Digest     string `json:"digest"`
	// Cached is true when no download was needed.
	Cached bool `json:"cached,omitempty"`
}

// UnreachableError is a dependency whose repository could not be asked:
// nobody can say whether the package is right (exit 3).
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// Fetch returns the package of chart name at exactly version from repo
// (https://... or oci://...).
func (f *Fetcher) Fetch(ctx context.Context, repo, name, version string) ([]byte, Fetched, error) {
	got := Fetched{Repository: repo, Name: name, Version: version}
	if data, digest, ok := f.cached(repo, name, version); ok {
		got.Digest, got.Cached = digest, true
		return data, got, nil
	}
	var data []byte
	var want string
	var err error
	switch {
	case strings.HasPrefix(repo, "oci://"):
		data, want, err = f.fromOCI(ctx, repo, name, version)
	case strings.HasPrefix(repo, "https://"), strings.HasPrefix(repo, "http://"):
		data, want, err = f.fromIndex(ctx, repo, name, version)
	default:
		err = fmt.Errorf("repository %q: expected https://, oci:// or file://", repo)
	}
	if err != nil {
		return nil, got, err
	}
	got.Digest = Digest(data)
	if got.Digest != want {
		return nil, got, fmt.Errorf("%s %s from %s: the package downloaded has %s, but the repository says %s; not used", name, version, redact(repo), got.Digest, want)
	}
	if err := f.store(repo, name, version, got.Digest, data); err != nil {
		return nil, got, err
	}
	return data, got, nil
}

func redact(repo string) string {
	if u, err := url.Parse(repo); err == nil && u.User != nil {
		return u.Redacted()
	}
	return repo
}

// opened returns (*m)[key], opening it with open first (under mu) when
// it is not there yet: a repository is opened once per Fetcher.
func opened[T any](mu *sync.Mutex, m *map[string]T, key string, open func() (T, error)) (T, error) {
	mu.Lock()
	defer mu.Unlock()
	if v, ok := (*m)[key]; ok {
		return v, nil
	}
	v, err := open()
	if err != nil {
		return v, err
	}
	if *m == nil {
		*m = map[string]T{}
	}
	(*m)[key] = v
	return v, nil
}

func (f *Fetcher) fromIndex(ctx context.Context, repo, name, version string) ([]byte, string, error) {
	r, err := opened(&f.mu, &f.repos, repo, func() (chartrepo.Repository, error) {
		return chartrepo.Open(repo, chartrepo.Options{HTTPClient: f.HTTPClient})
	})
	if err != nil {
		return nil, "", err
	}
	v, err := r.Lookup(ctx, name, version)
	if err != nil {
		return nil, "", classify(fmt.Errorf("dependency %s %s: %w", name, version, err))
	}
	if v == nil {
		return nil, "", fmt.Errorf("dependency %s %s: %s does not list this version", name, version, r)
	}
	if v.Digest == "" || len(v.URLs) == 0 {
		return nil, "", fmt.Errorf("dependency %s %s: %s lists it without a digest or URL, so the download cannot be checked", name, version, r)
	}
	base, err := url.Parse(strings.TrimSuffix(repo, "/") + "/")
	if strings.HasSuffix(repo, ".yaml") || strings.HasSuffix(repo, ".yml") {
		base, err = url.Parse(repo)
	}
	if err != nil {
		return nil, "", err
	}
	ref, err := url.Parse(v.URLs[0])
	if err != nil {
		return nil, "", fmt.Errorf("dependency %s %s: URL %q in %s: %w", name, version, v.URLs[0], r, err)
	}
	u := base.ResolveReference(ref)
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, "", fmt.Errorf("dependency %s %s: %s gives the URL %q; expected http(s)", name, version, r, v.URLs[0])
	}
	if u.User == nil && base.User != nil && u.Host == base.Host {
		u.User = base.User // the repository's credentials, for its own packages only
	}
	data, err := chartrepo.Download(ctx, f.HTTPClient, u, MaxPackageSize, "the chart package")
	if err != nil {
		return nil, "", classify(fmt.Errorf("dependency %s %s: %w", name, version, err))
	}
	return data, v.Digest, nil
}

func (f *Fetcher) fromOCI(ctx context.Context, repo, name, version string) ([]byte, string, error) {
	o, err := opened(&f.mu, &f.oci, repo, func() (*chartrepo.OCI, error) { return chartrepo.OpenOCI(repo, f.Registry) })
	if err != nil {
		return nil, "", err
	}
	v, err := o.Manifest(ctx, name, version)
	if err != nil {
		return nil, "", classify(fmt.Errorf("dependency %s %s: %w", name, version, err))
	}
	if v == nil {
		return nil, "", fmt.Errorf("dependency %s %s: %s has no tag %s for it", name, version, repo, chartrepo.Tag(version))
	}
	if v.Digest == "" {
		return nil, "", fmt.Errorf("dependency %s %s: the tag %s in %s holds no Helm chart (%s)", name, version, chartrepo.Tag(version), repo, v.Manifest)
	}
	r, err := o.Repository(name)
	if err != nil {
		return nil, "", err
	}
	layer, err := remote.Layer(r.Digest(v.Digest), append([]remote.Option{remote.WithContext(ctx)}, o.Options()...)...)
	if err != nil {
		return nil, "", classify(fmt.Errorf("dependency %s %s: %w", name, version, err))
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, "", classify(fmt.Errorf("dependency %s %s: %w", name, version, err))
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxPackageSize+1))
	if err != nil {
		return nil, "", classify(fmt.Errorf("dependency %s %s: %w", name, version, err))
	}
	if int64(len(data)) > MaxPackageSize {
		return nil, "", fmt.Errorf("dependency %s %s: the package is larger than %d bytes", name, version, MaxPackageSize)
	}
	return data, v.Digest, nil
}

func classify(err error) error {
	if chartrepo.Unreachable(err) || imageref.Unreachable(err) {
		return &UnreachableError{Err: err}
	}
	return err
}

// cacheKey names a dependency in the cache.
func cacheKey(repo, name, version string) string {
	sum := sha256.Sum256([]byte(strings.TrimSuffix(repo, "/") + "\x00" + name + "\x00" + version))
	return hex.EncodeToString(sum[:16])
}

// cached returns a cached package whose content matches the digest its
// file name records.
func (f *Fetcher) cached(repo, name, version string) ([]byte, string, bool) {
	if f.CacheDir == "" {
		return nil, "", false
	}
	matches, _ := filepath.Glob(filepath.Join(f.CacheDir, cacheKey(repo, name, version)+"-*.tgz"))
	for _, m := range matches {
		hexDigest := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), cacheKey(repo, name, version)+"-"), ".tgz")
		// A cache entry must be a regular file itself (no symlink), read
		// with the same cap and FIFO guard as any repo file.
		if st, err := os.Lstat(m); err != nil || !st.Mode().IsRegular() {
			continue
		}
		data, err := repofs.ReadFile(m, MaxPackageSize)
		if err != nil {
			continue
		}
		if d := Digest(data); d == "sha256:"+hexDigest {
			return data, d, true
		}
	}
	return nil, "", false
}

// store keeps a verified package in the cache (atomically: a reader never
// sees half a file).
func (f *Fetcher) store(repo, name, version, digest string, data []byte) error {
	if f.CacheDir == "" || f.ReadOnly {
		return nil
	}
	if err := os.MkdirAll(f.CacheDir, 0o755); err != nil {
		return err
	}
	final := filepath.Join(f.CacheDir, cacheKey(repo, name, version)+"-"+strings.TrimPrefix(digest, "sha256:")+".tgz")
	tmp, err := os.CreateTemp(f.CacheDir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), final)
}

// IsUnreachable says whether err (or an error it wraps) is an
// *UnreachableError.
func IsUnreachable(err error) bool {
	var u *UnreachableError
	return errors.As(err, &u)
}
