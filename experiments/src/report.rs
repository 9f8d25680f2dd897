//! Results files: written atomically (temp file + rename) with their provenance.
//!
//! A run that is interrupted never leaves a half-written `metrics.json` under its final name,
//! and every report says which code, instruction set, threads, seed and data produced it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// Where a result came from: enough to rerun it.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// The binary that produced the result.
    pub binary: String,
    /// `git describe --always --dirty` of the working tree, or "unknown".
    pub git_revision: String,
    /// Instruction set the kernels used (`avx2`, `neon`, `scalar`).
    pub isa: String,
    /// rayon worker threads.
    pub threads: usize,
    /// The experiment's seed.
    pub seed: u64,
    /// Description of the data source (real databases or the synthetic generator).
    pub data_source: String,
}

impl Provenance {
    /// Collects the provenance of the current run.
    pub fn collect(binary: &str, seed: u64, data_source: &str) -> Provenance {
        let git_revision = std::process::Command::new("git")
            .args(["describe", "--always", "--dirty"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        Provenance {
            binary: binary.into(),
            git_revision,
            isa: ecgrad_engine::simd::try_isa()
                .map(|i| i.name().to_string())
                .unwrap_or_else(|e| format!("error: {e}")),
            threads: rayon::current_num_threads(),
            seed,
            data_source: data_source.into(),
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to disk,
/// then renamed over the destination (rename is atomic within one file system).
///
/// # Errors
/// If the directory cannot be created or the file cannot be written or renamed; the message
/// names the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Serialises `value` as pretty JSON and writes it atomically.
///
/// # Errors
/// As [`write_atomic`], or if serialisation fails.
pub fn write_json<S: Serialize>(path: &Path, value: &S) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .with_context(|| format!("cannot serialise {}", path.display()))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("ecgrad-report-{}", std::process::id()));
        let path = dir.join("sub").join("metrics.json");
        write_json(&path, &serde_json::json!({"a": 1})).unwrap();
        write_json(&path, &serde_json::json!({"a": 2})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"a\": 2"), "{text}");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_into_a_file_path_fails_with_the_path() {
        let dir = std::env::temp_dir().join(format!("ecgrad-report-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let blocker = dir.join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = write_atomic(&blocker.join("metrics.json"), b"{}").unwrap_err();
        assert!(format!("{err:#}").contains("file"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
