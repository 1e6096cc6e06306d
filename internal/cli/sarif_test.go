package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The SARIF of a real scan — every format and rule family in testdata —
// validates against the official SARIF 2.1.0 schema (GitHub code scanning
// rejects what does not).
func TestSARIFOfFullScan(t *testing.T) {
	schema := filepath.Join("..", "..", "..", "shared", "schemas", "sarif-schema-2.1.0.json")
	if _, err := os.Stat(schema); err != nil {
		t.Skip("schema not found")
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"scan", "--format", "sarif", filepath.Join("..", "..", "testdata")}, &out, &errb); code != ExitFindings {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	sch, err := jsonschema.NewCompiler().Compile(schema)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatal(err)
	}
}
