//! The v1 message codec on a 100-offer OFFERS event, each measurement beside
//! a baseline in the same run:
//!
//! | benchmark | ours | baseline |
//! |---|---|---|
//! | `protobuf-decode` | `view::Checked::<Event>::decode` (checked zero-copy view); beside it `mesos-codec-prost` (prost typed decode from `Bytes`) and `mesos-codec-view-read-all` (the view's decode, then every field of every offer read through it) | prost-reflect `DynamicMessage` decode |
//! | `json-decode` | `json::from_json::<Event>` (Mesos JSON → typed) | `serde_json::from_slice::<Value>` (parsing alone) |
//! | `protobuf-to-json` | `json::protobuf_to_json` (straight from the wire) | `DynamicMessage` decode + prost-reflect's serde JSON |
//! | `json-to-protobuf` | `json::json_to_protobuf` | `DynamicMessage` serde deserialize + encode |
//! | `type-peek-{protobuf,json}` | `peek::peek_type` | decoding the whole event to read its type |
//! | `heading-json` | `peek::peek_heading` (type and first framework id, what it steps over found by its brackets, unchecked: what a recorder files every event under) | `serde_json::from_slice::<IgnoredAny>` (the whole event's syntax checked, and no more) |
//!
//! Throughput is in bytes of the input. `cargo xtask bench-report codec`
//! prints the table with the ratios.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mesos_codec::api::Encoding;
use mesos_codec::json::{self, json_to_protobuf, message_type, protobuf_to_json};
use mesos_codec::peek::{peek_heading, peek_type};
use mesos_codec::v1::scheduler;
use mesos_codec::view::{Checked, v1 as view};
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};

