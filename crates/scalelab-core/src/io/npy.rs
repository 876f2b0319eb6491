//! NumPy `.npy` arrays and `.npz` archives of them, from bytes (what a user uploads or drops):
//! the header and data through `npyz`, the archive through `zip` (stored or deflated members).
//!
//! Numeric dtypes only (`f4`/`f8`, signed and unsigned integers of 1–8 bytes, `b1`), either byte
//! order, C or Fortran order (returned in C order). Object arrays (pickles) are refused, never
//! loaded.

use std::io::{Cursor, Read};

use npyz::{DType, NpyFile, Order, TypeChar};

use crate::CoreError;

/// Largest array read, in elements (a 50 000 × 1000 set of logits is 5·10⁷).
pub const MAX_ELEMENTS: u64 = 1 << 28;

/// An array's values, as read.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// Floating-point values (`f4` widened exactly).
    Float(Vec<f64>),
    /// Integer or boolean values.
    Int(Vec<i64>),
}

/// An array: its shape and its values in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// The values.
    pub data: NpyData,
}

impl NpyArray {
    /// The values as `f64` (integers converted; exact up to 2⁵³).
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.data {
            NpyData::Float(v) => v.clone(),
            NpyData::Int(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }
}

fn invalid(what: &'static str, reason: impl Into<String>) -> CoreError {
    CoreError::InvalidArrayFile {
        what,
        reason: reason.into(),
    }
}

/// Reads one `.npy` file (`what` names it in errors, e.g. `"NPY file"` or the member's name).
///
/// Errors: [`CoreError::InvalidArrayFile`] for a bad magic string or header, an unsupported dtype
/// (structured, string, complex, object), more than [`MAX_ELEMENTS`] values, or data shorter
/// than the header says.
pub fn read_npy(what: &'static str, bytes: impl Read) -> Result<NpyArray, CoreError> {
    let npy =
        NpyFile::new(bytes).map_err(|e| invalid(what, format!("not a NumPy array file ({e})")))?;
    let shape: Vec<u64> = npy.shape().to_vec();
    let count = shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .filter(|&c| c <= MAX_ELEMENTS)
        .ok_or_else(|| {
            invalid(
                what,
                format!("its shape {shape:?} holds more than {MAX_ELEMENTS} values"),
            )
        })?;
    let order = npy.order();
    let dtype = npy.dtype();
    let DType::Plain(ts) = &dtype else {
        return Err(invalid(
            what,
            format!(
                "its dtype {} is structured or an array type; save a plain numeric array",
                dtype.descr()
            ),
        ));
    };
    let short = |e: std::io::Error| invalid(what, format!("its data are cut short ({e})"));
    let data = match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 4) => NpyData::Float(
            npy.into_vec::<f32>()
                .map_err(short)?
                .into_iter()
                .map(f64::from)
                .collect(),
        ),
        (TypeChar::Float, 8) => NpyData::Float(npy.into_vec::<f64>().map_err(short)?),
        (TypeChar::Int, 1) => ints(npy.into_vec::<i8>().map_err(short)?),
        (TypeChar::Int, 2) => ints(npy.into_vec::<i16>().map_err(short)?),
        (TypeChar::Int, 4) => ints(npy.into_vec::<i32>().map_err(short)?),
        (TypeChar::Int, 8) => NpyData::Int(npy.into_vec::<i64>().map_err(short)?),
        (TypeChar::Uint, 1) => ints(npy.into_vec::<u8>().map_err(short)?),
        (TypeChar::Uint, 2) => ints(npy.into_vec::<u16>().map_err(short)?),
        (TypeChar::Uint, 4) => ints(npy.into_vec::<u32>().map_err(short)?),
        (TypeChar::Uint, 8) => {
            let v = npy.into_vec::<u64>().map_err(short)?;
            NpyData::Int(
                v.into_iter()
                    .map(|x| {
                        i64::try_from(x)
                            .map_err(|_| invalid(what, format!("value {x} is too large")))
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        (TypeChar::Bool, 1) => ints(
            npy.into_vec::<bool>()
                .map_err(short)?
                .into_iter()
                .map(u8::from)
                .collect(),
        ),
        _ => {
            return Err(invalid(
                what,
                format!("its dtype {ts} is not supported; save float32/float64 or integer arrays"),
            ))
        }
    };
    let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    let len = match &data {
        NpyData::Float(v) => v.len(),
        NpyData::Int(v) => v.len(),
    };
    if len as u64 != count {
        return Err(invalid(
            what,
            format!("it holds {len} values, its header says {count}"),
        ));
    }
    let data = if order == Order::Fortran && shape.len() > 1 {
        match data {
            NpyData::Float(v) => NpyData::Float(to_c_order(&v, &shape)),
            NpyData::Int(v) => NpyData::Int(to_c_order(&v, &shape)),
        }
    } else {
        data
    };
    Ok(NpyArray { shape, data })
}

fn ints<T: Into<i64>>(v: Vec<T>) -> NpyData {
    NpyData::Int(v.into_iter().map(Into::into).collect())
}

/// A Fortran-order (column-major) array's values in C order.
fn to_c_order<T: Copy>(v: &[T], shape: &[usize]) -> Vec<T> {
    let n = v.len();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        // Column-major offset of the C-order index `idx`.
        let mut off = 0;
        let mut stride = 1;
        for (d, &i) in idx.iter().enumerate() {
            off += i * stride;
            stride *= shape[d];
        }
        out.push(v[off]);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// The arrays of an `.npz` archive, by name (without `.npy`), in archive order.
///
/// Errors: [`CoreError::InvalidArrayFile`] for a file that is not a zip archive, a member that
/// cannot be decompressed, or any member's errors of [`read_npy`].
pub fn read_npz(bytes: &[u8]) -> Result<Vec<(String, NpyArray)>, CoreError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| invalid("NPZ file", format!("not a zip archive ({e})")))?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let member = zip
            .by_index(i)
            .map_err(|e| invalid("NPZ file", format!("member {i} cannot be read ({e})")))?;
        let Some(name) = member.name().strip_suffix(".npy").map(str::to_string) else {
            continue;
        };
        if member.size() > MAX_ELEMENTS * 8 + 65_536 {
            return Err(invalid(
                "NPZ file",
                format!("member {name} is {} bytes uncompressed", member.size()),
            ));
        }
        let array = read_npy("NPZ member", member).map_err(|e| match e {
            CoreError::InvalidArrayFile { reason, .. } => {
                invalid("NPZ file", format!("{name}: {reason}"))
            }
            other => other,
        })?;
        out.push((name, array));
    }
    Ok(out)
}
