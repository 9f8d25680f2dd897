//! Downloading a PhysioNet database the way PhysioNet lays it out, verified and resumable.
//!
//! Layout: `<base>/<db>/<version>/<file>` (default base `https://physionet.org/files`;
//! mitdb 1.0.0, nstdb 1.0.0, ludb 1.0.1). The list of files and their SHA-256 sums come from the
//! release's own `SHA256SUMS.txt` (`<64 hex>  <relative path>` per line); paths keep their
//! subfolders (LUDB's `data/`). Files land in `<dest>/<db>/<path>`, the `--data` layout the
//! experiments read (`../shared/data/mitdb/100.dat` …).
//!
//! Guarantees, and how:
//! - **Never a half-written file under its final name:** bytes go to `<name>.part`; only after
//!   its SHA-256 matches is it renamed (atomic on POSIX) to `<name>`.
//! - **Resume:** a `.part` left by a dropped connection or an earlier run is continued with an
//!   HTTP `Range: bytes=<len>-` request. A server that answers 200 (ignoring the range) makes us
//!   start over; 206 must carry `Content-Range: bytes <len>-…`; 416 means the part is already
//!   complete (it is then verified like any other).
//! - **Verification:** every file's SHA-256 is checked — also files already present, which are
//!   re-fetched when they do not match. A mismatch after a full download deletes the part and
//!   downloads once more from scratch; a second mismatch is reported as failed (the server's
//!   copy is bad), leaving nothing under the final name.
//! - **Hostile lists:** absolute paths, `..` components and malformed lines in SHA256SUMS.txt
//!   are errors naming the line.
//!
//! The HTTP client is `ureq` (rustls for HTTPS), without gzip so byte offsets are file offsets.

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// PhysioNet's file server.
pub const DEFAULT_BASE_URL: &str = "https://physionet.org/files";

/// The databases `fetch` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Database {
    /// MIT-BIH Arrhythmia Database 1.0.0.
    Mitdb,
    /// MIT-BIH Noise Stress Test Database 1.0.0.
    Nstdb,
    /// Lobachevsky University Electrocardiography Database 1.0.1.
    Ludb,
}

impl Database {
    /// PhysioNet's short name.
    pub fn name(self) -> &'static str {
        match self {
            Database::Mitdb => "mitdb",
            Database::Nstdb => "nstdb",
            Database::Ludb => "ludb",
        }
    }

    /// The release we use.
    pub fn version(self) -> &'static str {
        match self {
            Database::Mitdb | Database::Nstdb => "1.0.0",
            Database::Ludb => "1.0.1",
        }
    }

    /// Parses `mitdb`, `nstdb` or `ludb`.
    ///
    /// # Errors
    /// Any other name, listing the known ones.
    pub fn parse(name: &str) -> Result<Database> {
        match name {
            "mitdb" => Ok(Database::Mitdb),
            "nstdb" => Ok(Database::Nstdb),
            "ludb" => Ok(Database::Ludb),
            other => bail!("unknown database {other:?}: expected mitdb, nstdb or ludb"),
        }
    }
}

/// How to fetch.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Base URL (no trailing slash needed), e.g. [`DEFAULT_BASE_URL`] or a mirror.
    pub base_url: String,
    /// Destination root; files go to `<dest>/<db>/…`.
    pub dest: PathBuf,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Attempts per file (each resumes where the previous stopped).
    pub attempts: usize,
    /// Socket timeouts (connect and per read).
    pub timeout: Duration,
}

impl FetchOptions {
    /// Defaults: PhysioNet, progress bar on, 5 attempts, 30 s timeouts.
    pub fn new(dest: impl Into<PathBuf>) -> FetchOptions {
        FetchOptions {
            base_url: DEFAULT_BASE_URL.into(),
            dest: dest.into(),
            progress: true,
            attempts: 5,
            timeout: Duration::from_secs(30),
        }
    }
}

/// What happened, file by file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FetchReport {
    /// Files downloaded (fully or by resuming).
    pub downloaded: Vec<String>,
    /// Files already present with the right checksum.
    pub already_ok: Vec<String>,
    /// Files whose download continued from a partial file (HTTP range).
    pub resumed: Vec<String>,
    /// Files present locally with a wrong checksum, re-fetched.
    pub replaced_corrupt: Vec<String>,
    /// Files that could not be fetched correctly, with the reason.
    pub failed: Vec<(String, String)>,
    /// Bytes received over the network.
    pub bytes: u64,
}

