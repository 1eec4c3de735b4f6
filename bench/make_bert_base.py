#!/usr/bin/python3
"""Write the TorchScript model that bench/jit_overhead measures.

    /usr/bin/python3 bench/make_bert_base.py [out.pt]     # torch 1.13 (Debian), for LibTorch 1.13
    .venv/bin/python bench/make_bert_base.py [out.pt]     # torch 2.13 (the wheel), for LibTorch 2.13

A scripted nn.TransformerEncoder the size of BERT-base: 12 layers, d_model 768, 12 heads,
feed-forward 3072, batch_first=True, dropout 0.1 (inactive in eval), saved in eval()
mode (~340 MB). Random weights (seed 0): the benchmark measures time, not outputs.
Made by the torch of the LibTorch it is measured on (TorchScript from 2.13 calls
scaled_dot_product_attention where 1.13's calls softmax); the library never runs Python.
"""
import sys

import torch
from torch import nn


def main(argv):
    out = argv[1] if len(argv) > 1 else "bert_base_encoder.pt"
    assert torch.__version__.startswith(("1.13", "2.13")), f"expected torch 1.13 or 2.13, got {torch.__version__}"
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=768, nhead=12, dim_feedforward=3072, dropout=0.1,
                                       batch_first=True)
    encoder = nn.TransformerEncoder(layer, num_layers=12).eval()
    scripted = torch.jit.script(encoder)
    scripted.eval()
    torch.jit.save(scripted, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
