// End-to-end tests of the built site in headless Chromium with WebGPU (SwiftShader).
// Reference values: science.md §7 items 1–4 (StableMax, s(x), Softmax-Collapse thresholds of the
// paper's logger procedure).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, openPage, shot, column, CHROMIUM_ARGS_NO_WEBGPU, watchLongTasks, assertMainThreadFree, quietFill, quietWait } from "./harness.mjs";

let server, origin, browser;

before(async () => {
  ({ server, origin } = await serve());
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
});

const close = (actual, expected, tol) => {
  assert.equal(actual.length, expected.length, `${actual} vs ${expected}`);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tol, `index ${i}: ${actual[i]} vs ${e}`));
};

async function gpuChip(page) {
  const chip = page.locator(".chip");
  await page.waitForFunction(() => ["gpu", "cpu", "lost"].includes(document.querySelector(".chip")?.dataset.backend), null, { timeout: 60_000 });
  return chip;
}

/** Waits until the explorer's table shows `expected` in column `col` (the worker answers asynchronously). */
async function waitColumn(page, col, expected, tol) {
  await page.waitForFunction(([col, expected, tol]) => {
    const v = [...document.querySelectorAll(`#probs-table td[data-col="${col}"]`)].map((td) => Number(td.textContent));
    return v.length === expected.length && expected.every((e, i) => Math.abs(v[i] - e) <= tol);
  }, [col, expected, tol]);
}

test("home page: labs and navigation; no worker until a lab needs one", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  const files = [];
  page.on("request", (r) => files.push(new URL(r.url()).pathname));
  await page.goto(origin + "/");
  await assert.doesNotReject(page.waitForSelector("h1:text('Scalelab')"));
  assert.equal(await page.locator(".cards .card").count(), 5);
  await page.waitForLoadState("networkidle");
  assert.equal(await page.getAttribute(".chip", "data-backend"), "unchecked");
  assert.ok(!files.some((f) => f.includes("worker")), `the home page fetched ${files}`);
  await shot(page, "home");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a lab page: the worker's WebGPU device in the chip, with its kernel check", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=kernels");
  const chip = await gpuChip(page);
  assert.equal(await chip.getAttribute("data-backend"), "gpu", `chip says: ${await chip.textContent()} / ${await chip.getAttribute("title")}`);
  assert.match(await chip.textContent(), /^WebGPU · /);
  // The probe compared the f32 kernels with the f64 CPU oracle.
  assert.ok(Number(await chip.getAttribute("data-softmax-err")) < 1e-5);
  assert.ok(Number(await chip.getAttribute("data-stablemax-err")) < 1e-5);
  assert.equal(await chip.getAttribute("data-worker"), "1");
  assert.deepEqual(problems, []);
  await context.close();
});

test("keyboard navigation reaches the StableMax lab; Back returns home", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/");
  await page.waitForSelector(".cards");
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.textContent === "StableMax");
  }
  assert.ok(reached, "Tab reaches the StableMax link");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#probs-table");
  assert.match(page.url(), /\?lab=stablemax$/);
  await page.goBack();
  await page.waitForSelector(".cards");
  assert.deepEqual(problems, []);
  await context.close();
});

