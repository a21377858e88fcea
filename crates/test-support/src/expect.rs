//! Expected output kept in a checked-in file (rust-analyzer's convention):
//! [`assert_eq_file`] compares, and with `UPDATE_EXPECT=1` in the
//! environment writes the file instead, for a change that is meant.
//!
//! The output must not depend on the run: no time of now, no temporary
//! path. Where a tool prints one anyway, the test replaces it with
//! [`normalize`], the one place that does so.

use std::path::{Path, PathBuf};

/// `fixtures/expect/<rel>`: where the expected outputs live.
pub fn path(rel: &str) -> PathBuf {
    crate::fixture("expect").join(rel)
}

/// Whether this run rewrites the expected files (`UPDATE_EXPECT=1`).
pub fn updating() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1")
}

/// `actual` is the content of `file`; with `UPDATE_EXPECT=1`, `file` is
/// (re)written with it instead (and the directory made).
pub fn assert_eq_file(file: &Path, actual: &str) {
    if updating() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        if std::fs::read_to_string(file).ok().as_deref() != Some(actual) {
            std::fs::write(file, actual).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            eprintln!("updated {}", file.display());
        }
        return;
    }
    let expected = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e}; run the test with UPDATE_EXPECT=1 to write it", file.display()));
    if expected != actual {
        let first = expected.lines().zip(actual.lines()).position(|(e, a)| e != a);
        let line = first.unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output, first at line {}:\n  expected: {:?}\n    actual: {:?}\n\
             (lines: {} expected, {} actual). If the change is meant, run the test again with UPDATE_EXPECT=1 \
             and review the diff of the file.",
            file.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line),
            expected.lines().count(),
            actual.lines().count(),
        );
    }
}

/// The one normalization of expected outputs: every occurrence of each
/// `(text, placeholder)` pair's text replaced by its placeholder (a
/// temporary directory by `<TMP>`, the tool's version by `<VERSION>`), in
/// order.
pub fn normalize(output: &str, replace: &[(&str, &str)]) -> String {
    let mut out = output.to_owned();
    for (text, placeholder) in replace {
        if !text.is_empty() {
            out = out.replace(text, placeholder);
        }
    }
    out
}
