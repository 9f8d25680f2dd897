//! Checkpoint tests: round trip, the file layout, strict loading errors, corrupted files, and
//! atomic writes.

use super::*;
use ecgrad_autograd::ParamStore;
use ecgrad_autograd::engine::Rng;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ecgrad-ckpt-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn tensor(dims: &[usize], rng: &mut Rng) -> Tensor<f32> {
    let s = Shape::new(dims).unwrap();
    Tensor::from_vec(s, rng.vec_f32(s.numel())).unwrap()
}

fn store(seed: u64) -> ParamStore<f32> {
    let mut rng = Rng::stream(seed, "ckpt");
    let mut s = ParamStore::new();
    s.add_param("conv1.weight", tensor(&[4, 2, 3], &mut rng))
        .unwrap();
    s.add_param("conv1.bias", tensor(&[4], &mut rng)).unwrap();
    s.add_param("fc.weight", tensor(&[3, 4], &mut rng)).unwrap();
    s.add_buffer("bn1.running_mean", tensor(&[4], &mut rng))
        .unwrap();
    s.add_buffer("bn1.num_batches_tracked", Tensor::scalar(7.0))
        .unwrap();
    s
}

fn bits(s: &mut ParamStore<f32>) -> Vec<(String, Vec<u32>)> {
    let mut v = Vec::new();
    s.visit_params(&mut |p| {
        v.push((
            p.name.to_string(),
            p.value.data().iter().map(|x| x.to_bits()).collect(),
        ))
    });
    s.visit_buffers(&mut |b| {
        v.push((
            b.name.to_string(),
            b.value.data().iter().map(|x| x.to_bits()).collect(),
        ))
    });
    v
}

#[test]
fn round_trip_is_bit_identical_including_special_values() {
    let dir = tmpdir("roundtrip");
    let mut a = store(1);
    // Special bit patterns must survive: a NaN payload, −0, a subnormal, ±∞.
    a.get_mut("fc.weight").unwrap().value.data_mut()[..5].copy_from_slice(&[
        f32::from_bits(0x7fc0_1234),
        -0.0,
        f32::from_bits(1),
        f32::INFINITY,
        f32::NEG_INFINITY,
    ]);
    let path = dir.join("model.safetensors");
    save(&mut a, &path).unwrap();
    let mut b = store(2);
    assert_ne!(bits(&mut a), bits(&mut b));
    load(&mut b, &path).unwrap();
    assert_eq!(bits(&mut a), bits(&mut b));
    // Saving the loaded model gives the same bytes.
    let path2 = dir.join("again.safetensors");
    save(&mut b, &path2).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&path2).unwrap()
    );
}

#[test]
fn file_layout_follows_the_safetensors_spec() {
    let dir = tmpdir("layout");
    let path = dir.join("m.safetensors");
    let mut s = store(3);
    save(&mut s, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "header padded to 8 bytes");
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let w = &header["conv1.weight"];
    assert_eq!(w["dtype"], "F32");
    assert_eq!(w["shape"], json!([4, 2, 3]));
    let off = w["data_offsets"].as_array().unwrap();
    let (b, e) = (
        off[0].as_u64().unwrap() as usize,
        off[1].as_u64().unwrap() as usize,
    );
    assert_eq!(e - b, 4 * 24);
    let first = f32::from_le_bytes(bytes[8 + n + b..8 + n + b + 4].try_into().unwrap());
    assert_eq!(
        first.to_bits(),
        s.get("conv1.weight").unwrap().value.data()[0].to_bits()
    );
    assert_eq!(header["bn1.num_batches_tracked"]["shape"], json!([]));
    assert_eq!(header["__metadata__"]["format"], "pt");
}

