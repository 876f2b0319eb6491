// The lab platform in headless Chromium: the job lifecycle (cancel on unmount, a crashed worker
// replaced), streaming with Pause / Step / Cancel without restarting the worker, the main thread
// kept free (long-task observer), embed mode (the example page, the Embed button), and a 250 000-logit
// vocabulary in the StableMax explorer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, openPage, shot, watchLongTasks, assertMainThreadFree, quietClick, quietWait } from "./harness.mjs";

let server, origin, browser;
before(async () => {
  ({ server, origin } = await serve());
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

const fitState = (page) => page.evaluate(() => document.querySelector("#fit-status")?.dataset.state);
const waitFit = (page, states, timeout = 180_000) =>
  page.waitForFunction((s) => s.includes(document.querySelector("#fit-status")?.dataset.state), states, { timeout });
const worker = (page) => page.getAttribute(".chip", "data-worker");
/** The "starts N of M" of the fit's progress line. */
const startsDone = async (page) => {
  const m = (await page.textContent("#fit-status")).match(/starts (\d+) of (\d+)/);
  return m ? Number(m[1]) : NaN;
};

test("a running 4500-start fit is cancelled when its page unmounts; back on the lab, it fits again", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=fit&st=hoffmann4500");
  await page.waitForFunction(() => document.querySelector("#fit-status")?.dataset.state === "running");
  const generation = await worker(page);
  // Home and back without a page load (the Fit bundle renders the home page too): the lab unmounts
  // while its job runs, and Back mounts it again with the same link, which fits again.
  await page.click('nav a:text("Home")');
  await page.waitForSelector(".cards");
  await page.waitForTimeout(300);
  await page.goBack();
  await page.waitForSelector("#fit-run");
  await waitFit(page, ["done", "failed"]);
  assert.equal(await fitState(page), "done", await page.textContent("#fit-status"));
  assert.equal(await worker(page), generation, "the same worker, not a restarted one");
  // The preset's law: 1.69 + 406.4/N^0.34 + 410.7/D^0.28 (Hoffmann et al. 2022), 1 % noise.
  const param = async (n) => Number(await page.textContent(`#fit-params tr[data-param="${n}"] td[data-col="value"]`));
  assert.ok(Math.abs((await param("alpha")) - 0.34) < 0.03 && Math.abs((await param("E")) - 1.69) < 0.1);
  assert.match(await page.textContent("#fit-status"), /4500 starts converged|of 4500 starts/);
  assert.deepEqual(problems, []);
  await context.close();
});

test("the multi-start streams to a live chart; Pause, Step and Cancel act within a slice, the worker lives on", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=fit");
  await waitFit(page, ["done"]);
  const generation = await worker(page);
  await page.selectOption("#fit-st", "hoffmann4500");
  await watchLongTasks(page);
  await quietClick(page, "#fit-run");
  // Every finished start is streamed: the chart of the best objective so far fills in as it runs.
  await quietWait(page, () => /after (\d{3,}) starts/.test(document.querySelector('[data-chart="fit-stream"] .chart-title')?.textContent ?? ""), null, 60_000);
  assert.equal(await fitState(page), "running");
  const title = await page.textContent('[data-chart="fit-stream"] .chart-title');
  assert.match(title, /converged/);
  assert.ok((await page.locator('[data-chart="fit-stream"] path[data-series]').count()) >= 1);
  assert.ok((await page.locator('[data-chart="fit-converged"] path[data-series]').count()) === 1);

  // Pause: the progress stops; Step: exactly one more start; Resume: it goes on.
  await quietClick(page, "#fit-pause");
  await quietWait(page, () => document.querySelector("#fit-status")?.dataset.state === "paused");
  const paused = await startsDone(page);
  await page.waitForTimeout(500);
  assert.equal(await startsDone(page), paused, "nothing runs while paused");
  await quietClick(page, "#fit-step");
  await quietWait(page, (n) => {
    const m = document.querySelector("#fit-status").textContent.match(/starts (\d+) of/);
    return document.querySelector("#fit-status").dataset.state === "paused" && m && Number(m[1]) === n + 1;
  }, paused);
  await quietClick(page, "#fit-pause"); // now "Resume"
  await quietWait(page, (n) => {
    const m = document.querySelector("#fit-status").textContent.match(/starts (\d+) of/);
    return m && Number(m[1]) > n + 20;
  }, paused);

  // Cancel takes effect at the next slice boundary (~20 ms of work), measured in the page.
  const cancelMs = await page.evaluate(() => new Promise((resolve) => {
    const status = document.querySelector("#fit-status");
    const t0 = performance.now();
    new MutationObserver((_, obs) => {
      if (status.dataset.state === "cancelled") { obs.disconnect(); resolve(performance.now() - t0); }
    }).observe(status, { attributes: true });
    document.querySelector("#fit-cancel").click();
  }));
  console.log(`# cancel → cancelled in ${cancelMs.toFixed(1)} ms`);
  assert.ok(cancelMs < 300, `cancel took ${cancelMs} ms`);
  assert.equal(await worker(page), generation, "cancelling did not restart the worker");
  await assertMainThreadFree(page, "Fit, the 4500-start stream drawn live, paused, stepped and cancelled");
  await shot(page, "fit-stream");

  // The same worker fits again.
  await page.selectOption("#fit-st", "single");
  await page.click("#fit-run");
  await waitFit(page, ["done"]);
  assert.equal(await worker(page), generation);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a crashed worker is replaced: one clear message for the running job, and the next job works", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=fit&debug=1");
  await waitFit(page, ["done"]);
  assert.equal(await worker(page), "1");
  await page.selectOption("#fit-st", "hoffmann4500");
  await page.click("#fit-run");
  await page.waitForFunction(() => document.querySelector("#fit-status")?.dataset.state === "running");
  await page.evaluate(() => window.scalelabTest.crashWorker());
  await waitFit(page, ["failed"], 30_000);
  assert.equal(await page.getAttribute("#fit-status [data-code]", "data-code"), "WorkerCrashed");
  assert.match(await page.textContent("#fit-status"), /stopped while running this job.*run it again/);
  await page.waitForFunction(() => document.querySelector(".chip")?.dataset.worker === "2");
  await page.selectOption("#fit-st", "single");
  await page.click("#fit-run");
  await waitFit(page, ["done"]);
  await shot(page, "fit-after-crash");
  assert.deepEqual(problems, []);
  await context.close();
});

