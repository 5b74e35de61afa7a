//! The layering holds: the chat core imports no loop, codec, transport, store or
//! hasher, and codecs import no loop or transport. Read from the source's `use` lines
//! and paths.
//!
//! The core's own test module may use a codec to read events in wire form; it is not
//! part of the core and is left out.

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// Places in the non-test code of `dir` that name any of `forbidden`.
fn uses_of(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut found = Vec::new();
    for file in sources(&root) {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).expect("readable source");
        // A `#[cfg(test)] mod tests { ... }` at the end of a file is test code.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for name in forbidden {
                if line.contains(name) {
                    found.push(format!("{}:{}: {line}", file.display(), n + 1));
                }
            }
        }
    }
    found
}

#[test]
fn the_core_imports_no_loop_codec_or_transport() {
    let found = uses_of(
        "src/hub",
        &[
            "crate::server",
            "crate::conn",
            "crate::codec",
            "crate::transport",
            "crate::flow",
            "crate::outq",
            "crate::work",
            "crate::signal",
            "crate::config",
            "crate::store",
            "crate::hashing",
            "mio::",
            // Addresses are data the core may keep; sockets are not.
            "TcpStream",
            "TcpListener",
            "UdpSocket",
            "ToSocketAddrs",
            "std::io",
            "Instant::now",
            "SystemTime",
            // Passwords are handed to the hashing workers, never hashed here.
            "Hasher",
            "argon2",
        ],
    );
    assert!(
        found.is_empty(),
        "the core reaches outward:\n{}",
        found.join("\n")
    );
}

#[test]
fn codecs_import_no_loop_or_transport() {
    let found = uses_of(
        "src/codec",
        &[
            "crate::server",
            "crate::conn",
            "crate::transport",
            "crate::flow",
            "crate::work",
            "mio::",
            "std::net",
        ],
    );
    assert!(
        found.is_empty(),
        "a codec reaches outward:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_forbidden_use() {
    // The check itself must be able to fail: the loop does use mio.
    assert!(!uses_of("src", &["mio::"]).is_empty());
}
