// A small TypeScript consumer of the `scalelab` package: `tsc --noEmit` checks that the published
// declarations describe the API as a user would call it.
import {
  collapseOnsetScale,
  evaluate,
  isCollapsed,
  logSoftmax,
  parseNumbers,
  s,
  softmax,
  stablemax,
  stablemaxCrossEntropyGrad,
  type Evaluation,
  type Precision,
  type ScalelabErrorName,
  fitScalingLaw,
  chinchillaAllocation,
  stepLaw,
  lrScheduleAreas,
  models,
  type FitOutput,
  type ModelInfo,
  temperatureScale,
  calibrationMetrics,
  conventionMatrix,
  fitScaling,
  corp,
  readScores,
  type TemperatureFit,
  type MetricReport,
  type ConventionScore,
  type ScoreSet,
  compareMethods,
  type MethodComparison,
} from "scalelab";

const p: Float64Array = stablemax([0, 1, 2]);
const q: Float64Array = softmax(new Float64Array([1, 2, 3]));
const lq: Float64Array = logSoftmax([1, 2]);
const g: Float64Array = stablemaxCrossEntropyGrad([5, -5, 0], 0);
const half: number = s(-1);
const precisions: Precision[] = ["f16", "bf16", "f32", "f64"];
const e: Evaluation = evaluate([3, 1, 0], 0, 10, "softmax", precisions[2]);
const collapsed: boolean = e.collapsed || isCollapsed([20, 0], "f32");
const onset: number | undefined = collapseOnsetScale([1, 0], "f32", 1, 1000);
const parsed: Float64Array = parseNumbers("1, 2, 3");

function describe(err: unknown): ScalelabErrorName | "other" {
  if (err instanceof Error) {
    const name = err.name as ScalelabErrorName;
    switch (name) {
      case "EmptyInput":
      case "NonFinite":
      case "NotANumber":
      case "OutOfRange":
      case "IndexOutOfRange":
      case "DimensionMismatch":
      case "InvalidValue":
      case "TooFewPoints":
      case "LogOfNonPositive":
      case "NegativeWeight":
      case "InvalidBounds":
      case "ModelUndefined":
      case "InvalidFormula":
      case "InvalidCsv":
        return name;
    }
  }
  return "other";
}

const fitted: FitOutput = fitScalingLaw({ model: "chinchilla", x: [[1e9, 2e10]], y: [2.5], residual: "log", starts: "hoffmann4500", bootstrap: 100 });
const frontier: number = chinchillaAllocation(406.4, 410.7, 0.34, 0.28, 1e23).params + fitted.params[0];
const lr: number = stepLaw(1e9, 1e11).lr;
const areas: number[] = lrScheduleAreas([1, 1, 0.5], { momentumDecay: 0.999 }).s2;
const named: number[] = lrScheduleAreas({ kind: "cosine", steps: 100, peak: 1e-3, finalLr: 1e-4, warmup: 10 }, { warmup: "reference_code" }).s1;
const list: ModelInfo[] = models();

export const summary2 = [frontier, lr, areas, named, list];
export const summary = [p, q, lq, g, half, e.sumExp, collapsed, onset, parsed, describe(new Error("x"))];

// Kernels: ComputeContext (WebGPU with CPU fallback).
import {
  ComputeContext,
  kernelOps,
  type CrossEntropyResult,
  type KernelCheck,
  type KernelTiming,
  type KernelOpKey,
} from "scalelab";

async function kernels(): Promise<void> {
  const ctx: ComputeContext = await ComputeContext.create({ backend: "auto" });
  const backend: "webgpu" | "cpu" = ctx.backend;
  const reason: string | undefined = ctx.fallbackReason;
  const c: Float32Array = await ctx.matmul(new Float32Array(6), new Float32Array(6), 2, 3, 2, {
    transposeB: false,
    bias: new Float32Array(2),
    relu: true,
  });
  const p: Float32Array = await ctx.stablemaxRows(new Float32Array(4), 2);
  const ce: CrossEntropyResult = await ctx.crossEntropyRows(new Float32Array(4), 2, new Uint32Array(2), "stablemax");
  const r: Float32Array = await ctx.reduceRows(new Float32Array(4), 2, "argmax");
  const total: number = await ctx.reduceAll(new Float32Array(4), "sum");
  const key: KernelOpKey = kernelOps()[0].key;
  const t: KernelTiming = await ctx.timeKernel(key, 64, 8);
  const checks: KernelCheck[] = ctx.backend === "webgpu" ? await ctx.verifyKernels() : [];
  ctx.loseDevice();
  void [backend, reason, c, p, ce.grad, r, total, t.gflops, checks];
}
void kernels;

