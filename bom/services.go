package bom

import (
	"fmt"
	"net/url"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/aigis-sec/aigis/format/pysrc"
)

// Unresolved is the endpoint written when the code computes it at run time.
const Unresolved = "unresolved"

// provider is a hosted AI API and how its SDK is pointed elsewhere.
type provider struct {
	key, name, org string
	endpoint       string   // default; "" means it comes from the environment
	urlKeywords    []string // keyword arguments that replace the endpoint
}

// providers, with their SDKs' documented default endpoints.
var providers = map[string]provider{
	"openai":       {"openai", "OpenAI API", "OpenAI", "https://api.openai.com/v1", []string{"base_url"}},
	"azure-openai": {"azure-openai", "Azure OpenAI", "Microsoft", "", []string{"azure_endpoint", "base_url"}},
	"anthropic":    {"anthropic", "Anthropic API", "Anthropic", "https://api.anthropic.com", []string{"base_url"}},
	"gemini":       {"gemini", "Google Gemini API", "Google", "https://generativelanguage.googleapis.com", []string{"base_url"}},
	"cohere":       {"cohere", "Cohere API", "Cohere", "https://api.cohere.com", []string{"base_url"}},
	"mistral":      {"mistral", "Mistral AI API", "Mistral AI", "https://api.mistral.ai", []string{"server_url", "endpoint"}},
	"bedrock":      {"bedrock", "Amazon Bedrock", "Amazon Web Services", "", []string{"endpoint_url"}},
	"hf-inference": {"hf-inference", "Hugging Face Inference", "Hugging Face", "https://router.huggingface.co", []string{"base_url"}},
	"ollama":       {"ollama", "Ollama", "Ollama", "http://localhost:11434", []string{"host"}},
	"openai-compatible": {"openai-compatible", "OpenAI-compatible API", "", "",
		[]string{"base_url", "api_base", "openai_api_base", "azure_endpoint"}},
}

// clients maps SDK constructors (resolved through imports) to providers.
var clients = map[string]string{
	"openai.OpenAI": "openai", "openai.AsyncOpenAI": "openai",
	"openai.AzureOpenAI": "azure-openai", "openai.AsyncAzureOpenAI": "azure-openai",
	"anthropic.Anthropic": "anthropic", "anthropic.AsyncAnthropic": "anthropic", "anthropic.Client": "anthropic",
	"google.generativeai.configure": "gemini", "google.generativeai.GenerativeModel": "gemini",
	"google.genai.Client": "gemini",
	"cohere.Client":       "cohere", "cohere.ClientV2": "cohere", "cohere.AsyncClient": "cohere", "cohere.AsyncClientV2": "cohere",
	"mistralai.Mistral": "mistral", "mistralai.client.MistralClient": "mistral", "mistralai.async_client.MistralAsyncClient": "mistral",
	"boto3.client": "bedrock", "boto3.Session().client": "bedrock", "boto3.session.Session().client": "bedrock",
	"huggingface_hub.InferenceClient": "hf-inference", "huggingface_hub.AsyncInferenceClient": "hf-inference",
	"ollama.Client": "ollama", "ollama.AsyncClient": "ollama",
}

// bedrockServices are the boto3 service names that call hosted models.
var bedrockServices = map[string]bool{
	"bedrock-runtime": true, "bedrock-agent-runtime": true, "bedrock": true, "sagemaker-runtime": true,
}

// openaiModuleCalls are module-level uses of the openai package (the
// default client, or the pre-1.0 API).
var openaiModuleCalls = []string{
	"openai.chat.", "openai.completions.", "openai.embeddings.", "openai.images.", "openai.responses.",
	"openai.ChatCompletion.", "openai.Completion.", "openai.Embedding.",
}

// svcUse is one client construction in one file.
type svcUse struct {
	provider   provider
	endpoint   string
	ctor       string
	loc        string
	models     []string
	region     string
	unresolved string // what the endpoint depends on, when Unresolved
}

type service struct {
	provider  provider
	endpoint  string
	locations []string
	ctors     []string
	models    []string
	notes     []string
}

func (s *service) service() cdx.Service {
	name := s.provider.name
	if s.provider.key == "openai-compatible" || (s.provider.endpoint != "" && s.endpoint != s.provider.endpoint && s.endpoint != Unresolved) {
		if u, err := url.Parse(s.endpoint); err == nil && u.Host != "" {
			name = s.provider.name + " at " + u.Host
		}
	}
	svc := cdx.Service{
		BOMRef:    "service:" + s.provider.key + ":" + s.endpoint,
		Name:      name,
		Endpoints: &[]string{s.endpoint},
	}
	if s.provider.org != "" {
		svc.Provider = &cdx.OrganizationalEntity{Name: s.provider.org}
	}
	t := true
	svc.Authenticated = &t
	if s.endpoint != Unresolved {
		crosses := !isLocalHost(s.endpoint)
		svc.CrossesTrustBoundary = &crosses
	}
	props := []cdx.Property{prop("aigis:provider", s.provider.key)}
	props = appendProps(props, "aigis:location", s.locations...)
	props = appendProps(props, "aigis:client", s.ctors...)
	props = appendProps(props, "aigis:model", s.models...)
	props = appendProps(props, "aigis:endpoint:source", s.notes...)
	props = sortProps(props)
	svc.Properties = &props
	return svc
}

