// Rendering attention weights to PNG: a grid of every head of one layer, one head, every
// head of every layer (the model view), or a ViT's attention over its input picture.
//
//   // weights: [batch, heads, tgt_len, src_len]
//   attnhook::save_attention_grid(weights, "layer0.png",
//       attnhook::GridOptions()
//           .tokens(tokens)       // default none: labels of rows and columns (self-attention)
//           .tgt_tokens(queries)  // default none: row labels (queries); overrides tokens
//           .src_tokens(keys)     // default none: column labels (keys); overrides tokens
//           .title("layers.0")    // default "": no title line
//           .batch(0)             // default 0: which sample of the batch
//           .heads({0, 3})        // default {}: every head, in order (grid only)
//           .colormap(attnhook::Colormap::kViridis)  // default kViridis
//           .vmin(0.0)            // default none: 0, or the smallest weight if one is negative
//           .vmax(1.0)            // default none: the largest weight shown (vmin + 1 if that
//                                 //   is not above vmin)
//           .columns(4)           // default 0: ceil(sqrt(heads shown))
//           .cell_size(3));       // default 0: automatic; pixels a token, cells are square
//
// Picture: row i is query (target) position i, column j is key (source) position j, so
// a cell is how much query i attends to key j. Every heatmap is titled "head h" (h is
// the index in the tensor), carries the token labels on both axes (columns rotated to
// read upwards; labels longer than 16 characters are cut; when cells are smaller than
// the text, only every k-th position is labelled, k in 1, 2, 5, 10, 20, 50, ...), and
// shares one colour scale, drawn as a colorbar with tick values on the right. A line
// under the title states the batch index and the axis lengths. Weights outside
// [vmin, vmax] take the end colours. Text uses CImg's built-in font, which draws Latin-1:
// the word-start marks 'Ġ' (GPT-2) and '▁' (SentencePiece) are drawn as '_', a newline in a
// token as \n, other characters outside Latin-1 as '?'. Output: 8-bit RGB PNG, white
// background.
//
// Automatic cell size: about 384 pixels for the longer axis of each grid heatmap
// (1..24 pixels a token) and 640 for a single heatmap (1..48 pixels a token).
//
// Inputs: any floating dtype, any device (copied to CPU float32 for drawing).
// Errors are attnhook::Error naming the bad value: wrong rank (the shape is quoted),
// empty tensor, non-floating dtype, batch or head out of range, a token list whose
// length is not tgt_len / src_len, NaN or Inf among the weights shown (with its index),
// a bad option (negative columns or cell_size, vmin >= vmax, non-finite vmin/vmax), an
// image too large (over 32768 pixels a side), and a path that cannot be written. Nothing
// is written on error: the picture is drawn in memory, written to a temporary file in the
// same directory, and renamed over `path` only when complete. `path` "-" is standard
// output; a symbolic link is followed (its target is replaced, the link stays); a device
// or FIFO is written directly (a write error such as "No space left on device" is named).
//
// The model view (after bertviz's): every head of every recorded layer as a thumbnail.
//
//   attnhook::save_model_view(hooker.values(), "model.png",
//       attnhook::ModelViewOptions()
//           .title("bert-base")     // default "": no title line
//           .batch(0)               // default 0: which sample of each layer's batch
//           .colormap(attnhook::Colormap::kMagma)  // default kViridis
//           .shared_scale(true)     // default false: each thumbnail on its own scale
//           .thumbnail_size(64));   // default 0: automatic; pixels a side of each slot
//
// Picture: one row of thumbnails per recorded call, in model order (values' order, then
// call order), labelled on the left with the layer name, followed by " #k" for call k of
// a module that was called several times, and under it "<tgt_len> queries x <src_len>
// keys". Head indexes head the columns; row r, column h is head h of that call. Inside
// a thumbnail, as in the grid, rows are query positions and columns key positions. Each
// thumbnail sits in a square slot of thumbnail_size pixels: the map keeps its aspect,
// its longer axis fills the slot and it is centred, so layers with different head
// counts, lengths or rectangular (cross-attention) maps share one picture. With at
// least as many pixels as tokens, cells are square and a whole number of pixels; with
// fewer, each pixel shows the largest weight it covers, so a sharp pattern (one key,
// the diagonal) stays visible. Automatic thumbnail_size: 1536 / (most heads of any
// row), within 32..128. Names longer than 48 characters keep their last 46 after "..".
//
// Colour scale: by default each thumbnail is scaled to its own range, from min(0, its
// smallest weight) to its largest (a thumbnail whose weights are all that lower end takes
// the bottom colour), so heads with diffuse attention stay readable next to sharp ones;
// the colorbar then reads 0..1, a share of each thumbnail's largest weight. bertviz
// instead draws every head on one absolute scale (line opacity = weight): shared_scale
// gives one scale for all thumbnails, from min(0, smallest weight shown) to the largest,
// and the colorbar shows those values. Text, colormaps and output are as for the grid.
//
// Errors are attnhook::Error naming the layer (and call, when there are several): values
// empty, an undefined, empty or non-floating tensor, a tensor that is not [batch, heads,
// tgt_len, src_len] (the shape is quoted), batch out of range for a layer, NaN or Inf
// (with its index), a negative thumbnail_size, an image too large (over 32768 pixels a
// side), and a path that cannot be written. Nothing is written on error.
//
// Attention over the input picture, for ViT-style models (patch tokens on a grid).
//
//   // weights: [batch, heads, tgt_len, src_len], src_len = prefix_tokens + rows * columns
//   attnhook::save_attention_overlay(weights, "cat.jpg", "cls.png",
//       attnhook::OverlayOptions()
//           .patch_grid(14, 14)   // default 0 x 0: automatic, the square grid that fills
//                                 //   src_len - prefix_tokens keys
//           .prefix_tokens(1)     // default 1: keys before the patches (class token; DeiT
//                                 //   distilled: 2; with registers: 1 + registers)
//           .query_token(0)       // default 0 (the class token): the query's token index
//           .query_patch(3, 5)    // default none: the query is this patch (row, column);
//                                 //   of query_token and query_patch, the last call wins
//           .head(attnhook::OverlayOptions::kMeanOfHeads)  // default kMeanOfHeads: the mean
//                                 //   of every head; a head index: that head; kAllHeads: a
//                                 //   grid of every head, then their mean
//           .batch(0)             // default 0: which sample of the batch
//           .alpha(0.5)           // default 0.5: opacity of the colour map over the image
//           .colormap(attnhook::Colormap::kViridis)          // default kViridis
//           .interpolation(attnhook::Interpolation::kBilinear)  // default kBilinear
//           .vmin(0.0)            // default none: 0, or the smallest weight if one is negative
//           .vmax(0.05)           // default none: the largest weight shown
//           .shared_scale(true)   // default false: kAllHeads panels each on their own scale
//           .image_size(448)      // default 0: automatic; pixels of each overlay's longer side
//           .columns(4)           // default 0: kAllHeads panels a row, ceil(sqrt(panels))
//           .title("block 11"));  // default "": no title line
//
// Picture: the image, resized to image_size (aspect kept), with the query's attention
// weights over the patches laid on it: the grid of rows x columns patches spans the whole
// image (pass the picture the model saw, after its resize and crop), the map is enlarged
// to the image's pixels smoothly (kBilinear, kBicubic — PyTorch's interpolate with
// align_corners=False, so the centre of a patch's pixels shows that patch's weight — or
// kNearest, flat patches), coloured with the colour map and blended: each pixel is
// (1 - alpha) x image + alpha x colour. Keys [0, prefix_tokens) are not patches and are
// not drawn. Each overlay is titled "head h" or "mean of H heads" (weights with one head:
// "head 0", and kAllHeads draws no mean); a line under the title names the batch (when
// there are several), the query and the grid; a colorbar with tick values sits on the
// right. Automatic image_size: the image's longer side brought within 320..640 pixels
// (160..320 for kAllHeads panels).
//
// Query: query_token(i) is token i of the query sequence (tgt_len); query_patch(r, c) is
// the patch's token, prefix_tokens + r * columns + c, and needs self-attention (tgt_len ==
// src_len). In self-attention a query token that is a patch (by either setter) is outlined
// in every panel: a white line 2 pixels wide along the inside of its edge (1 when the
// patch is under 6 pixels) with a black line of 1 pixel around it — the patch-to-patch map.
//
// Colour scale: one overlay (a head or the mean) runs from vmin to vmax; the colorbar
// shows those values. kAllHeads by default scales each panel to its own range, from
// min(0, its smallest weight) to its largest (heads with diffuse attention stay readable
// next to sharp ones) and the colorbar reads 0..1, a share of each panel's largest
// weight; shared_scale(true), vmin or vmax give all panels one scale. Weights outside
// [vmin, vmax] take the end colours (kBicubic may overshoot the weights a little).
//
// Image: a PNG (any bit depth, palette, grey, alpha, interlaced; transparency over white)
// or a JPEG (baseline or progressive; grey, YCbCr, CMYK), told by its first bytes, not its
// name; or an image tensor: uint8 (0..255) or floating (0..1, clipped), [height, width, 3]
// or [height, width, 1] or [3, height, width] or [1, height, width] or [height, width]
// (a last dimension of 1 or 3 means channels last).
//
// Errors are attnhook::Error naming the bad value: weights of the wrong rank (the shape is
// quoted), empty, undefined or not floating; batch, head or query_token out of range (the
// shape is quoted); query_patch outside the grid, or given for cross-attention (tgt_len !=
// src_len); a patch grid that does not fit the keys — "the weights have src_len 197 keys,
// but prefix_tokens 1 + patch_grid 14 x 15 makes 211", or, automatic, "src_len 197 -
// prefix_tokens 2 = 195 patches is not a square grid; set patch_grid(rows, columns)"; a
// bad option (patch_grid with a side <= 0 but not 0 x 0, prefix_tokens < 0, alpha outside
// [0, 1], image_size outside 0..8192, columns < 0, non-finite vmin/vmax, vmin >= vmax);
// NaN or Inf among the query's weights on the patches (with its index); a picture too
// large (over 32768 pixels a side); and a path that cannot be written. The image: "cannot
// read image '<path>': " and the reason — no such file, a directory, over 256 MiB, not a
// PNG or JPEG (the first bytes are quoted), over 16384 pixels a side or 2^26 pixels (the
// size it declares is named; nothing is decoded), "the PNG file is truncated", "the JPEG
// file is truncated", corrupt (libpng's or libjpeg's reason), more than 1000 JPEG scans; an
// image tensor that is not one of the layouts above. Weights and options are checked
// before the image is read. Nothing is written on error; output as for the grid (a
// temporary file renamed over `path`, "-" for standard output).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>

