//! Following the leading master through ZooKeeper (`--master
//! zk://HOST:PORT[,HOST:PORT…]/PATH`), as Mesos clients do.
//!
//! Masters that contend for leadership each hold an ephemeral sequential
//! node under `PATH`, `json.info_NNNNNNNNNN`, whose data is the master's
//! `MasterInfo` as JSON; the leader is the node with the lowest sequence
//! number. [`follow`] watches the children of `PATH` and publishes the
//! leader's `host:port` (from `address.ip`/`address.port`, else
//! `hostname`/`port`, else `pid`) on a [`tokio::sync::watch`] channel every
//! time it changes; `None` while no master leads (or the path is missing).
//!
//! The proxy ([`crate::forward::Upstream`]) connects new upstream
//! connections to the leader of the moment, and ends every upstream
//! connection made under an earlier leader when the leader changes
//! ([`crate::forward::Deposable`]): a master that lost leadership exits, so
//! a framework's stream to it ends, and the framework subscribes again,
//! through the proxy, to the new leader. The session of such a stream gets
//! a `note` saying why it ended ([`LostLeadership`]).
//!
//! ZooKeeper is reached with the [`zookeeper_client`] crate: on a lost
//! connection that crate reconnects to any server of the list by itself;
//! when the ZooKeeper session expires, [`follow`] opens a new one (the last
//! leader stays published meanwhile, as Mesos' own detector keeps it).
//!
//! ```
//! use mesos_proxy::zk::{ZkUrl, leader_node, master_authority};
//! let url = ZkUrl::parse("zk://zk1:2181,zk2:2181/mesos").unwrap();
//! assert_eq!((url.servers.as_str(), url.path.as_str()), ("zk1:2181,zk2:2181", "/mesos"));
//! let children = ["json.info_0000000007".to_owned(), "json.info_0000000003".to_owned(), "log_replicas".to_owned()];
//! assert_eq!(leader_node(&children), Some("json.info_0000000003"));
//! let info = br#"{"address":{"ip":"10.0.0.5","port":5050,"hostname":"m1"},"hostname":"m1","port":5050}"#;
//! assert_eq!(master_authority(info).unwrap(), "10.0.0.5:5050");
//! ```

use std::time::Duration;

use tokio::sync::watch;
use zookeeper_client as zk;

/// How long connecting to ZooKeeper may take at start.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The ZooKeeper session timeout asked for (Mesos' default is 10 s).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// A `zk://` master URL: `zk://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…]/PATH`.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkUrl {
    /// `HOST:PORT[,HOST:PORT…]`, ZooKeeper's connect string.
    pub servers: String,
    /// The znode the masters' nodes are under, `/mesos`.
    pub path: String,
    /// `USER:PASSWORD` for ZooKeeper's `digest` scheme, as Mesos takes it.
    pub digest: Option<String>,
}

impl std::fmt::Debug for ZkUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password is a secret: never in a log line.
        f.debug_struct("ZkUrl")
            .field("servers", &self.servers)
            .field("path", &self.path)
            .field("digest", &self.digest.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl std::fmt::Display for ZkUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "zk://{}{}", self.servers, self.path)
    }
}

impl ZkUrl {
    /// Reads a `zk://` URL; the error says what is wrong with it.
    ///
    /// ```
    /// use mesos_proxy::zk::ZkUrl;
    /// assert!(ZkUrl::parse("zk://zk1:2181").unwrap_err().contains("no path"));
    /// assert!(ZkUrl::parse("zk:///mesos").unwrap_err().contains("no ZooKeeper server"));
    /// let url = ZkUrl::parse("zk://u:p@zk1:2181/mesos").unwrap();
    /// assert_eq!(url.digest.as_deref(), Some("u:p"));
    /// assert_eq!(url.to_string(), "zk://zk1:2181/mesos");
    /// ```
    pub fn parse(url: &str) -> Result<ZkUrl, String> {
        let rest = url.strip_prefix("zk://").ok_or_else(|| "expected zk://HOST:PORT[,HOST:PORT...]/PATH".to_owned())?;
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => return Err("no path: expected zk://HOST:PORT[,HOST:PORT...]/PATH, as zk://zk1:2181/mesos".into()),
        };
        let (digest, servers) = match authority.rsplit_once('@') {
            Some((credentials, servers)) => {
                if !credentials.contains(':') {
                    return Err("credentials before @ must be USER:PASSWORD".to_owned());
                }
                (Some(credentials.to_owned()), servers)
            }
            None => (None, authority),
        };
        if servers.is_empty() {
            return Err("no ZooKeeper server before the path".to_owned());
        }
        for server in servers.split(',') {
            let Some((host, port)) = server.rsplit_once(':') else {
                return Err(format!("ZooKeeper server {server:?} has no port (HOST:PORT)"));
            };
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(format!("ZooKeeper server {server:?} is not HOST:PORT"));
            }
        }
        let path = path.trim_end_matches('/');
        if path.is_empty() {
            return Err("the path is empty: expected one such as /mesos".to_owned());
        }
        if path.contains("//") || path.contains(['?', '#']) {
            return Err(format!("{path:?} is not a ZooKeeper path"));
        }
        Ok(ZkUrl { servers: servers.to_owned(), path: path.to_owned(), digest })
    }
}

