// The Calibrate lab in headless Chromium: the closed-form preset against values by hand, bad input
// beside its field, a netcal example file uploaded (against scikit-learn's isotonic Murphy
// decomposition, tests/vectors/calibration_conventions.json) and a CSV dropped, exports, the URL
// state, the overlap experiment streamed epoch by epoch with Pause / Step and left while it trains,
// 360 px and embedded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { serve, launch, openPage, shot, root } from "./harness.mjs";

let server, origin, browser;
before(async () => {
  ({ server, origin } = await serve());
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

const state = (page, id = "cal") => page.evaluate((id) => document.querySelector(`#${id}-status`)?.dataset.state, id);
const waitState = (page, states, id = "cal", timeout = 120_000) =>
  page.waitForFunction(([id, s]) => s.includes(document.querySelector(`#${id}-status`)?.dataset.state), [id, states], { timeout });
/** A cell of a results table, as a number. */
const cell = async (page, table, rowAttr, row, col) =>
  Number(await page.textContent(`#${table} tr[${rowAttr}="${row}"] td[data-col="${col}"]`));
const close = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("the closed-form preset: T* = 3 / ln 3 and every number by hand; the slider; exports; the link restores it", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=calibrate");
  await waitState(page, ["done"]);
  await page.selectOption("#cal-preset", "closed_form");
  await page.waitForFunction(() => /^4 rows × 2 classes/.test(document.querySelector("#cal-status")?.textContent));
  // Logits (3, 0) ×3 with labels 0, 0, 1 and (0, 3) with label 1: the scaled model must give its
  // top class 3/4, so σ(3/T*) = 3/4 and T* = 3 / ln 3.
  const tStar = 3 / Math.log(3);
  const summary = await page.textContent("#cal-status");
  close(Number(summary.match(/T\* = ([\d.]+)/)[1]), tStar, 1e-6, "T*");
  // After: every confidence 3/4, accuracy 3/4: ECE 0, NLL = H(3/4).
  close(await cell(page, "cal-metrics", "data-metric", "nll", "after"), -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)), 1e-11, "NLL after");
  close(await cell(page, "cal-metrics", "data-metric", "ece", "after"), 0, 1e-12, "ECE after");
  close(await cell(page, "cal-metrics", "data-metric", "accuracy", "before"), 0.75, 0, "accuracy");
  // Every metric has its bootstrap interval, the class-wise ones and Brier / K included.
  for (const m of ["classwise_ece", "adaptive_ce", "brier_per_class", "ece"]) {
    assert.match(await page.textContent(`#cal-metrics tr[data-metric="${m}"] td[data-col="before-ci"]`), /^\[\d/, m);
  }
  // Before: every confidence σ(3) = 1/(1 + e^−3), accuracy 3/4.
  close(await cell(page, "cal-metrics", "data-metric", "ece", "before"), 1 / (1 + Math.exp(-3)) - 0.75, 1e-11, "ECE before");
  // Half the labels each class: the class-frequency forecaster says 1/2: ECE 0, NLL ln 2.
  close(await cell(page, "cal-properness", "data-forecaster", "frequency", "ece"), 0, 1e-12, "forecaster ECE");
  close(await cell(page, "cal-properness", "data-forecaster", "frequency", "nll"), Math.LN2, 1e-11, "forecaster NLL");
  // Every convention sees the same four confidences at 3/4: ECE 0 after, in every one.
  assert.equal(await page.locator("#cal-conventions tbody tr").count(), 5);
  for (const v of await page.$$eval('#cal-conventions td[data-col="ece-after"]', (tds) => tds.map((t) => Number(t.textContent)))) close(v, 0, 1e-12, "convention ECE");
  // The slider: at T*, the NLL read off the curve is the minimum.
  await page.fill("#cal-tt", String(tStar));
  await page.waitForFunction(() => /mean NLL ≈/.test(document.querySelector("#cal-slider-readout")?.textContent));
  close(Number((await page.textContent("#cal-slider-readout")).match(/≈ ([\d.]+)/)[1]), 0.5623351446, 1e-4, "NLL at the slider");
  await page.fill("#cal-tt", "0");
  await page.waitForFunction(() => document.querySelector("#tt-error")?.textContent.includes("out of range"));
  assert.equal(await page.inputValue("#cal-tt"), "0", "the text stays");
  // Exports: the analysis as JSON, the metric table as CSV.
  const [json] = await Promise.all([page.waitForEvent("download"), page.click("#cal-export-json")]);
  const analysis = JSON.parse(await readFile(await json.path(), "utf8"));
  close(analysis.fit.temperature, tStar, 1e-9, "exported T*");
  const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#cal-export-csv")]);
  const lines = (await readFile(await csv.path(), "utf8")).trim().split("\n");
  assert.equal(lines.length, 15, "a header and 14 metrics");
  assert.match(lines.find((l) => l.startsWith("ece,")), /^ece,0\.2025741/);
  // The link carries the data (short enough) and the fields: opened afresh, it shows the same
  // analysis (a new page, not a reload, which would abort the first page's favicon request).
  await page.fill("#cal-tt", "2");
  await page.waitForFunction(() => new URLSearchParams(location.search).get("tt") === "2");
  await shot(page, "calibrate-closed-form");
  const again = await openPage(browser, origin);
  await again.page.goto(page.url());
  await waitState(again.page, ["done"]);
  assert.match(await again.page.textContent("#cal-status"), /^4 rows × 2 classes/);
  assert.equal(await again.page.inputValue("#cal-tt"), "2");
  assert.deepEqual(again.problems, []);
  await again.context.close();
  assert.deepEqual(problems, []);
  await context.close();
});

