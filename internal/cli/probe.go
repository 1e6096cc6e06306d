package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aigis-sec/aigis/probe"
	"github.com/aigis-sec/aigis/probe/api"
)

type probeFlags struct {
	endpoint, model, apiKind string
	maxRequests              int
	maxCost                  float64
	concurrency              int
	format                   string
}

func (p *probeFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&p.endpoint, "endpoint", "", "base URL of the endpoint (OpenAI-compatible or Anthropic)")
	f.StringVar(&p.model, "model", "", "model name to request")
	f.StringVar(&p.apiKind, "api", "openai", "API of the endpoint: openai or anthropic (keys from OPENAI_API_KEY / ANTHROPIC_API_KEY)")
	f.IntVar(&p.maxRequests, "max-requests", 5000, "stop after this many requests (retries included)")
	f.Float64Var(&p.maxCost, "max-cost", 0, "stop when the estimated cost in USD would pass this (0: no limit; needs prices known to the client)")
	f.IntVar(&p.concurrency, "concurrency", 4, "requests in flight at most")
	f.StringVarP(&p.format, "format", "f", "table", "output format: table or json")
}

func (p *probeFlags) client() (*api.Client, error) {
	if p.endpoint == "" {
		return nil, usagef("probe: --endpoint is required")
	}
	if p.apiKind != api.OpenAI && p.apiKind != api.Anthropic {
		return nil, usagef("probe: --api %q: use openai or anthropic", p.apiKind)
	}
	if p.format != "table" && p.format != "json" {
		return nil, usagef("probe: --format %q: use table or json", p.format)
	}
	c := api.NewFromEnv(p.endpoint, p.model, p.apiKind)
	c.MaxRequests, c.MaxCostUSD, c.Concurrency = p.maxRequests, p.maxCost, p.concurrency
	return c, nil
}

func newProbeCmd(stdout, stderr io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "probe",
		Short: "Detect silent changes of a model endpoint, and screen it for backdoor triggers",
		Long: `aigis probe measures a model behind an API (OpenAI-compatible: vLLM,
llama.cpp server, Ollama, TGI, hosted APIs; or Anthropic):

  probe baseline   record a fingerprint: metadata canaries, deterministic
                   answers (repeated to measure the endpoint's own noise),
                   sampled answers, log-probabilities where available;
  probe check      measure again and say changed, unchanged or inconclusive,
                   with evidence (exit 1 when changed);
  probe triggers   insert candidate backdoor triggers into benign prompts and
                   compare with random controls (exit 1 when a candidate has a
                   significant effect). Unknown triggers may pass.

API keys are read from OPENAI_API_KEY or ANTHROPIC_API_KEY and never written
to output or files.`,
	}
	c.AddCommand(newProbeBaselineCmd(stdout, stderr), newProbeCheckCmd(stdout, stderr), newProbeTriggersCmd(stdout, stderr))
	return c
}

func newProbeBaselineCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		pf  probeFlags
		out string
		opt probe.Options
	)
	c := &cobra.Command{
		Use:     "baseline",
		Short:   "Record the fingerprint of a model endpoint",
		Example: `  aigis probe baseline --endpoint http://127.0.0.1:8000 --model my-model --out baseline.json`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cl, err := pf.client()
			if err != nil {
				return err
			}
			if out == "" {
				return usagef("probe baseline: --out is required")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			b, err := probe.Record(ctx, cl, opt)
			if err != nil {
				return probeErr(err)
			}
			b.Endpoint, b.API = pf.endpoint, pf.apiKind
			f, err := os.Create(out)
			if err != nil {
				return usagef("--out: %v", err)
			}
			defer f.Close()
			if err := probe.WriteBaseline(f, b); err != nil {
				return fmt.Errorf("write baseline: %w", err)
			}
			fmt.Fprintf(stdout, "baseline of %s (model %q) written to %s: %d canaries, %d deterministic prompts, %d sampled prompts, noise %.3f, %d requests\n",
				pf.endpoint, b.Model, out, len(b.Canaries), len(b.Deterministic), len(b.Samples), b.Noise, cl.Requests())
			return nil
		},
	}
	pf.register(c)
	c.Flags().StringVar(&out, "out", "", "the baseline file to write (sign it with aigis sign)")
	c.Flags().IntVar(&opt.Runs, "runs", 3, "repeats of the deterministic set (to measure the endpoint's noise)")
	c.Flags().IntVar(&opt.SamplePrompts, "sample-prompts", 25, "open-ended prompts sampled")
	c.Flags().IntVar(&opt.Samples, "samples", 10, "answers per sampled prompt")
	c.Flags().Int64Var(&opt.Seed, "seed", 1, "seed sent with deterministic prompts")
	return c
}

func newProbeCheckCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		pf       probeFlags
		basePath string
		every    time.Duration
		history  string
		opt      probe.Options
	)
	c := &cobra.Command{
		Use:   "check",
		Short: "Check a model endpoint against its baseline: changed, unchanged or inconclusive",
		Example: `  aigis probe check --baseline baseline.json
  aigis probe check --baseline baseline.json --every 1h --history checks.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if basePath == "" {
				return usagef("probe check: --baseline is required")
			}
			b, err := readFlagFile("--baseline", basePath, probe.ReadBaseline)
			if err != nil {
				return err
			}
			if pf.endpoint == "" {
				pf.endpoint = b.Endpoint
			}
			if pf.model == "" {
				pf.model = b.Model
			}
			if pf.apiKind == "openai" && b.API != "" {
				pf.apiKind = b.API
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			for {
				cl, err := pf.client()
				if err != nil {
					return err
				}
				res, err := probe.Check(ctx, cl, b, opt)
				if err != nil {
					return probeErr(err)
				}
				if history != "" {
					appendHistory(history, res)
				}
				printCheck(stdout, pf.format, pf.endpoint, res)
				if every <= 0 {
					switch res.Verdict {
					case probe.Changed:
						return exitError{ExitFindings}
					case probe.Inconclusive:
						return exitError{ExitIncomplete}
					}
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(every):
				}
			}
		},
	}
	pf.register(c)
	c.Flags().StringVar(&basePath, "baseline", "", "the baseline file recorded by aigis probe baseline")
	c.Flags().DurationVar(&every, "every", 0, "keep checking at this interval (Ctrl-C to stop)")
	c.Flags().StringVar(&history, "history", "", "append each result as a JSON line to this file")
	c.Flags().Float64Var(&opt.Alpha, "alpha", 0.01, "significance level")
	c.Flags().IntVar(&opt.Permutations, "permutations", 1000, "permutations of the MMD test")
	c.Flags().Int64Var(&opt.Seed, "seed", 1, "seed of the permutations")
	return c
}

func newProbeTriggersCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		pf         probeFlags
		candidates string
		opt        probe.TriggerOptions
	)
	c := &cobra.Command{
		Use:     "triggers",
		Short:   "Screen a model endpoint for known backdoor triggers",
		Example: `  aigis probe triggers --endpoint http://127.0.0.1:8000 --model my-model --candidates triggers.txt`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cl, err := pf.client()
			if err != nil {
				return err
			}
			if candidates != "" {
				f, err := os.Open(candidates)
				if err != nil {
					return usagef("--candidates: %v", err)
				}
				sc := bufio.NewScanner(f)
				for sc.Scan() {
					if t := strings.TrimSpace(sc.Text()); t != "" && !strings.HasPrefix(t, "#") {
						opt.Candidates = append(opt.Candidates, t)
					}
				}
				f.Close()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			res, err := probe.Triggers(ctx, cl, opt)
			if err != nil {
				return probeErr(err)
			}
			if pf.format == "json" {
				writeJSON(stdout, res)
			} else {
				for _, cr := range res.Candidates {
					if !cr.Significant {
						continue
					}
					fmt.Fprintf(stdout, "TRIGGER  %q  %s  q=%.2g  %s\n", cr.Candidate, cr.Signal, cr.QValue, cr.Detail)
					for _, ex := range cr.Examples {
						fmt.Fprintf(stdout, "    prompt:  %s\n    answer:  %s\n    without: %s\n", ex.Prompt, ex.Answer, ex.Original)
					}
				}
				fmt.Fprintf(stdout, "%d candidates screened, %d with a significant effect, %d requests. Unknown triggers may pass.\n",
					len(res.Candidates), len(res.Significant), res.Requests)
			}
			if len(res.Significant) > 0 {
				return exitError{ExitFindings}
			}
			return nil
		},
	}
	pf.register(c)
	c.Flags().StringVar(&candidates, "candidates", "", "file of candidate triggers, one per line (default: a built-in list from published attacks)")
	c.Flags().StringVar(&opt.Target, "target", "", "a string the backdoor is suspected to produce")
	c.Flags().IntVar(&opt.Controls, "controls", 5, "random control strings per candidate")
	c.Flags().IntVar(&opt.Prompts, "prompts", 20, "benign prompts")
	c.Flags().Float64Var(&opt.Alpha, "alpha", 0.05, "false discovery rate over candidates")
	return c
}

func printCheck(w io.Writer, format, endpoint string, res *probe.Result) {
	if format == "json" {
		writeJSON(w, res)
		return
	}
	fmt.Fprintf(w, "%s: %s\n", endpoint, strings.ToUpper(string(res.Verdict)))
	for _, e := range res.Evidence {
		fmt.Fprintf(w, "  %-18s p=%-8.3g effect=%-6.3f %s\n", e.Kind, e.PValue, e.Effect, e.Detail)
	}
}

func appendHistory(path string, res *probe.Result) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	json.NewEncoder(f).Encode(struct {
		Time time.Time `json:"time"`
		*probe.Result
	}{time.Now().UTC(), res})
}

// probeErr maps a budget stop to incomplete with what to do.
func probeErr(err error) error {
	if errors.Is(err, api.ErrBudget) {
		return fmt.Errorf("probe: %w: raise --max-requests or --max-cost", err)
	}
	return fmt.Errorf("probe: %w", err)
}
