package bom

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/deps/pyparse"
)

func noPackages(string) ([]*pyparse.Manifest, error) { return nil, nil }

// buildSource builds the BOM of a folder holding one main.py (and an
// optional local model folder) and summarises what a user would check.
func buildSource(t *testing.T, src string, dirs ...string) (refs, svcs, findings []string) {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "main.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, fs, err := Build(context.Background(), root, Options{Packages: noPackages})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range components(b) {
		refs = append(refs, c.BOMRef+" "+c.PackageURL)
	}
	if b.Services != nil {
		for _, s := range *b.Services {
			svcs = append(svcs, s.BOMRef)
		}
	}
	for _, f := range fs {
		findings = append(findings, f.RuleID+":"+f.Evidence["line"])
	}
	sort.Strings(refs)
	return refs, svcs, findings
}

func TestHubCalls(t *testing.T) {
	const pin = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name     string
		src      string
		dirs     []string
		refs     []string
		findings []string
	}{
		{
			name:     "pinned from_pretrained",
			src:      "from transformers import AutoModel\nm = AutoModel.from_pretrained('org/m', revision='" + pin + "')\n",
			refs:     []string{"model:hf:org/m@" + pin + " pkg:huggingface/org/m@" + pin},
			findings: nil,
		},
		{
			name:     "upper-case commit is normalised",
			src:      "import transformers\nm = transformers.AutoModel.from_pretrained(pretrained_model_name_or_path='org/m', revision='" + strings.ToUpper(pin) + "')\n",
			refs:     []string{"model:hf:org/m@" + pin + " pkg:huggingface/org/m@" + pin},
			findings: nil,
		},
		{
			name:     "branch revision is unpinned",
			src:      "from transformers import AutoModel\nm = AutoModel.from_pretrained('org/m', revision='main')\n",
			refs:     []string{"model:hf:org/m pkg:huggingface/org/m"},
			findings: []string{"bom-unpinned-model:2"},
		},
		{
			name:     "legacy root id",
			src:      "from transformers import pipeline\np = pipeline('text-generation', 'gpt2')\n",
			refs:     []string{"model:hf:gpt2 pkg:huggingface/gpt2"},
			findings: []string{"bom-unpinned-model:2"},
		},
		{
			name:     "id from a variable is not guessed",
			src:      "import sys\nfrom transformers import AutoModel\nm = AutoModel.from_pretrained(sys.argv[1])\n",
			findings: []string{"bom-unresolved-reference:3"},
		},
		{
			name: "constant id is folded",
			src:  "from transformers import AutoModel\nMODEL = 'org/' + 'm'\nm = AutoModel.from_pretrained(MODEL, revision='" + pin + "')\n",
			refs: []string{"model:hf:org/m@" + pin + " pkg:huggingface/org/m@" + pin},
		},
		{
			name:     "revision from a variable",
			src:      "import os\nfrom transformers import AutoModel\nm = AutoModel.from_pretrained('org/m', revision=os.environ['REV'])\n",
			refs:     []string{"model:hf:org/m pkg:huggingface/org/m"},
			findings: []string{"bom-unresolved-reference:3"},
		},
		{
			name: "local folder and local paths are not Hub ids",
			src:  "from transformers import AutoModel\na = AutoModel.from_pretrained('out/best')\nb = AutoModel.from_pretrained('./ckpt')\nc = AutoModel.from_pretrained('/models/x/y')\n",
			dirs: []string{"out/best"},
		},
		{
			name: "a local function named from_pretrained is not transformers'",
			src:  "class M:\n    @classmethod\n    def from_pretrained(cls, p): pass\nM.from_pretrained('org/m')\n",
		},
		{
			name:     "hf_hub_download of a dataset file",
			src:      "from huggingface_hub import hf_hub_download\np = hf_hub_download('org/d', 'train.parquet', repo_type='dataset', revision='" + pin + "')\n",
			refs:     []string{"dataset:org/d@" + pin + " "},
			findings: nil,
		},
		{
			name:     "load_dataset of local files is not a Hub dataset",
			src:      "from datasets import load_dataset\na = load_dataset('json', data_files='x.jsonl')\nb = load_dataset('org/d')\n",
			refs:     []string{"dataset:org/d "},
			findings: []string{"bom-unpinned-model:3"},
		},
		{
			name:     "peft adapter is the second argument",
			src:      "from peft import PeftModel\nm = PeftModel.from_pretrained(base, 'org/adapter', revision='" + pin + "')\n",
			refs:     []string{"model:hf:org/adapter@" + pin + " pkg:huggingface/org/adapter@" + pin},
			findings: nil,
		},
		{
			name:     "aliased import",
			src:      "import sentence_transformers as st\nm = st.SentenceTransformer('org/emb')\n",
			refs:     []string{"model:hf:org/emb pkg:huggingface/org/emb"},
			findings: []string{"bom-unpinned-model:2"},
		},
		{
			name:     "spaces are not downloaded models",
			src:      "from huggingface_hub import snapshot_download\nsnapshot_download('org/app', repo_type='space')\n",
			findings: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refs, _, findings := buildSource(t, tt.src, tt.dirs...)
			if d := cmp.Diff(tt.refs, refs); d != "" {
				t.Errorf("components (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.findings, findings); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
		})
	}
}

func TestServiceCalls(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		svcs     []string
		findings []string
	}{
		{
			name: "OpenAI default endpoint",
			src:  "from openai import OpenAI\nc = OpenAI()\n",
			svcs: []string{"service:openai:https://api.openai.com/v1"},
		},
		{
			name:     "base_url from a variable is unresolved",
			src:      "import os, openai\nc = openai.OpenAI(base_url=os.environ['URL'])\n",
			svcs:     []string{"service:openai:unresolved"},
			findings: []string{"bom-unresolved-reference:2"},
		},
		{
			name:     "Azure OpenAI endpoint from the environment",
			src:      "from openai import AzureOpenAI\nc = AzureOpenAI(api_version='2024-06-01')\n",
			svcs:     []string{"service:azure-openai:unresolved"},
			findings: []string{"bom-unresolved-reference:2"},
		},
		{
			name: "OpenAI-compatible wrapper with base_url",
			src:  "from langchain_openai import ChatOpenAI\nllm = ChatOpenAI(base_url='http://localhost:8000/v1', model='llama3')\n",
			svcs: []string{"service:openai-compatible:http://localhost:8000/v1"},
		},
		{
			name: "module-level pre-1.0 API",
			src:  "import openai\nr = openai.ChatCompletion.create(model='gpt-4')\n",
			svcs: []string{"service:openai:https://api.openai.com/v1"},
		},
		{
			name: "google.genai client",
			src:  "from google import genai\nc = genai.Client()\n",
			svcs: []string{"service:gemini:https://generativelanguage.googleapis.com"},
		},
		{
			name: "boto3 S3 is not an AI API",
			src:  "import boto3\ns3 = boto3.client('s3')\n",
		},
		{
			name:     "Bedrock without a region",
			src:      "import boto3\nb = boto3.client('bedrock-runtime')\n",
			svcs:     []string{"service:bedrock:unresolved"},
			findings: []string{"bom-unresolved-reference:2"},
		},
		{
			name: "anthropic with a gateway",
			src:  "import anthropic\nc = anthropic.Anthropic(base_url='https://gw.example.com/anthropic')\n",
			svcs: []string{"service:anthropic:https://gw.example.com/anthropic"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, svcs, findings := buildSource(t, tt.src)
			if d := cmp.Diff(tt.svcs, svcs); d != "" {
				t.Errorf("services (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.findings, findings); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
		})
	}
}
