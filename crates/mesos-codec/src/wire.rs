//! The protobuf wire format, read by hand: tags, varints, fixed-width and
//! length-delimited values, each bounds-checked against the buffer.
//!
//! The JSON writer and the peeks walk messages with these, so that neither
//! needs to decode a whole message. Errors are [`ProtobufErrorKind`]s; the
//! callers add the path and the offset.
//!
//! ```
//! use mesos_codec::wire::{read_field, WireValue};
//! // Field 1, varint 150.
//! let (tag, value, next) = read_field(&[0x08, 0x96, 0x01], 0).unwrap();
//! assert_eq!((tag, value, next), (1, WireValue::Varint(150), 3));
//! ```

/// One value read off the wire. Length-delimited values are byte ranges
/// (`start..end`) of the buffer they were read from.
///
/// ```
/// use mesos_codec::wire::{read_field, WireValue};
/// // FrameworkID { value: "test13" }: field 1, 6 bytes.
/// let pb = b"\x0a\x06test13";
/// let (number, value, _) = read_field(pb, 0).unwrap();
/// assert_eq!((number, value), (1, WireValue::Len(2, 8)));
/// let WireValue::Len(start, end) = value else { unreachable!() };
/// assert_eq!(&pb[start..end], b"test13");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireValue {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: the payload's range in the buffer.
    Len(usize, usize),
    /// Wire type 5.
    Fixed32(u32),
}

impl WireValue {
    /// The protobuf wire type number.
    ///
    /// ```
    /// use mesos_codec::wire::WireValue;
    /// assert_eq!(WireValue::Varint(1).wire_type(), 0);
    /// assert_eq!(WireValue::Fixed64(0).wire_type(), 1);
    /// assert_eq!(WireValue::Len(2, 8).wire_type(), 2);
    /// assert_eq!(WireValue::Fixed32(0).wire_type(), 5);
    /// ```
    pub fn wire_type(self) -> u8 {
        match self {
            WireValue::Varint(_) => 0,
            WireValue::Fixed64(_) => 1,
            WireValue::Len(..) => 2,
            WireValue::Fixed32(_) => 5,
        }
    }
}

/// Reads a varint at `at`; returns it and the offset after it.
///
/// ```
/// use mesos_codec::json::ProtobufErrorKind;
/// use mesos_codec::wire::read_varint;
/// assert_eq!(read_varint(&[0x96, 0x01], 0), Ok((150, 2)));
/// assert_eq!(read_varint(&[0x08, 0x96, 0x01], 1), Ok((150, 3)));
/// assert_eq!(read_varint(&[0x96], 0), Err(ProtobufErrorKind::Truncated));
/// ```
#[inline(always)]
pub fn read_varint(data: &[u8], mut at: usize) -> Result<(u64, usize), ProtobufErrorKind> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let Some(&b) = data.get(at) else { return Err(ProtobufErrorKind::Truncated) };
        at += 1;
        if shift == 63 && b > 1 {
            return Err(ProtobufErrorKind::VarintOverflow);
        }
        value |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok((value, at));
        }
    }
    Err(ProtobufErrorKind::VarintOverflow)
}

/// Reads one field (tag and value) at `at`; returns the field number, the
/// value and the offset after it.
///
/// ```
/// use mesos_codec::json::ProtobufErrorKind;
/// use mesos_codec::wire::{read_field, WireValue};
/// // scheduler.Call: field 2 (`type`) = 1 (SUBSCRIBE).
/// assert_eq!(read_field(&[0x10, 0x01], 0), Ok((2, WireValue::Varint(1), 2)));
/// // There is no field number 0.
/// assert_eq!(read_field(&[0x00, 0x01], 0), Err(ProtobufErrorKind::InvalidTag(0)));
/// ```
#[inline(always)]
pub fn read_field(data: &[u8], at: usize) -> Result<(u32, WireValue, usize), ProtobufErrorKind> {
    // Fast path: a one-byte key (every field below 16) and a one-byte
    // varint, or a one-byte length (every value under 128 bytes).
    if let (Some(&key), Some(&byte)) = (data.get(at), data.get(at + 1)) {
        if key < 0x80 && key >> 3 != 0 && byte < 0x80 {
            match key & 7 {
                0 => return Ok((u32::from(key >> 3), WireValue::Varint(u64::from(byte)), at + 2)),
                2 => {
                    let start = at + 2;
                    let end = start + usize::from(byte);
                    if end <= data.len() {
                        return Ok((u32::from(key >> 3), WireValue::Len(start, end), end));
                    }
                }
                _ => {}
            }
        }
    }
    let (key, at) = read_varint(data, at)?;
    let number = key >> 3;
    if number == 0 || number > u64::from(u32::MAX >> 3) {
        return Err(ProtobufErrorKind::InvalidTag(key));
    }
    let (value, next) = read_value(data, at, (key & 7) as u8)?;
    Ok((number as u32, value, next))
}

