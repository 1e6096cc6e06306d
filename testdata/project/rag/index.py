"""Builds the retrieval index for the help-centre articles."""

import boto3
import google.generativeai as genai
from huggingface_hub import hf_hub_download, snapshot_download
from openai import AzureOpenAI
from sentence_transformers import SentenceTransformer

RERANKER_REV = "v2.1"

encoder = SentenceTransformer(
    "sentence-transformers/all-MiniLM-L6-v2",
    revision="c9745ed1d9f207416be6d2e6f8de32d1f16199bf",
)
gguf_path = hf_hub_download(
    repo_id="TheBloke/Mistral-7B-Instruct-v0.2-GGUF",
    filename="mistral-7b-instruct-v0.2.Q4_K_M.gguf",
    revision="3a6fbf4a41a1d52e415a4958cde6856d34b2db93",
)
articles = snapshot_download(repo_id="acme-support/help-articles", repo_type="dataset")
reranker = snapshot_download("BAAI/bge-reranker-base", revision=RERANKER_REV)

bedrock = boto3.client("bedrock-runtime", region_name="eu-west-1")
genai.configure(api_key="set-from-env")
gemini = genai.GenerativeModel("gemini-1.5-flash")
azure = AzureOpenAI(azure_endpoint="https://acme-support.openai.azure.com/", api_version="2024-06-01")


def load_tenant_model(tenant):
    # The model id comes from the tenant's settings: not known statically.
    return SentenceTransformer(tenant.embedding_model)
