package review

import (
	"errors"
	"testing"

	"github.com/relkit/relkit/release/workspace"
)

func TestChoose(t *testing.T) {
	yes, no := true, false
	cfg := &workspace.Review{Kind: workspace.ReviewGerrit}
	def := &workspace.Review{Kind: workspace.ReviewGitHub, Default: true}
	for _, tc := range []struct {
		name           string
		review, push   *bool
		cfg            *workspace.Review
		wantR, wantP   bool
		wantUsageError bool
	}{
		{"nothing", nil, nil, cfg, false, false, false},
		{"push", nil, &yes, cfg, false, true, false},
		{"review", &yes, nil, cfg, true, false, false},
		{"both", &yes, &yes, cfg, false, false, true},
		{"review without config", &yes, nil, nil, false, false, true},
		{"push, review by default", nil, &yes, def, true, false, false},
		{"push, review by default turned off", &no, &yes, def, false, true, false},
		{"default without push: local only", nil, nil, def, false, false, false},
		{"review=false alone", &no, nil, cfg, false, false, false},
		{"push without config", nil, &yes, nil, false, true, false},
	} {
		r, p, err := Choose(tc.review, tc.push, tc.cfg)
		var ue *UsageError
		if tc.wantUsageError != errors.As(err, &ue) || r != tc.wantR || p != tc.wantP {
			t.Errorf("%s: Choose = %v, %v, %v; want %v, %v, usage error %v", tc.name, r, p, err, tc.wantR, tc.wantP, tc.wantUsageError)
		}
	}
	var m *Mode
	if m.Plan() != nil {
		t.Error("a nil *Mode must be a nil plan.ReviewMode")
	}
}