test("bad input: a ragged row and a bad label are refused beside the data with the text kept; a bad field beside its field", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=calibrate");
  await waitState(page, ["done"]);
  const ragged = "label,a,b\n0,1,2\n1,3\n";
  await page.fill("#cal-data", ragged);
  await page.waitForFunction(() => /line 3/.test(document.querySelector("#cal-data-error")?.textContent));
  assert.equal(await page.inputValue("#cal-data"), ragged);
  assert.equal(await page.getAttribute("#cal-data", "aria-invalid"), "true");
  await page.fill("#cal-data", "label,a,b\n0,1,2\n2,3,1\n");
  await page.waitForFunction(() => /label/i.test(document.querySelector("#cal-data-error")?.textContent));
  // A field out of range: its error beside it, and no analysis started with it.
  await page.fill("#cal-data", "label,a,b\n0,3,0\n0,3,0\n1,3,0\n1,0,3\n");
  await waitState(page, ["done"]);
  await page.fill("#cal-bins", "0");
  await page.waitForFunction(() => document.querySelector("#bins-error")?.textContent.includes("out of range"));
  assert.equal(await page.inputValue("#cal-bins"), "0");
  assert.equal(await state(page), "done", "the last analysis stays");
  await page.selectOption("#cal-src", "synthetic");
  await page.fill("#cal-rows", "12x");
  await page.waitForFunction(() => document.querySelector("#rows-error")?.textContent.includes("12x"));
  assert.deepEqual(problems, []);
  await context.close();
});

