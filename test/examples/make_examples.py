#!/usr/bin/env python3
"""The two workflows of the README, built from scratch in a few seconds (ctest runs this).

  make_examples.py OUT_DIR

writes OUT_DIR/ (through OUT_DIR.tmp-<pid>, renamed when complete):
  sentiment/  a sentiment classifier trained here on sentiment_corpus.tsv (160 lines):
              tokenizer.json (WordPiece trained with HF tokenizers, BERT normalizer and
              pre-tokenizer, [CLS] $A [SEP]), classifier.pt (torch.jit.script;
              forward(input_ids, attention_mask) -> logits [batch, 2], 32 learned
              positions), labels.txt, reference.json, float_ids.pt and mask.pt
              (torch.save'd inputs, the ids of the wrong dtype)
  seq2seq/    number words -> digits ("three one four" -> "3 1 4") with nn.Transformer:
              tokenizer.json (WordLevel, <s> $A </s>), seq2seq.pt (torch.jit.script;
              forward(src, tgt, src_key_padding_mask=None) -> logits [batch, tgt_len,
              vocab]), vocab.txt (the class names of the logits), reference.json
  timings.json  CPU seconds spent training each model (one thread)
reference.json holds what Python says for the test inputs (HF tokenizers' encodings, the
model's logits and arg-max): the independent reference the C++ tests compare with.
Needs the venv's torch 2.13 and tokenizers (test/requirements.txt). CPU, one thread,
fixed seeds.
"""
import json
import os
import shutil
import sys
import time
from typing import Optional

import torch
from torch import Tensor, nn
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))

SENTIMENT_TESTS = [
    # (text, the class any reader gives it): compositions not in the corpus
    ("the soundtrack was superb and the cast was wonderful .", "positive"),
    ("a dull , tedious plot and a lifeless cast .", "negative"),
    ("what a charming , funny story !", "positive"),
    ("the script is clumsy and the ending is awful .", "negative"),
]
SENTIMENT_MAX_LENGTH = 16  # the tests pad to this (the model has 32 positions)

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SEQ2SEQ_TESTS = [[3, 1, 4, 1, 5], [2, 7, 1, 8], [9, 2, 6]]


# ---------------------------------------------------------------- sentiment classifier
class Classifier(nn.Module):
    def __init__(self, vocab: int, d: int = 32, heads: int = 2, layers: int = 2, positions: int = 32):
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=0)
        self.pos_embedding = nn.Parameter(torch.randn(positions, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, 64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, 2)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        x = self.embed(input_ids) + self.pos_embedding[: input_ids.size(1)]
        h = self.encoder(x, src_key_padding_mask=attention_mask == 0)
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return self.head((h * m).sum(1) / m.sum(1).clamp(min=1.0))  # [batch, 2]


def sentiment(out: str) -> float:
    rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(HERE, "sentiment_corpus.tsv"))]
    labels = ["negative", "positive"]
    texts = [text for _, text in rows]
    targets = torch.tensor([labels.index(label) for label, _ in rows])

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("".join(label + "\n" for label in labels))

    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    batch = tok.encode_batch(texts)
    ids = torch.tensor([e.ids for e in batch])
    mask = torch.tensor([e.attention_mask for e in batch])

    torch.manual_seed(0)
    model = Classifier(tok.get_vocab_size())
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = time.process_time()
    for epoch in range(40):
        order = torch.randperm(len(texts))
        for k in range(0, len(texts), 32):
            chosen = order[k:k + 32]
            loss = nn.functional.cross_entropy(model(ids[chosen], mask[chosen]), targets[chosen])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.process_time() - start
    model.eval()
    with torch.no_grad():
        accuracy = (model(ids, mask).argmax(-1) == targets).float().mean().item()
    scripted = torch.jit.script(model)
    scripted.save(os.path.join(out, "classifier.pt"))

    # The reference: HF's encodings padded to SENTIMENT_MAX_LENGTH, the saved model's logits.
    loaded = torch.jit.load(os.path.join(out, "classifier.pt")).eval()
    tok.no_padding()
    tok.enable_padding(pad_id=0, pad_token="[PAD]", length=SENTIMENT_MAX_LENGTH)
    cases = []
    for text, expected in SENTIMENT_TESTS:
        e = tok.encode(text)
        with torch.no_grad():
            logits = loaded(torch.tensor([e.ids]), torch.tensor([e.attention_mask]))[0]
        cases.append({"text": text, "expected": expected, "ids": e.ids, "tokens": e.tokens,
                      "attention_mask": e.attention_mask, "logits": logits.tolist(),
                      "predicted": labels[int(logits.argmax())],
                      "probability": float(logits.softmax(-1).max())})
    reference = {"train_accuracy": accuracy, "max_length": SENTIMENT_MAX_LENGTH, "positions": 32, "cases": cases,
                 "layers": ["encoder.layers.0.self_attn", "encoder.layers.1.self_attn"]}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
    # Inputs of the wrong dtype for --input-tensor: ids as floats.
    torch.save(torch.tensor([[2.0, 5.0, 3.0]]), os.path.join(out, "float_ids.pt"))
    torch.save(torch.tensor([[1, 1, 1]]), os.path.join(out, "mask.pt"))
    return seconds