test("StableMax explorer: reference values on the rendered page", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=stablemax&p=f64");
  await page.waitForSelector("#probs-table");
  await page.selectOption("#preset", "0, 1, 2");
  await page.waitForFunction(() => document.querySelector("#z").value === "0, 1, 2");
  await waitColumn(page, "stablemax", [1 / 6, 1 / 3, 1 / 2], 1e-11);
  close(await column(page, "softmax"), [0.0900305732, 0.2447284711, 0.6652409558], 1e-9);
  assert.ok(Math.abs(Number(await page.textContent("#loss-stablemax")) - Math.log(6)) < 1e-10);

  await page.selectOption("#preset", "5, -5, 0");
  await page.waitForFunction(() => document.querySelector("#z").value === "5, -5, 0");
  await waitColumn(page, "stablemax", [36 / 43, 1 / 43, 6 / 43], 1e-11);
  assert.ok(Math.abs(Number(await page.textContent("#loss-stablemax")) - 0.1776811772) < 1e-9);

  await page.selectOption("#preset", "-1, -3, 0, 2");
  await page.waitForFunction(() => document.querySelector("#z").value === "-1, -3, 0, 2");
  await waitColumn(page, "s", [0.5, 0.25, 1, 3], 0);

  // Softmax Collapse for logits [Δ, 0]: the onset table and the status at chosen scales.
  await page.selectOption("#preset", "1, 0");
  await page.waitForFunction(() => document.querySelector("#z").value === "1, 0");
  await page.waitForFunction(() => document.querySelectorAll("#probs-table tbody tr").length === 2);
  await page.waitForFunction(() => document.querySelector('#onset-table tr[data-precision="f32"] td[data-onset]')?.dataset.onset > 16);
  const onset = async (p) => Number(await page.getAttribute(`#onset-table tr[data-precision="${p}"] td[data-onset]`, "data-onset"));
  for (const [p, lo, hi] of [["f32", 16.5, 16.7], ["f64", 36.7, 36.8], ["f16", 7.5, 7.7]]) {
    const k = await onset(p);
    assert.ok(k > lo && k < hi, `${p}: onset ${k}`);
  }
  await page.selectOption("#p", "f32");
  const historyLength = await page.evaluate(() => history.length);
  for (const [k, collapsed] of [["16.5", "false"], ["16.7", "true"]]) {
    await page.fill("#k", k);
    await page.waitForFunction((c) => document.querySelector("#sc-status")?.dataset.collapsed === c, collapsed);
  }
  // Controls write the URL without adding history entries.
  assert.match(page.url(), /k=16\.7/);
  assert.match(page.url(), /p=f32/);
  assert.equal(await page.evaluate(() => history.length), historyLength);
  // Collapsed: the correct-class gradient p_y − 1 is exactly 0 (the other class keeps e^−16.7).
  assert.equal((await column(page, "grad-softmax"))[0], 0);
  await shot(page, "stablemax");

  // The same URL reproduces the view.
  const again = await context.newPage();
  await again.goto(page.url());
  await again.waitForFunction(() => document.querySelector("#sc-status")?.dataset.collapsed === "true");
  assert.equal(await again.inputValue("#k"), "16.7");
  assert.deepEqual(problems, []);
  await context.close();
});

test("bad input: a specific message next to the field, the input kept, the last valid view stays", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=stablemax&p=f64&z=0,1,2");
  await waitColumn(page, "stablemax", [1 / 6, 1 / 3, 1 / 2], 1e-11);
  const good = await column(page, "stablemax");
  const cases = [
    ["#z", "1, abc, 3", "#z-error", /abc/],
    ["#z", "", "#z-error", /empty/],
    ["#z", "1, NaN", "#z-error", /non-finite/],
    ["#z", "1, inf", "#z-error", /non-finite/],
    ["#k", "1e9", "#k-error", /out of range/],
    ["#k", "-3", "#k-error", /out of range/],
    ["#k", "lots", "#k-error", /not a number/],
    ["#t", "7", "#t-error", /out of range/],
    ["#n", "0", "#n-error", /out of range/],
  ];
  for (const [field, text, error, message] of cases) {
    await page.fill(field, text);
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.length > 0, error);
    assert.match(await page.textContent(error), message, `${field} = ${JSON.stringify(text)}`);
    assert.equal(await page.inputValue(field), text, "the user's input is kept");
    assert.equal(await page.getAttribute(field, "aria-invalid"), "true");
    close(await column(page, "stablemax"), good, 0);
    await page.fill(field, { "#z": "0,1,2", "#k": "1", "#t": "0", "#n": "400" }[field]);
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === "", error);
  }
  await page.fill("#z", "1, abc");
  await shot(page, "stablemax-bad-input");
  assert.deepEqual(problems, []);
  await context.close();
});

test("the worker computes the gradient sweep with progress and cancel; the main thread stays free", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  // 64 classes, so that a 200000-scale sweep in four precisions is real work for the worker.
  const z = Array.from({ length: 64 }, (_, i) => (i === 0 ? 1 : -i / 64).toFixed(4)).join(",");
  await page.goto(origin + "/?lab=stablemax&z=" + z);
  await gpuChip(page);
  await page.waitForFunction(() => document.querySelector("#sweep-status")?.dataset.state === "done", null, { timeout: 60_000 });
  await watchLongTasks(page);
  await page.evaluate(() => {
    window.__states = [];
    new MutationObserver(() => window.__states.push(document.querySelector("#sweep-status")?.dataset.state))
      .observe(document.querySelector("#sweep-status"), { attributes: true, childList: true, subtree: true });
  });
  const started = Date.now();
  await quietFill(page, "#n", "200000");
  await quietWait(page, () => document.querySelector("#sweep-status")?.dataset.state === "done");
  const elapsed = Date.now() - started;
  const states = await page.evaluate(() => window.__states);
  assert.ok(states.includes("running"), "progress was shown");
  assert.ok(elapsed > 300, `the sweep should be heavy enough to observe (took ${elapsed} ms)`);
  await assertMainThreadFree(page, "StableMax, a 200 000-scale sweep in the worker with live progress", `(${elapsed} ms)`);
  assert.match(await page.textContent("#sweep-status"), /200000 scales × 4 precisions/);
  // f32 and f16 reach exactly-zero gradients inside ×1…×1000 for [1, 0]; the chart draws them.
  assert.ok((await page.locator('[data-chart="gradient"] path[data-series]').count()) >= 4);

  await page.fill("#n", "199999");
  await page.waitForFunction(() => document.querySelector("#sweep-status")?.dataset.state === "running");
  await page.click("#sweep-cancel");
  await page.waitForFunction(() => document.querySelector("#sweep-status")?.dataset.state === "cancelled", null, { timeout: 30_000 });
  await page.click("#sweep-run");
  await page.waitForFunction(() => document.querySelector("#sweep-status")?.dataset.state === "done", null, { timeout: 120_000 });
  assert.deepEqual(problems, []);
  await context.close();
});