/// Reads one value of wire type `wire_type` at `at`; returns it and the
/// offset after it.
///
/// ```
/// use mesos_codec::json::ProtobufErrorKind;
/// use mesos_codec::wire::{read_value, WireValue};
/// // Filters: key 0x09 (field 1, `refuse_seconds`, wire type 1), then the double 5.0.
/// let pb = [0x09, 0, 0, 0, 0, 0, 0, 0x14, 0x40];
/// assert_eq!(read_value(&pb, 1, 1), Ok((WireValue::Fixed64(5.0f64.to_bits()), 9)));
/// assert_eq!(read_value(&pb, 1, 3), Err(ProtobufErrorKind::UnsupportedWireType(3)));
/// ```
#[inline(always)]
pub fn read_value(data: &[u8], at: usize, wire_type: u8) -> Result<(WireValue, usize), ProtobufErrorKind> {
    match wire_type {
        0 => read_varint(data, at).map(|(v, next)| (WireValue::Varint(v), next)),
        1 => {
            let bytes = data.get(at..at + 8).ok_or(ProtobufErrorKind::Truncated)?;
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            Ok((WireValue::Fixed64(u64::from_le_bytes(b)), at + 8))
        }
        2 => {
            let (len, start) = read_varint(data, at)?;
            let end =
                usize::try_from(len).ok().and_then(|len| start.checked_add(len)).ok_or(ProtobufErrorKind::Truncated)?;
            if end > data.len() {
                return Err(ProtobufErrorKind::Truncated);
            }
            Ok((WireValue::Len(start, end), end))
        }
        5 => {
            let bytes = data.get(at..at + 4).ok_or(ProtobufErrorKind::Truncated)?;
            let mut b = [0u8; 4];
            b.copy_from_slice(bytes);
            Ok((WireValue::Fixed32(u32::from_le_bytes(b)), at + 4))
        }
        other => Err(ProtobufErrorKind::UnsupportedWireType(other)),
    }
}

/// Reads one value of a packed run that ends at `end`; returns it and the
/// offset after it. A value that would cross `end` is
/// [`Truncated`](ProtobufErrorKind::Truncated).
///
/// An `end` past the end of `data` is [`ProtobufErrorKind::Truncated`].
///
/// ```
/// use mesos_codec::json::ProtobufErrorKind;
/// use mesos_codec::wire::{read_packed, WireValue};
/// // A packed run of the varints 200 and 404 in bytes 0..4, then other bytes.
/// let data = [0xc8, 0x01, 0x94, 0x03, 0x08];
/// let (first, at) = read_packed(&data, 0, 4, 0).unwrap();
/// let (second, at) = read_packed(&data, at, 4, 0).unwrap();
/// assert_eq!((first, second, at), (WireValue::Varint(200), WireValue::Varint(404), 4));
/// assert_eq!(read_packed(&data, 2, 3, 0), Err(ProtobufErrorKind::Truncated));
/// ```
#[inline]
pub fn read_packed(data: &[u8], at: usize, end: usize, wire_type: u8) -> Result<(WireValue, usize), ProtobufErrorKind> {
    let run = data.get(..end).ok_or(ProtobufErrorKind::Truncated)?;
    read_value(run, at, wire_type)
}

