// Package bom builds an AI bill of materials of a project folder as a
// CycloneDX 1.6 document: the models, datasets, Python packages and hosted
// AI APIs the project depends on, with the evidence for each.
//
// Nothing is executed or imported. Build reads the folder four ways:
//
//   - Model files are recognised by their bytes by the scan engine
//     (scan.Scan); each becomes a machine-learning-model component with its
//     format, SHA-256, scan verdict and, for safetensors and GGUF, the
//     parameter count and dtypes read from the header. A Hugging Face cache
//     layout (models--org--name/snapshots/<commit>/…) or a model card that
//     names the repository and a pinned revision gives the component a
//     pkg:huggingface purl; README.md front matter fills its modelCard,
//     licenses and pedigree (base_model).
//   - Python source is analysed with format/pysrc: calls such as
//     from_pretrained, pipeline, hf_hub_download, snapshot_download,
//     load_dataset and SentenceTransformer name Hub models and datasets.
//     A reference with a 40-hex revision gets a purl version; any other is
//     reported as bom-unpinned-model. Ids or revisions computed at run time
//     are reported as bom-unresolved-reference and never guessed.
//   - The same analysis finds clients of hosted AI APIs (OpenAI, Azure
//     OpenAI, Anthropic, Google Gemini, Cohere, Mistral, Bedrock, any
//     OpenAI-compatible base_url): each distinct endpoint is a service.
//   - Dependency files (requirements*.txt, pyproject.toml, lock files) are
//     parsed with deps/pyparse into library components with pkg:pypi purls.
//
// The project itself is metadata.component and depends on everything found.
// Output is deterministic: lists are sorted and the serial number is derived
// from the content unless Options.SerialNumber is set.
package bom