test("charts: hover readout, keyboard readout, SVG and PNG export", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=stablemax&z=1,0&n=300");
  await page.waitForFunction(() => document.querySelector("#sweep-status")?.dataset.state === "done", null, { timeout: 60_000 });
  const svg = page.locator('[data-chart="gradient"] svg');
  await svg.scrollIntoViewIfNeeded();
  const box = await svg.boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await page.waitForFunction(() => document.querySelector('[data-readout="gradient"]').textContent.includes("f32"));
  await svg.focus();
  await page.keyboard.press("ArrowRight");
  assert.match(await page.textContent('[data-readout="gradient"]'), /at \d/);

  const [svgDownload] = await Promise.all([page.waitForEvent("download"), page.click('[data-chart="gradient"] [data-export="svg"]')]);
  assert.match(svgDownload.suggestedFilename(), /\.svg$/);
  const text = await (await import("node:fs/promises")).readFile(await svgDownload.path(), "utf8");
  assert.match(text, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(text, /<path/);
  const [pngDownload] = await Promise.all([page.waitForEvent("download"), page.click('[data-chart="probs"] [data-export="png"]')]);
  assert.match(pngDownload.suggestedFilename(), /\.png$/);
  const png = await (await import("node:fs/promises")).readFile(await pngDownload.path());
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.ok(png.length > 2000);
  assert.deepEqual(problems, []);
  await context.close();
});

test("theme follows the system and toggles; 360 px wide has no horizontal scroll", async () => {
  const { page, context, problems } = await openPage(browser, origin, { width: 360, height: 800 }, "dark");
  await page.goto(origin + "/?lab=stablemax");
  await page.waitForSelector("#probs-table");
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(await bg(), "rgb(13, 17, 23)", "dark system theme");
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), "no horizontal overflow at 360 px");
  await shot(page, "stablemax-360-dark");
  await page.click(".theme-toggle");
  assert.equal(await page.getAttribute("html", "data-theme"), "light");
  assert.equal(await bg(), "rgb(255, 255, 255)");
  await page.click(".theme-toggle");
  assert.equal(await page.getAttribute("html", "data-theme"), "dark");
  await page.goto(origin + "/");
  await page.waitForSelector(".cards");
  assert.equal(await page.getAttribute("html", "data-theme"), "dark", "the choice is remembered");
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360));
  await shot(page, "home-360-dark");
  assert.deepEqual(problems, []);
  await context.close();
});

test("an unknown lab shows a not-found page", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=nope");
  await page.waitForSelector("#not-found");
  assert.match(await page.textContent("#not-found"), /nope/);
  await shot(page, "not-found");
  assert.deepEqual(problems, []);
  await context.close();
});

test("without a WebGPU adapter the site stays on the CPU and says why", async () => {
  const plain = await launch(CHROMIUM_ARGS_NO_WEBGPU);
  try {
    const { page, problems } = await openPage(plain, origin);
    await page.goto(origin + "/?lab=stablemax&p=f64&z=0,1,2");
    const chip = await gpuChip(page);
    assert.equal(await chip.getAttribute("data-backend"), "cpu");
    assert.match(await chip.textContent(), /^CPU — .*(adapter|WebGPU)/);
    // The explorer works the same on the CPU.
    await waitColumn(page, "stablemax", [1 / 6, 1 / 3, 1 / 2], 1e-11);
    await page.waitForFunction(() => document.querySelector("#sweep-status")?.dataset.state === "done", null, { timeout: 60_000 });
    await shot(page, "stablemax-cpu-fallback");
    assert.deepEqual(problems, []);
  } finally {
    await plain.close();
  }
});
