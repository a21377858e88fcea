//! The `mesos-codec` command: RecordIO streams and v1 messages from the shell.
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
use mesos_codec::recordio::{DEFAULT_MAX_RECORD_SIZE, Decoder, Record};

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
}

/// How much is read at a time; records come out as soon as they are whole.
const READ_SIZE: usize = 64 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Records { max_record_size, file } => records(max_record_size, file.as_deref()),
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
    let (mut input, name) = open_input(file)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut decoder = Decoder::with_max_record_size(max_record_size);
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {name}")),
        };
        decoder.push(Bytes::copy_from_slice(&buf[..n]));
        // Write what was decoded before reporting an error, so nothing is lost.
        let outcome = drain(&mut decoder, &mut out);
        out.flush()?;
        outcome.with_context(|| format!("{name}: bad RecordIO stream"))?;
    }
    decoder.finish().with_context(|| format!("{name}: bad RecordIO stream"))?;
    out.flush()?;
    Ok(())
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
