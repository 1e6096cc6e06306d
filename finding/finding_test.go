package finding

import (
	"encoding/json"
	"testing"
)

func TestSeverityNames(t *testing.T) {
	for _, name := range []string{"info", "low", "medium", "high", "critical", "HIGH"} {
		s, err := ParseSeverity(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := json.Marshal(s)
		var back Severity
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%s: round trip %s → %v %v", name, b, back, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Fatal("unknown severity accepted")
	}
	if !(Critical > High && High > Medium && Medium > Low && Low > Info) {
		t.Fatal("severities out of order")
	}
}

func TestChildLocation(t *testing.T) {
	l := Location{Path: "a.zip"}.Child("b.npz").Child("c.npy").At(80)
	if l.Member != "b.npz!c.npy" || l.Path != "a.zip" || l.Offset != 80 {
		t.Fatalf("got %+v", l)
	}
}
