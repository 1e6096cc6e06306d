package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/aigis-sec/aigis/bom"
	"github.com/aigis-sec/aigis/finding"
)

func newBOMCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		output, format string
		hashAll        bool
	)
	c := &cobra.Command{
		Use:   "bom PATH",
		Short: "Write the AI bill of materials of a project (CycloneDX 1.6)",
		Long: `Inventory a project as a CycloneDX 1.6 ML-BOM: the model files under PATH
(format, hashes, parameters, dtypes, scan verdict, Hugging Face purls), the
models and datasets its Python code loads (from_pretrained, pipeline,
hf_hub_download, load_dataset…, with their revisions), its Python packages
(from every dependency file), the external AI APIs it calls (OpenAI,
Anthropic, Google, Cohere, Mistral, Bedrock, Azure OpenAI, any
OpenAI-compatible base_url) and the dependencies between them. Model cards
(README front matter) fill modelCard and pedigree.

Notes about the inventory (an unpinned model, a reference built from a
variable) are printed on standard error.

Exit codes: 0 written; 2 usage error; 3 the project could not be read.`,
		Example: `  aigis bom . --output aibom.cdx.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "cyclonedx" {
				return usagef("--format %q: only cyclonedx (CycloneDX 1.6 JSON) is supported; SPDX 3.0 is not yet", format)
			}
			if _, err := os.Stat(args[0]); err != nil {
				return fmt.Errorf("bom: %w", err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			b, notes, err := bom.Build(ctx, args[0], bom.Options{Hash: hashAll, ToolVersion: version()})
			if err != nil {
				return fmt.Errorf("bom %s: %w", args[0], err)
			}
			w, done, err := createOutput(stdout, output)
			if err != nil {
				return err
			}
			defer done()
			if err := bom.Write(w, b); err != nil {
				return fmt.Errorf("write bom: %w", err)
			}
			for _, n := range notes {
				if n.Severity >= finding.Low {
					fmt.Fprintf(stderr, "aigis: bom: %s: %s: %s\n", n.Severity, n.Path, n.Message)
				}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "write the BOM to this file instead of standard output")
	c.Flags().StringVarP(&format, "format", "f", "cyclonedx", "output format: cyclonedx")
	c.Flags().BoolVar(&hashAll, "hash", false, "SHA-256 every model file, however large")
	return c
}
