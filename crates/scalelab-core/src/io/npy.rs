//! NumPy `.npy` arrays and `.npz` archives of them, from bytes (what a user uploads or drops):
//! the header and data through `npyz`, the archive through `zip` (stored or deflated members).
//!
//! Numeric dtypes only (`f4`/`f8`, signed and unsigned integers of 1–8 bytes, `b1`), either byte
//! order, C or Fortran order (returned in C order). Object arrays (pickles) are refused, never
//! loaded.

use std::cell::RefCell;
use std::io::{Cursor, Read};
use std::rc::Rc;

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

/// An element type the reader takes, widened into [`NpyData`].
trait Element: npyz::Deserialize {
    fn push(self, out: &mut NpyData) -> Result<(), String>;
}

/// `Element` for types that widen losslessly into one variant of [`NpyData`].
macro_rules! widening_elements {
    ($variant:ident($to:ty): $($t:ty),*) => {$(
        impl Element for $t {
            fn push(self, out: &mut NpyData) -> Result<(), String> {
                if let NpyData::$variant(v) = out {
                    v.push(<$to>::from(self));
                }
                Ok(())
            }
        }
    )*};
}
widening_elements!(Float(f64): f32, f64);
widening_elements!(Int(i64): i8, i16, i32, i64, u8, u16, u32, bool);

impl Element for u64 {
    fn push(self, out: &mut NpyData) -> Result<(), String> {
        let x = i64::try_from(self).map_err(|_| format!("value {self} is too large"))?;
        if let NpyData::Int(v) = out {
            v.push(x);
        }
        Ok(())
    }
}

/// npyz's element reader of one dtype, behind one interface.
trait Elements {
    /// Reads up to `max` more elements into `out`; the number read (fewer only at the end).
    fn pull(&mut self, max: u64, out: &mut NpyData) -> Result<u64, String>;
}

impl<T: Element, R: Read> Elements for npyz::NpyReader<T, R> {
    fn pull(&mut self, max: u64, out: &mut NpyData) -> Result<u64, String> {
        let mut n = 0;
        while n < max {
            match self.next() {
                Some(Ok(v)) => v.push(out)?,
                Some(Err(e)) => return Err(format!("its data are cut short ({e})")),
                None => break,
            }
            n += 1;
        }
        Ok(n)
    }
}

/// One `.npy` array read a slice at a time ([`NpyStream::read`]), so that a worker can report
/// progress and stop between slices; [`read_npy`] reads it at once.
pub struct NpyStream<'a> {
    what: &'static str,
    shape: Vec<usize>,
    order: Order,
    count: u64,
    item_size: u64,
    elements: Box<dyn Elements + 'a>,
    data: NpyData,
    read: u64,
}