impl FetchReport {
    /// `Ok` if no file failed, else an error listing the failures.
    ///
    /// # Errors
    /// When `failed` is non-empty.
    pub fn ensure_complete(&self) -> Result<()> {
        if self.failed.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = self
            .failed
            .iter()
            .map(|(f, why)| format!("  {f}: {why}"))
            .collect();
        bail!("{} file(s) failed:\n{}", self.failed.len(), list.join("\n"))
    }
}

/// Parses a `sha256sum`-style list into (hex digest, relative path) pairs, rejecting paths
/// that could escape the destination (absolute, `..`). Blank lines are skipped; a `*` binary
/// marker before the path is accepted.
///
/// # Errors
/// A malformed line (not 64 hex digits, missing path) or an absolute / `..` path, naming the
/// line number.
pub fn parse_sha256sums(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (hash, path) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| anyhow!("SHA256SUMS.txt line {}: no path in {line:?}", i + 1))?;
        let path = path.trim_start().trim_start_matches('*');
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "SHA256SUMS.txt line {}: {hash:?} is not a SHA-256 hex digest",
                i + 1
            );
        }
        let p = Path::new(path);
        if path.is_empty()
            || path.contains('\\')
            || !p.components().all(|c| matches!(c, Component::Normal(_)))
        {
            bail!(
                "SHA256SUMS.txt line {}: path {path:?} is empty or escapes the destination",
                i + 1
            );
        }
        out.push((hash.to_ascii_lowercase(), path.to_string()));
    }
    Ok(out)
}

/// SHA-256 of a file, as lowercase hex.
///
/// # Errors
/// I/O errors naming the file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn agent(opts: &FetchOptions) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(opts.timeout))
        .timeout_per_read(Some(opts.timeout))
        .user_agent("ecgrad-fetch")
        .build()
        .new_agent()
}

/// Downloads `db` into `<opts.dest>/<db>/` (see the module docs for the guarantees) and returns
/// what happened. Per-file failures are collected in [`FetchReport::failed`] (call
/// [`FetchReport::ensure_complete`]); the other files are still fetched.
///
/// # Errors
/// When the checksum list cannot be fetched or parsed, or the destination cannot be created.
pub fn fetch(db: Database, opts: &FetchOptions) -> Result<FetchReport> {
    let base = format!(
        "{}/{}/{}",
        opts.base_url.trim_end_matches('/'),
        db.name(),
        db.version()
    );
    let root = opts.dest.join(db.name());
    fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let agent = agent(opts);
    let sums_url = format!("{base}/SHA256SUMS.txt");
    let mut resp = agent
        .get(&sums_url)
        .call()
        .with_context(|| format!("GET {sums_url}"))?;
    if resp.status().as_u16() != 200 {
        bail!("GET {sums_url}: HTTP {}", resp.status());
    }
    let mut sums_text = String::new();
    resp.body_mut()
        .as_reader()
        .read_to_string(&mut sums_text)
        .with_context(|| format!("reading {sums_url}"))?;
    let entries = parse_sha256sums(&sums_text)?;
    let bar = if opts.progress {
        ProgressBar::new(entries.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} files {msg}")
            .expect("invariant: valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(db.name());
    let mut report = FetchReport::default();
    for (hash, rel) in &entries {
        bar.set_message(rel.clone());
        let target = root.join(rel);
        if let Err(e) = fetch_one(
            &agent,
            &format!("{base}/{rel}"),
            &target,
            hash,
            rel,
            opts,
            &mut report,
            &bar,
        ) {
            report.failed.push((rel.clone(), format!("{e:#}")));
        }
        bar.inc(1);
    }
    bar.finish_with_message(format!(
        "{} downloaded, {} already present, {} failed",
        report.downloaded.len(),
        report.already_ok.len(),
        report.failed.len()
    ));
    // Keep the list itself beside the files (atomically), for later `sha256sum -c`.
    let sums_path = root.join("SHA256SUMS.txt");
    let tmp = root.join("SHA256SUMS.txt.part");
    fs::write(&tmp, sums_text.as_bytes()).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &sums_path).with_context(|| format!("renaming {}", tmp.display()))?;
    Ok(report)
}

/// Result of one transfer attempt.
enum Transfer {
    /// The body arrived completely (the part file may still be wrong: verify).
    Complete,
    /// The connection broke; the part file holds what arrived.
    Interrupted(String),
}

fn part_path(target: &Path) -> PathBuf {
    let mut name = target
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".part");
    target.with_file_name(name)
}

