//! The malformed-file corpus (`tests/corpus/`, written by `make_corpus.py`): every file must
//! give a named error that says which file, which record and where (line or byte offset).

use std::path::{Path, PathBuf};

use ecgrad_experiments::data::wfdb;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("corpus")
}

fn record_err(name: &str) -> String {
    match wfdb::read_record(&dir(), name) {
        Ok(_) => panic!("corpus record `{name}` was accepted"),
        Err(e) => e.to_string(),
    }
}

fn ann_err(name: &str) -> String {
    match wfdb::read_annotations(&dir(), name, "atr") {
        Ok(a) => panic!("corpus annotations `{name}` accepted: {a:?}"),
        Err(e) => e.to_string(),
    }
}

fn has_all(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message lacks `{p}`: {msg}");
    }
}

#[test]
fn valid_corpus_files_decode() {
    let r = wfdb::read_record(&dir(), "valid").expect("valid record");
    assert_eq!(
        r.adu.row(0).to_vec(),
        vec![0, 10, 20, -30, 40, 50, -60, 70, 80, -2047]
    );
    assert_eq!(r.adu[[1, 9]], 2047);
    assert_eq!(r.physical[[0, 1]], 0.05);
    let a = wfdb::read_annotations(&dir(), "valid", "atr").expect("valid annotations");
    assert_eq!(
        a.iter().map(|x| x.sample).collect::<Vec<_>>(),
        vec![18, 318]
    );
    assert_eq!(a[1].aux.as_deref(), Some("(N"));
}

#[test]
fn malformed_headers_name_file_and_line() {
    has_all(
        &record_err("wrong_nsig"),
        &["wrong_nsig.hea: line 1", "declares 3 signals but 2"],
    );
    has_all(
        &record_err("bad_format"),
        &["bad_format.hea: line 2", "unsupported format 311"],
    );
    has_all(
        &record_err("garbage_format"),
        &[
            "garbage_format.hea: line 2",
            "signal 0",
            "not a valid number",
        ],
    );
    has_all(
        &record_err("non_utf8"),
        &["non_utf8.hea: line 3", "not valid UTF-8"],
    );
    has_all(
        &record_err("huge_nsig"),
        &["huge_nsig.hea: line 1", "exceeds the limit"],
    );
    has_all(
        &record_err("empty"),
        &["empty.hea: line 1", "no record line"],
    );
    has_all(
        &record_err("no_such_record"),
        &["no_such_record.hea", "cannot read"],
    );
}

#[test]
fn malformed_signals_name_file_record_and_offset() {
    has_all(
        &record_err("truncated"),
        &[
            "truncated.dat (record truncated): byte offset 20",
            "needs 30",
        ],
    );
    // 10^15 frames: refused from the file length, before any allocation.
    has_all(
        &record_err("absurd"),
        &[
            "absurd.dat (record absurd): byte offset 30",
            "1000000000000000 samples",
        ],
    );
    has_all(
        &record_err("bad_checksum"),
        &["bad_checksum.dat (record bad_checksum)", "CHECKSUM is 1234"],
    );
    has_all(
        &record_err("bad_initval"),
        &["bad_initval.dat", "INITVAL is 7"],
    );
    has_all(
        &record_err("missing_dat"),
        &["missing_dat.dat", "cannot read"],
    );
}

#[test]
fn malformed_annotations_name_file_and_offset() {
    has_all(
        &ann_err("mid_record"),
        &["mid_record.atr: byte offset 4", "mid-record"],
    );
    has_all(
        &ann_err("aux_cut"),
        &["aux_cut.atr: byte offset 4", "AUX string of 20 bytes"],
    );
    has_all(
        &ann_err("skip_cut"),
        &["skip_cut.atr: byte offset 4", "mid-record"],
    );
    has_all(
        &ann_err("no_end"),
        &["no_end.atr: byte offset 4", "end-of-file word"],
    );
    has_all(
        &ann_err("negative_time"),
        &["negative_time.atr: byte offset 6", "negative"],
    );
}
