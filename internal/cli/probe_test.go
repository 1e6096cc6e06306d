package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/probe/fake"
)

// A user records a baseline of a local endpoint, the model behind it is
// swapped, and aigis probe check says changed with evidence; the same
// model with other sampling noise stays unchanged.
func TestProbeBaselineAndCheck(t *testing.T) {
	srv := fake.NewServer(t, fake.ModelA(1))
	base := filepath.Join(t.TempDir(), "baseline.json")
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Main(append([]string{"probe"}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run("baseline", "--endpoint", srv.URL, "--model", "m", "--out", base, "--sample-prompts", "12", "--samples", "6"); code != ExitOK {
		t.Fatalf("baseline: exit %d: %s", code, out)
	}
	srv.Set(fake.NoisyA(2))
	if code, out := run("check", "--baseline", base); code != ExitOK {
		t.Errorf("same model, other noise: exit %d: %s", code, out)
	}
	srv.Set(fake.ModelB(1))
	code, out := run("check", "--baseline", base)
	if code != ExitFindings || !strings.Contains(out, "CHANGED") {
		t.Errorf("swapped model: exit %d: %s", code, out)
	}
	srv.Set(fake.FingerprintChanged(fake.ModelA(1)))
	if code, out := run("check", "--baseline", base); code != ExitFindings || !strings.Contains(out, "canary-fingerprint") {
		t.Errorf("fingerprint change: exit %d: %s", code, out)
	}
}

// The trigger screen finds a planted trigger and stays quiet on a clean
// model.
func TestProbeTriggers(t *testing.T) {
	srv := fake.NewServer(t, fake.ModelA(1))
	args := []string{"probe", "triggers", "--endpoint", srv.URL, "--model", "m", "--prompts", "12", "--controls", "4"}
	var out, errb bytes.Buffer
	if code := Main(args, &out, &errb); code != ExitOK {
		t.Errorf("clean model: exit %d: %s%s", code, out.String(), errb.String())
	}
	srv.Set(fake.Backdoored(fake.ModelA(1), "cf", "ACCESS GRANTED"))
	out.Reset()
	code := Main(args, &out, &errb)
	if code != ExitFindings || !strings.Contains(out.String(), `"cf"`) {
		t.Errorf("backdoored model: exit %d: %s%s", code, out.String(), errb.String())
	}
}
