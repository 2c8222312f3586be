//! The e5 BERT encoder with its matrix weights kept in Q4_0 (candle `QMatMul`), built straight
//! from an E5S1 file: ~75 MB in memory instead of ~470 MB for the f32 `BertModel`. The word
//! embedding table stays Q4_0 too; only the rows of the input tokens are dequantized.

use super::e5s1::{E5s1, E5s1DType};
use anyhow::{bail, Context, Result};
use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::LayerNorm;

struct QLinear {
    w: QMatMul,
    b: Tensor,
}

impl QLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.w.forward(x)?.broadcast_add(&self.b)?)
    }
}

struct Layer {
    q: QLinear,
    k: QLinear,
    v: QLinear,
    ao: QLinear,
    aln: LayerNorm,
    fi: QLinear,
    fo: QLinear,
    oln: LayerNorm,
}

pub struct QBert {
    word: Vec<u8>,
    hidden: usize,
    heads: usize,
    pos: Tensor,
    type0: Tensor,
    eln: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

impl QBert {
    pub fn from_e5s1(e: &E5s1, device: &Device) -> Result<QBert> {
        let c = &e.config;
        let f32t = |name: &str, shape: &[usize]| -> Result<Tensor> {
            Ok(Tensor::from_vec(e.tensor_f32(name)?, shape, device)?)
        };
        let qlin = |name: &str, rows: usize, cols: usize| -> Result<QLinear> {
            let (t, raw) = e.tensor_raw(&format!("{name}.w"))?;
            if t.dtype != E5s1DType::Q4_0 {
                bail!("E5S1 tensor {name}.w is not Q4_0");
            }
            // candle reads the blocks in place (f16 scales): hand it a fresh, aligned copy.
            let owned = raw.to_vec();
            if !(owned.as_ptr() as usize).is_multiple_of(std::mem::align_of::<u16>()) {
                bail!("E5S1 tensor {name}.w: cannot get an aligned buffer for its Q4_0 blocks");
            }
            let q = qtensor_from_ggml(GgmlDType::Q4_0, &owned, vec![rows, cols], device)
                .with_context(|| format!("E5S1 tensor {name}.w"))?;
            Ok(QLinear {
                w: QMatMul::from_qtensor(q)?,
                b: f32t(&format!("{name}.b"), &[rows])?,
            })
        };
        let ln = |name: &str| -> Result<LayerNorm> {
            Ok(LayerNorm::new(
                f32t(&format!("{name}.w"), &[c.hidden])?,
                f32t(&format!("{name}.b"), &[c.hidden])?,
                c.eps as f64,
            ))
        };
        let (wt, wraw) = e.tensor_raw("emb.word")?;
        if wt.dtype != E5s1DType::Q4_0 {
            bail!("E5S1 tensor emb.word is not Q4_0");
        }
        let mut layers = Vec::with_capacity(c.layers);
        let (h, f) = (c.hidden, c.ffn);
        for l in 0..c.layers {
            layers.push(Layer {
                q: qlin(&format!("l{l}.q"), h, h)?,
                k: qlin(&format!("l{l}.k"), h, h)?,
                v: qlin(&format!("l{l}.v"), h, h)?,
                ao: qlin(&format!("l{l}.ao"), h, h)?,
                aln: ln(&format!("l{l}.aln"))?,
                fi: qlin(&format!("l{l}.fi"), f, h)?,
                fo: qlin(&format!("l{l}.fo"), h, f)?,
                oln: ln(&format!("l{l}.oln"))?,
            });
        }
        Ok(QBert {
            word: wraw.to_vec(),
            hidden: h,
            heads: c.heads,
            pos: f32t("emb.pos", &[c.max_pos, h])?,
            type0: f32t("emb.type", &[c.type_vocab, h])?.narrow(0, 0, 1)?,
            eln: ln("emb.ln")?,
            layers,
            device: device.clone(),
        })
    }

    fn embed_rows(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let h = self.hidden;
        let row_bytes = h / 32 * 18;
        let mut out = vec![0f32; ids.len() * h];
        for (t, &id) in ids.iter().enumerate() {
            let start = id as usize * row_bytes;
            let Some(row) = self.word.get(start..start + row_bytes) else {
                bail!("token id {id} is outside the embedding table");
            };
            let o = &mut out[t * h..(t + 1) * h];
            for (blk, ob) in row.chunks_exact(18).zip(o.chunks_exact_mut(32)) {
                let d = half::f16::from_le_bytes([blk[0], blk[1]]).to_f32();
                for j in 0..16 {
                    ob[j] = ((blk[2 + j] & 0x0F) as i32 - 8) as f32 * d;
                    ob[j + 16] = ((blk[2 + j] >> 4) as i32 - 8) as f32 * d;
                }
            }
        }
        Ok(out)
    }

    /// Final hidden states [b, l, h] of padded ids [b, l] with mask [b, l] (1 = real token).
    pub fn forward(&self, ids: &[u32], b: usize, l: usize, mask: &Tensor) -> Result<Tensor> {
        let h = self.hidden;
        let nh = self.heads;
        let hd = h / nh;
        let x = Tensor::from_vec(self.embed_rows(ids)?, (b, l, h), &self.device)?;
        let x = x
            .broadcast_add(&self.pos.narrow(0, 0, l)?.unsqueeze(0)?)?
            .broadcast_add(&self.type0.unsqueeze(0)?)?;
        let mut x = self.eln.forward(&x)?;
        // Additive mask: 0 for real tokens, a large negative number for padding. [b, 1, 1, l]
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((b, 1, 1, l))?;
        let scale = 1.0 / (hd as f64).sqrt();
        for ly in &self.layers {
            let split = |t: Tensor| -> Result<Tensor> {
                Ok(t.reshape((b, l, nh, hd))?.transpose(1, 2)?.contiguous()?)
            };
            let q = split(ly.q.forward(&x)?)?;
            let k = split(ly.k.forward(&x)?)?;
            let v = split(ly.v.forward(&x)?)?;
            let att = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let ctx = att.matmul(&v)?.transpose(1, 2)?.reshape((b, l, h))?;
            let a = ly.ao.forward(&ctx)?;
            x = ly.aln.forward(&(x + a)?)?;
            let m = ly.fi.forward(&x)?.gelu_erf()?;
            let o = ly.fo.forward(&m)?;
            x = ly.oln.forward(&(x + o)?)?;
        }
        Ok(x)
    }
}
