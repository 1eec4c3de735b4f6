// Browser test of a page written from src/view/viewer.html (by `attnhook html` or make_sample.mjs).
//
//   node viewer_test.mjs page.html [head_view.png] [--shots DIR]
//
// Drives Debian's /usr/bin/chromium (override: $CHROMIUM) through playwright-core; no
// browser is downloaded. The page is opened from disk and every request that is not
// file: or data: is aborted and counted as a failure. Pixels are judged by decoding the
// PNG screenshots here (zlib), never by reading canvases in the page, so the test adds no
// readback work, or warnings, to the page it watches. The checks expect the sample
// payload of make_sample.mjs (3 layers: two 4×6×6 self-attention calls, one 4×5×7 cross).
// Ends with "viewer: N passed, M failed"; exit code 1 on any failure, 2 on bad usage.
import {mkdirSync} from "node:fs";
import {join, resolve} from "node:path";
import {pathToFileURL} from "node:url";
import {inflateSync} from "node:zlib";
import {chromium} from "playwright-core";

const args = process.argv.slice(2);
const shotsDir = args.includes("--shots") ? args[args.indexOf("--shots") + 1] : null;
const [pagePath, headShot] = args.filter((a, k) => !a.startsWith("--") && args[k - 1] !== "--shots");
if (!pagePath) {
  console.error("usage: node viewer_test.mjs page.html [head_view.png] [--shots DIR]");
  process.exit(2);
}
if (shotsDir) mkdirSync(shotsDir, {recursive: true});

// ---- PNG decoding: 8-bit, non-interlaced (what Chromium's screenshots are) ----
function decodePng(buffer) {
  if (buffer.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG");
  let width = 0, height = 0, channels = 0;
  const idat = [];
  for (let at = 8; at < buffer.length;) {
    const length = buffer.readUInt32BE(at), type = buffer.toString("latin1", at + 4, at + 8);
    const body = buffer.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0); height = body.readUInt32BE(4);
      channels = {0: 1, 2: 3, 4: 2, 6: 4}[body[9]];
      if (body[8] !== 8 || body[12] !== 0 || !channels)
        throw new Error(`unsupported PNG: depth ${body[8]}, colour type ${body[9]}, interlace ${body[12]}`);
    } else if (type === "IDAT") idat.push(body);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat)), stride = width * channels;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; ++y) {
    const filter = raw[y * (stride + 1)], row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; ++x) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      pixels[y * stride + x] = (row[x] + predictor) & 0xff;
    }
  }
  return {width, height, channels, pixels};
}

// Distinct colours and pixels that are neither white nor transparent.
function pixelStats(png) {
  const {pixels, channels} = png, colours = new Set();
  let inked = 0;
  for (let k = 0; k < pixels.length; k += channels) {
    const r = pixels[k], g = pixels[k + (channels > 2 ? 1 : 0)], b = pixels[k + (channels > 2 ? 2 : 0)];
    const alpha = channels === 4 ? pixels[k + 3] : channels === 2 ? pixels[k + 1] : 255;
    colours.add((r << 16) | (g << 8) | b);
    if (alpha > 16 && (r < 235 || g < 235 || b < 235)) inked++;
  }
  return {colours: colours.size, inked, total: png.width * png.height};
}

function differingPixels(a, b) {
  if (a.width !== b.width || a.height !== b.height) return Infinity;
  let differing = 0;
  for (let k = 0; k < a.pixels.length; k += a.channels)
    if (a.pixels.compare(b.pixels, k, k + a.channels, k, k + a.channels) !== 0) differing++;
  return differing;
}

