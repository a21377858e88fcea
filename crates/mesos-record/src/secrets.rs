//! Redacting `Secret` values inside recorded messages.
//!
//! A `mesos.v1.Secret` of type `VALUE` carries the secret itself in
//! `Secret.Value.data` (a `TaskInfo`'s environment variables and volumes can
//! hold one; so can operator API answers listing tasks). Unless secrets are
//! kept, the recorded copy of a call, response or event has every
//! `Secret.Value.data` replaced by the session's placeholder of the secret
//! (`<redacted:N>` of its base64, so equal secrets get equal placeholders,
//! also shared with the `Authorization` headers). The walk follows the
//! schema: the body is read as a `prost-reflect` [`DynamicMessage`] of its
//! type (JSON through its protobuf encoding), every `Secret.Value` is found
//! and the message is written again in the body's own encoding. What is
//! forwarded is never altered; the recorded body differs from it only when
//! it held a secret (the entry then gets a `note`).
//!
//! Most messages cannot hold a secret where they are set (a `HEARTBEAT`, an
//! `UPDATE`): a scan of the top-level fields present (protobuf), or the
//! absence of a `data` key (JSON), rules the walk out cheaply.

use std::collections::HashSet;
use std::sync::OnceLock;

use base64::Engine;
use mesos_codec::api::Encoding;
use mesos_codec::schema::{MessageId, Schema};
use mesos_codec::session::Redactor;
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};

const SECRET_VALUE: &str = "mesos.v1.Secret.Value";

/// The full names of the message types that can hold a `Secret.Value`.
fn holders() -> &'static HashSet<String> {
    static HOLDERS: OnceLock<HashSet<String>> = OnceLock::new();
    HOLDERS.get_or_init(|| {
        let pool = mesos_codec::v1::descriptor_pool();
        let mut holders: HashSet<String> = HashSet::from([SECRET_VALUE.to_owned()]);
        loop {
            let before = holders.len();
            for message in pool.all_messages() {
                if holders.contains(message.full_name()) {
                    continue;
                }
                if message.fields().any(|f| f.kind().as_message().is_some_and(|m| holders.contains(m.full_name()))) {
                    holders.insert(message.full_name().to_owned());
                }
            }
            if holders.len() == before {
                return holders;
            }
        }
    })
}

fn descriptor(message: MessageId) -> Option<MessageDescriptor> {
    mesos_codec::v1::descriptor_pool().get_message_by_name(&Schema::get().message(message).name)
}

