// Shared set-up for the browser tests: a static server for dist/ on 127.0.0.1, Debian's Chromium with
// WebGPU on (SwiftShader), and a page wrapper that records console errors and any request leaving
// 127.0.0.1.
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { extname, join, normalize, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");
const require = createRequire(join(root, "package.json"));
const { chromium } = require("playwright-core");

export const dist = join(root, "dist");
export const screenshots = join(root, "target/screenshots");

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json",
};

/** Serves `dir` on 127.0.0.1 at a free port; unknown paths get index.html (as a static host would not,
 * but the site only uses the query string, so no test depends on it). */
export async function serve(dir = dist) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = normalize(join(dir, path.endsWith("/") ? path + "index.html" : path));
    if (!file.startsWith(dir)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
  "--enable-unsafe-webgpu", "--enable-unsafe-swiftshader", "--use-webgpu-adapter=swiftshader", "--enable-features=Vulkan",
];

/** Chromium without the WebGPU switches: `navigator.gpu` exists but offers no adapter on Linux. */
export const CHROMIUM_ARGS_NO_WEBGPU = CHROMIUM_ARGS.slice(0, 6);

export async function launch(args = CHROMIUM_ARGS) {
  await mkdir(screenshots, { recursive: true });
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args });
}

/** A fresh page that records console errors, page errors and requests outside 127.0.0.1. */
export async function openPage(browser, origin, viewport = { width: 1200, height: 900 }, colorScheme = "light") {
  const context = await browser.newContext({ viewport, colorScheme, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    const u = r.url();
    if (!(u.startsWith(origin + "/") || u === origin || u.startsWith("data:") || u.startsWith("blob:"))) {
      problems.push(`request outside the site: ${u}`);
    }
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return { page, context, problems };
}

export async function shot(page, name) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** Numbers of a table column, read back from the rendered page. */
export async function column(page, col) {
  return page.$$eval(`#probs-table td[data-col="${col}"]`, (tds) => tds.map((td) => Number(td.textContent)));
}
