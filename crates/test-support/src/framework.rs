//! A small scheduler written for the tests, on a real HTTP client (hyper):
//! it subscribes, launches one `sleep` task on the first offer, declines
//! the others, acknowledges every update, kills the task once it runs and
//! tears down once it is killed. Its variants misbehave on purpose.
//!
//! It makes each call and waits for the answer before reading the next
//! event, so what it sends is a function of what it receives: the same
//! events give the same calls, which is what replay needs to be
//! deterministic.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mesos_codec::recordio::Decoder;
use serde_json::{Value, json};

/// How the framework behaves.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Task ids made up at random (as many frameworks do) instead of `task-1`.
    pub random_ids: bool,
    /// Leave out the n-th ACKNOWLEDGE (from 1).
    pub skip_ack: Option<usize>,
    /// cpus of the task (0.5 unless set).
    pub cpus: Option<f64>,
    /// Send a REVIVE right after the ACCEPT.
    pub extra_revive: bool,
    /// Give up after this long (a replay may end the stream early).
    pub deadline: Option<Duration>,
    /// Subscribe asking for protobuf events (calls stay JSON).
    pub protobuf_events: bool,
    /// Send every call as protobuf (`Content-Type: application/x-protobuf`).
    pub protobuf_calls: bool,
}

/// What the framework saw and did.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// The subscription stream's bytes, exactly as received.
    pub stream: Vec<u8>,
    /// Each event, as JSON (decoded from protobuf when asked for it).
    pub events: Vec<Value>,
    /// Each call: its type and the answer's status.
    pub calls: Vec<(String, u16)>,
    /// The task id it chose.
    pub task_id: String,
    /// Whether it got as far as TEARDOWN.
    pub tore_down: bool,
}

async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect to the master");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP handshake");
    tokio::spawn(conn);
    sender
}

fn request(
    addr: SocketAddr,
    body: &Value,
    stream_id: Option<&str>,
    accept: &str,
    protobuf: bool,
) -> hyper::Request<Full<Bytes>> {
    let (content_type, bytes) = if protobuf {
        let call = mesos_codec::json::message_type("scheduler.Call").unwrap();
        let pb = mesos_codec::json::json_to_protobuf(call, body.to_string().as_bytes()).expect("a valid call");
        ("application/x-protobuf", pb)
    } else {
        ("application/json", body.to_string().into_bytes())
    };
    let mut builder = hyper::Request::post("/api/v1/scheduler")
        .header("Host", addr.to_string())
        .header("Content-Type", content_type)
        .header("Accept", accept);
    if let Some(id) = stream_id {
        builder = builder.header("Mesos-Stream-Id", id);
    }
    builder.body(Full::new(Bytes::from(bytes))).unwrap()
}

fn random_id() -> String {
    // Random enough for a test, with no extra dependency.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("task-{:x}-{}", nanos, std::process::id())
}

/// Runs the framework against the master at `addr` until it tears down,
/// the stream ends, or the deadline passes.
pub async fn run(addr: SocketAddr, behaviour: Behaviour) -> Run {
    let deadline = behaviour.deadline.unwrap_or(Duration::from_secs(20));
    let mut out = Run::default();
    let _ = tokio::time::timeout(deadline, drive(addr, &behaviour, &mut out)).await;
    out
}

