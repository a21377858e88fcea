//! The `mesos-tape` umbrella package.
//!
//! The tools live in the workspace crates: [`mesos_codec`] (sans-IO codecs),
//! `mesos-proxy` (the recorder) and `mesos-replay` (the master side). This
//! package only holds the cross-crate tests (`tests/`) and the criterion
//! benchmarks (`benches/`), and re-exports the codec so they can reach it.
//!
//! ```
//! let mut decoder = mesos_tape::mesos_codec::recordio::Decoder::new();
//! decoder.push(bytes::Bytes::from_static(b"2\nhi"));
//! assert_eq!(decoder.next_record().unwrap().unwrap().data, "hi");
//! ```

pub use mesos_codec;
