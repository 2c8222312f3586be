//! A candle `QMatMul` cut into bands of weight rows, run as rayon tasks. OWNER: generator.
//!
//! Why: candle runs its quantized matmuls on its own thread pool, beside rayon's, which runs
//! our kernels. With two pools on two cores, the pool that is not working spins while the
//! other one does, and decoding with two threads was ~20% slower than it should be. Cut
//! into bands, the matrices candle still serves (Q8_0, and Q4_K/Q6_K for few rows) run on
//! rayon's pool like everything else, with candle's own pool set to run inline
//! (`CANDLE_NUM_THREADS=1`: the program's `main` sets it before any thread starts, `bench`
//! passes it to its workers, the benchmark commands pass it to the examples; this crate sets
//! no variable).

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Module, Result, Tensor};
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::Arc;

/// Rows per band: big enough that a band is worth a task.
const BAND_ROWS: usize = 128;
/// At most this many bands (a few per core on the machines this runs on).
const MAX_BANDS: usize = 16;
/// Band sizes are multiples of this, so that the 16-row chunks of `kquant`'s prefill
/// kernels, which read their weight rows from the bands, never straddle two bands.
pub const BAND_ALIGN: usize = 16;

#[derive(Debug, Clone)]
pub struct RowSplit {
    bands: Vec<QMatMul>,
    /// The bands' tensors (shared with `bands`), for callers that read the rows' bytes.
    tensors: Vec<Arc<QTensor>>,
    /// Rows per band (the last band may be shorter).
    per: usize,
    n: usize,
    k: usize,
    row_bytes: usize,
    dtype: GgmlDType,
}

impl RowSplit {
    /// Cuts `t` (shape `(n, k)`, rows of whole quantization blocks) into bands of rows
    /// (copies of its bytes: the caller drops `t`).
    pub fn new(t: &QTensor) -> Result<RowSplit> {
        let (n, k) = t.shape().dims2()?;
        let data = t.data()?;
        let row_bytes = data.len() / n.max(1);
        if row_bytes * n != data.len() {
            candle_core::bail!("RowSplit: {} bytes are not {n} rows", data.len())
        }
        let bands = (n / BAND_ROWS).clamp(1, MAX_BANDS);
        let per = n.div_ceil(bands).div_ceil(BAND_ALIGN) * BAND_ALIGN;
        let mut split = RowSplit {
            bands: Vec::with_capacity(bands),
            tensors: Vec::with_capacity(bands),
            per,
            n,
            k,
            row_bytes,
            dtype: t.dtype(),
        };
        let mut r0 = 0;
        while r0 < n {
            let rows = per.min(n - r0);
            let bytes = data[r0 * row_bytes..(r0 + rows) * row_bytes].to_vec();
            let storage = QStorage::from_data(Cow::Owned(bytes), &t.device(), t.dtype())?;
            let band = Arc::new(QTensor::new(storage, (rows, k))?);
            split.bands.push(QMatMul::from_arc(band.clone())?);
            split.tensors.push(band);
            r0 += rows;
        }
        Ok(split)
    }

    /// Rows per band (a multiple of `BAND_ALIGN`; the last band may be shorter).
    pub fn rows_per_band(&self) -> usize {
        self.per
    }

    /// Rows of the whole matrix.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Values per row.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    pub fn dtype(&self) -> GgmlDType {
        self.dtype
    }

    /// The bytes of band `i` (rows `i * rows_per_band()..`).
    pub fn band(&self, i: usize) -> Result<Cow<'_, [u8]>> {
        match self.tensors.get(i) {
            Some(t) => t.data(),
            None => candle_core::bail!("RowSplit: no band {i} of {}", self.tensors.len()),
        }
    }

    /// The bytes of every band, in row order.
    pub fn band_bytes(&self) -> Result<Vec<Cow<'_, [u8]>>> {
        self.tensors.iter().map(|t| t.data()).collect()
    }

    /// Bytes of all bands.
    pub fn size_in_bytes(&self) -> usize {
        self.tensors.iter().map(|t| t.storage_size_in_bytes()).sum()
    }

    /// `xs @ W^T`, the bands computed in parallel and joined along the last dimension.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        if let [only] = self.bands.as_slice() {
            return only.forward(xs);
        }
        let parts: Vec<Tensor> = self
            .bands
            .par_iter()
            .map(|b| b.forward(xs))
            .collect::<Result<_>>()?;
        Tensor::cat(&parts, xs.rank() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn bands_give_the_same_product_as_the_whole_matrix() {
        let dev = Device::Cpu;
        let n = 1000; // 7 bands, the last one shorter
        let w: Vec<f32> = (0..n * 64)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let w = Tensor::from_vec(w, (n, 64), &dev).unwrap();
        let x: Vec<f32> = (0..3 * 64)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) / 14.0)
            .collect();
        let x = Tensor::from_vec(x, (1, 3, 64), &dev).unwrap();
        for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_0] {
            let q = QTensor::quantize(&w, dtype).unwrap();
            let split = RowSplit::new(&q).unwrap();
            assert_eq!(split.bands.len(), 7);
            let want: Vec<f32> = QMatMul::from_qtensor(q)
                .unwrap()
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let got: Vec<f32> = split
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert_eq!(got, want);
        }
    }
}
