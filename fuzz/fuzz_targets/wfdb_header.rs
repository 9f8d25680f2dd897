//! Fuzz the `.hea` parser: any bytes must give a header or a named error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.hea");
    if let Ok(h) = ecgrad_experiments::data::wfdb::parse_header(data, path) {
        // Accepted headers are internally consistent.
        assert!(h.fs > 0.0 && h.fs.is_finite());
        let _ = h.groups();
    }
});
