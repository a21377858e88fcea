//! The Mesos v1 protobuf messages, as typed [`prost`] structs and as a
//! runtime [`DescriptorPool`].
//!
//! Everything here is generated at build time, with no `protoc`, from the
//! crate's `proto/` files, which `cargo xtask schema` in turn generates from
//! the wire facts in `schema/mesos-v1-schema.json` (one entry per `.proto`
//! file of the Mesos v1 API: every message, field, number, label, default and
//! enum value). A test (`tests/schema.rs`) checks the compiled descriptors
//! against those facts field for field.
//!
//! The modules follow the protobuf packages:
//!
//! | module | package | file |
//! | --- | --- | --- |
//! | `v1` (this one) | `mesos.v1` | `mesos/v1/mesos.proto` |
//! | [`scheduler`] | `mesos.v1.scheduler` | `mesos/v1/scheduler/scheduler.proto` |
//! | [`executor`] | `mesos.v1.executor` | `mesos/v1/executor/executor.proto` |
//! | [`master`] | `mesos.v1.master` | `mesos/v1/master/master.proto` |
//! | [`agent`] | `mesos.v1.agent` | `mesos/v1/agent/agent.proto` |
//! | [`quota`] | `mesos.v1.quota` | `mesos/v1/quota/quota.proto` |
//! | [`maintenance`] | `mesos.v1.maintenance` | `mesos/v1/maintenance/maintenance.proto` |
//! | [`allocator`] | `mesos.v1.allocator` | `mesos/v1/allocator/allocator.proto` |
//!
//! Names follow prost's conventions: `mesos.v1.FrameworkID` is
//! [`FrameworkId`], a message's nested types live in a snake-case module
//! (`mesos.v1.scheduler.Call.Type` is [`scheduler::call::Type`]), proto2
//! `optional` fields are `Option`s, `required` ones are plain values, enum
//! fields are stored as `i32` with typed accessors, `map<K, V>` fields are
//! `HashMap`s, and every `bytes` field is a [`bytes::Bytes`], so decoding from
//! a `Bytes` buffer shares the payloads instead of copying them.
//! `google.protobuf.Duration` (in `master.proto`) is [`prost_types::Duration`].
//!
//! ```
//! use bytes::Bytes;
//! use mesos_codec::v1::{FrameworkInfo, scheduler};
//! use prost::Message;
//!
//! let mut call = scheduler::Call {
//!     subscribe: Some(scheduler::call::Subscribe {
//!         framework_info: FrameworkInfo {
//!             user: "root".into(),
//!             name: "mesos-tape example".into(),
//!             ..Default::default()
//!         },
//!         ..Default::default()
//!     }),
//!     ..Default::default()
//! };
//! call.set_type(scheduler::call::Type::Subscribe);
//!
//! let wire = Bytes::from(call.encode_to_vec());
//! let decoded = scheduler::Call::decode(wire)?;
//! assert_eq!(decoded, call);
//! assert_eq!(decoded.r#type(), scheduler::call::Type::Subscribe);
//! // An unset proto2 field reads as its declared default.
//! let info = &decoded.subscribe.as_ref().unwrap().framework_info;
//! assert_eq!(info.failover_timeout, None);
//! assert_eq!(info.failover_timeout(), 0.0);
//! # Ok::<(), prost::DecodeError>(())
//! ```

use std::sync::OnceLock;

use prost_reflect::DescriptorPool;

pub use generated::*;

/// The prost-generated code, kept apart so that the lints its style trips
/// (no docs on generated items, clippy's taste) are allowed here only.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::nursery, unreachable_pub)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/mesos.v1.rs"));

    /// `mesos.v1.scheduler` (`mesos/v1/scheduler/scheduler.proto`): the
    /// scheduler HTTP API's `Call`, `Event` and `Response`.
    pub mod scheduler {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.scheduler.rs"));
    }

    /// `mesos.v1.executor` (`mesos/v1/executor/executor.proto`): the executor
    /// HTTP API's `Call` and `Event`.
    pub mod executor {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.executor.rs"));
    }

    /// `mesos.v1.master` (`mesos/v1/master/master.proto`): the master's
    /// operator API (`Call`, `Response`, `Event`).
    pub mod master {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.master.rs"));
    }

    /// `mesos.v1.agent` (`mesos/v1/agent/agent.proto`): the agent's operator
    /// API (`Call`, `Response`, `ProcessIO`).
    pub mod agent {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.agent.rs"));
    }

    /// `mesos.v1.quota` (`mesos/v1/quota/quota.proto`): quota requests,
    /// configurations and status.
    pub mod quota {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.quota.rs"));
    }

    /// `mesos.v1.maintenance` (`mesos/v1/maintenance/maintenance.proto`):
    /// maintenance windows, schedules and cluster status.
    pub mod maintenance {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.maintenance.rs"));
    }

    /// `mesos.v1.allocator` (`mesos/v1/allocator/allocator.proto`): inverse
    /// offer status.
    pub mod allocator {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.allocator.rs"));
    }
}

/// The encoded `google.protobuf.FileDescriptorSet` of every Mesos v1 file
/// (and `google/protobuf/duration.proto`), as compiled by the build script,
/// without source locations.
///
/// Hand it to any protobuf reflection library; [`descriptor_pool`] is this,
/// decoded once.
///
/// ```
/// use prost::Message;
/// let set = prost_types::FileDescriptorSet::decode(mesos_codec::v1::DESCRIPTOR_SET)?;
/// assert!(set.file.iter().any(|f| f.name() == "mesos/v1/scheduler/scheduler.proto"));
/// # Ok::<(), prost::DecodeError>(())
/// ```
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mesos_v1_descriptors.bin"));

/// The Mesos v1 descriptors ([`DESCRIPTOR_SET`]) as a
/// [`prost_reflect::DescriptorPool`], decoded on first use: look messages,
/// fields and enums up by their protobuf names, or decode messages
/// dynamically.
///
/// ```
/// let pool = mesos_codec::v1::descriptor_pool();
/// let call = pool.get_message_by_name("mesos.v1.scheduler.Call").expect("Call is in the pool");
/// let subscribe = call.get_field_by_name("subscribe").expect("Call has `subscribe`");
/// assert_eq!(subscribe.number(), 3);
/// let fields: Vec<String> = call.fields().map(|f| f.name().to_owned()).collect();
/// assert_eq!(fields[..3], ["framework_id", "type", "subscribe"]);
///
/// let kind = pool.get_enum_by_name("mesos.v1.scheduler.Call.Type").expect("Call.Type is in the pool");
/// assert_eq!(kind.get_value_by_name("SUBSCRIBE").map(|v| v.number()), Some(1));
/// ```
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The bytes are this crate's own build output, checked by tests/schema.rs.
        DescriptorPool::decode(DESCRIPTOR_SET).expect("the build script wrote an invalid Mesos v1 descriptor set")
    })
}
