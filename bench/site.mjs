// First-load size and time to interactive of the built site (dist/) in headless Chromium, per page.
// Run with `cargo xtask bench site` (which builds dist/ first) or `node bench/site.mjs` after a release build.
//
// Before interactive: every file a page requests until the app is interactive (its heading is rendered
// by the WebAssembly app and the page responds to input), each gzipped at level 9 as a static host
// would serve it. The compute worker's files, which a lab requests when it mounts, are reported
// separately. Time to interactive: navigation start until then, median of RUNS cold loads.
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { serve, launch, openPage, dist } from "../tests/browser/harness.mjs";

const RUNS = 7;
const PAGES = [["home", "/"], ["StableMax lab", "/?lab=stablemax"], ["Fit lab", "/?lab=fit"], ["Kernels lab", "/?lab=kernels"], ["Calibrate lab", "/?lab=calibrate"]];
const { server, origin } = await serve();
const browser = await launch();

async function load(path) {
  const { page, context } = await openPage(browser, origin);
  const requests = [];
  page.on("request", (r) => { if (r.url().startsWith(origin)) requests.push({ path: new URL(r.url()).pathname, at: Date.now() }); });
  await page.goto(origin + path);
  await page.waitForSelector("main h1");
  // The moment the heading appeared, on the page's own clock (a MutationObserver would add latency).
  const { tti, origin0 } = await page.evaluate(() => ({
    tti: performance.getEntriesByType("mark").find((m) => m.name === "scalelab-interactive")?.startTime ?? performance.now(),
    origin0: performance.timeOrigin,
  }));
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(300);
  await context.close();
  const before = [...new Set(requests.filter((r) => r.at - origin0 <= tti).map((r) => r.path))];
  const after = [...new Set(requests.filter((r) => r.at - origin0 > tti).map((r) => r.path))];
  return { tti, before, after };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sizes = new Map();
async function gz(p) {
  if (!sizes.has(p)) {
    const body = await readFile(join(dist, p === "/" ? "index.html" : p));
    sizes.set(p, { raw: body.length, gz: gzipSync(body, { level: 9 }).length });
  }
  return sizes.get(p);
}
const kib = (b) => (b / 1024).toFixed(1);
const isWorker = (p) => p.includes("worker");

const rows = [];
const detail = [];
for (const [name, path] of PAGES) {
  const ttis = [];
  let files;
  for (let i = 0; i < RUNS; i++) {
    const r = await load(path);
    ttis.push(r.tti);
    if (i === 0) files = r;
  }
  let first = 0, worker = 0, later = 0;
  for (const p of files.before) {
    const s = await gz(p);
    if (isWorker(p)) worker += s.gz; else first += s.gz;
  }
  for (const p of files.after) {
    const s = await gz(p);
    if (isWorker(p)) worker += s.gz; else later += s.gz;
  }
  rows.push({ name, tti: median(ttis), min: Math.min(...ttis), max: Math.max(...ttis), first, worker, later });
  detail.push(`- ${name}: before interactive ${files.before.map((p) => `\`${p}\``).join(", ")}; after: ${files.after.map((p) => `\`${p}\``).join(", ") || "—"}`);
}
await browser.close();
server.close();

const perFile = [...sizes.entries()].sort().map(([p, s]) => `| \`${p}\` | ${kib(s.raw)} KiB | ${kib(s.gz)} KiB |`);
const out = [
  `Per page (gzip -9; time to interactive in headless Chromium, median of ${RUNS} cold loads, min–max):`,
  "",
  "| page | before interactive | compute worker (loaded by the lab) | other later | time to interactive |",
  "|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.name} | **${kib(r.first)} KiB** | ${r.worker ? kib(r.worker) + " KiB" : "—"} | ${r.later ? kib(r.later) + " KiB" : "—"} | ${r.tti.toFixed(0)} ms (${r.min.toFixed(0)}–${r.max.toFixed(0)}) |`),
  "",
  ...detail,
  "",
  "| file | raw | gzip -9 |",
  "|---|---|---|",
  ...perFile,
].join("\n");
console.log(out);
