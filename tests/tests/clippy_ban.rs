//! Proves the determinism bans in `clippy.toml` are active: a crate that uses a banned item
//! fails `cargo clippy -D warnings` with the workspace's configuration, and the same crate
//! with the allowed replacement passes (so the failure is the ban, not something else).
//!
//! Reference: ../shared/DESIGN.md, "Determinism rules (mechanically enforced)".

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// A throwaway crate using `body`, checked by clippy with the workspace's `clippy.toml`.
fn clippy_on(name: &str, body: &str) -> (bool, String) {
    let dir =
        std::env::temp_dir().join(format!("kafkasim-clippy-ban-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).expect("temp dir");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"ban-{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n"),
    )
    .expect("manifest");
    std::fs::copy(
        workspace_root().join("clippy.toml"),
        dir.join("clippy.toml"),
    )
    .expect("clippy.toml");
    std::fs::write(dir.join("src/lib.rs"), body).expect("lib.rs");
    let output = Command::new(env!("CARGO"))
        .args(["clippy", "--quiet", "--offline", "--", "-D", "warnings"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .expect("cargo clippy runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    (output.status.success(), stderr)
}

#[test]
fn banned_items_fail_clippy_and_allowed_ones_pass() {
    let (ok, stderr) = clippy_on(
        "banned",
        "pub fn f() -> usize {\n    let mut m = std::collections::HashMap::new();\n    m.insert(1, 2);\n    let _t = std::time::Instant::now();\n    let _s = std::time::SystemTime::now();\n    std::thread::spawn(|| ());\n    m.len()\n}\n",
    );
    assert!(!ok, "clippy accepted banned items:\n{stderr}");
    for needle in [
        "HashMap",
        "std::time::Instant::now",
        "SystemTime",
        "std::thread::spawn",
    ] {
        assert!(
            stderr.contains(needle),
            "no complaint about {needle}:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("disallowed"),
        "not a disallowed-* lint:\n{stderr}"
    );

    let (ok, stderr) = clippy_on(
        "allowed",
        "pub fn f() -> usize {\n    let mut m = std::collections::BTreeMap::new();\n    m.insert(1, 2);\n    m.len()\n}\n",
    );
    assert!(ok, "clippy rejected the allowed replacement:\n{stderr}");
}

#[test]
fn clippy_toml_bans_os_randomness_too() {
    // `rand` is not a dependency of the throwaway crate, so the rand bans are checked by name.
    let config =
        std::fs::read_to_string(workspace_root().join("clippy.toml")).expect("clippy.toml");
    for path in [
        "rand::thread_rng",
        "rand::rng",
        "rand::random",
        "std::collections::HashSet",
    ] {
        assert!(
            config.contains(&format!("\"{path}\"")),
            "clippy.toml does not ban {path}"
        );
    }
}
