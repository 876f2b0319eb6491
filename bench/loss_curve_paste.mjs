// Paste-to-fit time of a loss curve on the Fit page, against rows, for the loss-curve laws.
// Run with `cargo xtask bench loss-curve` (builds the release site, runs this, then the scipy peer
// `bench/loss_curve_scipy.py` on the same CSV files), or `node bench/loss_curve_paste.mjs` after a
// release build.
//
// Each curve: a `step,lr,loss` CSV with one row per step of a warmup–stable–decay schedule
// (T = rows, 1 % linear warmup, 20 % linear decay from 3e-4 to 3e-5), the loss from Tissue et al.'s
// law (L0 = 2.6, A = 0.6, α = 0.45, C = 1, λ = 0.999, momentum after the warmup) plus deterministic
// noise (σ = 0.003). Two seconds after the page has loaded, the text is pasted into the data box as
// a user's paste would arrive (a synthetic paste event; below 20 000 characters the value and an
// input event, since a synthetic paste inserts nothing); the
// page's clock runs from the paste until the fit's status is "done". Reported: time to the
// observations being read (parsing and start values, in the worker), time to the fit done, and the
// longest main-thread task in between. The CSV files are written to $SCALELAB_BENCH_DIR
// (default /tmp/scalelab-loss-curves) for the peer, with the results in results.json there.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { serve, launch, openPage } from "../tests/browser/harness.mjs";

const DIR = process.env.SCALELAB_BENCH_DIR ?? "/tmp/scalelab-loss-curves";
const SIZES = (process.env.SCALELAB_BENCH_ROWS ?? "1000,10000,100000,1000000").split(",").map(Number);
// The multi-power law costs O(rows × rate changes) per evaluation (its sum has no shortcut): a
// per-step curve of 10⁵ steps with a 2·10⁴-step decay is ≈ 10⁹ terms per Jacobian.
const LAWS = [["lr_annealing", Infinity], ["multi_power_law", 10_000]];
const TIMEOUT = 600_000;
const SETTLE_MS = 2000;

function curve(T) {
  const W = T / 100, decay = T / 5, peak = 3e-4, final = 3e-5, lambda = 0.999;
  const [L0, A, alpha, C] = [2.6, 0.6, 0.45, 1.0];
  let seed = 12345;
  const uniform = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const lines = ["step,lr,loss"];
  let s1 = 0, s2 = 0, m = 0, prev = 0;
  for (let s = 1; s <= T; s++) {
    const lr = s <= W ? peak * s / W : s <= T - decay ? peak : peak + (final - peak) * (s - (T - decay)) / decay;
    if (s > W) m = lambda * m + (prev - lr);
    s1 += lr;
    s2 += m;
    prev = lr;
    // Sum of 12 uniforms − 6: approximately standard normal.
    let z = -6;
    for (let i = 0; i < 12; i++) z += uniform();
    lines.push(`${s},${lr},${(L0 + A * s1 ** -alpha - C * s2 + 0.003 * z).toPrecision(9)}`);
  }
  return lines.join("\n");
}

await mkdir(DIR, { recursive: true });
const { server, origin } = await serve();
const browser = await launch();
const results = [];
for (const rows of SIZES) {
  const text = curve(rows);
  await writeFile(join(DIR, `curve_${rows}.csv`), text + "\n");
  for (const [law, maxRows] of LAWS) {
    if (rows > maxRows) {
      results.push({ law, rows, skipped: true });
      continue;
    }
    const { page, context } = await openPage(browser, origin);
    await page.goto(origin + `/?lab=fit&m=${law}&rs=linear`);
    await page.waitForFunction(() => document.querySelector("#fit-obs-error")?.textContent.includes("learning rate"));
    await page.evaluate((t) => { window.__clipboard = t; }, text);
    // The page's start-up (the lab's first renders, the worker's) is over before a user pastes.
    await page.waitForTimeout(SETTLE_MS);
    const r = await page.evaluate(
      ({ rows, timeout }) => new Promise((resolve) => {
        new PerformanceObserver((l) => tasks.push(...l.getEntries().map((e) => [Math.round(e.startTime - t0), Math.round(e.duration)]))).observe({ type: "longtask" });
        let read = null;
        const t0 = performance.now();
        const tasks = [];
        const check = () => {
          const now = performance.now() - t0;
          if (read === null && document.querySelector("#fit-obs-summary")?.textContent.startsWith(`${rows} observations`)) read = now;
          const state = document.querySelector("#fit-status")?.dataset.state;
          if (read !== null && (state === "done" || state === "failed")) {
            mo.disconnect();
            // Let the long-task observer deliver the last entries.
            setTimeout(() => resolve({ read, done: now, state, longest: Math.max(0, ...tasks.map((t) => t[1])),
              over50: tasks.filter((t) => t[1] > 50),
              message: document.querySelector("#fit-status")?.textContent.slice(0, 200) }), 200);
          } else if (now > timeout) {
            mo.disconnect();
            resolve({ read, done: null, state: "timeout", longest: Math.max(0, ...tasks.map((t) => t[1])) });
          }
        };
        const mo = new MutationObserver(check);
        mo.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
        const box = document.querySelector("#fit-data");
        box.focus();
        box.select();
        if (window.__clipboard.length > 20_000) {
          // A large paste is taken from the clipboard event by the page.
          const dt = new DataTransfer();
          dt.setData("text/plain", window.__clipboard);
          box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
        } else {
          // A synthetic paste inserts nothing: the browser's own insertion, then its input event.
          box.value = window.__clipboard;
          box.dispatchEvent(new Event("input", { bubbles: true }));
        }
      }),
      { rows, timeout: TIMEOUT },
    );
    const params = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll("#fit-params tr[data-param]")]
      .map((tr) => [tr.dataset.param, Number(tr.querySelector('td[data-col="value"]')?.textContent)])));
    results.push({ law, rows, ...r, params });
    console.log(JSON.stringify(results.at(-1)));
    await context.close();
  }
}
await writeFile(join(DIR, "results.json"), JSON.stringify(results, null, 1));
await browser.close();
server.close();