test("a netcal example file uploaded (.npz) matches scikit-learn's Murphy decomposition; a CSV dropped; 360 px and embedded", async () => {
  const vectors = JSON.parse(await readFile(join(root, "tests/vectors/calibration_conventions.json"), "utf8"));
  const lenet = vectors.files["lenet-5-cifar-10.npz"];
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=calibrate");
  await waitState(page, ["done"]);
  await page.setInputFiles("#cal-file", join(root, "../shared/refdata/calibration/netcal/lenet-5-cifar-10.npz"));
  await page.waitForFunction(() => /^10000 rows × 10 classes \(probabilities\)/.test(document.querySelector("#cal-status")?.textContent), null, { timeout: 120_000 });
  assert.match(await page.textContent("#cal-file-summary"), /lenet-5-cifar-10\.npz/);
  close(await cell(page, "cal-metrics", "data-metric", "accuracy", "before"), lenet.accuracy, 1e-12, "accuracy");
  // CORP at T = 1 against scikit-learn's IsotonicRegression (the peer's script). The file's rows
  // are float32 probabilities summing to 1 within ~1e-7; the page renormalises them (softmax of
  // ln p), the peer does not: hence 1e-8, not the core tests' 1e-10 on the raw confidences.
  const m = lenet.murphy.top_label;
  close(await cell(page, "cal-murphy", "data-at", "before", "brier"), m.BS, 1e-8, "Brier");
  close(await cell(page, "cal-murphy", "data-at", "before", "miscalibration"), m.MCB, 1e-8, "MCB");
  close(await cell(page, "cal-murphy", "data-at", "before", "discrimination"), m.DSC, 1e-8, "DSC");
  close(await cell(page, "cal-murphy", "data-at", "before", "uncertainty"), m.UNC, 1e-8, "UNC");
  // Two .npy files (labels first, scores second: the 2-D one is the scores), written here by hand:
  // logits (3, 0) ×3 and (0, 3) with labels 0, 0, 1, 1 — the closed form, T* = 3 / ln 3.
  const npy = (descr, shape, body) => {
    let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
    const head = Buffer.alloc(10);
    Buffer.from("\x93NUMPY", "latin1").copy(head);
    head[6] = 1;
    head.writeUInt16LE(header.length, 8);
    return Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(body.buffer)]);
  };
  const dir = await (await import("node:fs/promises")).mkdtemp(join((await import("node:os")).tmpdir(), "scalelab-npy-"));
  const labelsPath = join(dir, "labels.npy"), logitsPath = join(dir, "logits.npy");
  const { writeFile } = await import("node:fs/promises");
  await writeFile(labelsPath, npy("<i8", "(4,)", new BigInt64Array([0n, 0n, 1n, 1n])));
  await writeFile(logitsPath, npy("<f8", "(4, 2)", new Float64Array([3, 0, 3, 0, 3, 0, 0, 3])));
  await page.setInputFiles("#cal-file", [labelsPath, logitsPath]);
  await page.waitForFunction(() => /^4 rows × 2 classes \(logits\)/.test(document.querySelector("#cal-status")?.textContent));
  close(Number((await page.textContent("#cal-status")).match(/T\* = ([\d.]+)/)[1]), 3 / Math.log(3), 1e-6, "T* from two .npy");
  assert.match(await page.textContent("#cal-file-summary"), /labels\.npy \+ logits\.npy/);
  await page.setInputFiles("#cal-file", [logitsPath]);
  await page.waitForFunction(() => /holds one array/.test(document.querySelector("#cal-data-error")?.textContent));
  // A CSV dropped on the box replaces the file.
  const csv = "label,a,b\n0,3,0\n0,3,0\n1,3,0\n1,0,3\n";
  await page.evaluate((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], "four.csv", { type: "text/csv" }));
    document.querySelector(".dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, csv);
  await page.waitForFunction(() => /^4 rows × 2 classes/.test(document.querySelector("#cal-status")?.textContent));
  assert.equal(await page.inputValue("#cal-src"), "text");
  // 360 px wide: no horizontal scroll; embedded: no navigation.
  for (const q of ["", "&embed=1"]) {
    const small = await openPage(browser, origin, { width: 360, height: 800 });
    await small.page.goto(origin + "/?lab=calibrate" + q);
    await waitState(small.page, ["done"]);
    const { scroll, client } = await small.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(scroll <= client, `${q || "page"}: ${scroll} > ${client}`);
    assert.equal(await small.page.locator("nav").count(), q ? 0 : 1);
    await shot(small.page, q ? "calibrate-embedded-360" : "calibrate-360");
    assert.deepEqual(small.problems, []);
    await small.context.close();
  }
  assert.deepEqual(problems, []);
  await context.close();
});

