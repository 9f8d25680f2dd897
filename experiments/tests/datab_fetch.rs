//! `fetch` against a tiny HTTP server on 127.0.0.1 serving a temporary mirror in PhysioNet's
//! layout (`<db>/<version>/<file>`), with a connection dropped mid-file, corrupted files, stale
//! partial downloads and a server that ignores ranges. No other network is used. Real files
//! from ../shared/data are used when present (and crafted ones otherwise).

use ecgrad_experiments::data::fetch::*;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Default)]
struct Behaviour {
    /// URL paths whose next response is cut after half the body.
    drop_once: HashSet<String>,
    /// URL paths always served with one byte flipped.
    corrupt: HashSet<String>,
    /// Answer every request with 200 and the whole file.
    ignore_range: bool,
    /// (path, Range header) of every request, in order.
    log: Vec<(String, Option<String>)>,
}

struct Server {
    base: String,
    behaviour: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let behaviour = Arc::new(Mutex::new(Behaviour::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (behaviour.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            // Bounded: at most 2000 connections, then the thread ends by itself.
            for stream in listener.incoming().take(2000) {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = serve(stream, &root, &b);
                }
            }
        });
        Server {
            base: format!("http://{addr}"),
            behaviour,
            stop,
            handle: Some(handle),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Behaviour) -> R) -> R {
        f(&mut self.behaviour.lock().expect("lock"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(mut stream: TcpStream, root: &Path, behaviour: &Mutex<Behaviour>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let (drop_now, corrupt, ignore_range) = {
        let mut b = behaviour.lock().expect("lock");
        b.log.push((path.clone(), range.clone()));
        (
            b.drop_once.remove(&path),
            b.corrupt.contains(&path),
            b.ignore_range,
        )
    };
    let Ok(mut bytes) = std::fs::read(root.join(path.trim_start_matches('/'))) else {
        return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    if corrupt {
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xFF;
    }
    let start = match range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
    {
        Some(n) if !ignore_range => n.parse::<usize>().unwrap_or(0),
        _ => 0,
    };
    if start > 0 && start >= bytes.len() {
        return stream.write_all(format!("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", bytes.len()).as_bytes());
    }
    let body = &bytes[start..];
    let head = if start > 0 {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            bytes.len() - 1,
            bytes.len(),
            body.len()
        )
    } else {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
    };
    stream.write_all(head.as_bytes())?;
    if drop_now {
        // Promise the whole body, deliver half, hang up.
        stream.write_all(&body[..body.len() / 2])?;
        stream.flush()?;
        return stream.shutdown(Shutdown::Both);
    }
    stream.write_all(body)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn shared_data() -> Option<PathBuf> {
    // $ECGRAD_DATA or ../shared/data, as everywhere else.
    ecgrad_experiments::data::wfdb::locate_data()
        .filter(|p| p.join("mitdb/100.dat").exists() && p.join("ludb/data/1.dat").exists())
}

/// A pseudo-random file of `n` bytes (xorshift), deterministic.
fn crafted(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Builds `<tmp>/mirror/<db>/<version>/` with the given files and its SHA256SUMS.txt.
fn mirror(tmp: &Path, db: Database, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let root = tmp.join("mirror");
    let dir = root.join(db.name()).join(db.version());
    let mut sums = String::new();
    for (name, bytes) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, bytes).expect("write");
        sums.push_str(&format!("{}  {}\n", sha256_hex(bytes), name));
    }
    std::fs::write(dir.join("SHA256SUMS.txt"), sums).expect("write sums");
    root
}

fn mitdb_files() -> Vec<(&'static str, Vec<u8>)> {
    match shared_data() {
        Some(d) => ["100.hea", "100.atr", "100.dat", "RECORDS"]
            .iter()
            .map(|n| {
                (
                    *n,
                    std::fs::read(d.join("mitdb").join(n)).expect("read shared"),
                )
            })
            .collect(),
        None => {
            println!("../shared/data absent: serving crafted files instead of mitdb record 100");
            vec![
                ("100.hea", b"100 2 360 650000\r\n".to_vec()),
                ("100.atr", crafted(9000, 1)),
                ("100.dat", crafted(1_950_000, 2)),
                ("RECORDS", b"100\n".to_vec()),
            ]
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("datab_fetch_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

fn options(server: &Server, dest: &Path) -> FetchOptions {
    FetchOptions {
        base_url: server.base.clone(),
        dest: dest.to_path_buf(),
        progress: false,
        attempts: 4,
        timeout: Duration::from_secs(10),
    }
}

fn no_part_files(dir: &Path) -> bool {
    walk(dir)
        .iter()
        .all(|p| !p.to_string_lossy().ends_with(".part"))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn downloads_verifies_resumes_a_dropped_connection_and_skips_good_files() {
    let tmp = temp_dir("mitdb");
    let files = mitdb_files();
    let server = Server::start(mirror(&tmp, Database::Mitdb, &files));
    server.with(|b| b.drop_once.insert("/mitdb/1.0.0/100.dat".into()));
    let dest = tmp.join("dest");
    let report = fetch(Database::Mitdb, &options(&server, &dest)).expect("fetch");
    report.ensure_complete().expect("all files");
    assert_eq!(report.downloaded.len(), files.len());
    assert_eq!(report.resumed, vec!["100.dat".to_string()]);
    for (name, bytes) in &files {
        assert_eq!(
            &std::fs::read(dest.join("mitdb").join(name)).expect("downloaded"),
            bytes,
            "{name}"
        );
    }
    assert!(no_part_files(&dest));
    assert!(dest.join("mitdb/SHA256SUMS.txt").exists());
    // The second request for 100.dat asked for the rest, from where the first one broke.
    let ranges: Vec<Option<String>> = server.with(|b| {
        b.log
            .iter()
            .filter(|(p, _)| p.ends_with("100.dat"))
            .map(|(_, r)| r.clone())
            .collect()
    });
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    assert_eq!(ranges[0], None);
    let half = files
        .iter()
        .find(|(n, _)| *n == "100.dat")
        .expect("dat")
        .1
        .len()
        / 2;
    let resumed_from: usize = ranges[1]
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .expect("a Range request");
    assert!(
        resumed_from > 0 && resumed_from <= half,
        "resumed from {resumed_from}, half is {half}"
    );
    // A second run downloads nothing: only the checksum list is requested.
    server.with(|b| b.log.clear());
    let again = fetch(Database::Mitdb, &options(&server, &dest)).expect("fetch");
    assert_eq!(again.already_ok.len(), files.len());
    assert!(again.downloaded.is_empty() && again.bytes == 0);
    assert_eq!(server.with(|b| b.log.len()), 1);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn corrupt_local_files_are_replaced_and_corrupt_server_files_are_reported() {
    let tmp = temp_dir("corrupt");
    let files = mitdb_files();
    let server = Server::start(mirror(&tmp, Database::Mitdb, &files));
    let dest = tmp.join("dest");
    fetch(Database::Mitdb, &options(&server, &dest))
        .expect("fetch")
        .ensure_complete()
        .expect("complete");
    // Local corruption: detected by checksum and re-fetched.
    let hea = dest.join("mitdb/100.hea");
    std::fs::write(&hea, b"tampered").expect("write");
    let report = fetch(Database::Mitdb, &options(&server, &dest)).expect("fetch");
    assert_eq!(report.replaced_corrupt, vec!["100.hea".to_string()]);
    assert_eq!(std::fs::read(&hea).expect("read"), files[0].1);
    // Server-side corruption: every copy is wrong, so the file fails, with the reason, after a
    // full re-download, and nothing is left under its final name (nor as .part).
    let atr = dest.join("mitdb/100.atr");
    std::fs::remove_file(&atr).expect("rm");
    server.with(|b| {
        b.corrupt.insert("/mitdb/1.0.0/100.atr".into());
        b.log.clear();
    });
    let report = fetch(Database::Mitdb, &options(&server, &dest)).expect("fetch");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].0, "100.atr");
    assert!(
        report.failed[0].1.contains("checksum mismatch"),
        "{}",
        report.failed[0].1
    );
    assert!(!atr.exists() && no_part_files(&dest));
    assert_eq!(
        server.with(|b| b.log.iter().filter(|(p, _)| p.ends_with("100.atr")).count()),
        2,
        "one retry from scratch"
    );
    let e = report
        .ensure_complete()
        .expect_err("incomplete")
        .to_string();
    assert!(e.contains("100.atr"), "{e}");
    // A file listed but missing on the server is reported with its HTTP status.
    let sums_path = tmp.join("mirror/mitdb/1.0.0/SHA256SUMS.txt");
    let mut sums = std::fs::read_to_string(&sums_path).expect("read");
    sums.push_str(&format!("{}  missing.dat\n", "0".repeat(64)));
    std::fs::write(&sums_path, sums).expect("write");
    server.with(|b| b.corrupt.clear());
    let report = fetch(Database::Mitdb, &options(&server, &dest)).expect("fetch");
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].0 == "missing.dat" && report.failed[0].1.contains("HTTP 404"),
        "{:?}",
        report.failed
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn ludb_keeps_data_subfolder_and_partial_files_resume_or_restart() {
    let tmp = temp_dir("ludb");
    let files: Vec<(&str, Vec<u8>)> = match shared_data() {
        Some(d) => ["data/1.hea", "data/1.dat", "data/1.ii", "RECORDS"]
            .iter()
            .map(|n| (*n, std::fs::read(d.join("ludb").join(n)).expect("read")))
            .collect(),
        None => vec![
            ("data/1.hea", b"1 12 500 5000\n".to_vec()),
            ("data/1.dat", crafted(120_000, 3)),
            ("data/1.ii", crafted(98, 4)),
            ("RECORDS", b"data/1\n".to_vec()),
        ],
    };
    let server = Server::start(mirror(&tmp, Database::Ludb, &files));
    let dest = tmp.join("dest");
    // An earlier interrupted run left a correct prefix of 1.dat and a wrong prefix of 1.ii.
    std::fs::create_dir_all(dest.join("ludb/data")).expect("mkdir");
    std::fs::write(dest.join("ludb/data/1.dat.part"), &files[1].1[..1000]).expect("write");
    std::fs::write(dest.join("ludb/data/1.ii.part"), b"wrong bytes").expect("write");
    let report = fetch(Database::Ludb, &options(&server, &dest)).expect("fetch");
    report.ensure_complete().expect("complete");
    assert!(report.resumed.contains(&"data/1.dat".to_string()));
    for (name, bytes) in &files {
        assert_eq!(
            &std::fs::read(dest.join("ludb").join(name)).expect("read"),
            bytes,
            "{name}"
        );
    }
    assert!(no_part_files(&dest));
    assert!(server.with(|b| {
        b.log
            .iter()
            .any(|(p, r)| p == "/ludb/1.0.1/data/1.dat" && r.as_deref() == Some("bytes=1000-"))
    }));
    // A server that ignores Range (answers 200 with everything) is handled too.
    let tmp2 = temp_dir("ludb_norange");
    let server2 = Server::start(mirror(&tmp2, Database::Ludb, &files));
    server2.with(|b| {
        b.ignore_range = true;
        b.drop_once.insert("/ludb/1.0.1/data/1.dat".into());
    });
    let dest2 = tmp2.join("dest");
    fetch(Database::Ludb, &options(&server2, &dest2))
        .expect("fetch")
        .ensure_complete()
        .expect("complete");
    assert_eq!(
        std::fs::read(dest2.join("ludb/data/1.dat")).expect("read"),
        files[1].1
    );
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(&tmp2);
}

#[test]
fn checksum_lists_with_unsafe_paths_or_bad_digests_are_rejected() {
    let h = "a".repeat(64);
    assert_eq!(
        parse_sha256sums(&format!("{h}  data/1.hea\r\n\n{h} *RECORDS\n")).expect("valid"),
        vec![
            (h.clone(), "data/1.hea".into()),
            (h.clone(), "RECORDS".into())
        ]
    );
    for bad in [
        format!("{h}  ../etc/passwd"),
        format!("{h}  /abs/path"),
        format!("{h}  a/../../b"),
        "abc  file".to_string(),
        h.clone(),
        format!("{h}  dir\\file"),
    ] {
        let e = parse_sha256sums(&bad).expect_err(&bad).to_string();
        assert!(e.contains("line 1"), "{e}");
    }
    assert!(Database::parse("mimic").is_err());
    assert_eq!(Database::parse("ludb").expect("known").version(), "1.0.1");
}

#[test]
fn our_sha256_agrees_with_the_published_checksums_of_shared_data() {
    let Some(d) = shared_data() else {
        println!("skipping: ../shared/data is absent");
        return;
    };
    let sums = std::fs::read_to_string(d.join("mitdb/SHA256SUMS")).expect("read");
    let entries = parse_sha256sums(&sums).expect("valid list");
    for (hash, name) in entries
        .iter()
        .filter(|(_, n)| n.starts_with("100.") || n == "RECORDS")
    {
        assert_eq!(
            &sha256_file(&d.join("mitdb").join(name)).expect("hash"),
            hash,
            "{name}"
        );
    }
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