# ---------------------------------------------------------------- seq2seq
class Seq2Seq(nn.Module):
    def __init__(self, vocab: int, d: int = 48, heads: int = 4, positions: int = 16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos_embedding = nn.Parameter(torch.randn(positions, d) * 0.1)
        self.transformer = nn.Transformer(d, heads, 2, 2, 96, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d, vocab)

    def forward(self, src: Tensor, tgt: Tensor, src_key_padding_mask: Optional[Tensor] = None) -> Tensor:
        s = self.embed(src) + self.pos_embedding[: src.size(1)]
        t = self.embed(tgt) + self.pos_embedding[: tgt.size(1)]
        n = tgt.size(1)
        causal = torch.triu(torch.full((n, n), float("-inf"), device=tgt.device), 1)
        h = self.transformer(s, t, tgt_mask=causal, src_key_padding_mask=src_key_padding_mask,
                             memory_key_padding_mask=src_key_padding_mask)
        return self.out(h)  # [batch, tgt_len, vocab]: position t predicts token t + 1


def seq2seq(out: str) -> float:
    specials = ["[PAD]", "<s>", "</s>", "[UNK]"]
    names = specials + WORDS + [str(d) for d in range(10)]
    vocab = {name: i for i, name in enumerate(names)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])])
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("".join(name + "\n" for name in names))

    def pair(digits):
        return [1] + [vocab[WORDS[d]] for d in digits] + [2], [1] + [vocab[str(d)] for d in digits] + [2]

    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    model = Seq2Seq(len(names))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = time.process_time()
    for step in range(300):
        lengths = torch.randint(2, 8, (64,), generator=generator)
        sources, targets = [], []
        for n in lengths.tolist():
            s, t = pair(torch.randint(0, 10, (n,), generator=generator).tolist())
            sources.append(s)
            targets.append(t)
        width = max(map(len, sources))
        src = torch.tensor([s + [0] * (width - len(s)) for s in sources])
        tgt = torch.tensor([t + [0] * (width - len(t)) for t in targets])
        logits = model(src, tgt[:, :-1], src == 0)
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(names)), tgt[:, 1:].reshape(-1), ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.process_time() - start
    model.eval()
    scripted = torch.jit.script(model)
    scripted.save(os.path.join(out, "seq2seq.pt"))

    loaded = torch.jit.load(os.path.join(out, "seq2seq.pt")).eval()
    cases = []
    for digits in SEQ2SEQ_TESTS:
        text, tgt_text = " ".join(WORDS[d] for d in digits), " ".join(map(str, digits))
        src, tgt = tok.encode(text), tok.encode(tgt_text)
        with torch.no_grad():
            logits = loaded(torch.tensor([src.ids]), torch.tensor([tgt.ids]))[0]  # [tgt_len, vocab]
        cases.append({"text": text, "tgt_text": tgt_text, "src_tokens": src.tokens, "tgt_tokens": tgt.tokens,
                      "src_ids": src.ids, "tgt_ids": tgt.ids,
                      "predicted": [names[i] for i in logits.argmax(-1).tolist()],
                      "logits_first_row": logits[0].tolist()})
    layers = [f"transformer.encoder.layers.{i}.self_attn" for i in range(2)]
    for i in range(2):
        layers += [f"transformer.decoder.layers.{i}.self_attn", f"transformer.decoder.layers.{i}.multihead_attn"]
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"cases": cases, "layers": layers, "positions": 16}, f, indent=1)
    return seconds


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    target = os.path.abspath(sys.argv[1])
    work = f"{target}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    for name in ("sentiment", "seq2seq"):
        os.makedirs(os.path.join(work, name))
    torch.set_num_threads(1)
    timings = {"sentiment_training_seconds": sentiment(os.path.join(work, "sentiment")),
               "seq2seq_training_seconds": seq2seq(os.path.join(work, "seq2seq"))}
    with open(os.path.join(work, "timings.json"), "w") as f:
        json.dump(timings, f)
    shutil.rmtree(target, ignore_errors=True)
    try:
        os.rename(work, target)
    except OSError:  # another run finished first: its models are as good as these
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