test("conventions on the page: the torchmetrics docstring, the bin-edge example, which bin a sample is in, ECE against the bins; every method on a held-out split", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=calibrate");
  await waitState(page, ["done"]);
  // torchmetrics' multiclass docstring (science.md §7 item 11): 3 bins [lo, hi), ECE 0.2000,
  // RMS 0.2082, MCE 0.2333, in the metric table (its binning chosen by the preset) and in the
  // torchmetrics row of the convention matrix.
  await page.selectOption("#cal-preset", "torchmetrics_multiclass");
  await page.waitForFunction(() => /^4 rows × 3 classes \(probabilities\)/.test(document.querySelector("#cal-status")?.textContent));
  assert.equal(await page.inputValue("#cal-bin"), "equal_width_torchmetrics");
  close(await cell(page, "cal-metrics", "data-metric", "ece", "before"), 0.2, 1e-12, "ECE");
  close(await cell(page, "cal-metrics", "data-metric", "rms", "before"), 0.2082, 1e-4, "RMS");
  close(await cell(page, "cal-metrics", "data-metric", "mce", "before"), 0.2333, 1e-4, "MCE");
  close(await cell(page, "cal-conventions", "data-convention", "torchmetrics", "ece-before"), 0.2, 1e-12, "matrix ECE");
  close(await cell(page, "cal-conventions", "data-convention", "torchmetrics", "rms-before"), 0.2082, 1e-4, "matrix RMS");
  close(await cell(page, "cal-conventions", "data-convention", "torchmetrics", "mce-before"), 0.2333, 1e-4, "matrix MCE");
  assert.equal(await page.textContent('#cal-metrics tr[data-metric="binary_ece"] td[data-col="before"]'), "—", "three classes: no binary convention");
  // The bin-edge example (science.md §7 item 12) as probability rows, a zero among them: 4 bins,
  // Guo 0.15 and torchmetrics 0.10; the confidence 0.75 of row 0 sits on an edge, read as given.
  await page.selectOption("#cal-preset", "bin_edge");
  await page.waitForFunction(() => /^4 rows × 2 classes \(probabilities\)/.test(document.querySelector("#cal-status")?.textContent));
  close(await cell(page, "cal-metrics", "data-metric", "ece", "before"), 0.15, 1e-12, "bin-edge ECE");
  close(await cell(page, "cal-conventions", "data-convention", "guo", "ece-before"), 0.15, 1e-12, "bin-edge Guo");
  close(await cell(page, "cal-conventions", "data-convention", "torchmetrics", "ece-before"), 0.1, 1e-12, "bin-edge torchmetrics");
  const edgeBin = (conv, col) => page.textContent(`#cal-sample tr[data-convention="${conv}"] td[data-col="${col}"]`);
  await page.waitForFunction(() => /^Row 0: label 0, predicted 0 \(correct\); top-label confidence 0.75 at T = 1/.test(document.querySelector("#cal-sample-summary")?.textContent));
  assert.equal(await edgeBin("guo", "edges-before"), "0.5000 – 0.7500");
  assert.equal(await edgeBin("torchmetrics", "edges-before"), "0.7500 – 1.0000");
  // Edge cases by hand, 4 bins: row 0 has confidence exactly 1 (logits 0 and −800), row 1 exactly
  // 1/2 (equal logits). 1 is in Guo's last bin (0.75, 1] and torchmetrics' extra bin; 1/2 is in
  // Guo's (0.25, 0.5] (bin 2 of 4) and torchmetrics' [0.5, 0.75) (bin 3).
  await page.selectOption("#cal-kind", "logits");
  await page.selectOption("#cal-bin", "equal_width");
  await page.fill("#cal-bins", "4");
  await page.fill("#cal-data", "label,a,b\n0,0,-800\n1,0,0\n0,2,0\n1,0,3\n1,1,0\n");
  await page.waitForFunction(() => /^5 rows × 2 classes/.test(document.querySelector("#cal-status")?.textContent));
  const bin = (conv, col) => page.textContent(`#cal-sample tr[data-convention="${conv}"] td[data-col="${col}"]`);
  await page.waitForFunction(() => /^Row 0: label 0, predicted 0 \(correct\); top-label confidence 1 at T = 1/.test(document.querySelector("#cal-sample-summary")?.textContent));
  assert.equal(await bin("guo", "bin-before"), "4");
  assert.equal(await bin("guo", "edges-before"), "0.7500 – 1.0000");
  assert.equal(await bin("torchmetrics", "bin-before"), "5");
  assert.equal(await bin("torchmetrics", "edges-before"), "extra bin: conf = 1");
  await page.fill("#cal-row", "1");
  await page.waitForFunction(() => /^Row 1: label 1, predicted 0 \(wrong\); top-label confidence 0.5 at T = 1, 0.5 at T\*/.test(document.querySelector("#cal-sample-summary")?.textContent));
  assert.equal(await bin("guo", "bin-before"), "2");
  assert.equal(await bin("guo", "edges-before"), "0.2500 – 0.5000");
  assert.equal(await bin("torchmetrics", "bin-after"), "3");
  assert.equal(await bin("netcal", "bin-after"), "3");
  await page.fill("#cal-row", "5");
  await page.waitForFunction(() => /past the last row \(4\)/.test(document.querySelector("#row-error")?.textContent));
  assert.equal(await page.inputValue("#cal-row"), "5", "the text stays");
  // Two classes: the binary convention p(y = 1) is reported.
  assert.notEqual(await page.textContent('#cal-metrics tr[data-metric="binary_ece"] td[data-col="before"]'), "—");
  // ECE against the number of bins: one line per convention, M = 1 … 30.
  assert.equal(await page.locator('[data-chart="cal-bins-before"] path[data-series]').count() >= 5, true);
  // Every method on a held-out split of the overconfident preset.
  await page.selectOption("#cal-preset", "overconfident");
  await page.waitForFunction(() => /^10000 rows × 10 classes/.test(document.querySelector("#cal-status")?.textContent), null, { timeout: 120_000 });
  await page.fill("#cm-lam", "-1");
  await page.waitForFunction(() => document.querySelector("#lam-error")?.textContent.includes("out of range"));
  assert.equal(await page.isDisabled("#cm-run"), true, "no comparison with a bad field");
  await page.fill("#cm-lam", "0.01");
  await page.click("#cm-run");
  await waitState(page, ["done"], "cm", 180_000);
  assert.match(await page.textContent("#cm-status"), /5000 calibration rows, scored on 5000 test rows/);
  assert.equal(await page.locator("#cm-table tbody tr").count(), 6);
  const ece = (m) => cell(page, "cm-table", "data-method", m, "ece");
  // The generated logits are overconfident at scale 6: every method lowers the test ECE.
  const raw = await ece("uncalibrated");
  for (const m of ["temperature", "vector_scaling", "matrix_scaling", "histogram_binning", "isotonic"]) {
    assert.ok((await ece(m)) < raw / 2, `${m}: ${await ece(m)} vs ${raw}`);
  }
  assert.equal(await page.textContent('#cm-table tr[data-method="isotonic"] td[data-col="nll"]'), "—");
  assert.match(await page.textContent('#cm-table tr[data-method="temperature"] td[data-col="fit"]'), /^T = 2\.\d+/);
  await page.selectOption("#cm-show", "isotonic");
  await page.waitForFunction(() => /Isotonic/.test(document.querySelector('[data-chart="cm-rel"]')?.textContent));
  assert.deepEqual(problems, []);
  await context.close();
});

