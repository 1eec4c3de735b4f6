// Writes a viewer page from src/view/viewer.html without the CLI, substituting the payload
// exactly as `attnhook html` does, so the browser test can run before (and apart from) it.
//
//   node make_sample.mjs out.html            // 2 self-attention calls 4×6×6 + cross 4×5×7
//   node make_sample.mjs out.html --big      // 12 layers × 12 heads × 128 tokens (load check)
//   node make_sample.mjs out.html --template path/to/viewer.html
//   node make_sample.mjs --attn-json attn.json   // the sample as attnhook's attn.json, for
//                                                // `attnhook html` (the CLI path of the test)
//
// Values are deterministic (seeded PRNG + softmax), so screenshots are comparable run to run.
import {readFileSync, writeFileSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const PLACEHOLDER = "/*ATTNHOOK_DATA*/null";

// The escaping the CLI applies: `</` cannot close the script element and the comment
// opener cannot switch the HTML parser into the state where it skips `</script>`.
export function escapePayload(json) {
  return json.replace(/<\//g, "<\\/").replace(/<!--/g, "\\u003c!--");
}

export function fillTemplate(template, payload) {
  const first = template.indexOf(PLACEHOLDER);
  if (first < 0 || template.indexOf(PLACEHOLDER, first + 1) >= 0)
    throw new Error(`template must contain ${PLACEHOLDER} exactly once`);
  const json = escapePayload(JSON.stringify(payload));
  return template.slice(0, first) + json + template.slice(first + PLACEHOLDER.length);
}

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// [heads][T][S], rows softmax-normalised; each head has its own pattern (diagonal,
// previous token, first token, broad) plus noise, so heads look different when drawn.
function attention(random, heads, T, S) {
  return Array.from({length: heads}, (_, h) => Array.from({length: T}, (_, i) => {
    const diagonal = Math.round((i * (S - 1)) / Math.max(T - 1, 1));
    const logits = Array.from({length: S}, (_, j) => {
      const pattern = [j === diagonal, j === diagonal - 1, j === 0, false][h % 4] ? 3 : 0;
      return pattern + 1.5 * random();
    });
    const most = Math.max(...logits);
    const exps = logits.map((x) => Math.exp(x - most));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((x) => Number((x / sum).toFixed(5)));
  }));
}

export function samplePayload() {
  const random = mulberry32(42);
  const sentence = ["[CLS]", "the", "cat", "sat", "</script>", "[SEP]"];
  const source = ["the", "cat", "is", "sleeping", "<!--<script>", ".", "</s>"];
  const target = ["<s>", "le", "chat", "dort", "</s>"];
  return {
    title: "sample_model.pt",
    layers: [
      // One module called twice (weights shared across depth, as in ALBERT).
      {name: "encoder.layer.self_attn", call: 0, tgt_tokens: sentence, src_tokens: sentence,
       heads: attention(random, 4, 6, 6)},
      {name: "encoder.layer.self_attn", call: 1, tgt_tokens: sentence, src_tokens: sentence,
       heads: attention(random, 4, 6, 6)},
      {name: "decoder.layers.0.multihead_attn", call: 0, tgt_tokens: target, src_tokens: source,
       heads: attention(random, 4, 5, 7)},
    ],
  };
}

export function bigPayload(layers = 12, heads = 12, tokens = 128) {
  const random = mulberry32(7);
  const words = Array.from({length: tokens}, (_, i) => (i === 0 ? "[CLS]" : `tok${i}`));
  return {
    title: `big_${layers}x${heads}x${tokens}.pt`,
    layers: Array.from({length: layers}, (_, l) => ({
      name: `encoder.layers.${l}.self_attn`, call: 0, tgt_tokens: words, src_tokens: words,
      heads: attention(random, heads, tokens, tokens),
    })),
  };
}

// The sample payload as attnhook's attn.json (version 1): the CLI turns it back into the
// same page. Tokens are file-wide there: the cross-attention layer's keys are its
// src_tokens, its queries (5, matching no token list) get index labels.
export function sampleAttnJson() {
  const payload = samplePayload();
  const layers = [];
  for (const layer of payload.layers) {
    let entry = layers.find((l) => l.name === layer.name);
    if (!entry) layers.push(entry = {name: layer.name, calls: []});
    const H = layer.heads.length, T = layer.heads[0].length, S = layer.heads[0][0].length;
    entry.calls.push({shape: [1, H, T, S], values: layer.heads.flat(2)});
  }
  return {format: "attnhook", version: 1, model: payload.title, text: "",
          tokens: payload.layers[0].tgt_tokens, src_tokens: payload.layers[2].src_tokens, layers};
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === "--attn-json" && args[1]) {
    writeFileSync(args[1], JSON.stringify(sampleAttnJson()));
    console.log(`wrote ${args[1]}`);
    process.exit(0);
  }
  const out = args.find((a, k) => !a.startsWith("--") && args[k - 1] !== "--template");
  if (!out) {
    console.error("usage: node make_sample.mjs out.html [--big] [--template viewer.html]");
    process.exit(2);
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const templateAt = args.includes("--template") ? args[args.indexOf("--template") + 1]
                                                 : join(here, "..", "..", "src", "view", "viewer.html");
  const payload = args.includes("--big") ? bigPayload() : samplePayload();
  writeFileSync(out, fillTemplate(readFileSync(templateAt, "utf8"), payload));
  console.log(`wrote ${out} (${payload.layers.length} layers)`);
}
