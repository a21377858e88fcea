//! The `mesos-codec` command: RecordIO streams and v1 messages from the shell.
//!
//! - `records`: split a RecordIO stream into records, one JSON line each;
//! - `decode`: messages (protobuf or JSON, one or a RecordIO stream) to Mesos JSON;
//! - `encode`: Mesos JSON to protobuf or normalized Mesos JSON.
//!
//! Thin wiring only: argument parsing, files and stdin/stdout; the decoding
//! lives in the library. Exit status: 0 success, 1 bad input (the reason and
//! the byte offset on stderr), 2 wrong usage.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use base64::Engine;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use mesos_codec::json::{self, message_type};
use mesos_codec::recordio::{DEFAULT_MAX_RECORD_SIZE, Decoder, Record};
use mesos_codec::schema::MessageId;

#[derive(Parser)]
#[command(name = "mesos-codec", version, about = "Decode and encode Mesos v1 HTTP API traffic")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Split a RecordIO stream into records, one JSON object a line:
    /// {"offset":O,"length":L,"data":"<text>"}, or "data_b64" when a record is
    /// not UTF-8. O is the offset of the record's size line in the stream.
    Records {
        /// Refuse records larger than this many bytes.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_RECORD_SIZE)]
        max_record_size: u64,
        /// The stream to read; standard input when absent or `-`.
        file: Option<PathBuf>,
    },
    /// Decode messages to Mesos JSON, one message a line.
    Decode {
        /// The message type: scheduler.Call, scheduler.Event, ..., or a full
        /// name such as mesos.v1.TaskInfo.
        #[arg(long = "type", value_name = "T")]
        ty: String,
        /// The input encoding; by default each message's own (JSON when it
        /// starts with `{`).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// The input is a RecordIO stream of messages (an event stream);
        /// otherwise it is one message.
        #[arg(long)]
        recordio: bool,
        /// Refuse records larger than this many bytes (with --recordio).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_RECORD_SIZE)]
        max_record_size: u64,
        /// The input; standard input when absent or `-`.
        file: Option<PathBuf>,
    },
    /// Encode Mesos JSON (one message a line, or one document) as JSON or protobuf.
    Encode {
        /// The message type: scheduler.Call, scheduler.Event, ..., or a full name.
        #[arg(long = "type", value_name = "T")]
        ty: String,
        /// The output encoding.
        #[arg(long, value_enum)]
        format: Format,
        /// Frame each message as a RecordIO record (needed for several
        /// protobuf messages).
        #[arg(long)]
        recordio: bool,
        /// The input; standard input when absent or `-`.
        file: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Json,
    Protobuf,
}

/// How much is read at a time; records come out as soon as they are whole.
const READ_SIZE: usize = 64 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Records { max_record_size, file } => records(max_record_size, file.as_deref()),
        Command::Decode { ty, format, recordio, max_record_size, file } => {
            decode(&ty, format, recordio, max_record_size, file.as_deref())
        }
        Command::Encode { ty, format, recordio, file } => encode(&ty, format, recordio, file.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mesos-codec: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// A reader closed our output (`mesos-codec records | head`): not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

fn open_input(file: Option<&std::path::Path>) -> Result<(Box<dyn Read>, String)> {
    match file {
        None => Ok((Box::new(io::stdin().lock()), "standard input".to_owned())),
        Some(path) if path.as_os_str() == "-" => Ok((Box::new(io::stdin().lock()), "standard input".to_owned())),
        Some(path) => {
            let name = path.display().to_string();
            let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
            Ok((Box::new(file), name))
        }
    }
}

fn records(max_record_size: u64, file: Option<&std::path::Path>) -> Result<()> {
    let (input, name) = open_input(file)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut decoder = Decoder::with_max_record_size(max_record_size);
    for_each_chunk(input, &name, |chunk| {
        decoder.push(chunk);
        // Write what was decoded before reporting an error, so nothing is lost.
        let outcome = drain(&mut decoder, &mut out);
        out.flush()?;
        outcome.with_context(|| format!("{name}: bad RecordIO stream"))
    })?;
    decoder.finish().with_context(|| format!("{name}: bad RecordIO stream"))?;
    out.flush()?;
    Ok(())
}

/// Reads `input` in 64 KiB chunks as they come (a live stream is not
/// waited out), handing each to `f`.
fn for_each_chunk(mut input: Box<dyn Read>, name: &str, mut f: impl FnMut(Bytes) -> Result<()>) -> Result<()> {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {name}")),
        };
        f(Bytes::copy_from_slice(&buf[..n]))?;
    }
}

fn drain(decoder: &mut Decoder, out: &mut impl Write) -> Result<()> {
    while let Some(record) = decoder.next_record()? {
        write_record(&record, out)?;
    }
    Ok(())
}

fn write_record(record: &Record, out: &mut impl Write) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        offset: u64,
        length: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        data_b64: Option<String>,
    }
    let (data, data_b64) = match std::str::from_utf8(&record.data) {
        Ok(text) => (Some(text), None),
        Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(&record.data))),
    };
    let line = Line { offset: record.offset, length: record.data.len(), data, data_b64 };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// Reads a whole input.
