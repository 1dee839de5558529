package yamledit

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"
)

// SetChartVersion sets the top-level version of Chart.yaml content. It
// returns the new content and the change (nil when already v).
func SetChartVersion(data []byte, v string) ([]byte, *Change, error) {
	return setOne(data, Edit{Path: []string{"version"}, Value: v})
}

// SetDependencyVersion sets the version pin of the dependency called name
// (its name, or its alias when several entries share a name) in the
// dependencies list of Chart.yaml or requirements.yaml content.
func SetDependencyVersion(data []byte, name, v string) ([]byte, *Change, error) {
	idx, err := DependencyIndex(data, name)
	if err != nil {
		return nil, nil, err
	}
	return setOne(data, Edit{Path: []string{"dependencies", strconv.Itoa(idx), "version"}, Value: v})
}

// SetValue sets the scalar at path (mapping keys and list indexes) of a
// values file, keeping its quotes.
func SetValue(data []byte, v string, path ...string) ([]byte, *Change, error) {
	return setOne(data, Edit{Path: path, Value: v})
}

// DependencyIndex finds the dependencies entry called name: the one entry
// whose alias is name, else the one whose name is name.
func DependencyIndex(data []byte, name string) (int, error) {
	doc, err := Parse(data)
	if err != nil {
		return 0, err
	}
	deps, err := Lookup(doc, []string{"dependencies"})
	if err != nil {
		return 0, err
	}
	if deps.Kind != yaml.SequenceNode {
		return 0, &Error{Line: deps.Line, Path: "dependencies", Reason: "is not a list"}
	}
	byAlias, byName := -1, -1
	names := 0
	for i, item := range deps.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, val := item.Content[j].Value, item.Content[j+1].Value
			switch {
			case k == "alias" && val == name:
				byAlias = i
			case k == "name" && val == name:
				byName = i
				names++
			}
		}
	}
	switch {
	case byAlias >= 0:
		return byAlias, nil
	case names > 1:
		return 0, &Error{Line: deps.Line, Path: "dependencies", Reason: fmt.Sprintf("%d entries are named %q; name one by its alias", names, name)}
	case byName >= 0:
		return byName, nil
	}
	return 0, &Error{Line: deps.Line, Path: "dependencies", Reason: fmt.Sprintf("no dependency named %q", name)}
}

func setOne(data []byte, e Edit) ([]byte, *Change, error) {
	out, changes, err := Apply(data, e)
	if err != nil || len(changes) == 0 {
		return out, nil, err
	}
	return out, &changes[0], nil
}