test("the overlap experiment streams its epochs live; Pause and Step act between epochs; leaving while it trains cancels it", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=calibrate&ov_ep=400&ov_n=1000&ov_h=32");
  await waitState(page, ["done"]);
  await page.click("#ov-run");
  await page.waitForFunction(() => document.querySelector('[data-chart="ov-curves"] path[data-series]'));
  assert.equal(await state(page, "ov"), "running");
  await page.click("#ov-pause");
  await waitState(page, ["paused"], "ov");
  const done = async () => Number((await page.textContent("#ov-status")).match(/(\d+) of 400/)[1]);
  const at = await done();
  await page.click("#ov-step");
  await page.waitForFunction((n) => {
    const m = document.querySelector("#ov-status").textContent.match(/(\d+) of 400/);
    return document.querySelector("#ov-status").dataset.state === "paused" && m && Number(m[1]) === n + 1;
  }, at);
  await page.click("#ov-pause"); // Resume
  await page.waitForFunction((n) => Number(document.querySelector("#ov-status").textContent.match(/(\d+) of 400/)?.[1]) > n + 2, at);
  // Leave while it trains: Home and back in the page; the job is gone, the worker is the same.
  const generation = await page.getAttribute(".chip", "data-worker");
  await page.click('nav a:text("Home")');
  await page.waitForSelector(".cards");
  await page.goBack();
  await page.waitForSelector("#ov-run");
  assert.equal(await state(page, "ov"), "idle");
  assert.equal(await page.getAttribute(".chip", "data-worker"), generation);
  // A short run to the end: the table gives the scores before and after temperature scaling.
  await page.fill("#ov_ep", "3");
  await page.click("#ov-run");
  await waitState(page, ["done"], "ov", 180_000);
  assert.match(await page.textContent("#ov-status"), /train accuracy/);
  assert.equal(await page.locator("#ov-result tbody tr").count() >= 1, true);
  assert.deepEqual(problems, []);
  await context.close();
});

