//! Fuzz the MIT annotation parser: any bytes give annotations or a named error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.atr");
    if let Ok(a) = ecgrad_experiments::data::wfdb::parse_annotations(data, path) {
        assert!(a.len() <= data.len() / 2);
    }
});
