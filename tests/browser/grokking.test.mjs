// The StableMax lab's grokking trainer in headless Chromium: the configuration's cost before it
// starts (counted by hand), bad fields refused beside the field, a run and a second run side by
// side streamed live with Pause / Step / Reset, the main thread free, the numerics explorer's link.
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


test("the paper's setup costs what it should; bad fields are refused beside the field", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=stablemax");
  await page.waitForFunction(() => ["gpu", "cpu", "lost"].includes(document.querySelector(".chip")?.dataset.backend));
  // 226·200 + 200·200 + 200·113 parameters (science.md §1.4's MLP).
  await page.waitForFunction(() => /107800 parameters/.test(document.querySelector("#g-cost")?.textContent ?? ""));
  assert.equal(await page.isDisabled("#g-start"), false);
  for (const [key, value] of [["g_p", "1"], ["g_frac", "1"], ["g_h", "200, 0"], ["g_lr", "0"], ["g_b2", "1"], ["g_eps", "-1"], ["g_lr", "abc"]]) {
    const before = await page.inputValue(`#${key}`);
    await page.fill(`#${key}`, value);
    await page.waitForFunction((k) => (document.querySelector(`#${k}-error`)?.textContent ?? "").length > 0, key);
    assert.equal(await page.inputValue(`#${key}`), value, "the text typed stays");
    assert.equal(await page.isDisabled("#g-start"), true, `${key}=${value} cannot start`);
    await page.fill(`#${key}`, before);
    await page.waitForFunction((k) => (document.querySelector(`#${k}-error`)?.textContent ?? "") === "", key);
  }
  assert.equal(await page.isDisabled("#g-start"), false);
  // p = 3000: 9·10⁶ pairs exceed the memory limit, said beside the sizes.
  await page.fill("#g_p", "3000");
  await page.waitForFunction(() => /memory/.test(document.querySelector("#g-memory-error")?.textContent ?? ""));
  assert.equal(await page.isDisabled("#g-start"), true);
  await page.fill("#g_p", "113");
  // The explorer's link carries its precision into the trainer.
  await page.selectOption("#p", "f16");
  await page.click("#sc-train");
  await page.waitForFunction(() => new URLSearchParams(location.search).get("g_sp") === "f16");
  assert.equal(await page.inputValue("#g_sp"), "f16");
  assert.deepEqual(problems, []);
  await context.close();
});

test("two runs train side by side, live; Pause, Step and Reset; the main thread stays free", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  // ⊥AdamW (b) against softmax collapse (a) on p = 23 with 64-wide layers: small enough for CI.
  await page.goto(origin + "/?lab=stablemax&g_p=23&g_h=64,64&g_ep=400&g_every=10&g_cmp=softmax_collapse");
  await page.selectOption("#g-preset", "ortho_adamw");
  await page.waitForFunction(() => document.querySelector("#g_orth")?.value === "rescale");
  await watchLongTasks(page);
  const started = Date.now();
  await quietClick(page, "#g-start");
  await quietWait(page, () => document.querySelector("#g-status")?.dataset.state === "running");
  // Live: the charts draw before the run ends.
  await quietWait(page, () => document.querySelectorAll('[data-chart="g-accuracy"] path[data-series]').length >= 4);
  await quietWait(page, () => document.querySelector("#g-status")?.dataset.state === "done", null, 300_000);
  const elapsed = Date.now() - started;
  await assertMainThreadFree(page, "grokking: two runs of 400 epochs streamed to live charts", `(${elapsed} ms)`);
  const summary = await page.textContent("#g-live");
  const speed = [...summary.matchAll(/([AB]): epoch (\d+), test accuracy ([\d.]+), ([\d.]+) epochs\/s/g)]
    .map((m) => ({ run: m[1], epoch: Number(m[2]), test: Number(m[3]), speed: Number(m[4]) }));
  console.log(`# grokking in the browser: ${JSON.stringify(speed)} (${elapsed} ms)`);
  assert.equal(speed.length, 2, summary);
  // Both runs trained on the worker's WebGPU device (SwiftShader here).
  assert.equal([...summary.matchAll(/epochs\/s on GPU \([^)]*swiftshader/gi)].length, 2, summary);
  assert.deepEqual(speed.map((s) => s.epoch), [400, 400]);
  assert.ok(speed.every((s) => s.speed > 0));
  for (const id of ["g-loss", "g-collapse", "g-cosine", "g-norms", "g-logits", "g-fourier"]) {
    assert.ok((await page.locator(`[data-chart="${id}"] path[data-series]`).count()) >= 2, id);
  }
  await shot(page, "stablemax-grokking");

  // Pause, Step (one epoch of each run), Reset.
  await page.fill("#g_ep", "100000");
  await quietClick(page, "#g-start");
  await quietWait(page, () => /A: epoch [1-9]/.test(document.querySelector("#g-live")?.textContent ?? ""));
  await page.click("#g-pause");
  await page.waitForFunction(() => document.querySelector("#g-status")?.dataset.state === "paused");
  const epochOf = async () => Number((await page.textContent("#g-live")).match(/A: epoch (\d+)/)[1]);
  const before = await epochOf();
  await page.click("#g-step");
  await page.waitForFunction(() => document.querySelector("#g-status")?.dataset.state === "paused");
  await page.waitForFunction((b) => Number(document.querySelector("#g-live").textContent.match(/A: epoch (\d+)/)?.[1]) === b + 1, before);
  await page.click("#g-reset");
  await page.waitForFunction(() => document.querySelector("#g-status")?.dataset.state === "idle");
  assert.equal(await page.locator('[data-chart="g-accuracy"] path[data-series]').count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test("embedded at 360 px in the dark theme: the trainer fits, trains, and the page can be left while it runs", async () => {
  const { page, context, problems } = await openPage(browser, origin, { width: 360, height: 800 }, "dark");
  // On the CPU path (chosen in the URL), so both paths train live in these tests.
  await page.goto(origin + "/?lab=stablemax&embed=1&g_p=23&g_h=32,32&g_ep=100000&g_cmp=stablemax&g_be=cpu");
  await page.click("#g-start:not([disabled])");
  await page.waitForFunction(() => document.querySelectorAll('[data-chart="g-accuracy"] path[data-series]').length >= 4);
  await page.waitForFunction(() => /B: epoch [1-9]/.test(document.querySelector("#g-live")?.textContent ?? ""));
  assert.equal(await page.evaluate(() => document.querySelector("#g-status")?.dataset.state), "running");
  assert.match(await page.textContent("#g-live"), /epochs\/s on CPU, f32/);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), "no horizontal overflow at 360 px");
  await shot(page, "stablemax-grokking-embed-360-dark");
  // Leave while it trains: the next page loads cleanly, nothing reports an error.
  await page.goto(origin + "/?lab=fit");
  await page.waitForSelector("h1");
  assert.match(await page.textContent("h1"), /Fit/);
  assert.deepEqual(problems, []);
  await context.close();
});