func isLocalHost(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}

func (b *builder) addService(u *svcUse) {
	key := u.provider.key + " " + u.endpoint
	s := b.services[key]
	if s == nil {
		s = &service{provider: u.provider, endpoint: u.endpoint}
		b.services[key] = s
	}
	s.locations = append(s.locations, u.loc)
	s.ctors = append(s.ctors, u.ctor)
	s.models = append(s.models, u.models...)
	if u.unresolved != "" {
		s.notes = append(s.notes, u.loc+": "+u.unresolved)
	}
}

// serviceCall recognises a client of a hosted AI API.
func (fa *fileAnalysis) serviceCall(c pysrc.Call) {
	if c.Origin != "import" {
		return
	}
	key, ok := clients[c.Resolved]
	if !ok {
		for _, p := range openaiModuleCalls {
			if strings.HasPrefix(c.Resolved, p) {
				key, ok = "openai", true
			}
		}
		if ok {
			// The default client is used: one service per file is enough.
			for _, s := range fa.svcs {
				if s.provider.key == "openai" {
					s.models = append(s.models, modelKeyword(c)...)
					return
				}
			}
		}
	}
	if !ok {
		// Any other SDK pointed at an OpenAI-compatible server.
		last := c.Resolved[strings.LastIndex(c.Resolved, ".")+1:]
		if !strings.Contains(strings.ToLower(last), "openai") && !strings.HasPrefix(c.Resolved, "litellm.") {
			return
		}
		if _, _, present, _ := argument(c, -1, providers["openai-compatible"].urlKeywords...); !present {
			return
		}
		key = "openai-compatible"
	}
	p := providers[key]
	if key == "bedrock" {
		svc, ok := c.StringArg(0)
		if !ok {
			svc, ok = c.StringKeyword("service_name")
		}
		if !ok || !bedrockServices[svc] {
			return
		}
		p.name = map[string]string{"sagemaker-runtime": "Amazon SageMaker Runtime"}[svc]
		if p.name == "" {
			p.name = "Amazon Bedrock"
		}
		if region, ok := c.StringKeyword("region_name"); ok && region != "" {
			p.endpoint = "https://" + svc + "." + region + ".amazonaws.com"
		}
	}
	u := &svcUse{provider: p, ctor: c.Resolved, loc: fa.loc(c), endpoint: p.endpoint}
	if v, text, present, constant := argument(c, -1, p.urlKeywords...); present {
		if constant {
			u.endpoint = v
		} else {
			u.endpoint, u.unresolved = Unresolved, text
		}
	} else if u.endpoint == "" {
		u.endpoint, u.unresolved = Unresolved, "environment or SDK configuration"
	}
	if u.endpoint == Unresolved {
		fa.emit(RuleUnresolvedReference, c, fmt.Sprintf("%s calls %s at an endpoint given by %s, which is not known before run time", c.Resolved, p.name, u.unresolved),
			map[string]string{"provider": p.key, "endpoint": u.unresolved})
	}
	if key == "gemini" && strings.HasSuffix(c.Resolved, "GenerativeModel") {
		if m, ok := c.StringArg(0); ok {
			u.models = append(u.models, m)
		} else if m, ok := c.StringKeyword("model_name"); ok {
			u.models = append(u.models, m)
		}
	}
	u.models = append(u.models, modelKeyword(c)...)
	fa.svcs = append(fa.svcs, u)
	fa.events = append(fa.events, event{svc: u})
}

func modelKeyword(c pysrc.Call) []string {
	for _, k := range []string{"model", "modelId", "model_id"} {
		if m, ok := c.StringKeyword(k); ok && m != "" {
			return []string{m}
		}
	}
	return nil
}

// attachModels adds the model names passed to a client's methods
// (client.chat.completions.create(model="gpt-4o")) to the services its
// constructor made in this file.
func (fa *fileAnalysis) attachModels(calls []pysrc.Call) {
	for _, c := range calls {
		ms := modelKeyword(c)
		if len(ms) == 0 {
			continue
		}
		for _, s := range fa.svcs {
			if strings.HasPrefix(c.Resolved, s.ctor+"().") {
				s.models = append(s.models, ms...)
			}
		}
	}
}
