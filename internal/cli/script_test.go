package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// The CLI is tested as a user meets it: testscript files under
// testdata/script run `aigis` commands and check their output and exit
// codes. $MODELS is the repository's fixture folder.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"aigis": func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	models, err := filepath.Abs(filepath.Join("..", "..", "testdata", "models"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "vectors", "model-signing", "model-transparency", "keys", "certificate"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		// [keys]: the OpenSSF model-signing test keys are beside the repo.
		Condition: func(cond string) (bool, error) {
			if cond == "keys" {
				_, err := os.Stat(filepath.Join(keys, "signing-key.pem"))
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("MODELS", models)
			env.Setenv("PROJECT", filepath.Join(filepath.Dir(models), "project"))
			env.Setenv("KEYS", keys)
			env.Setenv("NO_COLOR", "1")
			return nil
		},
	})
}