async fn drive(addr: SocketAddr, behaviour: &Behaviour, out: &mut Run) {
    let mut subscriber = connect(addr).await;
    let mut calls = connect(addr).await;
    let subscribe = json!({
        "type": "SUBSCRIBE",
        "subscribe": {"framework_info": {"user": "root", "name": "replay-test", "roles": ["*"],
                      "capabilities": [{"type": "MULTI_ROLE"}]}}
    });
    let accept = if behaviour.protobuf_events { "application/x-protobuf" } else { "application/json" };
    let response = subscriber
        .send_request(request(addr, &subscribe, None, accept, behaviour.protobuf_calls))
        .await
        .expect("SUBSCRIBE");
    out.calls.push(("SUBSCRIBE".into(), response.status().as_u16()));
    let stream_id =
        response.headers().get("mesos-stream-id").and_then(|v| v.to_str().ok()).map(str::to_owned).unwrap_or_default();
    let mut body: Incoming = response.into_body();
    let mut decoder = Decoder::new();
    let task_id = if behaviour.random_ids { random_id() } else { "task-1".to_owned() };
    out.task_id = task_id.clone();
    let mut framework_id = String::new();
    let (mut launched, mut killed, mut acks) = (false, false, 0usize);
    let event_type = mesos_codec::json::message_type("scheduler.Event").unwrap();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return };
        let Ok(data) = frame.into_data() else { continue };
        out.stream.extend_from_slice(&data);
        decoder.push(data);
        while let Ok(Some(record)) = decoder.next_record() {
            let json = if behaviour.protobuf_events {
                mesos_codec::json::protobuf_to_json(event_type, &record.data).expect("a protobuf event").json
            } else {
                record.data.to_vec()
            };
            let event: Value = serde_json::from_slice(&json).expect("a JSON event");
            out.events.push(event.clone());
            let mut send = Vec::new();
            match event["type"].as_str().unwrap_or_default() {
                "SUBSCRIBED" => framework_id = event["subscribed"]["framework_id"]["value"].as_str().unwrap().into(),
                "OFFERS" => {
                    let offers = event["offers"]["offers"].as_array().cloned().unwrap_or_default();
                    let mut rest = &offers[..];
                    if !launched && let Some(first) = offers.first() {
                        launched = true;
                        rest = &offers[1..];
                        let cpus = behaviour.cpus.unwrap_or(0.5);
                        send.push(json!({
                            "framework_id": {"value": framework_id},
                            "type": "ACCEPT",
                            "accept": {"offer_ids": [first["id"]], "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                                "name": "sleeper", "task_id": {"value": task_id}, "agent_id": first["agent_id"],
                                "resources": [
                                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}, "role": "*"},
                                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}, "role": "*"}],
                                "command": {"shell": true, "value": "sleep 1000"}}]}}],
                                "filters": {"refuse_seconds": 60.0}}
                        }));
                        if behaviour.extra_revive {
                            send.push(json!({"framework_id": {"value": framework_id}, "type": "REVIVE"}));
                        }
                    }
                    if !rest.is_empty() {
                        let ids: Vec<Value> = rest.iter().map(|o| o["id"].clone()).collect();
                        send.push(json!({"framework_id": {"value": framework_id}, "type": "DECLINE",
                                         "decline": {"offer_ids": ids, "filters": {"refuse_seconds": 60.0}}}));
                    }
                }
                "UPDATE" => {
                    let status = &event["update"]["status"];
                    if let Some(uuid) = status.get("uuid") {
                        acks += 1;
                        if behaviour.skip_ack != Some(acks) {
                            send.push(json!({"framework_id": {"value": framework_id}, "type": "ACKNOWLEDGE",
                                "acknowledge": {"agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": uuid}}));
                        }
                    }
                    match status["state"].as_str() {
                        Some("TASK_RUNNING") if !killed => {
                            killed = true;
                            send.push(json!({"framework_id": {"value": framework_id}, "type": "KILL",
                                "kill": {"task_id": status["task_id"], "agent_id": status["agent_id"]}}));
                        }
                        Some("TASK_KILLED") => {
                            send.push(json!({"framework_id": {"value": framework_id}, "type": "TEARDOWN"}));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            for call in send {
                let kind = call["type"].as_str().unwrap().to_owned();
                if calls.ready().await.is_err() {
                    return;
                }
                let Ok(response) = calls
                    .send_request(request(addr, &call, Some(&stream_id), "application/json", behaviour.protobuf_calls))
                    .await
                else {
                    return;
                };
                let status = response.status().as_u16();
                let _ = response.into_body().collect().await;
                out.calls.push((kind.clone(), status));
                if kind == "TEARDOWN" {
                    out.tore_down = true;
                }
            }
        }
    }
}
