//! The device half of a GPU training run: the resident buffers and the dispatches of an epoch,
//! bound once when the run starts.
//!
//! Buffers: the flat tensors (`params`), their gradients (`grads`, `projected` for ⊥Grad), the
//! optimizer moments, the step's output (`[p' | m' | v']`, copied back after the step), per set
//! (training, test) the operand pairs and every layer's output, two gradient buffers the backward
//! pass alternates between, and a scratch buffer. Dispatches: the forward pass of each set, the
//! backward pass and the optimizer step, each recorded into one compute pass.

use scalelab_core::grokking::{OptimizerKind, Orthogonal, Samples};
use scalelab_core::ops::optim::AdamW;

use super::layout::TensorLayout;
use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::adamw_step::{self, AdamWParams};
use crate::kernels::elementwise::{self, plan_elementwise, ElementwiseParams};
use crate::kernels::matmul::{self, plan_matmul, MatmulParams};
use crate::kernels::one_hot_layer::{self, OneHotParams, FLAG_BIAS, FLAG_RELU};
use crate::kernels::one_hot_layer_grad::{self, column_lists, OneHotGradParams};
use crate::kernels::orthogonal_grad::{self, OrthogonalGradParams};
use crate::kernels::sgd_step::{self, SgdParams};
use crate::limits::check_buffer;
use crate::resident::{staging, storage, uniform, Dispatch, View};

/// The weights, first and second moments per tensor after a step.
pub(crate) type StepState = (Vec<Vec<f32>>, Vec<Vec<f32>>, Vec<Vec<f32>>);

/// What the network looks like, from the host half of the run.
pub(crate) struct Shape<'a> {
    pub(crate) sizes: &'a [usize],
    pub(crate) bias: bool,
    pub(crate) kind: OptimizerKind,
    pub(crate) orthogonal: Orthogonal,
}

impl Shape<'_> {
    fn layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Index of layer `l`'s weight among the tensors (its bias follows it).
    fn weight(&self, l: usize) -> usize {
        l * (1 + usize::from(self.bias))
    }
}

/// One set of samples on the device: its operands and every layer's output.
struct SampleSet {
    len: usize,
    outputs: Vec<wgpu::Buffer>,
}

/// The resident buffers and bound dispatches of a run.
pub(crate) struct Passes {
    pub(crate) layout: TensorLayout,
    p: usize,
    kind: OptimizerKind,
    params: wgpu::Buffer,
    moments: wgpu::Buffer,
    step_out: wgpu::Buffer,
    optimizer_params: wgpu::Buffer,
    train: SampleSet,
    test: SampleSet,
    /// The host's gradient of the loss with respect to the training logits lands here.
    pub(crate) delta: wgpu::Buffer,
    pub(crate) train_staging: wgpu::Buffer,
    pub(crate) all_staging: wgpu::Buffer,
    pub(crate) state_staging: wgpu::Buffer,
    forward_train: Vec<Dispatch>,
    forward_test: Vec<Dispatch>,
    backward: Vec<Dispatch>,
}

/// Builds the dispatches of a run (each bind group keeps the buffers it binds alive).
struct Builder<'c> {
    ctx: &'c GpuContext,
    placeholder: wgpu::Buffer,
}

