//! Fuzz the signal decoder. The first bytes choose a header (format, signal count, sample
//! count — possibly absurd — and optional INITVAL/CHECKSUM); the rest is the `.dat` file.
//! The header goes through the text parser, then `decode_record`: it must never panic and
//! never allocate more than the file can hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

use ecgrad_experiments::data::wfdb;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let fmt = [212, 16, 80][data[0] as usize % 3];
    let nsig = 1 + data[1] as usize % 4;
    let nsamp = u32::from_le_bytes([data[2], data[3], data[4], data[5]]) as u64
        * if data[6] & 1 == 1 { 1 << 20 } else { 1 };
    let with_checks = data[7] & 1 == 1;
    let dat = &data[8..];
    let mut h = format!("f {nsig} 360 {nsamp}\n");
    for s in 0..nsig {
        if with_checks {
            h.push_str(&format!("f.dat {fmt} 200(3)/uV 12 0 {} {} 0 s{s}\n", s as i32 - 1, s * 7));
        } else {
            h.push_str(&format!("f.dat {fmt} 0 12 0\n"));
        }
    }
    let path = std::path::Path::new("fuzz");
    let header = wfdb::parse_header(h.as_bytes(), path).expect("generated header is valid");
    if let Ok(r) = wfdb::decode_record(header, &[dat.to_vec()], path) {
        assert_eq!(r.adu.nrows(), nsig);
        assert!(r.adu.len() <= dat.len() * 2);
    }
});