#include "attnhook/render_options.h"
#include "attnhook/values.h"

namespace attnhook {

// Every head of one layer, as a grid of heatmaps.
// weights: [batch, heads, tgt_len, src_len] or [heads, tgt_len, src_len] (batch must be 0).
void save_attention_grid(const at::Tensor& weights, const std::string& path,
                         const GridOptions& options = GridOptions());

// One head, larger. weights: as for save_attention_grid, or [tgt_len, src_len] (head
// must be 0). options.heads() is ignored; everything else applies.
void save_attention_heatmap(const at::Tensor& weights, int64_t head, const std::string& path,
                            const GridOptions& options = GridOptions());

// Every head of every layer in `values` as thumbnails: a row per (layer, call) in model
// order, a column per head, one colorbar. Each tensor: [batch, heads, tgt_len, src_len].
void save_model_view(const Values& values, const std::string& path,
                     const ModelViewOptions& options = ModelViewOptions());

// The query's attention over the patch grid laid on the image read from `image_path` (PNG
// or JPEG). weights: [batch, heads, tgt_len, src_len] or [heads, tgt_len, src_len].
void save_attention_overlay(const at::Tensor& weights, const std::string& image_path,
                            const std::string& path,
                            const OverlayOptions& options = OverlayOptions());

// The same over an image tensor (layouts above), e.g. the picture before normalisation.
void save_attention_overlay(const at::Tensor& weights, const at::Tensor& image,
                            const std::string& path,
                            const OverlayOptions& options = OverlayOptions());

}  // namespace attnhook