impl Builder<'_> {
    /// `C = relu?(op(A) · op(B) + bias)` into `out` (see `matmul.wgsl`).
    #[allow(clippy::too_many_arguments)]
    fn matmul(
        &self,
        a: View<'_>,
        b: View<'_>,
        bias: Option<View<'_>>,
        out: View<'_>,
        (m, k, n): (usize, usize, usize),
        (transpose_a, transpose_b): (bool, bool),
        relu: bool,
    ) -> Result<Dispatch, GpuError> {
        let plan = plan_matmul(&self.ctx.limits(), m, k, n)?;
        let params = MatmulParams {
            flags: u32::from(transpose_a)
                | u32::from(transpose_b) << 1
                | u32::from(bias.is_some()) << 2
                | u32::from(relu) << 3,
            ..plan.params
        };
        let params = uniform(self.ctx, "matmul", bytemuck::bytes_of(&params));
        let bias = bias.unwrap_or(View::whole(&self.placeholder));
        Ok(Dispatch::new(
            self.ctx,
            &matmul::SOURCE,
            ("tile", plan.tile),
            &params,
            &[a, b, bias],
            out,
            [plan.workgroups[0], plan.workgroups[1], 1],
        ))
    }

    /// A kernel with one invocation per element of `len`, on the elementwise grid.
    fn per_element(
        &self,
        kernel: &crate::kernels::KernelSource,
        len: usize,
        params: &[u8],
        inputs: &[View<'_>],
        out: View<'_>,
    ) -> Result<(Dispatch, wgpu::Buffer), GpuError> {
        let plan = plan_elementwise(&self.ctx.limits(), len)?;
        let params = uniform(self.ctx, kernel.name, params);
        let dispatch = Dispatch::new(
            self.ctx,
            kernel,
            ("workgroup_size", plan.workgroup_size),
            &params,
            inputs,
            out,
            [plan.workgroups[0], plan.workgroups[1], 1],
        );
        Ok((dispatch, params))
    }
}

/// A storage buffer of `len` values, checked against the device limits first.
fn checked(ctx: &GpuContext, what: &'static str, len: usize) -> Result<wgpu::Buffer, GpuError> {
    check_buffer(&ctx.limits(), what, len as u128)?;
    Ok(storage(ctx, what, len))
}

/// A sample set's operand pairs on the device.
fn operands(ctx: &GpuContext, samples: &Samples) -> Result<wgpu::Buffer, GpuError> {
    let pairs: Vec<u32> = samples
        .a
        .iter()
        .zip(&samples.b)
        .flat_map(|(&a, &b)| [a, b])
        .collect();
    let buffer = checked(ctx, "operands", pairs.len())?;
    ctx.queue()
        .write_buffer(&buffer, 0, bytemuck::cast_slice(&pairs));
    Ok(buffer)
}

