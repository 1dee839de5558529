package chartrepo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// Entry is a chart version to add to an index.yaml.
type Entry struct {
	Name, Version string
	// Metadata is the chart's metadata as Helm loads it (Chart.yaml, and
	// requirements.yaml for apiVersion v1), JSON-encoded: an index entry
	// carries every field of it, as `helm repo index` writes.
	Metadata []byte
	// Digest is the package's sha256 ("sha256:<hex>").
	Digest string
	// URL is where the package is served: its file name relative to
	// index.yaml, or a base URL joined with it.
	URL string
	// Created is the entry's creation time (the chart's commit time, so
	// that the same publish writes the same index).
	Created time.Time
}

// DigestConflict is a chart version that a repository already holds with
// another package than the one being published.
type DigestConflict struct {
	Chart, Version string
	// Published is what the repository holds, Package what was built.
	Published, Package string
	Where              string
}

func (e *DigestConflict) Error() string {
	have := e.Published
	if have == "" {
		have = "no chart digest"
	}
	return fmt.Sprintf("%s %s is already in %s with %s, but this commit packages it as %s; nothing was overwritten: a published version is never replaced, so bump the chart's version",
		e.Chart, e.Version, e.Where, have, e.Package)
}

// MergeIndex merges entries into index.yaml content old (nil or empty for
// a new repository) and returns the new content and how many entries it
// added. Every entry already there, whoever wrote it, is kept with all its
// fields; the result is in Helm's format: apiVersion v1, entries by chart
// name, each chart's versions in SemVer order, highest first, and
// generated. generated changes only when an entry is added: it becomes
// the latest created time of the index, so two runs adding the same
// entries write the same bytes. A version already listed with the same
// digest is left as it is; with another digest the merge fails with a
// *DigestConflict and nothing is returned. When nothing is added, old is
// returned unchanged.
func MergeIndex(file string, old []byte, add []Entry) ([]byte, int, error) {
	doc := map[string]any{}
	if len(bytes.TrimSpace(old)) > 0 {
		if _, err := ParseIndex(file, old); err != nil {
			return nil, 0, err
		}
		useNumber := func(d *json.Decoder) *json.Decoder { d.UseNumber(); return d }
		if err := sigsyaml.Unmarshal(old, &doc, useNumber); err != nil {
			return nil, 0, fmt.Errorf("%s: %v; expected a Helm repository index", file, err)
		}
		if doc == nil {
			doc = map[string]any{}
		}
	}
	entries, ok := doc["entries"].(map[string]any)
	if !ok {
		if e, present := doc["entries"]; present && e != nil {
			return nil, 0, fmt.Errorf("%s: entries is not a mapping of chart names; expected a Helm repository index", file)
		}
		entries = map[string]any{}
	}
	added := 0
	var latest time.Time
	for _, e := range add {
		list, _ := entries[e.Name].([]any)
		dup := false
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok || fmt.Sprint(m["version"]) != e.Version {
				continue
			}
			have := NormalizeDigest(fmt.Sprint(m["digest"]))
			if m["digest"] == nil {
				have = ""
			}
			if have != NormalizeDigest(e.Digest) {
				return nil, 0, &DigestConflict{Chart: e.Name, Version: e.Version, Published: have, Package: e.Digest, Where: file}
			}
			dup = true
			break
		}
		if dup {
			continue
		}
		item := map[string]any{}
		if len(e.Metadata) > 0 {
			d := json.NewDecoder(bytes.NewReader(e.Metadata))
			d.UseNumber()
			if err := d.Decode(&item); err != nil {
				return nil, 0, fmt.Errorf("%s %s: metadata: %w", e.Name, e.Version, err)
			}
		}
		item["name"], item["version"] = e.Name, e.Version
		item["urls"] = []any{e.URL}
		item["created"] = e.Created.UTC().Format(time.RFC3339Nano)
		item["digest"] = strings.TrimPrefix(NormalizeDigest(e.Digest), "sha256:")
		entries[e.Name] = append(list, item)
		added++
		if e.Created.After(latest) {
			latest = e.Created
		}
	}
	if added == 0 {
		return old, 0, nil
	}
	for name, v := range entries {
		if list, ok := v.([]any); ok {
			sortVersions(list)
			entries[name] = list
		}
	}
	doc["apiVersion"] = "v1"
	doc["entries"] = entries
	if g, ok := doc["generated"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, g); err == nil && t.After(latest) {
			latest = t
		}
	}
	doc["generated"] = latest.UTC().Format(time.RFC3339Nano)
	out, err := sigsyaml.Marshal(doc)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	return out, added, nil
}

// sortVersions orders index entries as Helm does, highest SemVer first;
// versions that do not parse go last. Ties (build metadata) are ordered by
// the version string, so the order never depends on the input's.
func sortVersions(list []any) {
	type keyed struct {
		v   *semver.Version
		s   string
		val any
	}
	ks := make([]keyed, len(list))
	for i, item := range list {
		s := ""
		if m, ok := item.(map[string]any); ok {
			s = fmt.Sprint(m["version"])
		}
		v, _ := semver.NewVersion(s)
		ks[i] = keyed{v, s, item}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		switch {
		case a.v != nil && b.v != nil:
			if c := b.v.Compare(a.v); c != 0 {
				return c
			}
		case a.v != nil:
			return -1
		case b.v != nil:
			return 1
		}
		return strings.Compare(b.s, a.s)
	})
	for i := range ks {
		list[i] = ks[i].val
	}
}