#[allow(clippy::too_many_arguments)]
fn fetch_one(
    agent: &ureq::Agent,
    url: &str,
    target: &Path,
    hash: &str,
    rel: &str,
    opts: &FetchOptions,
    report: &mut FetchReport,
    bar: &ProgressBar,
) -> Result<()> {
    if target.exists() {
        if sha256_file(target)? == hash {
            report.already_ok.push(rel.to_string());
            return Ok(());
        }
        fs::remove_file(target)
            .with_context(|| format!("removing corrupt {}", target.display()))?;
        report.replaced_corrupt.push(rel.to_string());
    }
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let part = part_path(target);
    let mut full_restarts = 0;
    let mut resumed = false;
    let mut last_error = String::new();
    let mut attempt = 0;
    while attempt < opts.attempts.max(1) {
        attempt += 1;
        let offset = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        resumed |= offset > 0;
        match transfer(agent, url, &part, offset, report, bar)? {
            Transfer::Interrupted(why) => {
                last_error = why;
                continue;
            }
            Transfer::Complete => {}
        }
        let got = sha256_file(&part)?;
        if got == hash {
            fs::rename(&part, target)
                .with_context(|| format!("renaming {} to {}", part.display(), target.display()))?;
            report.downloaded.push(rel.to_string());
            if resumed {
                report.resumed.push(rel.to_string());
            }
            return Ok(());
        }
        // Wrong bytes: a stale part or a bad transfer. Start over once, then give up.
        fs::remove_file(&part).with_context(|| format!("removing {}", part.display()))?;
        last_error = format!("checksum mismatch: expected {hash}, got {got}");
        full_restarts += 1;
        if full_restarts >= 2 {
            break;
        }
        attempt = attempt.min(opts.attempts.max(1) - 1);
    }
    bail!("{last_error} (after {attempt} attempt(s) for {url})")
}

/// One GET (ranged when `offset` > 0) appended to `part`.
fn transfer(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    offset: u64,
    report: &mut FetchReport,
    bar: &ProgressBar,
) -> Result<Transfer> {
    let mut request = agent.get(url);
    if offset > 0 {
        request = request.header("Range", format!("bytes={offset}-"));
    }
    let response = match request.call() {
        Ok(r) => r,
        Err(e) => return Ok(Transfer::Interrupted(format!("GET {url}: {e}"))),
    };
    let status = response.status().as_u16();
    let append = match status {
        200 => false,
        206 => {
            let range = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !range.starts_with(&format!("bytes {offset}-")) {
                // An unexpected range: discard the part and start over.
                let _ = fs::remove_file(part);
                return Ok(Transfer::Interrupted(format!(
                    "GET {url}: Content-Range {range:?} does not start at {offset}"
                )));
            }
            true
        }
        // The part already holds the whole file (or more): let the checksum decide.
        416 if offset > 0 => return Ok(Transfer::Complete),
        _ => bail!("GET {url}: HTTP {status}"),
    };
    let mut file = if append {
        OpenOptions::new().append(true).open(part)
    } else {
        File::create(part)
    }
    .with_context(|| format!("opening {}", part.display()))?;
    let mut reader = response.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut received = if append { offset } else { 0 };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                file.flush()
                    .with_context(|| format!("flushing {}", part.display()))?;
                return Ok(Transfer::Interrupted(format!(
                    "GET {url}: connection broke after {received} bytes: {e}"
                )));
            }
        };
        file.write_all(&buf[..n])
            .with_context(|| format!("writing {}", part.display()))?;
        received += n as u64;
        report.bytes += n as u64;
        if received % (1 << 20) < n as u64 {
            bar.set_message(format!("{} ({} KiB)", part.display(), received / 1024));
        }
    }
    file.sync_all()
        .with_context(|| format!("syncing {}", part.display()))?;
    Ok(Transfer::Complete)
}
