//! f32 CPU tensors as plain slices, for the kernels that work outside candle's ops.
//! OWNER: generator.

use candle_core::{DType, Result, Storage, Tensor};

/// Runs `f` on the values of `t` (row-major, converted to contiguous f32 if needed) without
/// copying a tensor that already is.
pub fn with_f32_slice<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = if t.dtype() == DType::F32 {
        t.contiguous()?
    } else {
        t.to_dtype(DType::F32)?.contiguous()?
    };
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => {
            let all = cpu.as_slice::<f32>()?;
            let start = layout.start_offset();
            Ok(f(&all[start..start + t.elem_count()]))
        }
        _ => candle_core::bail!("the generator's kernels run on the CPU only"),
    }
}

/// `xs @ W^T` for a weight of `n_out` rows of `k` through `matmul(x, m)`, which gets the
/// `m` rows of `xs` (any leading dimensions) and returns `m` rows of `n_out`.
pub fn linear_forward(
    xs: &Tensor,
    k: usize,
    n_out: usize,
    what: &str,
    matmul: impl FnOnce(&[f32], usize) -> Result<Vec<f32>>,
) -> Result<Tensor> {
    let dims = xs.dims();
    match dims.last() {
        Some(&last) if last == k => {}
        _ => candle_core::bail!("{what}: input shape {dims:?} does not end in k = {k}"),
    }
    let m: usize = dims[..dims.len() - 1].iter().product();
    let mut out_dims = dims.to_vec();
    if let Some(last) = out_dims.last_mut() {
        *last = n_out;
    }
    let out = with_f32_slice(xs, |x| matmul(x, m))??;
    Tensor::from_vec(out, out_dims, xs.device())
}
