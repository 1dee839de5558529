// Package chartrepo answers one question about a Helm chart repository:
// does it already hold chart <name> at exactly version <v>, and with which
// package digest? It reads a classic repository's index.yaml (over
// HTTP(S), from a local file or directory, or from the branch of a git
// repository that holds a static chart repository) and the tags and
// manifests of an OCI registry repository. check:charts, release:status
// and chart:publish all ask through it, so "published" means the same
// thing everywhere; chart:publish also merges index.yaml with it
// (index.go).
package chartrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/release/repofs"
)

// Repository is a chart repository.
type Repository interface {
	// Has reports whether the repository holds chart name at exactly
	// version (no constraint matching: 1.2 does not find 1.2.3).
	Has(ctx context.Context, chart, version string) (bool, error)
	// Lookup returns chart name at exactly version as the repository
	// holds it, or nil when it does not.
	Lookup(ctx context.Context, chart, version string) (*Version, error)
	// String names the repository for messages (credentials removed).
	String() string
}

// Version is one chart version a repository holds.
type Version struct {
	Chart   string `json:"chart"`
	Version string `json:"version"`
	// Digest is the sha256 of the chart package ("sha256:<hex>"): the
	// index.yaml digest, or the chart content layer of an OCI artifact.
	// Empty when the repository names none (an index entry without a
	// digest, an OCI tag that holds no Helm chart).
	Digest string `json:"digest,omitempty"`
	// Manifest is the OCI manifest digest under the tag ("" for index.yaml
	// repositories).
	Manifest string   `json:"manifest,omitempty"`
	URLs     []string `json:"urls,omitempty"`
}

// Options tune Open.
type Options struct {
	// BaseDir resolves a relative local path (the workspace root).
	BaseDir string
	// HTTPClient fetches index.yaml; http.DefaultClient when nil.
	HTTPClient *http.Client
	// Keychain authenticates to OCI registries; authn.DefaultKeychain
	// (docker/podman auth files and helpers) when nil.
	Keychain authn.Keychain
	// Mirrors maps a registry host to the host contacted instead
	// (images.mirrors), as image:push does.
	Mirrors map[string]string
	// Retry bounds the retries of registry requests (zero: image:push's
	// defaults).
	Retry imageref.Retry
}

// Open returns the repository ref names: "oci://host[/namespace]", an
// http(s) URL of an index.yaml (or of the directory serving it), a file://
// URL, or a local path to an index.yaml or to a directory holding one.
// Nothing is fetched until the first Has.
func Open(ref string, opts Options) (Repository, error) {
	ref = strings.TrimSpace(ref)
	switch {
	case ref == "":
		return nil, errors.New("empty chart repository reference")
	case strings.HasPrefix(ref, "oci://"):
		return OpenOCI(ref, opts)
	case strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"):
		u, err := url.Parse(ref)
		if err != nil {
			return nil, fmt.Errorf("chart repository %q: %w", ref, err)
		}
		if !isIndexName(u.Path) {
			u.Path = strings.TrimSuffix(u.Path, "/") + "/index.yaml"
		}
		client := opts.HTTPClient
		if client == nil {
			client = http.DefaultClient
		}
		return &indexRepo{loc: u.String(), shown: u.Redacted(), load: func(ctx context.Context) ([]byte, error) {
			return fetch(ctx, client, u)
		}}, nil
	case strings.Contains(ref, "://") && !strings.HasPrefix(ref, "file://"):
		return nil, fmt.Errorf("chart repository %q: unsupported scheme; expected oci://, http://, https://, file:// or a local path", ref)
	}
	p := strings.TrimPrefix(ref, "file://")
	if !filepath.IsAbs(p) && opts.BaseDir != "" {
		p = filepath.Join(opts.BaseDir, filepath.FromSlash(p))
	}
	return &indexRepo{loc: p, shown: p, load: func(ctx context.Context) ([]byte, error) {
		return readLocal(ctx, p)
	}}, nil
}