fn read_all(file: Option<&std::path::Path>) -> Result<(Vec<u8>, String)> {
    let (mut input, name) = open_input(file)?;
    let mut data = Vec::new();
    input.read_to_end(&mut data).with_context(|| format!("cannot read {name}"))?;
    Ok((data, name))
}

/// Writes one message (JSON or protobuf bytes) as one Mesos JSON line.
fn decode_one(id: MessageId, format: Option<Format>, data: &[u8], out: &mut impl Write, whence: &str) -> Result<()> {
    let is_json = match format {
        Some(Format::Json) => true,
        Some(Format::Protobuf) => false,
        // A protobuf message of the v1 schema never starts with `{` (that
        // would be a group of field 15), so the first byte tells.
        None => data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
    };
    let pb;
    let pb = if is_json {
        pb = json::json_to_protobuf(id, data).with_context(|| format!("{whence}: bad JSON"))?;
        &pb[..]
    } else {
        data
    };
    let transcoded = json::protobuf_to_json(id, pb).with_context(|| format!("{whence}: bad protobuf"))?;
    for unknown in &transcoded.unknown_fields {
        eprintln!("mesos-codec: warning: {whence}: {unknown}");
    }
    out.write_all(&transcoded.json)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn decode(
    ty: &str,
    format: Option<Format>,
    recordio: bool,
    max_record_size: u64,
    file: Option<&std::path::Path>,
) -> Result<()> {
    let id = message_type(ty)?;
    let mut out = BufWriter::new(io::stdout().lock());
    if !recordio {
        let (data, name) = read_all(file)?;
        decode_one(id, format, &data, &mut out, &name)?;
        out.flush()?;
        return Ok(());
    }
    // A stream: decode each record as it arrives, so a live stream can be piped in.
    let (input, name) = open_input(file)?;
    let mut decoder = Decoder::with_max_record_size(max_record_size);
    let mut index = 0usize;
    for_each_chunk(input, &name, |chunk| {
        decoder.push(chunk);
        let outcome = decode_records(&mut decoder, id, format, &name, &mut index, &mut out);
        out.flush()?;
        outcome
    })?;
    decoder.finish().with_context(|| format!("{name}: bad RecordIO stream"))?;
    out.flush()?;
    Ok(())
}

/// Decodes every whole record the decoder holds, one JSON line each.
fn decode_records(
    decoder: &mut Decoder,
    id: MessageId,
    format: Option<Format>,
    name: &str,
    index: &mut usize,
    out: &mut impl Write,
) -> Result<()> {
    while let Some(record) = decoder.next_record().with_context(|| format!("{name}: bad RecordIO stream"))? {
        let whence = format!("{name}: record {index} (byte {})", record.offset);
        decode_one(id, format, &record.data, out, &whence)?;
        *index += 1;
    }
    Ok(())
}

fn encode(ty: &str, format: Format, recordio: bool, file: Option<&std::path::Path>) -> Result<()> {
    let id = message_type(ty)?;
    let (data, name) = read_all(file)?;
    // One document, or several (JSON lines): find where each one starts and ends.
    let mut documents = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(&data).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    while let Some(next) = stream.next() {
        if let Err(err) = next {
            let line = data[..start].iter().filter(|&&b| b == b'\n').count() + 1;
            anyhow::bail!("{name}: message {} (line {line}): bad JSON: {err}", documents.len());
        }
        let end = stream.byte_offset();
        documents.push(start..end);
        start = end;
    }
    if format == Format::Protobuf && !recordio && documents.len() > 1 {
        anyhow::bail!(
            "{name}: {} messages, but protobuf messages cannot be told apart when concatenated: add --recordio to frame them",
            documents.len()
        );
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let mut framed = bytes::BytesMut::new();
    for (index, mut range) in documents.into_iter().enumerate() {
        while range.start < range.end && data[range.start].is_ascii_whitespace() {
            range.start += 1;
        }
        // Where the document starts, for positions in the whole input.
        let line0 = data[..range.start].iter().filter(|&&b| b == b'\n').count() + 1;
        let column0 = range.start - data[..range.start].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        let pb = json::json_to_protobuf(id, &data[range]).map_err(|e| {
            let (line, column) = if e.line <= 1 {
                (line0, column0 + e.column.saturating_sub(1))
            } else {
                (line0 + e.line - 1, e.column)
            };
            anyhow::anyhow!(
                "{name}: message {index}: bad JSON at line {line}, column {column}: {}: {}",
                e.path,
                e.message
            )
        })?;
        let whence = format!("{name}: message {index} (line {line0})");
        let encoded = match format {
            Format::Protobuf => pb,
            Format::Json => json::protobuf_to_json(id, &pb).with_context(|| whence.clone())?.json,
        };
        if recordio {
            framed.clear();
            mesos_codec::recordio::encode_into(&encoded, &mut framed);
            out.write_all(&framed)?;
        } else {
            out.write_all(&encoded)?;
            if format == Format::Json {
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
