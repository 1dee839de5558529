// Package chartrepo answers one question about a Helm chart repository:
// does it already hold chart <name> at exactly version <v>? It reads a
// classic repository's index.yaml (over HTTP(S) or from a local file or
// directory) and lists the tags of an OCI registry repository.
package chartrepo

import (
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
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/release/repofs"
)

// Repository is a chart repository.
type Repository interface {
	// Has reports whether the repository holds chart name at exactly
	// version (no constraint matching: 1.2 does not find 1.2.3).
	Has(ctx context.Context, chart, version string) (bool, error)
	// String names the repository for messages (credentials removed).
	String() string
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
		return openOCI(ref, opts)
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
		return nil, fmt.Errorf("fetching %s: %s; expected 200 OK with the repository's index.yaml", u.Redacted(), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxIndexSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u.Redacted(), err)
	}
	if len(data) > MaxIndexSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", u.Redacted(), MaxIndexSize)
	}
	return data, nil
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
	for _, e := range idx.Entries[chart] {
		if e.Version == version {
			return true
		}
	}
	return false
}

// Versions lists every version of chart that r holds (none when it never
// held the chart): the index.yaml entries, or the OCI tags with Helm's '_'
// turned back into '+'. Release steps that pick a new chart version read
// it to stay clear of every published one.
func Versions(ctx context.Context, r Repository, chart string) ([]string, error) {
	switch r := r.(type) {
	case *indexRepo:
		idx, err := r.index(ctx)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, e := range idx.Entries[chart] {
			out = append(out, e.Version)
		}
		return out, nil
	case *ociRepo:
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
	idx, err := r.index(ctx)
	if err != nil {
		return false, err
	}
	return idx.Has(chart, version), nil
}

// ociRepo is an OCI registry namespace: chart c lives in repository
// <namespace>/c, each version as a tag.
type ociRepo struct {
	ref string
	reg name.Registry
	ns  string
	opt []remote.Option

	mu     sync.Mutex
	puller *remote.Puller
	tags   map[string]map[string]bool
}

func openOCI(ref string, opts Options) (*ociRepo, error) {
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
	r := &ociRepo{ref: ref, reg: reg, ns: ns, tags: map[string]map[string]bool{},
		opt: []remote.Option{remote.WithAuthFromKeychain(kc)}}
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		r.opt = append(r.opt, remote.WithTransport(opts.HTTPClient.Transport))
	}
	return r, nil
}

func (r *ociRepo) String() string { return r.ref }

// Tag is the OCI tag Helm pushes chart version v under: '+' is not allowed
// in tags, so Helm writes '_'.
func Tag(v string) string { return strings.ReplaceAll(v, "+", "_") }

// MaxTagPages bounds the pages of one tag listing.
const MaxTagPages = 10_000

func (r *ociRepo) Has(ctx context.Context, chart, version string) (bool, error) {
	tags, err := r.list(ctx, chart)
	if err != nil {
		return false, err
	}
	return tags[Tag(version)], nil
}

// list returns the tags of <namespace>/<chart>, once per chart.
func (r *ociRepo) list(ctx context.Context, chart string) (map[string]bool, error) {
	r.mu.Lock()
	if t, ok := r.tags[chart]; ok {
		r.mu.Unlock()
		return t, nil
	}
	if r.puller == nil {
		p, err := remote.NewPuller(r.opt...)
		if err != nil {
			r.mu.Unlock()
			return nil, fmt.Errorf("chart repository %s: %w", r.ref, err)
		}
		r.puller = p
	}
	p := r.puller
	r.mu.Unlock()

	repo := r.reg.Repo(strings.Trim(r.ns+"/"+chart, "/"))
	if _, err := name.NewRepository(repo.Name(), nameOpts(r.reg)...); err != nil {
		return nil, fmt.Errorf("chart %q cannot live in OCI repository %s: %w", chart, r.ref, err)
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
