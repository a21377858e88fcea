//! The root package's integration tests: the cross-crate ones (the proxy in
//! front of the simulated master, the sim held to a real Mesos master, the
//! interop suite, the soak). One test binary, one module per file
//! (ripgrep's layout), so that the workspace links them once. `support/`
//! is theirs; what every crate's tests share is in `crates/test-support`.
//!
//! A test is named by its module: `cargo test --test tests -- soak::` runs
//! the soak alone, `cargo test --test tests -- import_live::` the live capture.

mod interop;
mod support;

mod conformance;
mod fixtures;
mod import_live;
mod inspect_html;
mod interop_faults;
mod interop_node;
mod interop_python;
mod readme;
mod real_master;
mod replay;
mod sim_faults_vs_real;
mod sim_operator;
mod sim_vs_real;
mod sim_wire;
mod soak;
mod tls;
mod walkthrough;
mod zk;

/// Every file of a package's `tests/` is a module of its `tests.rs`: with
/// `autotests = false`, a test file that is not declared there (one added by
/// a branch written before the one binary, say) would not be compiled, and
/// its tests would be lost without a word.
#[test]
fn every_test_file_is_a_module_of_its_packages_tests_rs() {
    let root = test_support::workspace();
    for package in [".", "crates/mesos-codec", "crates/mesos-proxy", "crates/mesos-replay"] {
        let dir = root.join(package).join("tests");
        let tests_rs = std::fs::read_to_string(dir.join("tests.rs")).unwrap();
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let module = if path.is_dir() && path.join("mod.rs").is_file() {
                name
            } else if let Some(stem) = name.strip_suffix(".rs").filter(|s| *s != "tests") {
                stem.to_owned()
            } else {
                continue;
            };
            if !tests_rs.lines().any(|l| l.trim() == format!("mod {module};")) {
                missing.push(module);
            }
        }
        missing.sort();
        assert!(
            missing.is_empty(),
            "{}: declare `mod {};` in {}",
            package,
            missing.join(";`, `mod "),
            dir.join("tests.rs").display()
        );
    }
}