test("the overlap sweep: every separation with ERM and with Mixup, softmax regression, NLL and ECE charted against μ", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(origin + "/?lab=calibrate&ov_n=400&ov_ep=3&ov_h=0&ov_d=3");
  await waitState(page, ["done"]);
  await page.fill("#ov_mus", "0.5, 200");
  await page.waitForFunction(() => /out of range/.test(document.querySelector("#ov_mus-error")?.textContent));
  assert.equal(await page.isDisabled("#ov-sweep"), true);
  await page.fill("#ov_mus", "0.25, 4");
  await page.click("#ov-sweep");
  await waitState(page, ["done"], "ov-sw", 180_000);
  const rows = await page.$$eval("#ov-sweep-table tbody tr", (trs) => trs.map((t) => [t.dataset.mu, t.dataset.training]));
  assert.deepEqual(rows, [["0.25", "erm"], ["0.25", "mixup"], ["4", "erm"], ["4", "mixup"]]);
  // Every run reports its scores: accuracies of a two-class model in [0, 1], a positive finite
  // NLL, and a temperature or the words saying there is none.
  for (const tr of await page.$$eval("#ov-sweep-table tbody tr", (trs) => trs.map((t) => ({
    acc: Number(t.querySelector('[data-col="train-accuracy"]').textContent),
    nll: Number(t.querySelector('[data-col="nll-before"]').textContent),
    after: t.querySelector('[data-col="nll-after"]').textContent,
    t: t.querySelector('[data-col="t"]').textContent,
  })))) {
    assert.ok(tr.acc >= 0 && tr.acc <= 1 && tr.nll > 0 && Number.isFinite(tr.nll), JSON.stringify(tr));
    assert.ok(tr.after === "no finite T" ? tr.t === "" : Number(tr.t) > 0, JSON.stringify(tr));
  }
  for (const chart of ["ov-sweep-nll", "ov-sweep-ece"]) {
    assert.ok((await page.locator(`[data-chart="${chart}"] path[data-series]`).count()) >= 2, chart);
  }
  assert.deepEqual(problems, []);
  await context.close();
});
