# coding=utf-8
"""Configuration of the Custom model."""
from transformers.configuration_utils import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)


class CustomConfig(PretrainedConfig):
    r"""
    Configuration class of [`CustomModel`].

    Args:
        vocab_size (`int`, *optional*, defaults to 32000): size of the vocabulary.
        hidden_size (`int`, *optional*, defaults to 256): dimension of the hidden states.
    """

    model_type = "custom"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(
        self,
        vocab_size: int = 32000,
        hidden_size: int = 256,
        intermediate_size: int = 1024,
        num_hidden_layers: int = 2,
        num_attention_heads: int = 4,
        rms_norm_eps: float = 1e-6,
        rope_theta: float = 10000.0,
        tie_word_embeddings: bool = False,
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.rms_norm_eps = rms_norm_eps
        self.rope_theta = rope_theta
        if hidden_size % num_attention_heads != 0:
            raise ValueError(f"hidden_size ({hidden_size}) must be a multiple of num_attention_heads ({num_attention_heads})")
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
