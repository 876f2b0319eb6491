// The Calibrate page's whole analysis in the browser's worker, at the benchmark's size: 50 000 rows ×
// 1000 classes of generated logits (logit scale 6, seed 1), 15 bins, 200 bootstrap resamples — read,
// temperature fit and NLL(T), every metric with intervals at T = 1 and at T*, the convention matrix
// with ECE against the number of bins, CORP twice, the class-frequency forecaster — then the bin
// lookup of one row. Times are the page's job clock (request sent to result decoded, `data-millis`
// of the status line), each the median of RUNS runs (default 1: one analysis is minutes here).
// Run with `cargo xtask bench calibrate` (builds the release site first) or `node
// bench/calibrate_browser.mjs` after a release build.
import { serve, launch, openPage } from "../tests/browser/harness.mjs";

const RUNS = Number(process.env.RUNS ?? 1);
const ROWS = Number(process.env.SCALELAB_BENCH_ROWS ?? 50_000);
const CLASSES = Number(process.env.SCALELAB_BENCH_CLASSES ?? 1000);
const TIMEOUT = 900_000;

const { server, origin } = await serve();
const browser = await launch();
const millis = (page, id) => page.evaluate((id) => Number(document.querySelector(`#${id}-status [data-millis]`)?.dataset.millis), id);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const analysis = [], lookup = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    const { page, context, problems } = await openPage(browser, origin);
    await page.goto(`${origin}/?lab=calibrate&src=synthetic&rows=${ROWS}&classes=${CLASSES}&scale=6&seed=1&bins=15&res=200`);
    await page.waitForFunction((rows) => document.querySelector("#cal-status")?.dataset.state === "done"
      && new RegExp(`^${rows} rows`).test(document.querySelector("#cal-status").textContent), ROWS, { timeout: TIMEOUT, polling: 1000 });
    analysis.push(await millis(page, "cal"));
    await page.fill("#cal-row", "17");
    await page.waitForFunction(() => /^Row 17:/.test(document.querySelector("#cal-sample-summary")?.textContent), null, { timeout: TIMEOUT });
    lookup.push(await millis(page, "cal-lookup"));
    if (problems.length) throw new Error(`page problems: ${problems.join("; ")}`);
    console.log(`run ${run}: analysis ${(analysis.at(-1) / 1000).toFixed(1)} s, lookup of row 17 ${(lookup.at(-1) / 1000).toFixed(2)} s`);
    await context.close();
  }
  console.log(`\n| ${ROWS} × ${CLASSES} logits, in the browser's worker | median of ${RUNS} |`);
  console.log(`|---|---|`);
  console.log(`| whole analysis (15 bins, 200 resamples) | ${(median(analysis) / 1000).toFixed(1)} s |`);
  console.log(`| one row's bin under every convention | ${(median(lookup) / 1000).toFixed(2)} s |`);
} finally {
  await browser.close();
  server.close();
}