// ---- harness ----
const results = [];
async function check(name, body) {
  try {
    await body();
    results.push({name, ok: true});
    console.log(`ok   ${name}`);
  } catch (error) {
    results.push({name, ok: false});
    console.log(`FAIL ${name}: ${error && error.message ? error.message.split("\n")[0] : error}`);
  }
}
function expect(condition, message) { if (!condition) throw new Error(message); }
const sameList = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let exitCode = 1;
try {
  const context = await browser.newContext({viewport: {width: 1280, height: 800}, deviceScaleFactor: 1});
  context.setDefaultTimeout(10000);
  const network = new Set(), complaints = [];
  const isLocal = (url) => url.startsWith("file:") || url.startsWith("data:") || url.startsWith("blob:") ||
                           url === "about:blank";
  await context.route("**", (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    network.add(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("request", (request) => { if (!isLocal(request.url())) network.add(request.url()); });
  page.on("websocket", (socket) => network.add(socket.url()));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning")
      complaints.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => complaints.push(`page error: ${error.message}`));

  const api = (expression) => page.evaluate(expression);
  const state = () => api(() => window.attnhookViewer.state());
  const linesPng = async () => decodePng(await page.getByTestId("head-canvas").screenshot());
  const tokenCount = (side) => page.getByTestId(`${side}-tokens`).locator(".token").count();

  await check("page loads from disk and exposes the test hook", async () => {
    await page.goto(pathToFileURL(resolve(pagePath)).href);
    await page.waitForFunction(() => window.attnhookViewer && window.attnhookViewer.ready === true);
    const s = await state();
    expect(s.layers === 3, `expected 3 layers, state says ${s.layers}`);
    expect(s.view === "head" && s.layer === 0, `starts in ${s.view} view at layer ${s.layer}`);
    expect(sameList(s.activeHeads, [0, 1, 2, 3]), `active heads ${s.activeHeads}`);
    const title = await page.title();
    expect(title.includes("sample_model.pt"), `title "${title}"`);
    const labels = await page.getByTestId("layer-select").locator("option").allTextContents();
    expect(sameList(labels, ["encoder.layer.self_attn (call 0)", "encoder.layer.self_attn (call 1)",
                             "decoder.layers.0.multihead_attn"]), `layer labels ${JSON.stringify(labels)}`);
  });

  // Without the hook every interaction check would only wait out its timeout.
  const interactive = results[0].ok;
  const checkLive = (name, body) => interactive ? check(name, body)
                                                : check(name, () => { throw new Error("skipped: page not ready"); });

  await check("head view screenshot is not blank", async () => {
    const shot = await page.screenshot({fullPage: true, ...(headShot ? {path: headShot} : {})});
    const stats = pixelStats(decodePng(shot)), lines = pixelStats(await linesPng());
    expect(stats.colours >= 100, `only ${stats.colours} distinct colours in the page`);
    expect(stats.inked / stats.total > 0.02, `only ${stats.inked} of ${stats.total} pixels not white`);
    expect(lines.inked > 2000 && lines.colours > 20, `line canvas: ${lines.inked} inked, ${lines.colours} colours`);
    expect(await page.evaluate(() => window.attnhookViewer.linesDrawn()) > 20, "too few lines drawn");
  });

  await checkLive("clicking a head swatch changes the drawing", async () => {
    const before = await linesPng(), drawnBefore = await api(() => window.attnhookViewer.linesDrawn());
    await page.getByTestId("head-swatch-0").click();
    const s = await state(), after = await linesPng();
    expect(sameList(s.activeHeads, [1, 2, 3]), `after toggling head 0: ${s.activeHeads}`);
    expect(await page.getByTestId("head-swatch-0").getAttribute("aria-pressed") === "false", "swatch 0 still pressed");
    const changed = differingPixels(before, after);
    expect(changed > 200, `only ${changed} pixels changed`);
    expect(await api(() => window.attnhookViewer.linesDrawn()) < drawnBefore, "line count did not drop");
    await page.getByTestId("head-swatch-0").click();
    expect(sameList((await state()).activeHeads, [0, 1, 2, 3]), "second click did not restore head 0");
    expect(differingPixels(before, await linesPng()) === 0, "drawing differs after toggling back");
    await page.getByTestId("head-swatch-2").dblclick();
    expect(sameList((await state()).activeHeads, [2]), `double-click: ${(await state()).activeHeads}`);
    await page.getByTestId("head-swatch-2").dblclick();
    expect(sameList((await state()).activeHeads, [0, 1, 2, 3]), "double-click on the only head restores all");
  });

  await checkLive("hovering a token filters the lines", async () => {
    const all = await linesPng();
    await page.getByTestId("tgt-tokens").locator(".token").nth(2).hover();
    const s = await state(), filtered = await linesPng();
    expect(s.hover && s.hover.side === "tgt" && s.hover.index === 2, `hover ${JSON.stringify(s.hover)}`);
    expect(await api(() => window.attnhookViewer.linesDrawn()) <= 4 * 6, "more lines than one query's");
    expect(pixelStats(filtered).inked < pixelStats(all).inked, "filtering did not thin the drawing");
    expect(await page.getByTestId("tgt-tokens").locator(".token.hot").count() === 1, "hovered token not highlighted");
    await page.getByTestId("src-tokens").locator(".token").nth(0).hover();
    expect((await state()).hover.side === "src", "hovering a key token");
    await page.mouse.move(5, 5);
    expect((await state()).hover === null, "hover not cleared");
  });

  await checkLive("cross-attention layer shows different token counts per side", async () => {
    expect(await tokenCount("tgt") === 6 && await tokenCount("src") === 6, "self-attention layer is not 6×6");
    await page.getByTestId("layer-select").selectOption("2");
    const s = await state();
    expect(s.layer === 2, `layer ${s.layer}`);
    const queries = await tokenCount("tgt"), keys = await tokenCount("src");
    expect(queries === 5 && keys === 7, `tokens: ${queries} queries, ${keys} keys`);
    const shown = await page.getByTestId("src-tokens").locator(".token").allTextContents();
    expect(shown.includes("<!--<script>"), `markup-like token not shown verbatim: ${JSON.stringify(shown)}`);
    expect((await page.getByTestId("layer-info").textContent()).includes("cross-attention"), "no cross-attention note");
    expect(pixelStats(await linesPng()).inked > 1000, "cross-attention lines not drawn");
    if (shotsDir) await page.screenshot({path: join(shotsDir, "cross_view.png"), fullPage: true});
    await page.getByTestId("layer-select").selectOption("0");
    const first = await page.getByTestId("src-tokens").locator(".token").allTextContents();
    expect(first.includes("</script>"), "the </script> token did not survive substitution");
  });

  await checkLive("model view shows layers × heads thumbnails", async () => {
    await page.getByTestId("tab-model").click();
    expect((await state()).view === "model", "view did not switch");
    const thumbs = page.locator('[data-testid^="thumb-"]');
    expect(await thumbs.count() === 12, `${await thumbs.count()} thumbnails, expected 3 × 4`);
    for (const id of ["thumb-0-0", "thumb-1-3", "thumb-2-1"])
      expect(pixelStats(decodePng(await page.getByTestId(id).screenshot())).colours > 8, `${id} looks blank`);
    const shot = pixelStats(decodePng(await page.screenshot({fullPage: true,
        ...(shotsDir ? {path: join(shotsDir, "model_view.png")} : {})})));
    expect(shot.colours > 100, `model view has ${shot.colours} colours`);
  });

  await checkLive("clicking a thumbnail opens the enlarged map; Escape closes it", async () => {
    await page.getByTestId("thumb-2-1").click();
    await page.getByTestId("zoom").waitFor({state: "visible"});
    const s = await state();
    expect(s.zoom && s.zoom.layer === 2 && s.zoom.head === 1, `zoom ${JSON.stringify(s.zoom)}`);
    const zoom = pixelStats(decodePng(await page.getByTestId("zoom-canvas").screenshot()));
    expect(zoom.inked > 5000 && zoom.colours > 30, `enlarged map: ${zoom.inked} inked, ${zoom.colours} colours`);
    if (shotsDir) await page.screenshot({path: join(shotsDir, "zoom_view.png")});
    await page.keyboard.press("Escape");
    await page.getByTestId("zoom").waitFor({state: "hidden"});
    expect((await state()).zoom === null, "Escape did not close");
    await page.getByTestId("thumb-0-0").click();
    await page.getByTestId("zoom-close").click();
    expect(await page.getByTestId("zoom").isHidden(), "close button did not close");
  });

  await check("no network requests, console errors, warnings or page errors", async () => {
    const found = [...(network.size ? [`network requests attempted: ${[...network].join(", ")}`] : []),
                   ...new Set(complaints)];
    expect(found.length === 0, found.join(" | "));
  });
  exitCode = results.every((r) => r.ok) ? 0 : 1;
} catch (error) {
  console.log(`FAIL harness: ${error.message}`);
  results.push({name: "harness", ok: false});
} finally {
  await browser.close();
}
const passed = results.filter((r) => r.ok).length;
console.log(`viewer: ${passed} passed, ${results.length - passed} failed`);
process.exit(exitCode);
