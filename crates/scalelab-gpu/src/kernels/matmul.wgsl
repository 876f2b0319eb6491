// matmul: C = relu?(op(A) · op(B) + 1·biasᵀ), row-major f32, op(A) m x k, op(B) k x n.
//
//   C[i, j] = sum_p op(A)[i, p] * op(B)[p, j]  (+ bias[j] if FLAG_BIAS)  (then max(., 0) if FLAG_RELU)
//
// With FLAG_TRANSPOSE_A, `a` holds A as k x m and op(A) = Aᵀ; with FLAG_TRANSPOSE_B, `b` holds B
// as n x k and op(B) = Bᵀ (the products X·W, Xᵀ·G and G·Wᵀ of a dense layer's backprop).
// One workgroup computes a tile x tile block of C: it walks k in steps of `tile`, staging one
// tile of op(A) and one of op(B) in workgroup memory (zero outside the matrices), and each
// invocation accumulates one element of C.
// Launcher: src/kernels/matmul.rs. CPU oracle: scalelab_core::ops::matmul::matmul.

struct MatmulParams {
    m: u32,
    k: u32,
    n: u32,
    flags: u32,
}

const FLAG_TRANSPOSE_A: u32 = 1u;
const FLAG_TRANSPOSE_B: u32 = 2u;
const FLAG_BIAS: u32 = 4u;
const FLAG_RELU: u32 = 8u;

// Side of the square output tile, set per pipeline by the launcher (16, or 8 on small devices).
override tile: u32 = 16u;

@group(0) @binding(0) var<uniform> params: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
// Length n when FLAG_BIAS is set; otherwise a placeholder that is never read.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

var<workgroup> a_tile: array<f32, tile * tile>;
var<workgroup> b_tile: array<f32, tile * tile>;

// op(A)[row, p], or 0 outside the m x k matrix.
fn load_a(row: u32, p: u32) -> f32 {
    if row >= params.m || p >= params.k {
        return 0.0;
    }
    var i = row * params.k + p;
    if (params.flags & FLAG_TRANSPOSE_A) != 0u {
        i = p * params.m + row;
    }
    if i >= arrayLength(&a) {
        return 0.0;
    }
    return a[i];
}

// op(B)[p, col], or 0 outside the k x n matrix.
fn load_b(p: u32, col: u32) -> f32 {
    if p >= params.k || col >= params.n {
        return 0.0;
    }
    var i = p * params.n + col;
    if (params.flags & FLAG_TRANSPOSE_B) != 0u {
        i = col * params.k + p;
    }
    if i >= arrayLength(&b) {
        return 0.0;
    }
    return b[i];
}

@compute @workgroup_size(tile * tile)
fn matmul(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let ty = lane / tile;
    let tx = lane % tile;
    let row = group.y * tile + ty;
    let col = group.x * tile + tx;

    var acc = 0.0;
    let steps = (params.k + tile - 1u) / tile;
    for (var s = 0u; s < steps; s++) {
        let p0 = s * tile;
        a_tile[lane] = load_a(row, p0 + tx);
        b_tile[lane] = load_b(p0 + ty, col);
        workgroupBarrier();
        for (var q = 0u; q < tile; q++) {
            acc += a_tile[ty * tile + q] * b_tile[q * tile + tx];
        }
        workgroupBarrier();
    }

    if row >= params.m || col >= params.n {
        return;
    }
    if (params.flags & FLAG_BIAS) != 0u && col < arrayLength(&bias) {
        acc += bias[col];
    }
    if (params.flags & FLAG_RELU) != 0u {
        acc = max(acc, 0.0);
    }
    let out = row * params.n + col;
    if out < arrayLength(&output) {
        output[out] = acc;
    }
}
