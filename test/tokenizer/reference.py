"""Writes what HF `tokenizers` (and Python `sentencepiece`) make of corpus.txt, for
attnhook_tokenizer_tests to compare with, field by field:

    python reference.py --out <dir>     # writes <dir>/encodings.json, <dir>/char_classes.json

corpus.txt holds one text per line; a line starting with "\\e " is escaped (\\n \\r \\t \\\\
\\xHH \\uHHHH \\UHHHHHHHH) so that texts can hold newlines and invisible characters. The
decoded texts go into encodings.json: the C++ test reads them from there.

Per tokenizer of data/ and per corpus line i (text, and the next line as its pair):
  single             encode(text)
  single_plain       encode(text, add_special_tokens=False)
  pair               encode(text, next)
  pair_plain         encode(text, next, add_special_tokens=False)   (even lines)
  cut                truncation + padding to 6..16 (sides and pad_to_multiple_of vary)
  pair_cut           the same for the pair, strategy longest_first / only_first / only_second
Offsets are HF's Python offsets (code points); "byte_offsets" are the same converted to
UTF-8 bytes here. A case HF refuses (truncation that cannot fit) is {"error": message}.

char_classes.json: for every code point, what HF's BERT normalizer and pre-tokenizer,
StripAccents, Lowercase and the GPT-2 byte-level regex do with it, as ranges (each test
string is "a" + c + "b" or c alone, so that the C++ side can run the same strings).
"""
import argparse
import json
import os
import re
import sys

try:
    import google.protobuf  # noqa: F401  (sentencepiece needs it for out_type="proto")
    import sentencepiece as spm
    import tokenizers
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
except ImportError as missing:
    sys.exit(f"reference.py: {missing}: install test/requirements.txt into the project's .venv "
             "(tokenizers==0.23.3, sentencepiece==0.2.3, protobuf==7.36.2)")

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
JSON_TOKENIZERS = ["bert_wordpiece", "cased_wordpiece", "roberta_bpe", "gpt2_bpe", "llama3_bpe",
                   "llama2_bpe", "metaspace_wordlevel", "misc_wordpiece", "subword_bpe"]
SENTENCEPIECE = {"unigram_bos": {"add_bos": True, "add_eos": False},
                 "unigram_eos": {"add_bos": False, "add_eos": True}}


def unescape(line):
    def repl(m):
        s = m.group(0)
        if s == "\\\\":
            return "\\"
        if s in ("\\n", "\\r", "\\t"):
            return {"\\n": "\n", "\\r": "\r", "\\t": "\t"}[s]
        return chr(int(s[2:], 16))
    return re.sub(r"\\\\|\\[nrt]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}", repl, line)


def read_corpus():
    with open(os.path.join(HERE, "corpus.txt"), encoding="utf-8", newline="\n") as f:
        raw = f.read().split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    return [unescape(line[3:]) if line.startswith("\\e ") else line for line in raw]


def byte_offsets(text, offsets, sequence_ids, pair_text):
    out = []
    for (start, end), seq in zip(offsets, sequence_ids):
        source = pair_text if seq == 1 else text
        out.append([len(source[:start].encode("utf-8")), len(source[:end].encode("utf-8"))])
    return out


def encoding_dict(e, text, pair_text):
    seq = [-1 if s is None else s for s in e.sequence_ids]
    return {
        "ids": e.ids, "tokens": e.tokens, "offsets": [list(o) for o in e.offsets],
        "byte_offsets": byte_offsets(text, e.offsets, seq, pair_text),
        "attention_mask": e.attention_mask, "type_ids": e.type_ids,
        "special_tokens_mask": e.special_tokens_mask, "sequence_ids": seq,
        "word_ids": [-1 if w is None else w for w in e.word_ids],
    }


def pad_token_for(tok, spec):
    """The rule attnhook documents: the file's pad token, else [PAD], else <pad>."""
    padding = spec.get("padding")
    if padding:
        return padding["pad_token"], padding.get("pad_type_id", 0)
    for candidate in ("[PAD]", "<pad>"):
        if tok.token_to_id(candidate) is not None:
            return candidate, 0
    return None, 0