/// The prefix of the nodes that masters hold under the path.
pub const NODE_PREFIX: &str = "json.info_";

/// The leading master's node among `children`: the `json.info_` node with
/// the lowest sequence number (other nodes, such as the replicated log's,
/// are not masters).
pub fn leader_node(children: &[String]) -> Option<&str> {
    children
        .iter()
        .filter_map(|name| {
            let digits = name.strip_prefix(NODE_PREFIX)?;
            let sequence = digits.parse::<u64>().ok()?;
            Some((sequence, name.as_str()))
        })
        .min()
        .map(|(_, name)| name)
}

/// The `host:port` to reach a master by, from its `MasterInfo` as JSON:
/// `address.ip` and `address.port`, else `address.hostname`, else the
/// top-level `hostname` and `port`, else the libprocess `pid`
/// (`master@IP:PORT`).
///
/// ```
/// use mesos_proxy::zk::master_authority;
/// assert_eq!(master_authority(br#"{"hostname":"m2.example","port":5050}"#).unwrap(), "m2.example:5050");
/// assert_eq!(master_authority(br#"{"pid":"master@10.1.1.1:5051"}"#).unwrap(), "10.1.1.1:5051");
/// assert!(master_authority(b"not json").unwrap_err().contains("not JSON"));
/// assert!(master_authority(br#"{"id":"x"}"#).unwrap_err().contains("no address"));
/// ```
pub fn master_authority(data: &[u8]) -> Result<String, String> {
    let info: serde_json::Value =
        serde_json::from_slice(data).map_err(|err| format!("the MasterInfo is not JSON: {err}"))?;
    let port_of = |value: &serde_json::Value| value.as_u64().filter(|p| (1..=65535).contains(p));
    let address = &info["address"];
    if let Some(port) = port_of(&address["port"]) {
        for host in [&address["ip"], &address["hostname"]] {
            if let Some(host) = host.as_str().filter(|h| !h.is_empty()) {
                return Ok(join(host, port));
            }
        }
    }
    if let (Some(host), Some(port)) = (info["hostname"].as_str().filter(|h| !h.is_empty()), port_of(&info["port"])) {
        return Ok(join(host, port));
    }
    if let Some(at) = info["pid"].as_str().and_then(|pid| pid.split_once('@')).map(|(_, at)| at)
        && at.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
    {
        return Ok(at.to_owned());
    }
    Err("the MasterInfo has no address (address.ip/port, hostname/port or pid)".to_owned())
}

/// `host:port`, with an IPv6 address in brackets.
fn join(host: &str, port: u64) -> String {
    if host.contains(':') && !host.starts_with('[') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// Why an upstream connection was ended: the master it reached is no longer
/// the leader ZooKeeper names. The io error that ends the connection
/// carries it, and so does the connection's [`crate::forward::Lease`]
/// ([`crate::forward::Lease::deposed`]), for the stream's `note`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the master at {master} lost its leadership ({now}, ZooKeeper says)")]
pub struct LostLeadership {
    /// The master the connection reached.
    pub master: String,
    /// Who leads now, as words: `"the leader is now HOST:PORT"` or `"no master leads"`.
    pub now: String,
}

/// Connects to the ZooKeeper servers of `url` (within [`CONNECT_TIMEOUT`]).
pub async fn connect(url: &ZkUrl) -> Result<zk::Client, String> {
    let mut connector =
        zk::Client::connector().with_session_timeout(SESSION_TIMEOUT).with_connection_timeout(CONNECT_TIMEOUT);
    if let Some(digest) = &url.digest {
        connector = connector.with_auth("digest", digest.as_bytes());
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(&url.servers)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(err)) => Err(format!("cannot reach ZooKeeper at {}: {err}", url.servers)),
        Err(_) => Err(format!("cannot reach ZooKeeper at {}: timed out", url.servers)),
    }
}

