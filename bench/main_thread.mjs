// The main thread's 50 ms budget, measured: the four browser tests that watch the page's main
// thread (a 10⁵-step loss curve pasted and fitted, a 250 000-logit vocabulary pasted, a 200 000-scale
// sweep with live progress, the 4500-start stream with Pause / Step / Cancel), each run RUNS times
// (default 5) in headless Chromium, with the tasks over 50 ms each run saw (the tests print them).
// The tests themselves fail only on a task over 200 ms or more than three over 50 ms (see
// tests/browser/harness.mjs); this is where the 50 ms target is met or not. Run with
// `cargo xtask bench main-thread` (builds the release site first), or `node bench/main_thread.mjs`
// after a release build. SCALELAB_CPU_SLOWDOWN=2 rehearses a slower machine.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const tests = join(here, "../tests/browser");
const RUNS = Number(process.env.RUNS ?? 5);
const PATTERN = "main thread stays free|multi-start streams to a live chart";

const seen = new Map();
for (let run = 1; run <= RUNS; run++) {
  const r = spawnSync("node", ["--test", "--test-concurrency=1", `--test-name-pattern=${PATTERN}`,
    "fit.test.mjs", "platform.test.mjs", "site.test.mjs"], { cwd: tests, encoding: "utf8", env: process.env });
  for (const line of r.stdout.split("\n")) {
    const m = line.match(/# main thread: (.*): tasks over 50 ms: (\[.*\])/);
    if (!m) continue;
    const tasks = JSON.parse(m[2]);
    if (!seen.has(m[1])) seen.set(m[1], []);
    seen.get(m[1]).push(tasks);
  }
  console.log(`run ${run} of ${RUNS}: ${r.status === 0 ? "tests passed" : "tests FAILED"}`);
}
console.log(`\n| scenario | runs with no task over 50 ms | tasks over 50 ms (all runs) | longest |`);
console.log(`|---|---|---|---|`);
for (const [what, runs] of seen) {
  const all = runs.flat();
  console.log(`| ${what} | ${runs.filter((t) => t.length === 0).length} of ${runs.length} | ${all.length ? all.join(", ") : "none"} | ${all.length ? Math.max(...all) + " ms" : "≤ 50 ms"} |`);
}
