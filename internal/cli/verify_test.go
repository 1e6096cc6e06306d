package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

const omsVectors = "../../../shared/vectors/model-signing/model-transparency"

// runVerb runs one verb the way Main does and returns its exit code,
// standard output and standard error.
func runVerb(t *testing.T, mk func(stdout, stderr *bytes.Buffer) *cobra.Command, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := mk(&out, &errb)
	c.SilenceUsage, c.SilenceErrors = true, true
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	err := c.Execute()
	code := ExitOK
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
	case errors.As(err, &ue) || isCobraUsage(err):
		code = ExitUsage
		errb.WriteString(err.Error())
	default:
		code = ExitIncomplete
		errb.WriteString(err.Error())
	}
	return code, out.String(), errb.String()
}

func verifyCmd(o, e *bytes.Buffer) *cobra.Command { return newVerifyCmd(o, e) }
func signCmd(o, e *bytes.Buffer) *cobra.Command   { return newSignCmd(o, e) }

func omsVector(t *testing.T, parts ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{omsVectors}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("vectors not present: %v", err)
	}
	return p
}

func TestVerifyVectors(t *testing.T) {
	keys := omsVector(t, "keys", "certificate")
	pub := filepath.Join(keys, "signing-key-pub.pem")
	ca := filepath.Join(keys, "ca-cert.pem")
	sigstore := []string{"--identity", "stefanb@us.ibm.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2"}
	for _, tc := range []struct {
		dir, model string
		args       []string
	}{
		{"v0.2.0-certificate", "", []string{"--cert-chain", ca}},
		{"v1.0.0-certificate", "", []string{"--key", pub}},
		{"v1.0.0-elliptic-key", "signme-1", []string{"--key", pub}},
		{"v1.0.1-elliptic-key", "", []string{"--key", pub, "--ignore", "ignore-me"}},
		{"v1.1.0-certificate", "", []string{"--cert-chain", ca}},
		{"v1.1.0-elliptic-key", "", []string{"--key", pub}},
		{"v1.1.0-sigstore", "", sigstore},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := omsVector(t, tc.dir)
			args := append([]string{filepath.Join(dir, tc.model), "--signature", filepath.Join(dir, "model.sig")}, tc.args...)
			code, out, errs := runVerb(t, verifyCmd, args...)
			if code != ExitOK || !strings.Contains(out, "verified") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
}

func TestVerifyFailuresAndUsage(t *testing.T) {
	keys := omsVector(t, "keys", "certificate")
	src := omsVector(t, "v1.1.0-elliptic-key")
	dir := filepath.Join(t.TempDir(), "m")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	sig := filepath.Join(dir, "model.sig")
	pub := filepath.Join(keys, "signing-key-pub.pem")
	if err := os.WriteFile(filepath.Join(dir, "signme-2"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"tampered", []string{dir, "--signature", sig, "--key", pub}, ExitFindings, "signme-2 was modified"},
		{"wrong key", []string{dir, "--signature", sig, "--cert-chain", filepath.Join(keys, "ca-cert.pem")}, ExitFindings, "no certificate chain"},
		{"no method", []string{dir, "--signature", sig}, ExitUsage, "exactly one of"},
		{"two methods", []string{dir, "--signature", sig, "--key", pub, "--cert-chain", pub}, ExitUsage, "exactly one of"},
		{"identity alone", []string{dir, "--signature", sig, "--identity", "me"}, ExitUsage, "go together"},
		{"no signature file", []string{dir, "--signature", filepath.Join(dir, "absent.sig"), "--key", pub}, ExitIncomplete, "absent.sig"},
		{"no model", []string{filepath.Join(dir, "absent"), "--signature", sig, "--key", pub}, ExitIncomplete, "absent"},
		{"not a signature", []string{dir, "--signature", filepath.Join(dir, "signme-1"), "--key", pub}, ExitFindings, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runVerb(t, verifyCmd, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.msg) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errs, tc.msg)
			}
		})
	}
}

func TestSignVerifyCLI(t *testing.T) {
	keys := omsVector(t, "keys", "certificate")
	model := filepath.Join(t.TempDir(), "model")
	if err := os.MkdirAll(filepath.Join(model, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"config.json": "{}", "sub/weights.bin": strings.Repeat("w", 100), "notes.txt": "ignored"} {
		if err := os.WriteFile(filepath.Join(model, filepath.FromSlash(name)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name       string
		sign, vrfy []string
	}{
		{"key/files", []string{"--key", filepath.Join(keys, "signing-key.pem")}, []string{"--key", filepath.Join(keys, "signing-key-pub.pem")}},
		{"certificate/shards", []string{"--key", filepath.Join(keys, "signing-key.pem"), "--certificate", filepath.Join(keys, "signing-key-cert.pem"), "--chain", filepath.Join(keys, "int-ca-cert.pem"), "--serialization", "shards", "--shard-size", "16"},
			[]string{"--cert-chain", filepath.Join(keys, "ca-cert.pem")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := filepath.Join(model, "model.sig")
			code, out, errs := runVerb(t, signCmd, append([]string{model, "--signature", sig, "--ignore", "notes.txt"}, tc.sign...)...)
			if code != ExitOK || !strings.Contains(out, "signed") {
				t.Fatalf("sign: exit %d, stdout %q, stderr %q", code, out, errs)
			}
			code, out, errs = runVerb(t, verifyCmd, append([]string{model, "--signature", sig}, tc.vrfy...)...)
			if code != ExitOK {
				t.Fatalf("verify: exit %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
	code, _, errs := runVerb(t, signCmd, model)
	if code != ExitUsage || !strings.Contains(errs, "--key") {
		t.Errorf("sign without a key: exit %d, stderr %q", code, errs)
	}
}