impl Passes {
    /// Allocates and fills the buffers of a run (`weights` and the moments `m`, `v` per tensor,
    /// in the host's layout) and binds every dispatch.
    ///
    /// Errors: a buffer beyond the device limits (`TooLarge`, before anything is allocated that
    /// large).
    pub(crate) fn new(
        ctx: &GpuContext,
        shape: &Shape<'_>,
        train: &Samples,
        test: &Samples,
        weights: &[Vec<f32>],
        (m, v): (&[Vec<f32>], &[Vec<f32>]),
    ) -> Result<Passes, GpuError> {
        let sizes = shape.sizes;
        let layers = shape.layers();
        let p = sizes[layers];
        let lengths: Vec<usize> = weights.iter().map(Vec::len).collect();
        let layout = TensorLayout::of(&lengths);
        let total = layout.total;
        let widest = sizes[1..].iter().copied().max().unwrap_or(1);
        let (n, n_test) = (train.len(), test.len());
        let moments_len = match shape.kind {
            OptimizerKind::Adamw => 2 * total,
            OptimizerKind::Sgd => total,
        };
        // Every size first, so a run too large fails before anything is allocated.
        check_buffer(
            &ctx.limits(),
            "optimizer step output",
            (total + moments_len) as u128,
        )?;
        for (what, len) in [
            ("training activations", n * widest),
            ("test activations", n_test * widest),
            ("logits read back", (n + n_test) * p),
        ] {
            check_buffer(&ctx.limits(), what, len as u128)?;
        }

        let params = checked(ctx, "params", total)?;
        ctx.queue()
            .write_buffer(&params, 0, bytemuck::cast_slice(&layout.pack(weights)));
        let moments = checked(ctx, "moments", moments_len)?;
        let mut packed = layout.pack(m);
        if shape.kind == OptimizerKind::Adamw {
            packed.extend(layout.pack(v));
        }
        ctx.queue()
            .write_buffer(&moments, 0, bytemuck::cast_slice(&packed));
        let grads = checked(ctx, "grads", total)?;
        let projected = checked(ctx, "projected grads", total)?;
        let step_out = checked(ctx, "optimizer step output", total + moments_len)?;
        let delta = checked(ctx, "delta", n * widest)?;
        let delta_other = checked(ctx, "delta", n * widest)?;
        let scratch = checked(ctx, "scratch", n * widest)?;
        let ones = checked(ctx, "ones", n)?;
        ctx.queue()
            .write_buffer(&ones, 0, bytemuck::cast_slice(&vec![1.0f32; n]));
        let lists = column_lists(&train.a, &train.b, p);
        let lists_buffer = checked(ctx, "column lists", lists.len())?;
        ctx.queue()
            .write_buffer(&lists_buffer, 0, bytemuck::cast_slice(&lists));
        let bounds = layout.projection_bounds();
        let bounds_buffer = storage(ctx, "projection bounds", bounds.len());
        ctx.queue()
            .write_buffer(&bounds_buffer, 0, bytemuck::cast_slice(&bounds));
        let builder = Builder {
            ctx,
            placeholder: storage(ctx, "placeholder", 1),
        };

        let tensor = |buffer, t: usize| View::range(buffer, layout.offsets[t], layout.lengths[t]);
        let set = |samples: &Samples| -> Result<(SampleSet, Vec<Dispatch>), GpuError> {
            let len = samples.len();
            let operands = operands(ctx, samples)?;
            let outputs: Vec<wgpu::Buffer> = (0..layers)
                .map(|l| checked(ctx, "layer output", len * sizes[l + 1]))
                .collect::<Result<_, _>>()?;
            let mut dispatches = Vec::with_capacity(layers);
            for l in 0..layers {
                let (n_in, n_out) = (sizes[l], sizes[l + 1]);
                let w = tensor(&params, shape.weight(l));
                let bias = shape.bias.then(|| tensor(&params, shape.weight(l) + 1));
                let relu = l + 1 < layers;
                let out = View::range(&outputs[l], 0, len * n_out);
                let dispatch = if l == 0 {
                    let flags =
                        if shape.bias { FLAG_BIAS } else { 0 } | if relu { FLAG_RELU } else { 0 };
                    let params = OneHotParams {
                        samples: len as u32,
                        width: n_out as u32,
                        p: p as u32,
                        flags,
                    };
                    let (dispatch, _) = builder.per_element(
                        &one_hot_layer::SOURCE,
                        len * n_out,
                        bytemuck::bytes_of(&params),
                        &[
                            w,
                            View::whole(&operands),
                            bias.unwrap_or(View::whole(&builder.placeholder)),
                        ],
                        out,
                    )?;
                    dispatch
                } else {
                    let x = View::range(&outputs[l - 1], 0, len * n_in);
                    builder.matmul(x, w, bias, out, (len, n_in, n_out), (false, false), relu)?
                };
                dispatches.push(dispatch);
            }
            Ok((SampleSet { len, outputs }, dispatches))
        };
        let (train_set, forward_train) = set(train)?;
        let (test_set, forward_test) = set(test)?;

        // Backward: the gradient of layer l's output is in `current`; the next one goes to the other.
        let mut backward = Vec::new();
        let mut current = &delta;
        let mut other = &delta_other;
        for l in (0..layers).rev() {
            let (n_in, n_out) = (sizes[l], sizes[l + 1]);
            let d = View::range(current, 0, n * n_out);
            let wi = shape.weight(l);
            if shape.bias {
                let ones = View::range(&ones, 0, n);
                backward.push(builder.matmul(
                    ones,
                    d,
                    None,
                    tensor(&grads, wi + 1),
                    (1, n, n_out),
                    (false, false),
                    false,
                )?);
            }
            if l == 0 {
                let params = OneHotGradParams {
                    columns: n_in as u32,
                    width: n_out as u32,
                    pad0: 0,
                    pad1: 0,
                };
                let (dispatch, _) = builder.per_element(
                    &one_hot_layer_grad::SOURCE,
                    n_in * n_out,
                    bytemuck::bytes_of(&params),
                    &[d, View::whole(&lists_buffer)],
                    tensor(&grads, wi),
                )?;
                backward.push(dispatch);
            } else {
                let input = View::range(&train_set.outputs[l - 1], 0, n * n_in);
                backward.push(builder.matmul(
                    input,
                    d,
                    None,
                    tensor(&grads, wi),
                    (n_in, n, n_out),
                    (true, false),
                    false,
                )?);
                let scratch_view = View::range(&scratch, 0, n * n_in);
                backward.push(builder.matmul(
                    d,
                    tensor(&params, wi),
                    None,
                    scratch_view,
                    (n, n_out, n_in),
                    (false, true),
                    false,
                )?);
                let params = ElementwiseParams {
                    len: (n * n_in) as u32,
                    op: 3,
                    alpha: 0.0,
                    pad0: 0,
                };
                let (dispatch, _) = builder.per_element(
                    &elementwise::SOURCE,
                    n * n_in,
                    bytemuck::bytes_of(&params),
                    &[scratch_view, input],
                    View::range(other, 0, n * n_in),
                )?;
                backward.push(dispatch);
                std::mem::swap(&mut current, &mut other);
            }
        }

        // ⊥Grad, then the optimizer (its parameters are rewritten every step).
        let limits = ctx.limits();
        let step_grads = if shape.orthogonal == Orthogonal::Off {
            &grads
        } else {
            let ranges = bounds.len() - 1;
            let uniform_params = OrthogonalGradParams {
                tensors: ranges as u32,
                len: total as u32,
                rescale: u32::from(shape.orthogonal == Orthogonal::ProjectRescale),
                pad0: 0,
            };
            let uniform_params =
                uniform(ctx, "orthogonal_grad", bytemuck::bytes_of(&uniform_params));
            let workgroup_size = 256
                .min(limits.max_compute_invocations_per_workgroup)
                .min(limits.max_compute_workgroup_size_x)
                .min(limits.max_compute_workgroup_storage_size / 16);
            backward.push(Dispatch::new(
                ctx,
                &orthogonal_grad::SOURCE,
                ("workgroup_size", workgroup_size),
                &uniform_params,
                &[
                    View::whole(&params),
                    View::whole(&grads),
                    View::whole(&bounds_buffer),
                ],
                View::whole(&projected),
                [ranges as u32, 1, 1],
            ));
            &projected
        };
        let plan = plan_elementwise(&limits, total)?;
        let (kernel, bytes) = match shape.kind {
            OptimizerKind::Adamw => (&adamw_step::SOURCE, std::mem::size_of::<AdamWParams>()),
            OptimizerKind::Sgd => (&sgd_step::SOURCE, std::mem::size_of::<SgdParams>()),
        };
        let optimizer_params = uniform(ctx, kernel.name, &vec![0u8; bytes]);
        backward.push(Dispatch::new(
            ctx,
            kernel,
            ("workgroup_size", plan.workgroup_size),
            &optimizer_params,
            &[
                View::whole(&params),
                View::whole(step_grads),
                View::whole(&moments),
            ],
            View::whole(&step_out),
            [plan.workgroups[0], plan.workgroups[1], 1],
        ));

        Ok(Passes {
            layout,
            p,
            kind: shape.kind,
            train_staging: staging(ctx, "training logits", n * p),
            all_staging: staging(ctx, "logits", (n + n_test) * p),
            state_staging: staging(ctx, "weights and moments", total + moments_len),
            params,
            moments,
            step_out,
            optimizer_params,
            train: train_set,
            test: test_set,
            delta,
            forward_train,
            forward_test,
            backward,
        })
    }