func isIndexName(p string) bool {
	for _, ext := range []string{".yaml", ".yml", ".json"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// MaxIndexSize bounds an index.yaml (large public repositories serve tens
// of megabytes).
const MaxIndexSize = 512 << 20

func fetch(ctx context.Context, client *http.Client, u *url.URL) ([]byte, error) {
	return Download(ctx, client, u, MaxIndexSize, "the repository's index.yaml")
}

// Download GETs u with client and returns the body, at most limit bytes;
// what names the expected content in errors. Messages never show a
// password of u. An answer other than 200 is a *StatusError.
func Download(ctx context.Context, client *http.Client, u *url.URL, limit int64, what string) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/yaml, text/yaml, application/x-yaml, */*")
	resp, err := client.Do(req)
	if err != nil {
		// url.Error repeats the URL with any password; name it ourselves.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("fetching %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: %w", u.Redacted(), &StatusError{Code: resp.StatusCode, Status: resp.Status, What: what})
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u.Redacted(), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", u.Redacted(), limit)
	}
	return data, nil
}

// StatusError is an HTTP answer other than 200 OK.
type StatusError struct {
	Code   int
	Status string
	// What was expected ("the repository's index.yaml").
	What string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s; expected 200 OK with %s", e.Status, e.What)
}

// Unreachable says whether err means the repository could not be asked
// (no connection, DNS, timeouts, TLS, 408, 429, 5xx, refused credentials)
// rather than an answer: such a question stays undecided (exit 3).
func Unreachable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		c := se.Code
		return c >= 500 || c == http.StatusRequestTimeout || c == http.StatusTooManyRequests ||
			c == http.StatusUnauthorized || c == http.StatusForbidden
	}
	return imageref.Unreachable(err)
}

func readLocal(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("chart repository: %w", err)
	}
	// The path is the user's (relkit.yaml); what it holds may be a
	// checkout of someone's pages branch, so index.yaml in a directory is
	// read like any repo file: no symlink out of it, no FIFO, capped.
	var data []byte
	if st.IsDir() {
		data, err = repofs.Read(p, "index.yaml", MaxIndexSize)
	} else {
		data, err = repofs.ReadFile(p, MaxIndexSize)
	}
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: %w", p, err)
	}
	return data, nil
}

// Index is the part of a Helm repository index.yaml this package reads.
type Index struct {
	APIVersion string                  `yaml:"apiVersion"`
	Entries    map[string][]IndexEntry `yaml:"entries"`
}

// IndexEntry is one published chart version.
type IndexEntry struct {
	Name    string   `yaml:"name"`
	Version string   `yaml:"version"`
	Digest  string   `yaml:"digest"`
	URLs    []string `yaml:"urls"`
	Created string   `yaml:"created"`
}

// ParseIndex decodes index.yaml content; file names it in errors.
func ParseIndex(file string, data []byte) (*Index, error) {
	var idx Index
	if err := yaml.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s: %s; expected a Helm repository index (apiVersion, entries)", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if idx.APIVersion == "" && idx.Entries == nil {
		return nil, fmt.Errorf("%s: no apiVersion and no entries; expected a Helm repository index", file)
	}
	return &idx, nil
}

// Has reports whether chart is listed at exactly version.
func (idx *Index) Has(chart, version string) bool {
	return idx.Lookup(chart, version) != nil
}

// Lookup returns chart at exactly version, or nil.
func (idx *Index) Lookup(chart, version string) *Version {
	for _, e := range idx.Entries[chart] {
		if e.Version == version {
			return &Version{Chart: chart, Version: version, Digest: NormalizeDigest(e.Digest), URLs: e.URLs}
		}
	}
	return nil
}

// NormalizeDigest writes a package digest as "sha256:<lowercase hex>":
// index.yaml files hold bare hex (Helm) or the prefixed form.
func NormalizeDigest(d string) string {
	d = strings.ToLower(strings.TrimSpace(d))
	if d == "" {
		return ""
	}
	if !strings.Contains(d, ":") {
		return "sha256:" + d
	}
	return d
}

// Versions lists every version of chart that r holds (none when it never
// held the chart): the index.yaml entries, or the OCI tags with Helm's '_'
// turned back into '+'. Release steps that pick a new chart version read
// it to stay clear of every published one.
func Versions(ctx context.Context, r Repository, chart string) ([]string, error) {
	switch r := r.(type) {
	case interface {
		index(context.Context) (*Index, error)
	}: // index.yaml over HTTP, on disk or in a git branch
		idx, err := r.index(ctx)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, e := range idx.Entries[chart] {
			out = append(out, e.Version)
		}
		return out, nil
	case *OCI:
		tags, err := r.list(ctx, chart)
		if err != nil {
			return nil, err
		}
		var out []string
		for t := range tags {
			out = append(out, strings.ReplaceAll(t, "_", "+"))
		}
		return out, nil
	}
	return nil, fmt.Errorf("chart repository %s cannot list the versions of %s", r, chart)
}

// indexRepo is a classic repository: one index.yaml, loaded once.
type indexRepo struct {
	loc, shown string
	load       func(context.Context) ([]byte, error)

	mu  sync.Mutex
	idx *Index
	err error
}

func (r *indexRepo) String() string { return r.shown }

func (r *indexRepo) index(ctx context.Context) (*Index, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idx != nil || r.err != nil {
		return r.idx, r.err
	}
	data, err := r.load(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // do not remember a cancellation
		}
		r.err = err
		return nil, err
	}
	r.idx, r.err = ParseIndex(r.shown, data)
	return r.idx, r.err
}

func (r *indexRepo) Has(ctx context.Context, chart, version string) (bool, error) {
	v, err := r.Lookup(ctx, chart, version)
	return v != nil, err
}

func (r *indexRepo) Lookup(ctx context.Context, chart, version string) (*Version, error) {
	idx, err := r.index(ctx)
	if err != nil {
		return nil, err
	}
	return idx.Lookup(chart, version), nil
}

// OCI is an OCI registry namespace: chart c lives in repository
// <namespace>/c, each version as a tag. Requests go to the host
// images.mirrors names for the registry, with image:push's credentials
// and retries.
type OCI struct {
	ref     string
	reg     name.Registry
	ns      string
	mirrors map[string]string
	opt     []remote.Option

	mu     sync.Mutex
	puller *remote.Puller
	tags   map[string]map[string]bool
}

// OpenOCI opens "oci://host[/namespace]".
func OpenOCI(ref string, opts Options) (*OCI, error) {
	rest := strings.TrimRight(strings.TrimPrefix(ref, "oci://"), "/")
	host, ns, _ := strings.Cut(rest, "/")
	if host == "" {
		return nil, fmt.Errorf("chart repository %q: no registry host; expected oci://host/namespace", ref)
	}
	var nopts []name.Option
	if imageref.IsLoopback(host) {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nopts...)
	if err != nil {
		return nil, fmt.Errorf("chart repository %q: %w", ref, err)
	}
	if ns != "" {
		if _, err := name.NewRepository(reg.Name()+"/"+ns+"/chart", nopts...); err != nil {
			return nil, fmt.Errorf("chart repository %q: %w", ref, err)
		}
	}
	kc := opts.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	base := remote.DefaultTransport
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		base = opts.HTTPClient.Transport
	}
	retry := opts.Retry.WithDefaults()
	r := &OCI{ref: ref, reg: reg, ns: ns, mirrors: opts.Mirrors, tags: map[string]map[string]bool{},
		opt: append([]remote.Option{remote.WithAuthFromKeychain(kc), remote.WithUserAgent("relkit"),
			remote.WithTransport(imageref.RetryingTransport(base, retry))}, retry.RemoteOptions()...)}
	return r, nil
}

// Repository is the registry repository chart lives in, as contacted
// (mirror applied).
func (r *OCI) Repository(chart string) (name.Repository, error) {
	repo, err := name.NewRepository(r.reg.Name()+"/"+strings.Trim(r.ns+"/"+chart, "/"), nameOpts(r.reg)...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("chart %q cannot live in OCI repository %s: %w", chart, r.ref, err)
	}
	return imageref.ContactRepository(repo, r.mirrors)
}

// Options are the remote options of every request to the registry:
// credentials, transport and retries. Writers (chart:publish) use them
// too.
func (r *OCI) Options() []remote.Option { return r.opt }

func (r *OCI) String() string { return r.ref }

// Tag is the OCI tag Helm pushes chart version v under: '+' is not allowed
// in tags, so Helm writes '_'.
func Tag(v string) string { return strings.ReplaceAll(v, "+", "_") }

// MaxTagPages bounds the pages of one tag listing.
const MaxTagPages = 10_000

// Has reports whether the chart's repository has the version's tag.
func (r *OCI) Has(ctx context.Context, chart, version string) (bool, error) {
	tags, err := r.list(ctx, chart)
	if err != nil {
		return false, err
	}
	return tags[Tag(version)], nil
}

// Media types of a Helm chart in an OCI registry (helm's pkg/registry).
const (
	ConfigMediaType           types.MediaType = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType       types.MediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	LegacyChartLayerMediaType types.MediaType = "application/tar+gzip"
)

// MaxManifestSize bounds a chart manifest read back (Helm's are a few
// hundred bytes).
const MaxManifestSize = 4 << 20

// Lookup returns the version's tag with the digest of its chart content
// layer; Digest is empty when the tag holds something else than a Helm
// chart.
func (r *OCI) Lookup(ctx context.Context, chart, version string) (*Version, error) {
	found, err := r.Has(ctx, chart, version)
	if err != nil || !found {
		return nil, err
	}
	return r.Manifest(ctx, chart, version)
}

// Manifest reads the manifest under the version's tag now (no listing,
// nothing remembered): nil when the tag does not exist.
func (r *OCI) Manifest(ctx context.Context, chart, version string) (*Version, error) {
	repo, err := r.Repository(chart)
	if err != nil {
		return nil, err
	}
	p, err := r.pullerOnce()
	if err != nil {
		return nil, err
	}
	ref := repo.Tag(Tag(version))
	desc, err := p.Get(ctx, ref)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	v := &Version{Chart: chart, Version: version, Manifest: desc.Digest.String()}
	if len(desc.Manifest) > MaxManifestSize || desc.MediaType != types.OCIManifestSchema1 && desc.MediaType != types.DockerManifestSchema2 {
		return v, nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	for _, l := range m.Layers {
		if l.MediaType == ChartLayerMediaType || l.MediaType == LegacyChartLayerMediaType {
			v.Digest = l.Digest.String()
			break
		}
	}
	return v, nil
}

func (r *OCI) pullerOnce() (*remote.Puller, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.puller == nil {
		p, err := remote.NewPuller(r.opt...)
		if err != nil {
			return nil, fmt.Errorf("chart repository %s: %w", r.ref, err)
		}
		r.puller = p
	}
	return r.puller, nil
}

// list returns the tags of <namespace>/<chart>, once per chart.
func (r *OCI) list(ctx context.Context, chart string) (map[string]bool, error) {
	r.mu.Lock()
	t, ok := r.tags[chart]
	r.mu.Unlock()
	if ok {
		return t, nil
	}
	p, err := r.pullerOnce()
	if err != nil {
		return nil, err
	}

	repo, err := r.Repository(chart)
	if err != nil {
		return nil, err
	}
	tags := map[string]bool{}
	lister, err := p.Lister(ctx, repo)
	if notFound(err) {
		// The registry does not know the repository: the chart was never
		// pushed.
		err = nil
		lister = nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", repo.Name(), err)
	}
	for pages := 0; lister != nil && lister.HasNext(); pages++ {
		if pages >= MaxTagPages {
			return nil, fmt.Errorf("listing tags of %s: more than %d pages", repo.Name(), MaxTagPages)
		}
		page, err := lister.Next(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing tags of %s: %w", repo.Name(), err)
		}
		for _, t := range page.Tags {
			tags[t] = true
		}
	}
	r.mu.Lock()
	r.tags[chart] = tags
	r.mu.Unlock()
	return tags, nil
}

func nameOpts(reg name.Registry) []name.Option {
	if reg.Scheme() == "http" {
		return []name.Option{name.Insecure}
	}
	return nil
}

// notFound says whether err is the registry saying the repository does not
// exist (404, NAME_UNKNOWN).
func notFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}