def cases_for(i, texts):
    n = len(texts)
    j = (i + 1) % n
    cases = [{"name": "single", "text": i, "pair": None, "options": {}},
             {"name": "single_plain", "text": i, "pair": None,
              "options": {"add_special_tokens": False}},
             {"name": "pair", "text": i, "pair": j, "options": {}}]
    if i % 2 == 0:
        cases.append({"name": "pair_plain", "text": i, "pair": j,
                      "options": {"add_special_tokens": False}})
    cut = {"truncation": True, "padding": True, "max_length": 6 + i % 11,
           "truncation_side": "left" if i % 3 == 1 else "right",
           "padding_side": "left" if i % 4 == 3 else "right",
           "pad_to_multiple_of": 8 if i % 5 == 4 else 0}
    cases.append({"name": "cut", "text": i, "pair": None, "options": cut})
    pair_cut = dict(cut, max_length=8 + i % 13,
                    strategy=["longest_first", "only_first", "only_second"][i % 3])
    cases.append({"name": "pair_cut", "text": i, "pair": j, "options": pair_cut})
    return cases


def run_json_case(path, spec, case, texts):
    tok = Tokenizer.from_file(path)
    o = case["options"]
    if o.get("truncation"):
        tok.enable_truncation(o["max_length"], strategy=o.get("strategy", "longest_first"),
                              direction=o.get("truncation_side", "right"))
    if o.get("padding"):
        token, type_id = pad_token_for(tok, spec)
        if token is None:  # no pad token by the rule: name one, as a caller must
            token = o["pad_token"] = [t["content"] for t in spec["added_tokens"]][-1]
        tok.enable_padding(direction=o.get("padding_side", "right"), pad_id=tok.token_to_id(token),
                           pad_type_id=type_id, pad_token=token, length=o["max_length"],
                           pad_to_multiple_of=o.get("pad_to_multiple_of") or None)
    text = texts[case["text"]]
    pair = texts[case["pair"]] if case["pair"] is not None else None
    try:
        e = tok.encode(text, pair, add_special_tokens=o.get("add_special_tokens", True))
    except Exception as error:  # HF refuses: the C++ side must refuse too
        return {"error": str(error)}
    return encoding_dict(e, text, pair)


def sentencepiece_case(sp, load, case, texts):
    """[<s>] A [</s>] ([<s>] B [</s>]) around sentencepiece's own pieces and offsets."""
    add = case["options"].get("add_special_tokens", True)
    out = {k: [] for k in ("ids", "tokens", "offsets", "byte_offsets", "attention_mask",
                           "type_ids", "special_tokens_mask", "sequence_ids")}
    def special(piece_id, type_id):
        for k, v in (("ids", piece_id), ("tokens", sp.id_to_piece(piece_id)), ("offsets", [0, 0]),
                     ("byte_offsets", [0, 0]), ("attention_mask", 1), ("type_ids", type_id),
                     ("special_tokens_mask", 1), ("sequence_ids", -1)):
            out[k].append(v)
    sequences = [case["text"]] + ([case["pair"]] if case["pair"] is not None else [])
    for seq, index in enumerate(sequences):
        text = texts[index]
        raw = text.encode("utf-8")
        if add and load["add_bos"]:
            special(sp.bos_id(), seq)
        for p in sp.encode(text, out_type="proto").pieces:
            chars = [len(raw[:p.begin].decode("utf-8")), len(raw[:p.end].decode("utf-8"))]
            for k, v in (("ids", p.id), ("tokens", p.piece), ("offsets", chars),
                         ("byte_offsets", [p.begin, p.end]), ("attention_mask", 1),
                         ("type_ids", seq), ("special_tokens_mask", 0), ("sequence_ids", seq)):
                out[k].append(v)
        if add and load["add_eos"]:
            special(sp.eos_id(), seq)
    return out