test("embed example: two labs in a plain page report their heights and follow the host's theme", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/embed-example.html");
  const height = (id) => page.evaluate((id) => Number(document.getElementById(id).dataset.reportedHeight ?? 0), id);
  await page.waitForFunction(() => [...document.querySelectorAll("iframe")].every((f) => Number(f.dataset.reportedHeight) > 200), null, { timeout: 60_000 });
  const sm = page.frameLocator("#embed-stablemax");
  const fit = page.frameLocator("#embed-fit");
  // Minimal chrome: no navigation or footer; the chip, the theme button and a link to the full site.
  for (const f of [sm, fit]) {
    assert.equal(await f.locator("nav").count(), 0);
    assert.equal(await f.locator("footer").count(), 0);
    await f.locator(".chip").waitFor();
  }
  const open = await sm.locator("#embed-open-site").getAttribute("href");
  assert.match(open, /lab=stablemax/);
  assert.match(open, /z=1,0/);
  assert.doesNotMatch(open, /embed=1/);
  // Both render their lab: Softmax Collapse at ×16.7 in f32; the preset's fit.
  await sm.locator('#sc-status[data-collapsed="true"]').waitFor();
  await fit.locator("#fit-params").waitFor({ timeout: 60_000 });
  // Operate one: 40 classes make its table taller, and the frame follows.
  const before = await height("embed-stablemax");
  await sm.locator("#z").fill(Array.from({ length: 40 }, (_, i) => (1 - i / 40).toFixed(3)).join(", "));
  await sm.locator('#probs-table tbody tr[data-class="39"]').waitFor();
  await page.waitForFunction((b) => Number(document.getElementById("embed-stablemax").dataset.reportedHeight) > b + 300, before);
  assert.equal(await page.evaluate(() => document.getElementById("embed-stablemax").style.height), `${await height("embed-stablemax")}px`);
  // The host sets the theme.
  await page.selectOption("#theme", "dark");
  for (const f of [sm, fit]) await f.locator('html[data-theme="dark"]').waitFor();
  await shot(page, "embed-example");
  assert.deepEqual(problems, []);
  await context.close();
});