/// A 100-offer OFFERS event, as a 1.x master writes it: the seed's offer,
/// with distinct ids, hostnames and ports.
fn offers_event() -> (Vec<u8>, Vec<u8>) {
    let offers: Vec<String> = (0..100)
        .map(|i| {
            format!(
                r#"{{"id":{{"value":"b5e0c23f-237e-4398-816f-ad1a4aa7d3f3-O{i}"}},"framework_id":{{"value":"test13"}},"agent_id":{{"value":"b5e0c23f-237e-4398-816f-ad1a4aa7d3f3-S{i}"}},"hostname":"slave{i}","url":{{"scheme":"http","address":{{"hostname":"slave{i}","ip":"9.111.254.{}","port":5051}},"path":"\/slave(1)"}},"resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":2.0}}}},{{"name":"mem","type":"SCALAR","scalar":{{"value":996.0}}}},{{"name":"disk","type":"SCALAR","scalar":{{"value":30509.0}}}},{{"name":"ports","type":"RANGES","ranges":{{"range":[{{"begin":31000,"end":32000}}]}}}}]}}"#,
                i % 250
            )
        })
        .collect();
    let input = format!(r#"{{"type":"OFFERS","offers":{{"offers":[{}]}}}}"#, offers.join(","));
    let id = message_type("scheduler.Event").expect("Event");
    let pb = json_to_protobuf(id, input.as_bytes()).expect("valid event");
    // Normalize the JSON through our writer: declaration order, as a master writes.
    let json = protobuf_to_json(id, &pb).expect("valid event").json;
    (pb, json)
}

/// Reads every field of every offer of `event` through its view (what the
/// event holds: ids, hostname, URL, resources with their values), summing
/// lengths and values so that nothing is optimized away.
fn read_all(event: view::scheduler::Event<'_>) -> f64 {
    let mut sum = 0.0;
    let Some(offers) = event.offers() else { return sum };
    for offer in offers.offers() {
        let mut n = offer.id().value().len() + offer.framework_id().value().len() + offer.agent_id().value().len();
        n += offer.hostname().len();
        if let Some(url) = offer.url() {
            n += url.scheme().len() + url.path().map_or(0, str::len);
            let address = url.address();
            n += address.hostname().map_or(0, str::len) + address.ip().map_or(0, str::len);
            sum += f64::from(address.port());
        }
        for resource in offer.resources() {
            n += resource.name().len();
            sum += f64::from(resource.r#type() as i32);
            if let Some(scalar) = resource.scalar() {
                sum += scalar.value();
            }
            if let Some(ranges) = resource.ranges() {
                for range in ranges.range() {
                    sum += (range.end() - range.begin()) as f64;
                }
            }
        }
        sum += n as f64;
    }
    sum
}

fn descriptor() -> MessageDescriptor {
    mesos_codec::v1::descriptor_pool().get_message_by_name("mesos.v1.scheduler.Event").expect("Event")
}

fn bench(c: &mut Criterion) {
    let (pb, json_bytes) = offers_event();
    let pb = Bytes::from(pb);
    let event_id = message_type("scheduler.Event").expect("Event");
    let descriptor = descriptor();
    // Every implementation reads the same event.
    let typed = scheduler::Event::decode(pb.clone()).expect("decode");
    assert_eq!(typed.offers.as_ref().map(|o| o.offers.len()), Some(100));
    assert_eq!(json::from_json::<scheduler::Event>(&json_bytes).expect("json"), typed);

    let mut group = c.benchmark_group("codec/protobuf-decode-100-offers");
    group.throughput(Throughput::Bytes(pb.len() as u64));
    assert_eq!(Checked::<scheduler::Event>::decode(pb.clone()).expect("view").to_message(), typed);
    group.bench_function("mesos-codec", |b| {
        b.iter(|| Checked::<scheduler::Event>::decode(black_box(pb.clone())).expect("decode"))
    });
    group.bench_function("mesos-codec-prost", |b| {
        b.iter(|| scheduler::Event::decode(black_box(pb.clone())).expect("decode"))
    });
    group.bench_function("mesos-codec-view-read-all", |b| {
        b.iter(|| {
            let checked = Checked::<scheduler::Event>::decode(black_box(pb.clone())).expect("decode");
            read_all(checked.view())
        })
    });
    group.bench_function("baseline-dynamic-message", |b| {
        b.iter(|| DynamicMessage::decode(descriptor.clone(), black_box(pb.clone())).expect("decode"))
    });
    group.finish();

    let mut group = c.benchmark_group("codec/json-decode-100-offers");
    group.throughput(Throughput::Bytes(json_bytes.len() as u64));
    group.bench_function("mesos-codec", |b| {
        b.iter(|| json::from_json::<scheduler::Event>(black_box(&json_bytes)).expect("json"))
    });
    group.bench_function("baseline-serde-json-value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&json_bytes)).expect("json"))
    });
    group.finish();

    let mut group = c.benchmark_group("codec/protobuf-to-json-100-offers");
    group.throughput(Throughput::Bytes(pb.len() as u64));
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    group.bench_function("mesos-codec", |b| {
        b.iter(|| {
            out.clear();
            json::protobuf_to_json_into(event_id, black_box(&pb), &mut out, &mut unknown).expect("transcode");
            out.len()
        })
    });
    group.bench_function("baseline-dynamic-message-serde", |b| {
        b.iter(|| {
            let message = DynamicMessage::decode(descriptor.clone(), black_box(pb.clone())).expect("decode");
            serde_json::to_vec(&message).expect("serialize")
        })
    });
    group.finish();

    // The type peek: the event's type without decoding the event.
    assert_eq!(peek_type(event_id, Encoding::Protobuf, &pb).expect("peek"), Some("OFFERS"));
    assert_eq!(peek_type(event_id, Encoding::Json, &json_bytes).expect("peek"), Some("OFFERS"));
    let mut group = c.benchmark_group("codec/type-peek-protobuf-100-offers");
    group.throughput(Throughput::Elements(1));
    group.bench_function("mesos-codec", |b| b.iter(|| peek_type(event_id, Encoding::Protobuf, black_box(&pb))));
    group.bench_function("baseline-full-decode", |b| {
        b.iter(|| scheduler::Event::decode(black_box(pb.clone())).expect("decode").r#type())
    });
    group.finish();
    let mut group = c.benchmark_group("codec/type-peek-json-100-offers");
    group.throughput(Throughput::Elements(1));
    group.bench_function("mesos-codec", |b| b.iter(|| peek_type(event_id, Encoding::Json, black_box(&json_bytes))));
    group.bench_function("baseline-full-decode", |b| {
        b.iter(|| json::from_json::<scheduler::Event>(black_box(&json_bytes)).expect("json").r#type())
    });
    group.finish();

    // The heading: what a recorder files every event under.
    let heading = peek_heading(event_id, Encoding::Json, &json_bytes).expect("heading");
    assert_eq!((heading.type_name, heading.framework_id.is_some()), (Some("OFFERS"), true));
    let mut group = c.benchmark_group("codec/heading-json-100-offers");
    group.throughput(Throughput::Bytes(json_bytes.len() as u64));
    group.bench_function("mesos-codec", |b| b.iter(|| peek_heading(event_id, Encoding::Json, black_box(&json_bytes))));
    group.bench_function("baseline-serde-json-syntax-check", |b| {
        b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&json_bytes)).expect("json"))
    });
    group.finish();

    let mut group = c.benchmark_group("codec/json-to-protobuf-100-offers");
    group.throughput(Throughput::Bytes(json_bytes.len() as u64));
    group.bench_function("mesos-codec", |b| {
        b.iter(|| json_to_protobuf(event_id, black_box(&json_bytes)).expect("json"))
    });
    // The careful reader alone: what the fast reader (the second engine) is worth.
    group.bench_function("mesos-codec-careful-reader-only", |b| {
        b.iter(|| json::json_to_protobuf_carefully(event_id, black_box(&json_bytes)).expect("json"))
    });
    group.bench_function("baseline-dynamic-message-serde", |b| {
        b.iter(|| {
            let mut de = serde_json::Deserializer::from_slice(black_box(&json_bytes));
            let message = DynamicMessage::deserialize(descriptor.clone(), &mut de).expect("deserialize");
            message.encode_to_vec()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