/// Whether any top-level field present in the protobuf `data` can hold a
/// secret (true when the bytes do not read: the full decode decides).
fn protobuf_may_hold(desc: &MessageDescriptor, mut data: &[u8]) -> bool {
    fn varint(data: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = data.split_first()?;
            *data = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
    while !data.is_empty() {
        let Some(key) = varint(&mut data) else { return true };
        let skip = match key & 7 {
            0 => {
                if varint(&mut data).is_none() {
                    return true;
                }
                0
            }
            1 => 8,
            5 => 4,
            2 => {
                let Some(len) = varint(&mut data) else { return true };
                let number = u32::try_from(key >> 3).unwrap_or(0);
                let holds = desc
                    .get_field(number)
                    .and_then(|f| f.kind().as_message().map(|m| holders().contains(m.full_name())))
                    .unwrap_or(false);
                if holds {
                    return true;
                }
                usize::try_from(len).unwrap_or(usize::MAX)
            }
            _ => return true,
        };
        if skip > data.len() {
            return true;
        }
        data = &data[skip..];
    }
    false
}

/// The recorded copy of `body`, a `message` in `encoding`, with every
/// `Secret.Value.data` replaced by its placeholder, and how many were; `None`
/// when there was none (or the body does not read as `message`, in which
/// case it is recorded as it came and a note says it does not read).
pub fn redact(
    message: MessageId,
    encoding: Encoding,
    body: &[u8],
    redactor: &mut Redactor,
) -> Option<(Vec<u8>, usize)> {
    let desc = descriptor(message)?;
    if body.is_empty() || !holders().contains(desc.full_name()) {
        return None;
    }
    let protobuf = match encoding {
        Encoding::Protobuf => {
            if !protobuf_may_hold(&desc, body) {
                return None;
            }
            std::borrow::Cow::Borrowed(body)
        }
        Encoding::Json => {
            // Every `Secret.Value` has a `data` key (maybe written with escapes).
            let finder = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
            if !finder(b"data") && !finder(b"\\u") {
                return None;
            }
            let pb = mesos_codec::json::json_to_protobuf(message, body).ok()?;
            if !protobuf_may_hold(&desc, &pb) {
                return None;
            }
            std::borrow::Cow::Owned(pb)
        }
    };
    let mut dynamic = DynamicMessage::decode(desc, protobuf.as_ref()).ok()?;
    let redacted = walk(&mut dynamic, redactor);
    if redacted == 0 {
        return None;
    }
    let pb = dynamic.encode_to_vec();
    let out = match encoding {
        Encoding::Protobuf => pb,
        Encoding::Json => mesos_codec::json::protobuf_to_json(message, &pb).ok()?.json,
    };
    Some((out, redacted))
}

fn walk(message: &mut DynamicMessage, redactor: &mut Redactor) -> usize {
    if message.descriptor().full_name() == SECRET_VALUE {
        if let Some(Value::Bytes(data)) = message.get_field_by_name_mut("data") {
            let secret = base64::engine::general_purpose::STANDARD.encode(&data[..]);
            *data = redactor.placeholder(&secret).into_bytes().into();
            return 1;
        }
        return 0;
    }
    message.fields_mut().map(|(_, value)| walk_value(value, redactor)).sum()
}

fn walk_value(value: &mut Value, redactor: &mut Redactor) -> usize {
    match value {
        Value::Message(message) if holders().contains(message.descriptor().full_name()) => walk(message, redactor),
        Value::List(values) => values.iter_mut().map(|v| walk_value(v, redactor)).sum(),
        Value::Map(entries) => entries.values_mut().map(|v| walk_value(v, redactor)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_codec::json::message_type;

    const CALL: &str = r#"{"framework_id":{"value":"fw"},"type":"ACCEPT","accept":{"offer_ids":[{"value":"o1"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t1"},"agent_id":{"value":"a1"},"command":{"value":"env","environment":{"variables":[{"name":"PASSWORD","type":"SECRET","secret":{"type":"VALUE","value":{"data":"aHVudGVyMg=="}}},{"name":"PLAIN","value":"x"}]}}}]}}]}}"#;

    #[test]
    fn secret_values_are_found_in_json_and_protobuf() {
        let call = message_type("scheduler.Call").unwrap();
        let mut redactor = Redactor::new();
        let (json, n) = redact(call, Encoding::Json, CALL.as_bytes(), &mut redactor).unwrap();
        assert_eq!(n, 1);
        let text = String::from_utf8(json).unwrap();
        assert!(!text.contains("aHVudGVyMg=="), "{text}");
        let placeholder = base64::engine::general_purpose::STANDARD.encode("<redacted:1>");
        assert!(text.contains(&placeholder), "{text}");
        assert!(text.contains(r#""name":"PLAIN""#), "{text}");

        let pb = mesos_codec::json::json_to_protobuf(call, CALL.as_bytes()).unwrap();
        let (out, n) = redact(call, Encoding::Protobuf, &pb, &mut redactor).unwrap();
        assert_eq!(n, 1);
        assert!(!out.windows(7).any(|w| w == b"hunter2"));
        assert!(out.windows(12).any(|w| w == b"<redacted:1>"), "the same secret, the same placeholder");
    }

    #[test]
    fn messages_without_secrets_are_left_alone() {
        let event = message_type("scheduler.Event").unwrap();
        let mut redactor = Redactor::new();
        let update =
            br#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","data":"eA=="}}}"#;
        assert_eq!(redact(event, Encoding::Json, update, &mut redactor), None);
        let call = message_type("scheduler.Call").unwrap();
        let no_secret = CALL
            .replace(r#""type":"SECRET","secret":{"type":"VALUE","value":{"data":"aHVudGVyMg=="}}"#, r#""value":"y""#);
        let pb = mesos_codec::json::json_to_protobuf(call, no_secret.as_bytes()).unwrap();
        assert_eq!(redact(call, Encoding::Protobuf, &pb, &mut redactor), None);
        assert_eq!(redact(call, Encoding::Json, b"not json", &mut redactor), None);
    }
}