/// A file written by the reference implementation (Python `safetensors.numpy.save_file`, 0.8.0):
/// `{"a.weight": float32 [[1, 2, 3], [4, 5, 6]], "b.bias": float32 [-0.5, 0.25],
///   "bn.num_batches_tracked": int64 scalar 12}`.
#[test]
fn reads_a_file_written_by_the_reference_implementation() {
    let bytes = include_bytes!("../tests/data/reference.safetensors");
    let t = decode(bytes, Path::new("reference.safetensors")).unwrap();
    let get = |n: &str| t.iter().find(|t| t.name == n).unwrap();
    assert_eq!(get("a.weight").value.shape(), Shape::d2(2, 3));
    assert_eq!(
        get("a.weight").value.data(),
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(get("b.bias").value.data(), &[-0.5, 0.25]);
    let nbt = get("bn.num_batches_tracked");
    assert_eq!(
        (nbt.dtype, nbt.value.shape(), nbt.value.data()),
        (Dtype::I64, Shape::scalar(), &[12.0][..])
    );
}

fn load_err(model: &mut ParamStore<f32>, path: &Path) -> String {
    let e = load(model, path).unwrap_err().to_string();
    assert!(
        e.contains(&path.display().to_string()),
        "error names the file: {e}"
    );
    e
}

#[test]
fn missing_unexpected_and_mismatched_tensors_are_named() {
    let dir = tmpdir("strict");
    let path = dir.join("m.safetensors");
    save(&mut store(4), &path).unwrap();
    let mut rng = Rng::new(0);

    let mut bigger = store(5);
    bigger.add_param("fc.bias", tensor(&[3], &mut rng)).unwrap();
    let e = load_err(&mut bigger, &path);
    assert!(e.contains("\"fc.bias\"") && e.contains("missing"), "{e}");

    let mut smaller = ParamStore::new();
    smaller
        .add_param("conv1.weight", tensor(&[4, 2, 3], &mut rng))
        .unwrap();
    let e = load_err(&mut smaller, &path);
    assert!(e.contains("unexpected"), "{e}");

    let mut wrong = ParamStore::new();
    wrong
        .add_param("conv1.weight", tensor(&[4, 2, 5], &mut rng))
        .unwrap();
    let before = bits(&mut wrong);
    let e = load_err(&mut wrong, &path);
    assert!(
        e.contains("\"conv1.weight\"") && e.contains("[4, 2, 5]") && e.contains("[4, 2, 3]"),
        "{e}"
    );
    assert_eq!(
        bits(&mut wrong),
        before,
        "a failed load leaves the model unchanged"
    );
}

#[test]
fn i64_is_accepted_for_buffers_only() {
    let bytes = include_bytes!("../tests/data/reference.safetensors");
    let dir = tmpdir("i64");
    let path = dir.join("ref.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let mut rng = Rng::new(1);
    let mut ok = ParamStore::new();
    ok.add_param("a.weight", tensor(&[2, 3], &mut rng)).unwrap();
    ok.add_param("b.bias", tensor(&[2], &mut rng)).unwrap();
    ok.add_buffer("bn.num_batches_tracked", Tensor::scalar(0.0))
        .unwrap();
    load(&mut ok, &path).unwrap();
    assert_eq!(
        ok.buffer("bn.num_batches_tracked").unwrap().value.data(),
        &[12.0]
    );
    let mut bad = ParamStore::new();
    bad.add_param("a.weight", tensor(&[2, 3], &mut rng))
        .unwrap();
    bad.add_param("b.bias", tensor(&[2], &mut rng)).unwrap();
    bad.add_param("bn.num_batches_tracked", Tensor::scalar(0.0))
        .unwrap();
    let e = load_err(&mut bad, &path);
    assert!(
        e.contains("\"bn.num_batches_tracked\"") && e.contains("I64"),
        "{e}"
    );
}

#[test]
fn corrupted_files_give_named_errors() {
    let dir = tmpdir("corrupt");
    let good = dir.join("good.safetensors");
    save(&mut store(6), &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let case = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        let e = read_tensors(&p).unwrap_err().to_string();
        assert!(e.contains(&p.display().to_string()), "{e}");
        e
    };
    // Truncated inside the data: the last tensor in the file is named.
    let e = case("truncated.safetensors", &bytes[..bytes.len() - 3]);
    assert!(
        e.contains("truncated") && e.contains("\"fc.weight\""),
        "{e}"
    );
    // Truncated inside the header, and shorter than the length prefix.
    let e = case("short_header.safetensors", &bytes[..8 + n / 2]);
    assert!(e.contains("<header>") && e.contains("truncated"), "{e}");
    let e = case("tiny.safetensors", &bytes[..5]);
    assert!(e.contains("<header>"), "{e}");
    // Garbage JSON.
    let mut garbled = bytes.clone();
    garbled[8] = b'#';
    let e = case("garbled.safetensors", &garbled);
    assert!(e.contains("not valid JSON"), "{e}");
    // Extra bytes after the last tensor.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 4]);
    let e = case("longer.safetensors", &longer);
    assert!(e.contains("cover"), "{e}");
    // An unsupported dtype.
    let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
    let f64_header = header.replacen("\"F32\"", "\"F16\"", 1);
    let mut f16 = bytes[..8].to_vec();
    f16.extend_from_slice(f64_header.as_bytes());
    f16.extend_from_slice(&bytes[8 + n..]);
    let e = case("f16.safetensors", &f16);
    assert!(e.contains("F16") && e.contains("not supported"), "{e}");
    // A missing file is an I/O error naming it.
    let e = read_tensors(dir.join("absent.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.safetensors"), "{e}");
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_temporary() {
    let dir = tmpdir("atomic");
    let path = dir.join("m.safetensors");
    save(&mut store(7), &path).unwrap();
    let old = std::fs::read(&path).unwrap();
    // A writer that dies half way (a full disk, a crash of the writing code).
    let e = write_atomic(&path, "checkpoint::save", |f| {
        f.write_all(&old[..old.len() / 2])?;
        Err(std::io::Error::other("simulated failure mid-write"))
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("simulated failure"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), old, "old checkpoint intact");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("m.safetensors")]);
    // Renaming onto a directory fails too: still no partial file anywhere.
    let sub = dir.join("sub.safetensors");
    std::fs::create_dir(&sub).unwrap();
    assert!(save(&mut store(7), &sub).is_err());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    // A missing directory is an I/O error naming the path.
    let e = save(&mut store(7), dir.join("no/such/dir.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no/such"), "{e}");
}

#[test]
fn duplicate_names_are_refused_on_save() {
    let dir = tmpdir("dup");
    let t = Tensor::zeros(Shape::d1(2));
    let e = save_tensors(
        &[("w".into(), t.clone()), ("w".into(), t)],
        dir.join("d.safetensors"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("\"w\"") && e.contains("two tensors"), "{e}");
}
