//! TLS on both sides of the recording proxy (issue 19), with the real
//! `curl` as the framework: `curl --cacert` → `mesos-proxy record`
//! (`--tls-cert`/`--tls-key`) → `mesos-replay sim` over TLS (`--master
//! https://…` with `--master-ca`). The certificates are made here, with
//! rcgen: a CA, a server certificate for `localhost` and 127.0.0.1, and a
//! client certificate.
//!
//! What is recorded is the HTTP inside TLS: the same session as without
//! TLS (calls, answers, events; header lines as curl sent them, in wire
//! order and case), only the header's `master` says `https://`.
//!
//! Then a real Mesos 1.11.0 master (`RealMaster`) behind a real TLS
//! terminator, Debian's nginx started by the test (installed with apt-get
//! when missing), which requires a client certificate: the proxy reaches it
//! with `--master https://` and `--master-cert`/`--master-key`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mesos_codec::session::{EntryKind, Item, Reader};
use mesos_replay::compare::Rebind;
use mesos_replay::diff::{Conversation, diff};
use mesos_replay::sim::{self, Clock};
use serde_json::{Value, json};

/// How long any one wait may take.
const WAIT: Duration = Duration::from_secs(20);

/// The certificates of one test, as PEM files in a directory of its own.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(name: &str) -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
            KeyUsagePurpose,
        };
        let dir = std::env::temp_dir().join(format!("mesos-tape-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name.push(DnType::CommonName, "mesos-tape test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let leaf = |file: &str, names: Vec<String>, usage: ExtendedKeyUsagePurpose| {
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, file);
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
        };
        leaf("server", vec!["localhost".into(), "127.0.0.1".into()], ExtendedKeyUsagePurpose::ServerAuth);
        leaf("client", vec!["framework.test".into()], ExtendedKeyUsagePurpose::ClientAuth);
        Pki { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The TLS side of a server in a test: its certificate and key, and the
/// CA its clients' certificates must come from (if it requires them).
struct ServerTls<'a> {
    pki: &'a Pki,
    client_ca: bool,
}

/// A simulated master (and its runtime), a recording proxy in front of
/// it, and the proxy's session directory.
struct Rig {
    runtime: tokio::runtime::Runtime,
    proxy: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
    out: PathBuf,
    sim: Option<sim::SimHandle>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

impl Rig {
    /// The sim (over TLS with `sim_tls`), and the proxy in front of it:
    /// `proxy_tls` for its listener, `master` its `--master-*` files.
    fn start(
        name: &str,
        sim_tls: Option<ServerTls<'_>>,
        proxy_tls: Option<ServerTls<'_>>,
        master: mesos_proxy::TlsFiles,
    ) -> Result<Rig, mesos_proxy::Error> {
        let runtime = runtime();
        let https = sim_tls.is_some();
        let acceptor = sim_tls.map(|tls| {
            let files = mesos_replay::tls::TlsFiles {
                cert: Some(tls.pki.path("server.pem")),
                key: Some(tls.pki.path("server.key")),
                client_ca: tls.client_ca.then(|| tls.pki.path("ca.pem")),
            };
            files.acceptor().unwrap().unwrap()
        });
        let sim = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let config = sim::Config { seed: 19, ..sim::Config::default() };
            sim::spawn_tls(listener, config, Clock::Real, sim::Options::default(), acceptor).unwrap()
        });
        let port = sim.local_addr().port();
        let master_url = if https { format!("https://localhost:{port}") } else { format!("http://127.0.0.1:{port}") };
        let mut rig = Rig::in_front_of(runtime, name, &master_url, proxy_tls, master)?;
        rig.sim = Some(sim);
        Ok(rig)
    }

    /// The proxy alone, in front of the master at `master_url`.
    fn in_front_of(
        runtime: tokio::runtime::Runtime,
        name: &str,
        master_url: &str,
        proxy_tls: Option<ServerTls<'_>>,
        master: mesos_proxy::TlsFiles,
    ) -> Result<Rig, mesos_proxy::Error> {
        let out = std::env::temp_dir().join(format!("mesos-tape-tls-out-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let mut tls = master;
        if let Some(server) = proxy_tls {
            tls.cert = Some(server.pki.path("server.pem"));
            tls.key = Some(server.pki.path("server.key"));
            tls.client_ca = server.client_ca.then(|| server.pki.path("ca.pem"));
        }
        let config = mesos_proxy::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            master: master_url.to_owned(),
            out: out.clone(),
            keep_secrets: false,
            limits: mesos_proxy::Limits::default(),
        };
        let recorder = runtime.block_on(mesos_proxy::Recorder::bind_with_tls(config, &tls))?;
        let proxy = recorder.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = runtime.spawn(async move {
            let _ = recorder
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Rig { runtime, proxy, stop: Some(stop), done: Some(done), out, sim: None })
    }

    fn sim(&self) -> std::net::SocketAddr {
        self.sim.as_ref().expect("a sim").local_addr()
    }

    /// Stops the proxy (every session ends) and returns its session files.
    fn finish(&mut self) -> Vec<PathBuf> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = self.runtime.block_on(async { tokio::time::timeout(WAIT, done).await });
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.out)
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.to_string_lossy().ends_with(".session.jsonl"));
        files.sort();
        files
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.finish();
        let _ = std::fs::remove_dir_all(&self.out);
    }
}