def encodings(texts):
    result = {"tokenizers_version": tokenizers.__version__, "sentencepiece_version": spm.__version__,
              "texts": texts, "tokenizers": []}
    for name in JSON_TOKENIZERS:
        path = os.path.join(DATA, name + ".json")
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        cases = []
        for i in range(len(texts)):
            for case in cases_for(i, texts):
                case["expected"] = run_json_case(path, spec, case, texts)
                cases.append(case)
        tok = Tokenizer.from_file(path)
        post = tok.post_processor
        info = {"vocab_size": tok.get_vocab_size(with_added_tokens=True),
                "vocab": tok.get_vocab(with_added_tokens=True),
                "special_tokens_single": post.num_special_tokens_to_add(False) if post else 0,
                "special_tokens_pair": post.num_special_tokens_to_add(True) if post else 0}
        result["tokenizers"].append({"name": name, "file": name + ".json", "info": info,
                                     "cases": cases})
    sp = spm.SentencePieceProcessor(model_file=os.path.join(DATA, "unigram.model"))
    for name, load in SENTENCEPIECE.items():
        cases = []
        for i in range(len(texts)):
            for case in cases_for(i, texts):
                if case["name"] in ("cut", "pair_cut"):
                    continue  # tokenization and <s>/</s> only: truncation is tested above
                case["expected"] = sentencepiece_case(sp, load, case, texts)
                cases.append(case)
        result["tokenizers"].append({"name": name, "file": "unigram.model", "load": load,
                                     "cases": cases})
    return result


def to_ranges(code_points):
    ranges = []
    for c in code_points:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return ranges


def char_classes():
    every = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=False)
    strip = normalizers.StripAccents()
    bert_strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                            strip_accents=True, lowercase=False)
    lower = normalizers.Lowercase()
    forms = {name: getattr(normalizers, name)() for name in ("NFD", "NFKD", "NFC", "NFKC")}
    form_maps = {name: {} for name in forms}
    removed, whitespace, accents, bert_accents, lowercase = [], [], [], [], {}
    for c in every:
        s = clean.normalize_str("a" + chr(c) + "b")
        if s == "ab":
            removed.append(c)
        elif s == "a b" and c != 0x20:
            whitespace.append(c)
        if strip.normalize_str(chr(c)) == "":
            accents.append(c)
        if bert_strip.normalize_str("a" + chr(c) + "b") == "ab":
            bert_accents.append(c)
        low = lower.normalize_str(chr(c))
        if low != chr(c):
            lowercase[c] = [ord(x) for x in low]
        for name, form in forms.items():
            out = form.normalize_str(chr(c))
            if out != chr(c):
                form_maps[name][str(c)] = [ord(x) for x in out]

    def joined_with(pre, prefix, width):
        """Code points that stay in the same piece as `prefix` (the unit is "\\n" + prefix + c)."""
        units = "".join("\n" + prefix + chr(c) for c in every)
        starts = {}
        for piece, (start, end) in pre.pre_tokenize_str(units):
            starts[start] = end
        joined = []
        for k, c in enumerate(every):
            at = k * width + 1  # where prefix starts
            if starts.get(at, at) >= at + 2:
                joined.append(c)
        return joined

    bert = pre_tokenizers.BertPreTokenizer()
    gpt2 = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    # BERT: "a" + c stays one word unless c is punctuation (split off) or whitespace.
    bert_word = set(joined_with(bert, "a", 3))
    punctuation = [c for c in every if c not in bert_word and c not in set(whitespace) | {0x20}]
    return {
        "bert_removed": to_ranges(removed),
        "bert_whitespace": to_ranges(whitespace),
        "bert_punctuation_or_space": to_ranges(punctuation),
        "strip_accents": to_ranges(accents),
        "bert_strip_accents": to_ranges(bert_accents),
        "lowercase": {str(k): v for k, v in lowercase.items()},
        "normal_forms": form_maps,
        "gpt2_letter": to_ranges(joined_with(gpt2, "a", 3)),
        "gpt2_number": to_ranges(joined_with(gpt2, "1", 3)),
        "gpt2_other": to_ranges(joined_with(gpt2, "!", 3)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    texts = read_corpus()
    with open(os.path.join(args.out, "encodings.json"), "w", encoding="utf-8") as f:
        json.dump(encodings(texts), f, ensure_ascii=False)
    with open(os.path.join(args.out, "char_classes.json"), "w", encoding="utf-8") as f:
        json.dump(char_classes(), f)
    print(f"tokenizers {tokenizers.__version__}, sentencepiece {spm.__version__}: "
          f"{len(texts)} corpus lines -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
