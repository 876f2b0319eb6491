// matmul: C = relu?(op(A) · op(B) + 1·biasᵀ), row-major f32, op(A) m x k, op(B) k x n.
//
//   C[i, j] = sum_p op(A)[i, p] * op(B)[p, j]  (+ bias[j] if FLAG_BIAS)  (then max(., 0) if FLAG_RELU)
//
// With FLAG_TRANSPOSE_A, `a` holds A as k x m and op(A) = Aᵀ; with FLAG_TRANSPOSE_B, `b` holds B
// as n x k and op(B) = Bᵀ (the products X·W, Xᵀ·G and G·Wᵀ of a dense layer's backprop).
// Register-blocked tiling: a workgroup of tile x tile invocations computes a (4·tile) x (4·tile)
// block of C, each invocation a 4 x 4 sub-block held in registers (four vec4 accumulators). It walks k
// in steps of `tile`, staging a (4·tile) x tile slab of op(A) and a tile x (4·tile) slab of op(B) in
// workgroup memory (zero outside the matrices). Each C element is still one sum in order of p.
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

// Invocations per side of the workgroup, set per pipeline by the launcher (16, or 8 on small
// devices); each workgroup covers a (4·tile) x (4·tile) block of C and steps k by `tile`.
override tile: u32 = 16u;

@group(0) @binding(0) var<uniform> params: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
// Length n when FLAG_BIAS is set; otherwise a placeholder that is never read.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

// op(A) slab: 4·tile rows x tile columns, row-major.
var<workgroup> a_slab: array<f32, 4u * tile * tile>;
// op(B) slab: tile rows x 4·tile columns, one vec4 per 4 consecutive columns.
var<workgroup> b_slab: array<vec4<f32>, tile * tile>;

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

// Writes one finished element of C with the bias and ReLU epilogue.
fn store(row: u32, col: u32, value: f32) {
    if row >= params.m || col >= params.n {
        return;
    }
    var c = value;
    if (params.flags & FLAG_BIAS) != 0u && col < arrayLength(&bias) {
        c += bias[col];
    }
    if (params.flags & FLAG_RELU) != 0u {
        c = max(c, 0.0);
    }
    let out = row * params.n + col;
    if out < arrayLength(&output) {
        output[out] = c;
    }
}

@compute @workgroup_size(tile * tile)
fn matmul(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let ty = lane / tile;
    let tx = lane % tile;
    let block = 4u * tile;
    let row0 = group.y * block;
    let col0 = group.x * block;

    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    let steps = (params.k + tile - 1u) / tile;
    for (var s = 0u; s < steps; s++) {
        let p0 = s * tile;
        // Each invocation stages 4 elements of the op(A) slab and one vec4 of the op(B) slab.
        for (var e = 0u; e < 4u; e++) {
            let slot = e * tile * tile + lane;
            a_slab[slot] = load_a(row0 + slot / tile, p0 + slot % tile);
        }
        let c4 = col0 + 4u * tx;
        b_slab[lane] = vec4<f32>(
            load_b(p0 + ty, c4),
            load_b(p0 + ty, c4 + 1u),
            load_b(p0 + ty, c4 + 2u),
            load_b(p0 + ty, c4 + 3u),
        );
        workgroupBarrier();
        for (var q = 0u; q < tile; q++) {
            let bv = b_slab[q * tile + tx];
            let r = 4u * ty * tile + q;
            acc0 = fma(vec4<f32>(a_slab[r]), bv, acc0);
            acc1 = fma(vec4<f32>(a_slab[r + tile]), bv, acc1);
            acc2 = fma(vec4<f32>(a_slab[r + 2u * tile]), bv, acc2);
            acc3 = fma(vec4<f32>(a_slab[r + 3u * tile]), bv, acc3);
        }
        workgroupBarrier();
    }

    let row = row0 + 4u * ty;
    let col = col0 + 4u * tx;
    for (var j = 0u; j < 4u; j++) {
        store(row, col + j, acc0[j]);
        store(row + 1u, col + j, acc1[j]);
        store(row + 2u, col + j, acc2[j]);
        store(row + 3u, col + j, acc3[j]);
    }
}