/// Watches the masters' nodes under `url.path` and publishes the leader's
/// `host:port` on `leader` whenever it changes (`None`: no master leads),
/// for as long as anyone listens. `client` is the session [`connect`]
/// opened; a new one is opened when it expires.
pub async fn follow(url: ZkUrl, mut client: zk::Client, leader: watch::Sender<Option<String>>) {
    loop {
        let ended = watch_leader(&url, &client, &leader).await;
        if leader.is_closed() {
            return;
        }
        tracing::warn!(zookeeper = %url, why = %ended, "ZooKeeper session lost; opening a new one");
        loop {
            tokio::select! {
                () = leader.closed() => return,
                connected = connect(&url) => match connected {
                    Ok(new) => {
                        client = new;
                        break;
                    }
                    Err(err) => {
                        tracing::warn!(zookeeper = %url, error = %err, "ZooKeeper unreachable; trying again in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
            }
        }
    }
}

/// Follows the leader on one ZooKeeper session; returns why it ended.
async fn watch_leader(url: &ZkUrl, client: &zk::Client, leader: &watch::Sender<Option<String>>) -> String {
    loop {
        let changed = match client.list_and_watch_children(&url.path).await {
            Ok((children, watcher)) => {
                match leader_node(&children) {
                    None => publish(url, leader, None, "no json.info_ node: no master leads"),
                    Some(node) => match client.get_data(&format!("{}/{node}", url.path)).await {
                        Ok((data, _)) => match master_authority(&data) {
                            Ok(authority) => publish(url, leader, Some(authority), node),
                            Err(err) => {
                                tracing::warn!(zookeeper = %url, node, error = %err, "the leader's node cannot be read");
                                publish(url, leader, None, "the leader's node cannot be read");
                            }
                        },
                        // Gone between the listing and the read: list again.
                        Err(zk::Error::NoNode) => continue,
                        Err(err) => return format!("reading {}/{node}: {err}", url.path),
                    },
                }
                tokio::select! {
                    event = watcher.changed() => event,
                    () = leader.closed() => return "the proxy stopped".to_owned(),
                }
            }
            Err(zk::Error::NoNode) => {
                publish(url, leader, None, "the path does not exist (yet): no master leads");
                match client.check_and_watch_stat(&url.path).await {
                    // Created in between: list it.
                    Ok((Some(_), _)) => continue,
                    Ok((None, watcher)) => tokio::select! {
                        event = watcher.changed() => event,
                        () = leader.closed() => return "the proxy stopped".to_owned(),
                    },
                    Err(err) => return format!("watching {}: {err}", url.path),
                }
            }
            Err(err) => return format!("listing {}: {err}", url.path),
        };
        if changed.event_type == zk::EventType::Session {
            return format!("session {:?}", changed.session_state);
        }
    }
}

/// Publishes the leader if it changed, and logs it.
fn publish(url: &ZkUrl, leader: &watch::Sender<Option<String>>, now: Option<String>, why: &str) {
    let changed = leader.send_if_modified(|current| {
        if *current == now {
            return false;
        }
        *current = now.clone();
        true
    });
    if changed {
        match &now {
            Some(master) => tracing::info!(zookeeper = %url, %master, node = why, "leading master"),
            None => tracing::warn!(zookeeper = %url, why, "no leading master"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let url = ZkUrl::parse("zk://10.0.0.1:2181,10.0.0.2:2181,[::1]:2181/mesos/").unwrap();
        assert_eq!(url.servers, "10.0.0.1:2181,10.0.0.2:2181,[::1]:2181");
        assert_eq!(url.path, "/mesos");
        for (bad, why) in [
            ("http://m:5050", "expected zk://"),
            ("zk://zk1/mesos", "has no port"),
            ("zk://zk1:x/mesos", "is not HOST:PORT"),
            ("zk://zk1:2181/", "the path is empty"),
            ("zk://nobody@zk1:2181/mesos", "USER:PASSWORD"),
            ("zk://zk1:2181,/mesos", "has no port"),
        ] {
            let err = ZkUrl::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let secret = ZkUrl::parse("zk://u:hunter2@zk1:2181/mesos").unwrap();
        assert!(!format!("{secret:?} {secret}").contains("hunter2"));
    }

    #[test]
    fn the_lowest_sequence_leads() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            leader_node(&names(&["json.info_0000000010", "json.info_0000000009"])),
            Some("json.info_0000000009")
        );
        assert_eq!(leader_node(&names(&["info_0000000001", "json.info_x", "log_replicas"])), None);
        assert_eq!(leader_node(&[]), None);
    }

    #[test]
    fn master_infos_as_mesos_writes_them() {
        // As a Mesos 1.11 master writes it (the ip field is the address as an integer).
        let info = br#"{"address":{"hostname":"m1","ip":"127.0.0.1","port":5050},"hostname":"m1","id":"a","ip":16777343,"pid":"master@127.0.0.1:5050","port":5050,"version":"1.11.0"}"#;
        assert_eq!(master_authority(info).unwrap(), "127.0.0.1:5050");
        assert_eq!(master_authority(br#"{"address":{"ip":"::1","port":5050}}"#).unwrap(), "[::1]:5050");
        assert_eq!(master_authority(br#"{"address":{"hostname":"m3","port":5052}}"#).unwrap(), "m3:5052");
        assert!(master_authority(br#"{"hostname":"m","port":0}"#).is_err());
        assert!(master_authority(br#"{"pid":"master@:x"}"#).is_err());
        assert!(master_authority(b"[1,2]").is_err());
    }
}