impl<'a> NpyStream<'a> {
    /// Reads the header of the array in `reader` (`what` names it in errors, e.g. `"NPY file"`
    /// or the member's name).
    ///
    /// Errors: [`CoreError::InvalidArrayFile`] for a bad magic string or header, an unsupported
    /// dtype (structured, string, complex, object) or more than [`MAX_ELEMENTS`] values.
    pub fn new(what: &'static str, reader: impl Read + 'a) -> Result<Self, CoreError> {
        let npy = NpyFile::new(reader)
            .map_err(|e| invalid(what, format!("not a NumPy array file ({e})")))?;
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
        let ts = ts.clone();
        let unsupported = || {
            invalid(
                what,
                format!("its dtype {ts} is not supported; save float32/float64 or integer arrays"),
            )
        };
        fn boxed<'a, T: Element + 'a, R: Read + 'a>(
            npy: NpyFile<R>,
        ) -> Option<Box<dyn Elements + 'a>> {
            npy.data::<T>()
                .ok()
                .map(|r| Box::new(r) as Box<dyn Elements + 'a>)
        }
        let elements = match (ts.type_char(), ts.size_field()) {
            (TypeChar::Float, 4) => boxed::<f32, _>(npy),
            (TypeChar::Float, 8) => boxed::<f64, _>(npy),
            (TypeChar::Int, 1) => boxed::<i8, _>(npy),
            (TypeChar::Int, 2) => boxed::<i16, _>(npy),
            (TypeChar::Int, 4) => boxed::<i32, _>(npy),
            (TypeChar::Int, 8) => boxed::<i64, _>(npy),
            (TypeChar::Uint, 1) => boxed::<u8, _>(npy),
            (TypeChar::Uint, 2) => boxed::<u16, _>(npy),
            (TypeChar::Uint, 4) => boxed::<u32, _>(npy),
            (TypeChar::Uint, 8) => boxed::<u64, _>(npy),
            (TypeChar::Bool, 1) => boxed::<bool, _>(npy),
            _ => None,
        };
        let elements = elements.ok_or_else(unsupported)?;
        // Capacity for what the header claims, up to a MiB of values (a header can lie).
        let reserve = count.min(1 << 20) as usize;
        let data = if ts.type_char() == TypeChar::Float {
            NpyData::Float(Vec::with_capacity(reserve))
        } else {
            NpyData::Int(Vec::with_capacity(reserve))
        };
        Ok(NpyStream {
            what,
            shape: shape.iter().map(|&d| d as usize).collect(),
            order,
            count,
            item_size: ts.size_field(),
            elements,
            data,
            read: 0,
        })
    }

    /// Reads up to `max` more values; `true` once every value is read.
    ///
    /// Errors: [`CoreError::InvalidArrayFile`] for data shorter than the header says or an
    /// unsigned value past `i64`.
    pub fn read(&mut self, max: u64) -> Result<bool, CoreError> {
        let want = max.min(self.count - self.read);
        let got = self
            .elements
            .pull(want, &mut self.data)
            .map_err(|reason| invalid(self.what, reason))?;
        self.read += got;
        if got < want {
            return Err(invalid(
                self.what,
                format!(
                    "it holds {} values, its header says {}",
                    self.read, self.count
                ),
            ));
        }
        Ok(self.read == self.count)
    }

    /// Bytes of values read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read * self.item_size
    }

    /// Values read so far.
    pub fn values_read(&self) -> u64 {
        self.read
    }

    /// Bytes of values the header announces.
    pub fn bytes_total(&self) -> u64 {
        self.count * self.item_size
    }

    /// The array, in C order.
    ///
    /// Errors: [`CoreError::InvalidArrayFile`] when not every value was read.
    pub fn finish(self) -> Result<NpyArray, CoreError> {
        if self.read != self.count {
            return Err(invalid(
                self.what,
                format!(
                    "it holds {} values, its header says {}",
                    self.read, self.count
                ),
            ));
        }
        let data = if self.order == Order::Fortran && self.shape.len() > 1 {
            match self.data {
                NpyData::Float(v) => NpyData::Float(to_c_order(&v, &self.shape)),
                NpyData::Int(v) => NpyData::Int(to_c_order(&v, &self.shape)),
            }
        } else {
            self.data
        };
        Ok(NpyArray {
            shape: self.shape,
            data,
        })
    }
}

/// Reads one `.npy` file at once ([`NpyStream`]'s errors).
pub fn read_npy(what: &'static str, bytes: impl Read) -> Result<NpyArray, CoreError> {
    let mut stream = NpyStream::new(what, bytes)?;
    stream.read(u64::MAX)?;
    stream.finish()
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

/// A window `start .. end` of shared bytes (a member's data inside an archive).
#[derive(Clone)]
struct Window<B> {
    bytes: B,
    start: usize,
    end: usize,
}

impl<B: AsRef<[u8]>> AsRef<[u8]> for Window<B> {
    fn as_ref(&self) -> &[u8] {
        &self.bytes.as_ref()[self.start..self.end]
    }
}

/// The CRC-32 and the count of the bytes read through a [`Checked`] reader (shared, so that they
/// can be checked once the array inside has been read).
type Checksum = Rc<RefCell<(crc32fast::Hasher, u64)>>;

/// A reader that keeps a [`Checksum`] of what is read through it.
struct Checked<R> {
    inner: R,
    sum: Checksum,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut sum = self.sum.borrow_mut();
        sum.0.update(&buf[..n]);
        sum.1 += n as u64;
        Ok(n)
    }
}

/// A `.npy` member of an archive: where its data are and what the directory says of them.
struct Member {
    name: String,
    start: usize,
    end: usize,
    deflated: bool,
    crc: u32,
    size: u64,
}

/// The arrays of an `.npz` archive read a slice at a time ([`NpzStream::read`]); [`read_npz`]
/// reads them at once. Members are stored or deflated (`numpy.savez`, `savez_compressed`); each
/// member's CRC-32 is checked as zip readers check it.
pub struct NpzStream<'a, B> {
    bytes: B,
    members: Vec<Member>,
    /// The member being read, with its checksum so far.
    current: Option<(NpyStream<'a>, Checksum)>,
    arrays: Vec<(String, NpyArray)>,
    /// Uncompressed bytes of the members finished.
    done_bytes: u64,
}

