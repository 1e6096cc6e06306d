import cohere
import torch
from diffusers import DiffusionPipeline
from mistralai import Mistral

pipe = DiffusionPipeline.from_pretrained(
    "stabilityai/stable-diffusion-xl-base-1.0", torch_dtype=torch.float16
)
co = cohere.ClientV2()
mistral = Mistral(api_key="...")
