//! The importer's HTTP/1.1 framing follower: fed in pieces, it sees what it
//! sees fed whole, both directions.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mesos_proxy::import::http::{Parser, Role};

#[path = "common.rs"]
mod common;

fn follow(role: Role, pieces: &[&[u8]]) -> Vec<String> {
    let mut parser = Parser::new(role);
    let mut events = Vec::new();
    for piece in pieces {
        parser.feed(piece, &mut |e| events.push(format!("{e:?}")));
    }
    parser.finish(&mut |e| events.push(format!("{e:?}")));
    events
}

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = common::split_first(data);
    let (seed, stream) = rest.split_at(usize::from(selector % 9).min(rest.len()));
    let role = if selector & 0x80 != 0 { Role::Request } else { Role::Response };
    let whole = follow(role, &[stream]);
    assert_eq!(follow(role, &common::pieces(stream, &common::cuts(seed, stream.len()))), whole);
});
