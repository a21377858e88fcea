//! `mesos-codec`: sans-IO codecs for the Apache Mesos v1 HTTP API.
//!
//! This crate does no I/O and pulls in no async runtime: it turns bytes into
//! values and values into bytes, and the callers (the recording proxy, the
//! replay server, the `mesos-codec` command) own the sockets and files. Every
//! decoder here takes untrusted input and never panics on it; errors say what
//! went wrong and where (a byte offset, a line, a JSON path).
//!
//! - [`api`]: the v1 APIs: which path is which API and its message types,
//!   which `Content-Type` is which [`api::Encoding`], message summaries.
//! - [`recordio`]: the RecordIO framing of event streams, decoded
//!   incrementally from arbitrary chunks with zero-copy records.
//! - [`v1`]: the Mesos v1 protobuf messages (scheduler, executor, master,
//!   agent, ...) as prost types, plus their runtime descriptor pool.
//! - [`json`]: Mesos's own JSON mapping of every v1 message, both
//!   directions, as the master writes and reads it.
//! - [`negotiate`]: content negotiation by the master's rules
//!   (`Content-Type`, `Accept` with q-values, `Message-Accept`,
//!   `Message-Content-Type`), with the master's status codes and texts.
//! - [`peek`]: a message's type and key ids, read from either encoding
//!   without decoding the whole message.
//! - [`schema`]: the flat schema tables the JSON engine walks.
//! - [`session`]: the session log format: a line writer and a streaming
//!   reader that follows growing files and survives a torn last line.
//! - `view` (feature `views`): zero-copy typed views of protobuf messages,
//!   checked once and read in place; measured and fuzzed, not on a
//!   production path.
//! - [`wire`]: the protobuf wire format, read by hand for the JSON writer.
//!
//! ```
//! use bytes::Bytes;
//! let records = mesos_codec::recordio::decode_all(Bytes::from_static(b"6\nhello!0\n"))?;
//! assert_eq!(records, ["hello!", ""]);
//! # Ok::<(), mesos_codec::recordio::Error>(())
//! ```

// `unsafe` only in `simd` (vector loads and stores, each beside the bounds
// check that makes it sound), which allows it for itself.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod json;
pub mod negotiate;
pub mod peek;
pub mod recordio;
pub mod schema;
pub mod session;
#[allow(unsafe_code)]
mod simd;
mod swar;
pub mod v1;
#[cfg(feature = "views")]
pub mod view;
pub mod wire;
