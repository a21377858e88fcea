//! Compiles the Mesos v1 `.proto` files under `proto/` (generated from
//! `schema/mesos-v1-schema.json` by `cargo xtask schema`) without `protoc`:
//! `protox` parses them into a `FileDescriptorSet`, `prost-build` turns that
//! into Rust types (`$OUT_DIR/mesos.v1*.rs`), and the set itself, less its
//! source locations, is written to `$OUT_DIR/mesos_v1_descriptors.bin` for
//! the runtime descriptor pool. Only this crate's own files are read.
//!
//! The zero-copy views (`mesos_codec::view::v1`) are generated from the same
//! descriptors by `build/views.rs`.
//!
//! `google.protobuf.Duration` (used by `master.proto`) is compiled into the
//! descriptor set from our `proto/google/protobuf/duration.proto`, but its
//! Rust type is `prost_types::Duration`: prost-build maps the
//! `.google.protobuf` package to `::prost_types` by default.

use std::path::{Path, PathBuf};

use prost::Message as _;

#[path = "build/views.rs"]
mod views;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?);
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let proto_dir = manifest_dir.join("proto");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=build");

    let mut files = Vec::new();
    collect_protos(&proto_dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "no .proto files under {}: they are checked in (restore them, or regenerate with `cargo xtask schema`)",
            proto_dir.display()
        )
        .into());
    }

    let mut fds = protox::compile(&files, [&proto_dir])
        .map_err(|e| format!("cannot compile the .proto files under {}: {e:?}", proto_dir.display()))?;

    prost_build::Config::new().bytes(["."]).enable_type_names().compile_fds(fds.clone())?;
    if std::env::var_os("CARGO_FEATURE_VIEWS").is_some() {
        views::generate(&fds, &out_dir)?;
    }

    for file in &mut fds.file {
        file.source_code_info = None;
    }
    std::fs::write(out_dir.join("mesos_v1_descriptors.bin"), fds.encode_to_vec())?;
    Ok(())
}

/// Every `.proto` file under `dir`, recursively.
fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