test("every lab has an Embed button with a ready <iframe> for its state, copied to the clipboard", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  for (const lab of ["fit", "kernels"]) {
    await page.goto(`${origin}/?lab=${lab}`);
    await page.waitForSelector("#embed-open");
    // Let the worker finish loading before leaving the page.
    await page.waitForFunction(() => ["gpu", "cpu"].includes(document.querySelector(".chip")?.dataset.backend), null, { timeout: 60_000 });
  }
  await page.goto(origin + "/?lab=stablemax&z=1,0&k=16.7");
  await page.click("#embed-open");
  const snippet = await page.inputValue("#embed-snippet");
  assert.match(snippet, /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/\?embed=1&amp;k=16\.7&amp;lab=stablemax&amp;z=1,0" title="Scalelab — StableMax &amp; Softmax Collapse" loading="lazy" width="100%" height="\d+"/);
  await page.click("#embed-copy");
  await page.waitForFunction(() => document.querySelector("#embed-panel [role=status]")?.textContent === "Copied.");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);
  // The snippet's address opens the same state in embed mode.
  const src = snippet.match(/src="([^"]+)"/)[1].replaceAll("&amp;", "&");
  const embedded = await context.newPage();
  await embedded.goto(src);
  await embedded.waitForSelector('#sc-status[data-collapsed="true"]');
  assert.equal(await embedded.locator("nav").count(), 0);
  await shot(page, "embed-button");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a 250 000-logit vocabulary: evaluated in the worker, top classes and a summary, the main thread stays free", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=stablemax&p=f64&n=20&t=0");
  await page.waitForSelector("#probs-table");
  // The page has settled: its first sweep is drawn and the worker's GPU check is done.
  await page.waitForFunction(() => document.querySelector("#sweep-status")?.dataset.state === "done"
    && ["gpu", "cpu"].includes(document.querySelector(".chip")?.dataset.backend), null, { timeout: 60_000 });
  // z_i = 8·sin(i) + i/50000: a deterministic vocabulary whose largest logits are spread out.
  const n = 250_000;
  const z = Array.from({ length: n }, (_, i) => 8 * Math.sin(i) + i / 50000);
  const text = z.map((v) => v.toFixed(6)).join(",");
  // The test's own hand-over of 2 MB to the page is not the page's work: it happens first.
  await page.evaluate((text) => {
    window.__clipboard = new DataTransfer();
    window.__clipboard.setData("text/plain", text);
    const box = document.querySelector("#z");
    box.focus();
    box.select();
  }, text);
  await watchLongTasks(page);
  // A paste, as the browser delivers it: a ClipboardEvent with the text in its DataTransfer.
  await page.evaluate(() => {
    const box = document.querySelector("#z");
    box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: window.__clipboard, bubbles: true, cancelable: true }));
  });
  await quietWait(page, (n) => document.querySelector("#vocab-summary")?.dataset.classes === String(n), n, 60_000);
  await quietWait(page, () => document.querySelector("#sweep-status")?.dataset.state === "done");
  // The box summarises what it holds instead of laying out 2 MB of text.
  assert.match(await page.textContent("#z-summary"), /1 line, \d+\.\d KiB/);
  await assertMainThreadFree(page, "StableMax, a 250 000-logit vocabulary pasted, evaluated and drawn");
  // The table lists the 20 most probable classes and the correct class, not 250 000 rows.
  const rows = await page.$$eval("#probs-table tbody tr", (trs) => trs.map((tr) => Number(tr.dataset.class)));
  const zr = z.map((v) => Number(v.toFixed(6)));
  const top = [...zr.keys()].sort((a, b) => zr[b] - zr[a] || a - b).slice(0, 20);
  assert.deepEqual(rows, [...top, 0]);
  // Softmax of the largest logit, against a double-precision computation here.
  const max = zr.reduce((a, b) => Math.max(a, b), -Infinity);
  let sum = 0;
  for (const v of zr) sum += Math.exp(v - max);
  const p = Number(await page.textContent('#probs-table tbody tr:first-child td[data-col="softmax"]'));
  assert.ok(Math.abs(p - 1 / sum) < 1e-9 * (1 / sum), `${p} vs ${1 / sum}`);
  // Too long for the link: the URL keeps the other settings, and the page says so.
  assert.doesNotMatch(page.url(), /[?&]z=/);
  await page.waitForSelector("#z-local");
  await shot(page, "stablemax-vocabulary");
  assert.deepEqual(problems, []);
  await context.close();
});