fn walkthrough(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed/walkthrough").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn curl() -> Command {
    let mut command = Command::new("curl");
    command.args(["-sS", "--max-time", "30"]);
    command
}

/// curl's TLS arguments: the CA, and the client certificate if `cert`.
fn tls_args(pki: &Pki, cert: bool) -> Vec<String> {
    let mut args = vec!["--cacert".to_owned(), pki.path("ca.pem").display().to_string()];
    if cert {
        args.extend(["--cert".to_owned(), pki.path("client.pem").display().to_string()]);
        args.extend(["--key".to_owned(), pki.path("client.key").display().to_string()]);
    }
    args
}

/// The records of the stream curl keeps in `file`, as JSON.
fn events(file: &Path) -> Vec<Value> {
    let mut decoder = mesos_codec::recordio::Decoder::new();
    decoder.push(bytes::Bytes::from(std::fs::read(file).unwrap_or_default()));
    let mut out = Vec::new();
    while let Ok(Some(record)) = decoder.next_record() {
        out.push(serde_json::from_slice(&record.data).unwrap_or(Value::Null));
    }
    out
}

struct Subscriber {
    child: Child,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The walkthrough's SUBSCRIBE with curl through the proxy at `base`, then
/// a DECLINE of the first OFFERS and a TEARDOWN (the stream then ends).
fn subscribe_decline_teardown(base: &str, extra: &[String], dir: &Path) {
    let stream_file = dir.join("stream.recordio");
    let headers_file = dir.join("headers.txt");
    let _ = std::fs::remove_file(&stream_file);
    let mut subscriber = Subscriber {
        child: curl()
            .args(extra)
            .args(["--no-buffer", "-D"])
            .arg(&headers_file)
            .arg("-o")
            .arg(&stream_file)
            .args(["-X", "POST", "-H", "Content-Type: application/json", "--data-binary"])
            .arg(walkthrough("01-register.json").to_string())
            .arg(format!("{base}/api/v1/scheduler"))
            .stdout(Stdio::null())
            .spawn()
            .expect("curl must be installed (Debian: apt-get install curl)"),
    };
    let deadline = Instant::now() + WAIT;
    let offers = loop {
        if let Some(offers) = events(&stream_file).into_iter().find(|e| e["type"] == "OFFERS") {
            break offers;
        }
        if let Ok(Some(status)) = subscriber.child.try_wait() {
            panic!("the SUBSCRIBE curl ended before any OFFERS: {status}");
        }
        assert!(Instant::now() < deadline, "no OFFERS through the proxy within {WAIT:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let headers = std::fs::read_to_string(&headers_file).unwrap();
    assert!(headers.starts_with("HTTP/1.1 200"), "SUBSCRIBE: {headers}");
    let stream_id = headers
        .lines()
        .find_map(|l| l.to_ascii_lowercase().starts_with("mesos-stream-id:").then(|| l[16..].trim().to_owned()))
        .expect("a Mesos-Stream-Id header");
    let call = |body: Value| {
        let out = curl()
            .args(extra)
            .args(["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
            .args(["-H", "Content-Type: application/json", "-H", &format!("Mesos-Stream-Id: {stream_id}")])
            .arg("--data-binary")
            .arg(body.to_string())
            .arg(format!("{base}/api/v1/scheduler"))
            .output()
            .unwrap();
        let status = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(status, "202", "{}: {}", body["type"], String::from_utf8_lossy(&out.stderr));
    };
    let mut decline = walkthrough("05-decline.json");
    decline["decline"]["offer_ids"] =
        json!(offers["offers"]["offers"].as_array().unwrap().iter().map(|o| o["id"].clone()).collect::<Vec<_>>());
    call(decline);
    call(walkthrough("08-teardown.json"));
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = subscriber.child.try_wait().unwrap() {
            assert!(status.success(), "the SUBSCRIBE curl: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "the stream did not end after TEARDOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The header's `master`, and every request's and response's header names
/// in the order recorded (`Host`'s value aside, it names the proxy's port).
fn header_and_names(file: &Path) -> (Value, Vec<Vec<String>>) {
    let mut reader = Reader::new();
    reader.push(&std::fs::read(file).unwrap());
    let mut master = Value::Null;
    let mut names = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        match item {
            Item::Header(header) => master = json!(header.master),
            Item::Entry(entry) => match entry.kind {
                EntryKind::Request(r) => names.push(r.headers.iter().map(|(n, _)| n.clone()).collect()),
                EntryKind::Response(r) => names.push(r.headers.iter().map(|(n, _)| n.clone()).collect()),
                _ => {}
            },
        }
    }
    (master, names)
}

fn one_session(files: &[PathBuf]) -> &Path {
    assert_eq!(files.len(), 1, "one session file: {files:?}");
    &files[0]
}

#[test]
fn curl_over_tls_through_the_proxy_to_the_sim_over_tls_records_what_plain_http_records() {
    let _turn = crate::support::one_at_a_time();
    let pki = Pki::new("walk");
    let work = pki.path("curl");
    std::fs::create_dir_all(&work).unwrap();

    // Without TLS: the reference.
    let mut plain = Rig::start("plain", None, None, mesos_proxy::TlsFiles::default()).unwrap();
    subscribe_decline_teardown(&format!("http://{}", plain.proxy), &[], &work);
    let plain_files = plain.finish();

    // TLS on both sides: curl --cacert → proxy (--tls-cert) → sim over TLS.
    let master = mesos_proxy::TlsFiles { master_ca: Some(pki.path("ca.pem")), ..Default::default() };
    let server = || Some(ServerTls { pki: &pki, client_ca: false });
    let mut tls = Rig::start("tls", server(), server(), master).unwrap();
    let base = format!("https://localhost:{}", tls.proxy.port());
    subscribe_decline_teardown(&base, &tls_args(&pki, false), &work);
    let tls_files = tls.finish();

    let (a, b) = (one_session(&plain_files), one_session(&tls_files));
    let read = |p: &Path| Conversation::read(std::fs::File::open(p).unwrap()).unwrap();
    let (conv_a, conv_b) = (read(a), read(b));
    let names = |c: &Conversation| c.calls.iter().map(|c| c.key.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&conv_b), ["SUBSCRIBE", "DECLINE", "TEARDOWN"], "the calls over TLS");
    assert_eq!(names(&conv_a), names(&conv_b));
    let events = |c: &Conversation| {
        c.streams.iter().flatten().filter_map(|e| e.name.clone()).filter(|n| n != "HEARTBEAT").collect::<Vec<_>>()
    };
    assert_eq!(events(&conv_b), ["SUBSCRIBED", "OFFERS"], "the events over TLS");
    assert_eq!(events(&conv_a), events(&conv_b));
    let differences = diff(&conv_a, &conv_b, Rebind::MasterIds).differences;
    assert!(differences.is_empty(), "plain and TLS sessions differ: {differences:#?}");

    // The header lines as curl sent them and as the sim answered, in wire
    // order and case, over TLS as over TCP; the master is the https URL.
    let (master_a, names_a) = header_and_names(a);
    let (master_b, names_b) = header_and_names(b);
    assert_eq!(names_a, names_b);
    assert_eq!(names_b[0][..3], ["Host", "User-Agent", "Accept"], "curl's request header lines: {:?}", names_b[0]);
    assert!(master_a.as_str().is_some_and(|m| m.starts_with("http://127.0.0.1:")), "{master_a}");
    assert_eq!(master_b, json!(format!("https://localhost:{}", tls.sim().port())));
}

#[test]
fn client_certificates_required_on_both_sides() {
    let _turn = crate::support::one_at_a_time();
    let pki = Pki::new("mtls");
    let work = pki.path("curl");
    std::fs::create_dir_all(&work).unwrap();
    let requiring = || Some(ServerTls { pki: &pki, client_ca: true });
    let master = mesos_proxy::TlsFiles {
        master_ca: Some(pki.path("ca.pem")),
        master_cert: Some(pki.path("client.pem")),
        master_key: Some(pki.path("client.key")),
        ..Default::default()
    };
    let mut rig = Rig::start("mtls", requiring(), requiring(), master).unwrap();
    let base = format!("https://localhost:{}", rig.proxy.port());

    // Without a client certificate the handshake fails: no answer, and
    // nothing reaches the master or the session files.
    let out = curl()
        .args(tls_args(&pki, false))
        .args(["-X", "POST", "-H", "Content-Type: application/json", "--data-binary"])
        .arg(walkthrough("01-register.json").to_string())
        .arg(format!("{base}/api/v1/scheduler"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "curl without a client certificate must fail: {out:?}");
    assert!(out.stdout.is_empty(), "no HTTP answer without a certificate: {out:?}");

    // With one, the walkthrough's calls go through; the proxy's own
    // certificate is what the sim checks upstream.
    subscribe_decline_teardown(&base, &tls_args(&pki, true), &work);
    let files = rig.finish();
    let conv = Conversation::read(std::fs::File::open(one_session(&files)).unwrap()).unwrap();
    let calls = conv.calls.iter().map(|c| c.key.to_string()).collect::<Vec<_>>();
    assert_eq!(calls, ["SUBSCRIBE", "DECLINE", "TEARDOWN"], "only the calls with a certificate are recorded");
}

#[test]
fn a_master_requiring_a_client_certificate_refuses_a_proxy_without_one() {
    let _turn = crate::support::one_at_a_time();
    let pki = Pki::new("nocert");
    let master = mesos_proxy::TlsFiles { master_ca: Some(pki.path("ca.pem")), ..Default::default() };
    let rig = Rig::start("nocert", Some(ServerTls { pki: &pki, client_ca: true }), None, master).unwrap();
    let out = curl()
        .args(["-w", "\n%{http_code}", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary"])
        .arg(walkthrough("01-register.json").to_string())
        .arg(format!("http://{}/api/v1/scheduler", rig.proxy))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n502"), "the proxy answers 502: {text}");
    assert!(text.contains("mesos-proxy: ") && text.contains("CertificateRequired"), "with why: {text}");
}

#[test]
fn a_master_certificate_from_another_ca_is_refused() {
    let _turn = crate::support::one_at_a_time();
    let pki = Pki::new("otherca");
    let other = Pki::new("otherca2");
    let master = mesos_proxy::TlsFiles { master_ca: Some(other.path("ca.pem")), ..Default::default() };
    let rig = Rig::start("otherca", Some(ServerTls { pki: &pki, client_ca: false }), None, master).unwrap();
    let out = curl().args(["-w", "\n%{http_code}"]).arg(format!("http://{}/version", rig.proxy)).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n502"), "the proxy answers 502: {text}");
    assert!(text.contains("TLS handshake with the master at localhost:"), "{text}");
    assert!(text.contains("certificate"), "says what is wrong: {text}");
}

/// What curl gets from plain HTTP sent to a TLS port: the status and body.
fn plain_to_tls(addr: std::net::SocketAddr) -> (String, String) {
    let out = curl().args(["-w", "\n%{http_code}"]).arg(format!("http://{addr}/version")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.to_owned(), body.to_owned())
}

#[test]
fn plain_http_to_a_tls_listener_gets_a_clear_400() {
    let _turn = crate::support::one_at_a_time();
    let pki = Pki::new("plain400");
    let master = mesos_proxy::TlsFiles { master_ca: Some(pki.path("ca.pem")), ..Default::default() };
    let server = || Some(ServerTls { pki: &pki, client_ca: false });
    let mut rig = Rig::start("plain400", server(), server(), master).unwrap();
    let (status, body) = plain_to_tls(rig.proxy);
    assert_eq!(status, "400", "{body}");
    assert!(body.contains("mesos-proxy: the plain HTTP request was sent to an HTTPS port"), "{body}");
    // The sim's TLS port says the same.
    let (status, body) = plain_to_tls(rig.sim());
    assert_eq!(status, "400", "{body}");
    assert!(body.contains("mesos-replay sim: the plain HTTP request was sent to an HTTPS port"), "{body}");
    // And the proxy still serves TLS, with nothing recorded for the plain request.
    let out = curl()
        .args(tls_args(&pki, false))
        .args(["-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("https://localhost:{}/version", rig.proxy.port()))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "{out:?}");
    assert!(rig.finish().is_empty(), "a lone GET /version opens no session");
}

#[test]
fn bad_tls_files_are_errors_naming_the_file() {
    let _turn = crate::support::one_at_a_time();
    let pki = Pki::new("bad");
    let garbage = pki.path("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let bind = |tls: mesos_proxy::TlsFiles, master: &str| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let config = mesos_proxy::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            master: master.to_owned(),
            out: pki.path("out"),
            keep_secrets: false,
            limits: mesos_proxy::Limits::default(),
        };
        match runtime.block_on(mesos_proxy::Recorder::bind_with_tls(config, &tls)) {
            Ok(_) => panic!("bound with bad TLS files"),
            Err(err) => err.to_string(),
        }
    };
    let listener =
        |cert: PathBuf, key: PathBuf| mesos_proxy::TlsFiles { cert: Some(cert), key: Some(key), ..Default::default() };
    let err = bind(listener(garbage.clone(), pki.path("server.key")), "http://127.0.0.1:1");
    assert!(err.starts_with(&format!("--tls-cert {}: no certificate", garbage.display())), "{err}");
    let err = bind(listener(pki.path("server.pem"), pki.path("client.key")), "http://127.0.0.1:1");
    assert!(err.contains("client.key: not the key of the certificate in"), "{err}");
    let err = bind(listener(pki.path("server.pem"), pki.path("missing.key")), "http://127.0.0.1:1");
    assert!(err.contains("missing.key: cannot read it"), "{err}");
    let master = mesos_proxy::TlsFiles { master_ca: Some(garbage.clone()), ..Default::default() };
    let err = bind(master.clone(), "https://localhost:1");
    assert!(err.starts_with(&format!("--master-ca {}", garbage.display())), "{err}");
    let err = bind(master, "http://localhost:1");
    assert!(err.contains("are for an https:// --master"), "{err}");
}

#[test]
fn the_replay_serves_a_tls_framework_what_was_recorded_over_tls() {
    let _turn = crate::support::one_at_a_time();
    let pki = Pki::new("serve");
    let work = pki.path("curl");
    std::fs::create_dir_all(&work).unwrap();
    let master = mesos_proxy::TlsFiles { master_ca: Some(pki.path("ca.pem")), ..Default::default() };
    let server = || Some(ServerTls { pki: &pki, client_ca: false });
    let mut rig = Rig::start("serve", server(), server(), master).unwrap();
    subscribe_decline_teardown(&format!("https://localhost:{}", rig.proxy.port()), &tls_args(&pki, false), &work);
    let session = pki.path("recorded.session.jsonl");
    std::fs::copy(one_session(&rig.finish()), &session).unwrap();

    // `serve --tls-cert … --tls-key … --tls-client-ca …`: curl with its
    // certificate makes the same calls and gets the recorded answers.
    let script = mesos_replay::serve::Script::open(&session, false).unwrap();
    let files = mesos_replay::tls::TlsFiles {
        cert: Some(pki.path("server.pem")),
        key: Some(pki.path("server.key")),
        client_ca: Some(pki.path("ca.pem")),
    };
    let options = mesos_replay::serve::Options {
        pace: mesos_replay::serve::Pace::Fast,
        call_timeout: Duration::from_secs(10),
        linger: Duration::from_millis(300),
        ..mesos_replay::serve::Options::default()
    };
    let handle = rig.runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        mesos_replay::serve::spawn_tls(listener, script, options, files.acceptor().unwrap()).unwrap()
    });
    let base = format!("https://localhost:{}", handle.local_addr().port());
    subscribe_decline_teardown(&base, &tls_args(&pki, true), &work);
    let report = rig.runtime.block_on(async { tokio::time::timeout(WAIT, handle.finish()).await.unwrap() });
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
    assert_eq!(report.calls_matched, 3);
}

use crate::support::real_master;

/// nginx, started by the test as a TLS terminator in front of `upstream`:
/// it requires a client certificate from the test's CA (as a master with
/// `LIBPROCESS_SSL_REQUIRE_CERT`), and relays streams unbuffered.
struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

/// The nginx binary: on the PATH or in /usr/sbin, else installed with
/// apt-get (Debian's `nginx-light`). `None`, said loudly, only where it
/// cannot be installed (not root, or no apt-get).
fn nginx_binary() -> Option<PathBuf> {
    let find = || {
        ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"].iter().map(PathBuf::from).find(|p| p.exists())
    };
    if let Some(found) = find() {
        return Some(found);
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = Path::new("/usr/bin/apt-get").exists();
    if !root || !apt {
        eprintln!(
            "\n*** SKIPPED: nginx is not installed and cannot be installed here (root: {root}, apt-get: {apt}); \
             install Debian's nginx-light to run the real-master TLS test ***\n"
        );
        return None;
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "nginx-light"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !install() {
        let _ = Command::new("apt-get").args(["update", "-qq"]).env("DEBIAN_FRONTEND", "noninteractive").status();
        assert!(install(), "apt-get install nginx-light failed");
    }
    Some(find().expect("nginx after apt-get install nginx-light"))
}

impl Nginx {
    fn start(binary: &Path, pki: &Pki, upstream: std::net::SocketAddr) -> Nginx {
        let dir = pki.path("nginx");
        std::fs::create_dir_all(&dir).unwrap();
        let port = test_support::own_port();
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
        let d = dir.display();
        let conf = format!(
            r#"daemon off;
worker_processes 1;
pid {d}/nginx.pid;
{user}
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_client_certificate {ca};
        ssl_verify_client on;
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 1h;
        }}
    }}
}}
"#,
            user = if root { "user root;" } else { "" },
            cert = pki.path("server.pem").display(),
            key = pki.path("server.key").display(),
            ca = pki.path("ca.pem").display(),
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let nginx = Nginx { child, dir, port };
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx does not listen: {}", nginx.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: nginx's fast shutdown, workers included.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn curl_over_tls_through_the_proxy_to_a_real_master_behind_nginx() {
    let _turn = crate::support::one_at_a_time();
    let Some(binary) = nginx_binary() else { return };
    let pki = Pki::new("nginx");
    let work = pki.path("curl");
    std::fs::create_dir_all(&work).unwrap();
    let master = real_master::RealMaster::start();
    let nginx = Nginx::start(&binary, &pki, master.addr());

    // nginx requires a client certificate: a proxy without one is refused.
    let files = mesos_proxy::TlsFiles { master_ca: Some(pki.path("ca.pem")), ..Default::default() };
    let url = format!("https://localhost:{}", nginx.port);
    let bare = Rig::in_front_of(runtime(), "nginx-bare", &url, None, files).unwrap();
    let out = curl().args(["-w", "\n%{http_code}"]).arg(format!("http://{}/version", bare.proxy)).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n400"), "nginx answers 400 without a client certificate: {text}");
    assert!(text.contains("No required SSL certificate was sent"), "{text}");
    drop(bare);

    let files = mesos_proxy::TlsFiles {
        master_ca: Some(pki.path("ca.pem")),
        master_cert: Some(pki.path("client.pem")),
        master_key: Some(pki.path("client.key")),
        ..Default::default()
    };
    let server = Some(ServerTls { pki: &pki, client_ca: false });
    let mut rig = Rig::in_front_of(runtime(), "nginx", &url, server, files).unwrap();
    let base = format!("https://localhost:{}", rig.proxy.port());
    let out = curl().args(tls_args(&pki, false)).arg(format!("{base}/version")).output().unwrap();
    let version: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("GET /version through the proxy and nginx: {e}: {out:?}\n{}", nginx.log()));
    assert_eq!(version["version"], "1.11.0");
    subscribe_decline_teardown(&base, &tls_args(&pki, false), &work);
    let files = rig.finish();
    let session = files.iter().find(|p| !p.to_string_lossy().contains("/operator-")).expect("the framework's session");
    let conv = Conversation::read(std::fs::File::open(session).unwrap()).unwrap();
    let calls = conv.calls.iter().map(|c| (c.key.to_string(), c.status)).collect::<Vec<_>>();
    let v1 = calls.iter().filter(|(k, _)| !k.starts_with("GET")).cloned().collect::<Vec<_>>();
    assert_eq!(
        v1,
        [("SUBSCRIBE".to_owned(), Some(200)), ("DECLINE".to_owned(), Some(202)), ("TEARDOWN".to_owned(), Some(202))],
        "{calls:?}"
    );
    let events: Vec<String> =
        conv.streams.iter().flatten().filter_map(|e| e.name.clone()).filter(|n| n != "HEARTBEAT").collect();
    assert_eq!(events[..2], ["SUBSCRIBED", "OFFERS"], "{events:?}");
    let (header_master, names) = header_and_names(session);
    assert_eq!(header_master, json!(url));
    // curl's POSTs, header lines as sent, in wire order and case.
    let posts =
        names.iter().filter(|n| n.first().is_some_and(|h| h == "Host") && n.iter().any(|h| h == "Content-Type"));
    assert_eq!(posts.count(), 3, "{names:?}");
    assert!(names.contains(&vec![
        "Host".to_owned(),
        "User-Agent".to_owned(),
        "Accept".to_owned(),
        "Content-Type".to_owned(),
        "Content-Length".to_owned()
    ]));
    drop(nginx);
    drop(master);
}
