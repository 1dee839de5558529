package version

import "testing"

func TestParseLine(t *testing.T) {
	for in, want := range map[string]string{"2.1": "2.1", " 0.0\n": "0.0", "10.20": "10.20"} {
		l, err := ParseLine(in)
		if err != nil || l.String() != want {
			t.Errorf("ParseLine(%q) = %v, %v; want %s", in, l, err, want)
		}
	}
	for _, bad := range []string{"", "2", "2.1.0", "v2.1", "02.1", "2.01", "2.x", "1234567890.1"} {
		if _, err := ParseLine(bad); err == nil {
			t.Errorf("ParseLine(%q) accepted", bad)
		}
	}
	a, _ := ParseLine("2.10")
	b, _ := ParseLine("2.9")
	c, _ := ParseLine("3.0")
	if !a.After(b) || b.After(a) || !c.After(a) || a.After(a) {
		t.Errorf("After is not the release order")
	}
}