/// Undoes zigzag encoding (`sint32`, `sint64`).
///
/// ```
/// use mesos_codec::wire::unzigzag;
/// assert_eq!([0, 1, 2, 3, 4].map(unzigzag), [0, -1, 1, -2, 2]);
/// assert_eq!(unzigzag(u64::MAX), i64::MIN);
/// ```
#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends a varint.
///
/// ```
/// use mesos_codec::wire::write_varint;
/// let mut out = vec![0x08]; // scheduler.Event: field 1 (`type`) ...
/// write_varint(8, &mut out); // ... = 8 (HEARTBEAT)
/// write_varint(150, &mut out);
/// assert_eq!(out, [0x08, 0x08, 0x96, 0x01]);
/// ```
#[inline]
pub fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// How many bytes [`write_varint`] writes for `v`.
///
/// ```
/// use mesos_codec::wire::varint_len;
/// assert_eq!(varint_len(0), 1);
/// assert_eq!(varint_len(127), 1);
/// assert_eq!(varint_len(150), 2);
/// assert_eq!(varint_len(u64::MAX), 10);
/// ```
#[inline]
pub fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_overflow_is_refused() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            write_varint(v, &mut out);
            assert_eq!(out.len(), varint_len(v));
            assert_eq!(read_varint(&out, 0), Ok((v, out.len())));
        }
        assert_eq!(read_varint(&[0xff; 10], 0), Err(ProtobufErrorKind::VarintOverflow));
        assert_eq!(read_varint(&[0x80], 0), Err(ProtobufErrorKind::Truncated));
    }

    #[test]
    fn zigzag() {
        assert_eq!(unzigzag(0), 0);
        assert_eq!(unzigzag(1), -1);
        assert_eq!(unzigzag(2), 1);
        assert_eq!(unzigzag(u64::MAX), i64::MIN);
    }
}

/// Bad protobuf input: what and where.
///
/// ```
/// use mesos_codec::json::{message_type, protobuf_to_json, ProtobufErrorKind};
/// // scheduler.Event: field 1 (`type`, an enum) as a length-delimited value.
/// let err = protobuf_to_json(message_type("scheduler.Event")?, &[0x0a, 0x00]).unwrap_err();
/// assert_eq!((err.path.as_str(), err.offset), ("type", 0));
/// assert!(matches!(err.kind, ProtobufErrorKind::WrongWireType { expected: 0, found: 2 }));
/// assert_eq!(err.to_string(), "byte 0, type: wrong wire type 2 (the field's type has wire type 0)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}, {path}: {kind}")]
pub struct ProtobufError {
    /// The JSON-style path of the field (`update.status.uuid`).
    pub path: String,
    /// The byte offset in the input.
    pub offset: usize,
    /// What went wrong.
    pub kind: ProtobufErrorKind,
}

/// The reasons protobuf input is refused.
///
/// ```
/// use mesos_codec::json::{message_type, protobuf_to_json, ProtobufErrorKind};
/// let id = message_type("FrameworkID")?;
/// // `value` says it holds 6 bytes; there are 4.
/// assert_eq!(protobuf_to_json(id, b"\x0a\x06test").unwrap_err().kind, ProtobufErrorKind::Truncated);
/// let missing = ProtobufErrorKind::MissingRequired { field: "value".into() };
/// assert_eq!(protobuf_to_json(id, b"").unwrap_err().kind, missing);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtobufErrorKind {
    /// The input ends inside a field.
    #[error("truncated message (the input ends inside a field)")]
    Truncated,
    /// A varint longer than ten bytes, or over 64 bits.
    #[error("malformed varint (over 64 bits)")]
    VarintOverflow,
    /// A field key with number 0 or out of range.
    #[error("invalid field key {0:#x}")]
    InvalidTag(u64),
    /// Wire types 3 and 4 (groups) and 6, 7 do not occur in the Mesos schema.
    #[error("unsupported wire type {0}")]
    UnsupportedWireType(u8),
    /// A known field encoded with another wire type than its type has.
    #[error("wrong wire type {found} (the field's type has wire type {expected})")]
    WrongWireType {
        /// The wire type of the field's type.
        expected: u8,
        /// The wire type in the input.
        found: u8,
    },
    /// A string field that is not valid UTF-8.
    #[error("invalid UTF-8 in a string field")]
    InvalidUtf8,
    /// An enum number the schema does not define.
    #[error("unknown {enumeration} number {number}")]
    UnknownEnumNumber {
        /// The number.
        number: i32,
        /// The enum's full name.
        enumeration: String,
    },
    /// Messages nested deeper than 100 levels.
    #[error("messages nested deeper than 100 levels")]
    TooDeep,
    /// A required field is missing.
    #[error("missing required field `{field}`")]
    MissingRequired {
        /// The field's name.
        field: String,
    },
}
