// The flags of `attnhook extract` and its --help: what each input flag means, the order
// in which inputs reach forward(), and which flags go together (a wrong combination is a
// usage error, exit code 2).
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "validators.h"

namespace attnhook::cli {

namespace {

const char* const kExtractFooter = R"(
Inputs reach the model's forward() by parameter name (--forward-args auto): the first
parameter gets the token ids [1, len]; attention_mask the attention mask (int64, 1 token,
0 padding); token_type_ids the token type ids; *padding_mask / *pad_mask the padding mask
(bool, true at padding: torch.nn's src_key_padding_mask); decoder_input_ids, tgt, tgt_ids
or target_ids the decoder input (--tgt-ids / --tgt-text), decoder_attention_mask or
tgt_attention_mask its mask. Other parameters keep their defaults. --forward-args
ids,mask,type_ids (kinds: ids, mask, pad_mask, type_ids, tgt_ids, tgt_mask, tgt_pad_mask)
passes the listed inputs positionally instead. --input-tensor files are passed
positionally, in the order given.

--inputs-file takes JSON Lines, one input per line: {"text": "...", "text_pair"?: "...",
"tgt_text"?: "..."} (tokenized with --tokenizer) or {"ids": [...], "mask"?: [...],
"type_ids"?: [...], "tokens"?: [...], "tgt_ids"?: [...], "tgt_mask"?: [...],
"tgt_tokens"?: [...]}; a line of comma-separated ids is read as {"ids": [...]}. It writes
<stem>.<n>.<ext> per line (n from 0) and draws a progress bar when stderr is a terminal.

The file keeps the model's outputs ("outputs") and its prediction: arg-max over the last
dimension of the output named logits, else of the first floating-point output, with its
softmax probability and, with --labels, the class name.

--image cat.png passes the picture to forward()'s first parameter as a float32 tensor
[1, 3, size, size]: resized to --image-size (area average when shrinking, linear when
enlarging; the aspect is not kept, as Hugging Face's ViTImageProcessor does), scaled to
0..1 and normalised per channel with --image-mean and --image-std (default ImageNet's).

The patch grid (for attnhook overlay) is stored in the file when the input is an image
tensor [B, C, H, W] (--image, --input-tensor) and the model has a Conv2d patch embedding
(the first Conv2d over C channels whose kernel equals its stride, no padding): the grid is
(H / kernel) x (W / kernel), the prefix tokens (class token, registers) the keys before
the patches. When it cannot be told, nothing is stored and stderr says why; --patch-grid
RxC [--prefix-tokens N] stores a grid of your own.

Example: attnhook extract --model vit.pt --image cat.png --image-size 224 -o attn.json
Example: attnhook extract --model classifier.pt --tokenizer tokenizer.json --text "a great film" --labels labels.txt -o attn.json
Example: attnhook extract --model bert.pt --tokenizer tokenizer.json --text "hello world" --max-length 16 --padding max_length --truncation -o attn.json
Example: attnhook extract --model seq2seq.pt --tokenizer tokenizer.json --text "three one four" --tgt-text "3 1 4" -o attn.json
Example: attnhook extract --model bert.pt --ids 101,7592,2088,102,0 --mask 1,1,1,1,0 --tokens "[CLS] hello world [SEP] [PAD]" -o attn.json)";

// --image-mean / --image-std: three numbers r,g,b (`positive`: each > 0).
CLI::Validator three_numbers(bool positive, const char* example) {
  return text_check(
      [positive](const std::string& text) {
        const auto numbers = parse_numbers(text, 3);
        bool good = numbers.has_value();
        for (size_t c = 0; good && positive && c < 3; ++c) good = (*numbers)[c] > 0;
        return good;
      },
      fmt::format("'{{}}' is not three {}numbers r,g,b (e.g. {})", positive ? "positive " : "",
                  example),
      "R,G,B");
}

}  // namespace

CLI::App* add_extract_command(CLI::App& app, ExtractArgs& args) {
  auto* command =
      app.add_subcommand("extract",
                         "Run a TorchScript model once per input and save every attention call, "
                         "its outputs and its prediction");
  command->footer(kExtractFooter);
  command
      ->add_option("--model", args.model, "TorchScript file (torch.jit.script / torch.jit.trace)")
      ->required();

  auto* input = command->add_option_group("input", "The model's input (exactly one)");
  auto* text = input->add_option("--text", args.text,
                                 "Text, tokenized with --tokenizer; tokens become the labels");
  auto* ids = input->add_option("--ids", args.ids,
                                "Token ids of one input: 101,2023,2003 (a [1, len] tensor)");
  auto* tensors =
      input->add_option("--input-tensor", args.input_tensors,
                        "A torch.save'd tensor; repeat for each forward() argument, in order");
  // One value a flag, taken as is: CLI11 would otherwise read "[CLS] a [SEP]" as a list.
  tensors->allow_extra_args(false);
  auto* inputs_file =
      input->add_option("--inputs-file", args.inputs_file,
                        "JSON Lines, one input per line (see below); writes <stem>.<n>.<ext>");
  auto* image = input->add_option(
      "--image", args.image,
      "A picture (PNG or JPEG) for a vision model: resized, normalised, passed as "
      "[1, 3, size, size]");
  input->require_option(1);
  auto* tokenizer = command->add_option("--tokenizer", args.tokenizer,
                                        "Hugging Face tokenizer.json, or a SentencePiece .model");
  text->needs(tokenizer);
  command
      ->add_option("--text-pair", args.text_pair,
                   "Second text of a pair ([CLS] text [SEP] pair [SEP])")
      ->needs(text);
  auto* tgt_text = command->add_option("--tgt-text", args.tgt_text,
                                       "Decoder input as text, tokenized with --tokenizer");
  tgt_text->needs(tokenizer)->excludes(tensors)->excludes(inputs_file)->excludes(image);
  command->add_flag("--add-bos", args.add_bos, "SentencePiece .model: prepend <s>")
      ->needs(tokenizer);
  command->add_flag("--add-eos", args.add_eos, "SentencePiece .model: append </s>")
      ->needs(tokenizer);
  auto* max_length = command
                         ->add_option("--max-length", args.max_length,
                                      "Most tokens a text may have (with special tokens)")
                         ->check(CLI::PositiveNumber)
                         ->needs(tokenizer);
  command
      ->add_option("--padding", args.padding,
                   "max_length: pad every text to --max-length (padding is masked)")
      ->check(CLI::IsMember({"none", "max_length"}))
      ->needs(max_length)
      ->capture_default_str();
  command
      ->add_flag("--truncation", args.truncation,
                 "Cut texts longer than --max-length instead of failing")
      ->needs(max_length);

  command->add_option("--mask", args.mask, "Attention mask of --ids: 1,1,1,0 (0 = padding)")
      ->needs(ids);
  command->add_option("--type-ids", args.type_ids, "Token type ids of --ids: 0,0,1,1")->needs(ids);
  auto* tgt_ids = command->add_option("--tgt-ids", args.tgt_ids, "Decoder input ids: 0,5,6,7");
  tgt_ids->excludes(tgt_text)->excludes(tensors)->excludes(inputs_file)->excludes(image);
  command->add_option("--tgt-mask", args.tgt_mask, "Attention mask of --tgt-ids")->needs(tgt_ids);

  command->add_option("--image-size", args.image_size, "Pixels a side the picture is resized to")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->needs(image);
  command
      ->add_option("--image-mean", args.image_mean,
                   "Per-channel mean subtracted from the 0..1 pixels")
      ->capture_default_str()
      ->check(three_numbers(false, "0.485,0.456,0.406"))
      ->needs(image);
  command
      ->add_option("--image-std", args.image_std,
                   "Per-channel standard deviation the pixels are divided by")
      ->capture_default_str()
      ->check(three_numbers(true, "0.229,0.224,0.225"))
      ->needs(image);
  auto* patch_grid =
      command
          ->add_option("--patch-grid", args.patch_grid,
                       "The patch grid stored for attnhook overlay, e.g. 14x14 (default: detected)")
          ->check(patch_grid_text());
  command
      ->add_option(
          "--prefix-tokens", args.prefix_tokens,
          "Tokens before the patches (default: the keys the grid leaves, 1 for a class token)")
      ->check(CLI::NonNegativeNumber)
      ->needs(patch_grid);

  auto* tokens = command->add_option(
      "--tokens", args.tokens,
      "Token labels, space separated; repeat for each token input (forward order: "
      "the input, then the decoder input or the next --input-tensor)");
  tokens->allow_extra_args(false)->excludes(image);
  command->add_option("--tokens-file", args.tokens_file, "Labels of the first input, one per line")
      ->excludes(tokens)
      ->excludes(image);
  command->add_option("--tgt-tokens", args.tgt_tokens,
                      "Labels of the decoder input, space separated");
  command
      ->add_option(
          "--forward-args", args.forward_args,
          "auto (by parameter name, see below) or the inputs in order: ids,mask,type_ids,...")
      ->capture_default_str()
      ->excludes(image);
  command->add_option("--labels", args.labels,
                      "Class names, one per line: the prediction gets its name");
  command->add_flag("--no-outputs", args.no_outputs,
                    "Keep only the prediction, not the output tensors");
  command->add_option("--layers", args.layers,
                      "RE2 pattern over module names (default: every attention module)");
  command->add_option("--device", args.device, "cpu or cuda")->capture_default_str();
  command->add_option("-o,--output", args.output, "attn.json or attn.npz (directories are created)")
      ->required();
  command
      ->add_option(
          "--schema", args.schema,
          "attn.json schema: attnhook (every call, every batch item, masks, outputs) or flat "
          "({tokens, text, attention_matrices[layer][head][i][j]}: batch item 0, a call per entry)")
      ->capture_default_str();
  return command;
}

}  // namespace attnhook::cli