const tFit: TemperatureFit = temperatureScale(new Float32Array([3, 0, 0, 3, 3, 0]), 2, new Uint32Array([0, 1, 1]));
const report: MetricReport = calibrationMetrics([3, 0, 0, 3], 2, [0, 1], {
  temperature: tFit.temperature,
  binning: { kind: "equal_mass", bins: 5 },
});
const fromProbs: number = calibrationMetrics([0.75, 0.25, 1, 0], 2, [0, 0], { kind: "probabilities" }).ece;
const matrix: ConventionScore[] = conventionMatrix([0.9, 0.6], [1, 0], 10);
const scaled: number = fitScaling([3, 0, 0, 3], 2, [0, 1], "vector", 0.01).nll + corp([0.2], [1]).murphy.brier;
const set: ScoreSet = readScores(new TextEncoder().encode("label,a,b\n0,1,2\n"), "csv", "logits");
const methods: MethodComparison = compareMethods([3, 0, 0, 3, 3, 0, 0, 3], 2, [0, 1, 1, 0], { fraction: 0.5, seed: 1 });
const firstEce: number | undefined = methods.outcomes.map((o) => ("scored" in o ? o.scored.ece : undefined))[0];
const binaryEce: number | undefined = report.binary?.ece;
console.log(report.ece, fromProbs, matrix.length, scaled, set.classes, firstEce, binaryEce);

// Grokking: the Trainer handle.
import {
  Trainer,
  type TrainerConfig,
  type TrainerConfigInput,
  type TrainerStart,
  type TrainerPreset,
  type EpochMetrics,
  type TestMetrics,
  type TrainerCost,
  type TrainerSplit,
  type TrainerTensor,
  type FourierSpectrum,
  type TrainerConfigField,
  type ScalelabError,
} from "scalelab";

function grokking(): void {
  const preset: TrainerPreset = "ortho_adamw";
  const base: TrainerConfig = Trainer.preset(preset);
  const input: TrainerConfigInput = { p: 97, hidden: [128], optimizer: { lr: 1e-3, orthogonal: "project" }, loss: "stablemax" };
  const start: TrainerStart = { train: [0, 5, 9], tensors: [new Float64Array(194 * 128), [0.5], new Float32Array(4)] };
  const trainer = new Trainer({ ...base, ...input, optimizer: { ...base.optimizer, ...input.optimizer } });
  const replay = new Trainer(undefined, start);
  const epochs: EpochMetrics[] = trainer.step(10);
  const last: EpochMetrics | undefined = epochs[epochs.length - 1];
  const test: TestMetrics | null = last ? last.test : null;
  const now: TestMetrics = trainer.evaluate();
  const epoch: number = trainer.epoch;
  const config: TrainerConfig = trainer.config;
  const cost: TrainerCost = trainer.cost;
  const split: TrainerSplit = trainer.split;
  const tensors: TrainerTensor[] = trainer.tensors();
  const values: Float64Array = tensors[0].values;
  const spectrum: FourierSpectrum = trainer.fourier();
  // @ts-expect-error an unknown key is refused by the types too
  new Trainer({ learningRate: 0.1 });
  // @ts-expect-error and so is a value of the wrong kind
  new Trainer({ optimizer: { kind: "adam" } });
  trainer.dispose();
  replay.free();
  try {
    new Trainer({ trainFraction: 1 });
  } catch (err) {
    const e = err as ScalelabError;
    const field: TrainerConfigField | string | undefined = e.field;
    void [e.name === "Disposed", field];
  }
  void [last?.weightNorms[0], test?.accuracy, now.loss, epoch, config.optimizer.weightDecay, cost.trainFlops, split.test, values, spectrum.first];
}
void grokking;
