"""Support-ticket triage service: classifies tickets locally, drafts answers
with a hosted LLM and falls back to a second provider."""

import os

import anthropic
from datasets import load_dataset
from openai import OpenAI
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    pipeline,
)

CLASSIFIER_DIR = "models/classifier"
EMBEDDER = os.environ.get("EMBEDDER_MODEL", "sentence-transformers/all-MiniLM-L6-v2")

# Pinned: the tokenizer of the base model at a known commit.
tokenizer = AutoTokenizer.from_pretrained(
    "distilbert/distilbert-base-uncased",
    revision="12040accade4e8a0f71eabdb258fecc2e7e948be",
)
# Not pinned: whatever "main" is today.
summarizer = pipeline("summarization", model="facebook/bart-large-cnn")
classifier = AutoModelForSequenceClassification.from_pretrained(CLASSIFIER_DIR)
sentiment = AutoModelForSequenceClassification.from_pretrained(
    "cardiffnlp/twitter-roberta-base-sentiment-latest", revision="main"
)
embedder = AutoTokenizer.from_pretrained(EMBEDDER)

eval_set = load_dataset(
    "ai4privacy/pii-masking-200k",
    revision="1c6e3a6b6e0b7a3c2f3e6a1f9a4b2c8d7e5f6a0b",
    split="validation",
)
tickets = load_dataset("csv", data_files="data/tickets.csv")

llm = OpenAI(base_url="https://llm.internal.example.com/v1", api_key=os.environ["LLM_KEY"])
fallback = anthropic.Anthropic()


def draft_answer(ticket: str) -> str:
    label = classifier(**tokenizer(ticket, return_tensors="pt")).logits.argmax()
    summary = summarizer(ticket, max_length=60)[0]["summary_text"]
    try:
        out = llm.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"[{label}] {summary}"}],
        )
        return out.choices[0].message.content
    except Exception:
        msg = fallback.messages.create(
            model="claude-3-5-haiku-latest",
            max_tokens=512,
            messages=[{"role": "user", "content": summary}],
        )
        return msg.content[0].text