    /// Records the forward passes (the test set's with `test`) and the copies of their logits
    /// into the staging buffer they are read from, which it returns.
    pub(crate) fn record_forward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        test: bool,
    ) -> &wgpu::Buffer {
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("forward"),
                timestamp_writes: None,
            });
            for dispatch in &self.forward_train {
                dispatch.record(&mut pass);
            }
            if test {
                for dispatch in &self.forward_test {
                    dispatch.record(&mut pass);
                }
            }
        }
        let train_bytes = (self.train.len * self.p * 4) as u64;
        fn last(set: &SampleSet) -> &wgpu::Buffer {
            set.outputs.last().expect("at least one layer")
        }
        let staging = if test {
            &self.all_staging
        } else {
            &self.train_staging
        };
        encoder.copy_buffer_to_buffer(last(&self.train), 0, staging, 0, train_bytes);
        if test {
            let test_bytes = (self.test.len * self.p * 4) as u64;
            if test_bytes > 0 {
                encoder.copy_buffer_to_buffer(
                    last(&self.test),
                    0,
                    staging,
                    train_bytes,
                    test_bytes,
                );
            }
        }
        staging
    }

    /// Writes the optimizer's parameters for step `step` (1-based) of `config`.
    pub(crate) fn write_optimizer(
        &self,
        ctx: &GpuContext,
        config: &scalelab_core::grokking::OptimizerConfig,
        step: u64,
    ) {
        let len = self.layout.total as u32;
        match self.kind {
            OptimizerKind::Adamw => {
                let (beta1, beta2, eps) = config.adam_constants();
                let adamw = AdamW {
                    lr: config.lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay: config.weight_decay,
                };
                let params = AdamWParams::new(&adamw, step, len);
                ctx.queue()
                    .write_buffer(&self.optimizer_params, 0, bytemuck::bytes_of(&params));
            }
            OptimizerKind::Sgd => {
                let params = SgdParams {
                    len,
                    first: u32::from(step == 1),
                    pad0: 0,
                    pad1: 0,
                    lr: config.lr as f32,
                    momentum: config.momentum as f32,
                    weight_decay: config.weight_decay as f32,
                    pad2: 0.0,
                };
                ctx.queue()
                    .write_buffer(&self.optimizer_params, 0, bytemuck::bytes_of(&params));
            }
        }
    }

    /// Records the backward pass, ⊥Grad and the optimizer step, the copies of the new weights and
    /// moments into place, and their copy into [`Passes::state_staging`].
    pub(crate) fn record_step(&self, encoder: &mut wgpu::CommandEncoder) {
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("backward and step"),
                timestamp_writes: None,
            });
            for dispatch in &self.backward {
                dispatch.record(&mut pass);
            }
        }
        let total = (self.layout.total * 4) as u64;
        encoder.copy_buffer_to_buffer(&self.step_out, 0, &self.params, 0, total);
        encoder.copy_buffer_to_buffer(&self.step_out, total, &self.moments, 0, self.moments.size());
        encoder.copy_buffer_to_buffer(
            &self.step_out,
            0,
            &self.state_staging,
            0,
            self.step_out.size(),
        );
    }

    /// The weights and moments per tensor from what [`Passes::record_step`] read back
    /// (`[p' | m' | v']`; SGD has no `v`).
    pub(crate) fn unpack_state(&self, state: &[f32]) -> StepState {
        let total = self.layout.total;
        let weights = self.layout.unpack(&state[..total]);
        let m = self.layout.unpack(&state[total..2 * total]);
        let v = match self.kind {
            OptimizerKind::Adamw => self.layout.unpack(&state[2 * total..3 * total]),
            OptimizerKind::Sgd => Vec::new(),
        };
        (weights, m, v)
    }
}