impl<'a, B: AsRef<[u8]> + Clone + 'a> NpzStream<'a, B> {
    /// Lists the archive's `.npy` members.
    ///
    /// Errors: [`CoreError::InvalidArrayFile`] for a file that is not a zip archive, a member
    /// that is encrypted, compressed otherwise than stored or deflated, or larger than
    /// [`MAX_ELEMENTS`] values could be.
    pub fn new(bytes: B) -> Result<Self, CoreError> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes.as_ref()))
            .map_err(|e| invalid("NPZ file", format!("not a zip archive ({e})")))?;
        let mut members = Vec::new();
        for i in 0..zip.len() {
            let member = zip
                .by_index_raw(i)
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
            let deflated = match member.compression() {
                zip::CompressionMethod::Stored => false,
                zip::CompressionMethod::Deflated => true,
                other => {
                    return Err(invalid(
                        "NPZ file",
                        format!(
                            "member {name} is compressed with {other}; save with numpy.savez or \
                             numpy.savez_compressed (stored or deflated)"
                        ),
                    ))
                }
            };
            if member.encrypted() {
                return Err(invalid("NPZ file", format!("member {name} is encrypted")));
            }
            let start = member.data_start() as usize;
            let end = start.saturating_add(member.compressed_size() as usize);
            if end > bytes.as_ref().len() {
                return Err(invalid(
                    "NPZ file",
                    format!("member {name} runs past the end of the file"),
                ));
            }
            members.push(Member {
                name,
                start,
                end,
                deflated,
                crc: member.crc32(),
                size: member.size(),
            });
        }
        members.reverse();
        Ok(NpzStream {
            bytes,
            members,
            current: None,
            arrays: Vec::new(),
            done_bytes: 0,
        })
    }

    /// Reads up to `max` more values; `true` once every member is read.
    ///
    /// Errors: any member's errors of [`NpyStream`] (named by the member), a member that cannot
    /// be decompressed or whose CRC-32 differs from the directory's.
    pub fn read(&mut self, max: u64) -> Result<bool, CoreError> {
        let mut left = max;
        loop {
            if self.current.is_none() {
                let Some(m) = self.members.last() else {
                    return Ok(true);
                };
                let window = Cursor::new(Window {
                    bytes: self.bytes.clone(),
                    start: m.start,
                    end: m.end,
                });
                let inner: Box<dyn Read + 'a> = if m.deflated {
                    Box::new(flate2::read::DeflateDecoder::new(window))
                } else {
                    Box::new(window)
                };
                let sum = Rc::new(RefCell::new((crc32fast::Hasher::new(), 0)));
                let reader = Checked {
                    inner,
                    sum: Rc::clone(&sum),
                };
                let stream = NpyStream::new("NPZ member", reader).map_err(|e| named(&m.name, e))?;
                self.current = Some((stream, sum));
            }
            let (stream, _) = self.current.as_mut().expect("opened above");
            let before = stream.values_read();
            let done = stream
                .read(left)
                .map_err(|e| named(&self.members.last().expect("current").name, e))?;
            left -= stream.values_read() - before;
            if !done {
                return Ok(false);
            }
            let (stream, sum) = self.current.take().expect("read above");
            let m = self.members.pop().expect("current");
            let (hasher, seen) = sum.replace((crc32fast::Hasher::new(), 0));
            // A member read to its end must match its checksum (an array followed by more bytes
            // is read without them).
            if seen == m.size && hasher.finalize() != m.crc {
                return Err(invalid(
                    "NPZ file",
                    format!(
                        "{}: its CRC-32 does not match the archive's (the file is damaged)",
                        m.name
                    ),
                ));
            }
            self.done_bytes += m.size;
            self.arrays.push((m.name, stream.finish()?));
            if left == 0 {
                return Ok(self.members.is_empty());
            }
        }
    }

    /// Uncompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.done_bytes + self.current.as_ref().map_or(0, |(s, _)| s.bytes_read())
    }

    /// Uncompressed bytes of every `.npy` member.
    pub fn bytes_total(&self) -> u64 {
        self.done_bytes + self.members.iter().map(|m| m.size).sum::<u64>()
    }

    /// The arrays by name (without `.npy`), in archive order.
    ///
    /// Errors: [`CoreError::InvalidArrayFile`] when a member is not read yet.
    pub fn finish(self) -> Result<Vec<(String, NpyArray)>, CoreError> {
        match self.members.last() {
            Some(m) => Err(invalid(
                "NPZ file",
                format!("member {} is not read yet", m.name),
            )),
            None => Ok(self.arrays),
        }
    }
}

/// A member's error with the member's name.
fn named(name: &str, e: CoreError) -> CoreError {
    match e {
        CoreError::InvalidArrayFile { reason, .. } => {
            invalid("NPZ file", format!("{name}: {reason}"))
        }
        other => other,
    }
}

/// The arrays of an `.npz` archive, by name (without `.npy`), in archive order, read at once
/// ([`NpzStream`]'s errors).
pub fn read_npz(bytes: &[u8]) -> Result<Vec<(String, NpyArray)>, CoreError> {
    let mut stream = NpzStream::new(bytes)?;
    stream.read(u64::MAX)?;
    stream.finish()
}
