"""Trains the small tokenizers the tokenizer tests use, from training.txt (nothing is
downloaded), and writes them to data/. Run it again only to change them; the files are
committed. Needs the versions test/requirements.txt pins:

    .venv/bin/python test/tokenizer/make_tokenizers.py [--out DIR]   # default: data/

The WordPiece and SentencePiece trainers number some tokens in hash order, so a new run
gives other (equally valid) files: the committed ones are what the tests use, and the
expected results are always made from them by HF itself (reference.py).

Each file exercises a different tokenizer.json pipeline, shaped like a real model's:
  bert_wordpiece.json     BERT uncased: BertNormalizer, BertPreTokenizer, WordPiece,
                          TemplateProcessing; added tokens [MASK] (special) and "attnhook"
  cased_wordpiece.json    NFKC + Strip + Replace, WhitespaceSplit/Punctuation/Digits,
                          WordPiece with max_input_chars_per_word 20, BertProcessing;
                          single_word and rstrip added tokens
  roberta_bpe.json        RoBERTa: ByteLevel (add_prefix_space), BPE, RobertaProcessing,
                          <mask> with lstrip
  gpt2_bpe.json           GPT-2: ByteLevel without prefix space, ByteLevel post-processor,
                          truncation and padding sections in the file
  llama3_bpe.json         Llama 3: Split on Llama 3's regex + ByteLevel, BPE with
                          ignore_merges, Sequence[ByteLevel, TemplateProcessing]
  llama2_bpe.json         Llama 2 (tokenizer.json form): Prepend + Replace normalizers,
                          no pre-tokenizer, BPE with byte_fallback and fuse_unk
  metaspace_wordlevel.json  NFKD + StripAccents + Lowercase, Metaspace, WordLevel
  misc_wordpiece.json     NFC + Replace(regex) + Strip(left), Split with String and Regex
                          patterns in every behavior (one inverted), CharDelimiterSplit;
                          no post-processor
  subword_bpe.json        classic (not byte-level) BPE: Whitespace pre-tokenizer, unk_token,
                          continuing_subword_prefix "##", end_of_word_suffix "</w>"
  unigram.model           SentencePiece unigram model (T5 / Llama 2 .model files)
"""
import argparse
import json
import os

import sentencepiece as spm
from tokenizers import (AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers,
                        processors, trainers)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
TRAINING = os.path.join(HERE, "training.txt")

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def lines():
    with open(TRAINING, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def save(tok, name):
    tok.save(os.path.join(DATA, name), pretty=False)


def bert_wordpiece():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(lines(), trainers.WordPieceTrainer(vocab_size=700, special_tokens=specials))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.add_tokens(["attnhook"])  # a normal added token, matched after normalization
    save(tok, "bert_wordpiece.json")


def cased_wordpiece():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=20))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKC(), normalizers.Strip(), normalizers.Replace("``", '"')])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
        pre_tokenizers.Digits(individual_digits=True)])
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tok.train_from_iterator(lines(), trainers.WordPieceTrainer(vocab_size=600, special_tokens=specials))
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    tok.add_tokens([AddedToken("yes", single_word=True), AddedToken("hello world", rstrip=True)])
    save(tok, "cased_wordpiece.json")


def roberta_bpe():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok.train_from_iterator(lines(), trainers.BpeTrainer(
        vocab_size=700, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
        trim_offsets=True, add_prefix_space=True)
    save(tok, "roberta_bpe.json")


def gpt2_bpe():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(lines(), trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    # The file's own sections: every encode of this tokenizer is cut and padded to 48.
    tok.enable_truncation(max_length=48)
    tok.enable_padding(length=48, pad_id=tok.token_to_id("<|endoftext|>"),
                       pad_token="<|endoftext|>")
    save(tok, "gpt2_bpe.json")


def llama3_bpe():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    tok.train_from_iterator(lines(), trainers.BpeTrainer(
        vocab_size=800, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A",
            pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
            special_tokens=[("<|begin_of_text|>", bos)])])
    save(tok, "llama3_bpe.json")


def llama2_bpe():
    # Trained with the Metaspace view of the text, then rebuilt the way Llama 2's
    # tokenizer.json is: normalizers do the "▁" work, byte tokens are plain vocabulary.
    trained = Tokenizer(models.BPE(unk_token="<unk>"))
    trained.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    trained.train_from_iterator(lines(), trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<unk>", "<s>", "</s>"], max_token_length=8))
    model = json.loads(trained.to_str())["model"]
    vocab = dict(model["vocab"])
    for b in range(256):
        vocab.setdefault("<0x%02X>" % b, len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    tok = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = trained.normalizer
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s>:1 $B:1", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    save(tok, "llama2_bpe.json")


def metaspace_wordlevel():
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.train_from_iterator(lines(), trainers.WordLevelTrainer(
        vocab_size=400, special_tokens=["<unk>", "<pad>"]))
    save(tok, "metaspace_wordlevel.json")


def misc_wordpiece():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFC(), normalizers.Replace(Regex(r"[0-9]{3,}"), "000"),
        normalizers.Strip(left=True, right=False)])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("-", behavior="merged_with_previous"),
        pre_tokenizers.Split("/", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"[.,;]"), behavior="contiguous"),
        pre_tokenizers.Split("|", behavior="removed"),
        pre_tokenizers.Split(Regex(r"[^'!?]+"), behavior="isolated", invert=True),
        pre_tokenizers.CharDelimiterSplit("_"),
        pre_tokenizers.WhitespaceSplit()])
    tok.train_from_iterator(lines(), trainers.WordPieceTrainer(vocab_size=600,
                                                               special_tokens=["[UNK]"]))
    save(tok, "misc_wordpiece.json")


def subword_bpe():
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##",
                               end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(lines(), trainers.BpeTrainer(
        vocab_size=500, special_tokens=["[UNK]", "[CLS]", "[SEP]"], limit_alphabet=60,
        continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    save(tok, "subword_bpe.json")


def unigram_model():
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines()), model_prefix=os.path.join(DATA, "unigram"),
        vocab_size=400, model_type="unigram", character_coverage=0.98, pad_id=3,
        bos_id=1, eos_id=2, unk_id=0, minloglevel=2, num_threads=1,
        normalization_rule_name="identity", add_dummy_prefix=True)  # as Llama 2; no 240 KB NFKC table
    os.remove(os.path.join(DATA, "unigram.vocab"))


def main():
    global DATA
    parser = argparse.ArgumentParser(description="Trains the tokenizer test files.")
    parser.add_argument("--out", default=DATA, help="where to write them (default: data/)")
    parser.add_argument("--only", help="make only this one (e.g. misc_wordpiece)")
    args = parser.parse_args()
    DATA = args.out
    os.makedirs(DATA, exist_ok=True)
    for make in (bert_wordpiece, cased_wordpiece, roberta_bpe, gpt2_bpe, llama3_bpe, llama2_bpe,
                 metaspace_wordlevel, misc_wordpiece, subword_bpe, unigram_model):
        if args.only is None or args.only == make.__name__:
            make()
    for name in sorted(os.listdir(DATA)):
        print(name, os.path.getsize(os.path.join(DATA, name)))


if __name__ == "__main__":
    main()
