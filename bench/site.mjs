// First-load size and time to interactive of the built site (dist/) in headless Chromium.
// Run with `cargo xtask bench` (which builds dist/ first) or `node bench/site.mjs` after a release build.
//
// First-load size: every file the home page downloads (the page, its worker included) until the app is
// interactive, each gzipped at level 9 as a static host would serve it.
// Time to interactive: navigation start until the app has mounted (the home page's heading and lab
// links are rendered by the WebAssembly app and respond to input), median of RUNS cold loads.
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { serve, launch, openPage, dist } from "../tests/browser/harness.mjs";

const RUNS = 7;
const { server, origin } = await serve();
const browser = await launch();

async function load(path) {
  const { page, context } = await openPage(browser, origin);
  const files = new Set();
  page.on("request", (r) => { if (r.url().startsWith(origin)) files.add(new URL(r.url()).pathname); });
  await page.goto(origin + path);
  await page.waitForSelector("main h1");
  const tti = await page.evaluate(() => performance.now());
  // Let the worker and the GPU probe finish loading so their files are counted.
  await page.waitForFunction(() => document.querySelector(".chip")?.dataset.backend !== "probing", null, { timeout: 60_000 });
  await page.waitForTimeout(300);
  await context.close();
  return { tti, files: [...files] };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
let filesOfHome = [];
for (const [name, path] of [["home", "/"], ["StableMax lab", "/?lab=stablemax"], ["Fit lab", "/?lab=fit"], ["Kernels lab", "/?lab=kernels"]]) {
  const ttis = [];
  for (let i = 0; i < RUNS; i++) {
    const { tti, files } = await load(path);
    ttis.push(tti);
    if (name === "home") filesOfHome = files;
  }
  rows.push({ name, tti: median(ttis), min: Math.min(...ttis), max: Math.max(...ttis) });
}

let raw = 0, gz = 0;
const perFile = [];
for (const p of filesOfHome.sort()) {
  const body = await readFile(join(dist, p === "/" ? "index.html" : p));
  const g = gzipSync(body, { level: 9 }).length;
  raw += body.length; gz += g;
  perFile.push(`| \`${p}\` | ${(body.length / 1024).toFixed(1)} KiB | ${(g / 1024).toFixed(1)} KiB |`);
}
await browser.close();
server.close();

const out = [
  `First load of the home page: ${filesOfHome.length} files, ${(raw / 1024).toFixed(1)} KiB raw, **${(gz / 1024).toFixed(1)} KiB gzip**.`,
  "",
  "| file | raw | gzip -9 |",
  "|---|---|---|",
  ...perFile,
  "",
  `Time to interactive in headless Chromium (median of ${RUNS} cold loads, min–max):`,
  "",
  "| page | median | min | max |",
  "|---|---|---|---|",
  ...rows.map((r) => `| ${r.name} | ${r.tti.toFixed(0)} ms | ${r.min.toFixed(0)} ms | ${r.max.toFixed(0)} ms |`),
].join("\n");
console.log(out);
