//! Which session is whose, without I/O: a framework's session found from
//! any connection, sessions held by the connections that touched them and
//! ended with the last, a new framework's retry continuing its session,
//! and requests outside the v1 APIs waiting for their framework's session.
//! The live proxy keeps one [`Registry`] of `Arc<Session>`s behind a lock;
//! the importer keeps one of session numbers. Time is whatever the driver
//! counts in (the proxy's clock, the capture's).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

/// How a registry tells its sessions apart: a number unique in one
/// recording.
pub trait Handle: Clone {
    /// The session's number.
    fn key(&self) -> u64;
}

impl Handle for u64 {
    fn key(&self) -> u64 {
        *self
    }
}

impl Handle for usize {
    fn key(&self) -> u64 {
        *self as u64
    }
}

/// A session shared by its connections (the live proxy's `Arc<Session>`):
/// numbered by what it points to.
impl<T: Keyed> Handle for std::sync::Arc<T> {
    fn key(&self) -> u64 {
        T::key(self)
    }
}

/// What an `Arc`-shared session implements to be a [`Handle`].
pub trait Keyed {
    /// The session's number.
    fn key(&self) -> u64;
}

/// How long a new framework's session waits for its retry, and a request
/// in the [`Lobby`] for its framework's session.
pub const LOBBY_WAIT: Duration = Duration::from_secs(60);
/// How many requests of one host wait in the lobby (the oldest go first).
pub const LOBBY_SIZE: usize = 16;

/// The sessions one connection has touched, oldest first (each is held
/// until the connection closes).
#[derive(Debug)]
pub struct Touched<S> {
    sessions: Vec<S>,
}

impl<S> Default for Touched<S> {
    fn default() -> Self {
        Touched { sessions: Vec::new() }
    }
}

impl<S: Handle> Touched<S> {
    /// The most recently touched session, for calls that carry no framework id.
    pub fn last(&self) -> Option<S> {
        self.sessions.last().cloned()
    }

    /// Every session touched, for the connection's `close` entries.
    pub fn all(&self) -> &[S] {
        &self.sessions
    }
}

/// Finds a framework's session from any connection; says which sessions
/// end when connections close.
///
/// ```
/// use mesos_record::{Registry, Touched};
///
/// let mut registry = Registry::<u64>::default();
/// let (mut a, mut b) = (Touched::default(), Touched::default());
/// let mut next = 0;
/// let mut create = || { next += 1; next };
/// // A framework's calls on two connections share one session.
/// let s = registry.framework("f1", &mut a, &mut create);
/// assert_eq!(registry.framework("f1", &mut b, &mut create), s);
/// // It ends when the last of them closes.
/// assert!(registry.release(a).is_empty());
/// assert_eq!(registry.release(b), vec![s]);
/// // The same framework coming back later gets a new session.
/// assert_ne!(registry.framework("f1", &mut Touched::default(), &mut create), s);
/// ```
#[derive(Debug)]
pub struct Registry<S> {
    by_framework: HashMap<String, S>,
    /// Live sessions and how many holders (connections, a retry) each has.
    live: HashMap<u64, (S, usize)>,
    /// A new framework's session whose SUBSCRIBE could not be forwarded
    /// (the master unreachable), by host, since when: the framework's
    /// retry continues it rather than opening a file of its own each time.
    /// Each holds its session until claimed or expired.
    retrying: HashMap<IpAddr, (S, Duration)>,
    shutting_down: bool,
}

impl<S> Default for Registry<S> {
    fn default() -> Self {
        Registry { by_framework: HashMap::new(), live: HashMap::new(), retrying: HashMap::new(), shutting_down: false }
    }
}

impl<S: Handle> Registry<S> {
    /// The live session of framework `framework_id` (made by `create` if
    /// there is none), touched by the connection.
    pub fn framework(&mut self, framework_id: &str, touched: &mut Touched<S>, create: impl FnOnce() -> S) -> S {
        let session = match self.by_framework.get(framework_id) {
            Some(session) => session.clone(),
            None => {
                let session = create();
                if !self.shutting_down {
                    self.by_framework.insert(framework_id.to_owned(), session.clone());
                }
                session
            }
        };
        self.touch(&session, touched);
        session
    }

    /// A new session made by `create` (one whose name is not known yet, or
    /// is not a framework id), touched by the connection.
    pub fn anonymous(&mut self, touched: &mut Touched<S>, create: impl FnOnce() -> S) -> S {
        let session = create();
        self.touch(&session, touched);
        session
    }

    /// Files `session` under `framework_id` (its `SUBSCRIBED` named it),
    /// unless another live session has it.
    pub fn register(&mut self, framework_id: &str, session: &S) {
        if self.live.contains_key(&session.key()) {
            self.by_framework.entry(framework_id.to_owned()).or_insert_with(|| session.clone());
        }
    }

    /// The connection that touched `touched` closed: the sessions it was
    /// the last to hold, which end now.
    pub fn release(&mut self, touched: Touched<S>) -> Vec<S> {
        touched.sessions.iter().filter(|s| self.unref(s)).cloned().collect()
    }

    /// Keeps `session` (a new framework's, whose SUBSCRIBE could not be
    /// forwarded) for that framework's retry from `host`, for up to
    /// [`LOBBY_WAIT`] from `now`: its next SUBSCRIBE continues the same
    /// session. The sessions that end because a kept one expired or was
    /// replaced.
    pub fn keep_for_retry(&mut self, host: IpAddr, session: &S, now: Duration) -> Vec<S> {
        let mut ended = Vec::new();
        if self.shutting_down || !self.live.contains_key(&session.key()) {
            return ended;
        }
        let kept = self.retrying.insert(host, (session.clone(), now));
        if kept.as_ref().is_none_or(|(s, _)| s.key() != session.key()) {
            self.hold(session);
        }
        if let Some((old, _)) = kept.filter(|(s, _)| s.key() != session.key()) {
            ended.extend(self.unref(&old).then_some(old));
        }
        let expired: Vec<IpAddr> = self
            .retrying
            .iter()
            .filter(|(_, (_, at))| now.saturating_sub(*at) >= LOBBY_WAIT)
            .map(|(h, _)| *h)
            .collect();
        for host in expired {
            if let Some((old, _)) = self.retrying.remove(&host) {
                ended.extend(self.unref(&old).then_some(old));
            }
        }
        ended
    }

    /// The session for a SUBSCRIBE without a framework id from `host` at
    /// `now`: the one its failed attempt left, if still unnamed
    /// (`is_unnamed`), or a new one made by `create`; touched by the
    /// connection. And the sessions that ended (a kept one no longer
    /// wanted).
    pub fn subscribing(
        &mut self,
        host: IpAddr,
        touched: &mut Touched<S>,
        now: Duration,
        is_unnamed: impl FnOnce(&S) -> bool,
        create: impl FnOnce() -> S,
    ) -> (S, Vec<S>) {
        let mut ended = Vec::new();
        match self.retrying.remove(&host) {
            Some((session, at)) if now.saturating_sub(at) < LOBBY_WAIT && is_unnamed(&session) => {
                self.touch(&session, touched);
                self.unref(&session);
                return (session, ended);
            }
            Some((session, _)) => ended.extend(self.unref(&session).then_some(session.clone())),
            None => {}
        }
        (self.anonymous(touched, create), ended)
    }

    /// Every session still live, by number, for the end of the recording
    /// (SIGINT/SIGTERM, the end of a capture): they end, and sessions made
    /// after this are not held by anything.
    pub fn shut_down(&mut self) -> Vec<S> {
        self.shutting_down = true;
        self.by_framework.clear();
        self.retrying.clear();
        let mut live: Vec<(u64, S)> = self.live.drain().map(|(key, (s, _))| (key, s)).collect();
        live.sort_unstable_by_key(|(key, _)| *key);
        live.into_iter().map(|(_, s)| s).collect()
    }

    /// Whether [`shut_down`](Self::shut_down) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// The live sessions, in no particular order.
    pub fn live(&self) -> impl Iterator<Item = &S> {
        self.live.values().map(|(s, _)| s)
    }

    fn touch(&mut self, session: &S, touched: &mut Touched<S>) {
        if touched.sessions.iter().any(|s| s.key() == session.key()) {
            return;
        }
        touched.sessions.push(session.clone());
        if !self.shutting_down {
            self.hold(session);
        }
    }

    fn hold(&mut self, session: &S) {
        self.live.entry(session.key()).or_insert_with(|| (session.clone(), 0)).1 += 1;
    }

    /// Drops one hold on `session`; true at the last (it ends).
    fn unref(&mut self, session: &S) -> bool {
        let key = session.key();
        let last = match self.live.get_mut(&key) {
            Some((_, holds)) => {
                *holds -= 1;
                *holds == 0
            }
            None => false,
        };
        if last {
            self.live.remove(&key);
            self.by_framework.retain(|_, s| s.key() != key);
        }
        last
    }
}

/// Requests outside the v1 APIs made from a host none of whose connections
/// belongs to a session yet (pymesos asks `GET /version` before it
/// subscribes, on a connection of its own): they wait here for the next
/// session a connection from that host opens, at most [`LOBBY_WAIT`], at
/// most [`LOBBY_SIZE`] per host.
///
/// ```
/// use std::time::Duration;
/// use mesos_record::Lobby;
///
/// let host = "10.0.0.1".parse().unwrap();
/// let mut lobby = Lobby::default();
/// lobby.wait(host, Duration::from_secs(1), "GET /version");
/// assert_eq!(lobby.claim(host, Duration::from_secs(2)), vec!["GET /version"]);
/// lobby.wait(host, Duration::from_secs(1), "GET /version");
/// assert!(lobby.claim(host, Duration::from_secs(100)).is_empty());
/// ```
#[derive(Debug)]
pub struct Lobby<X> {
    waiting: HashMap<IpAddr, VecDeque<(Duration, X)>>,
}

impl<X> Default for Lobby<X> {
    fn default() -> Self {
        Lobby { waiting: HashMap::new() }
    }
}

impl<X> Lobby<X> {
    /// Keeps `exchange`, made from `host` at `now`, until a session claims it.
    pub fn wait(&mut self, host: IpAddr, now: Duration, exchange: X) {
        self.waiting.retain(|_, waiting| {
            waiting.retain(|(at, _)| now.saturating_sub(*at) < LOBBY_WAIT);
            !waiting.is_empty()
        });
        let waiting = self.waiting.entry(host).or_default();
        if waiting.len() == LOBBY_SIZE {
            waiting.pop_front();
        }
        waiting.push_back((now, exchange));
    }

    /// What waits from `host` (made less than [`LOBBY_WAIT`] before
    /// `now`), oldest first, for the session a connection from that host
    /// just opened.
    pub fn claim(&mut self, host: IpAddr, now: Duration) -> Vec<X> {
        let waiting = self.waiting.remove(&host).unwrap_or_default();
        waiting.into_iter().filter(|(at, _)| now.saturating_sub(*at) < LOBBY_WAIT).map(|(_, x)| x).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> impl FnMut() -> u64 {
        let mut next = 0;
        move || {
            next += 1;
            next
        }
    }

    const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_retry_continues_the_session_of_the_failed_subscribe() {
        let (mut registry, mut create) = (Registry::<u64>::default(), counter());
        let mut first = Touched::default();
        let (s, ended) = registry.subscribing(HOST, &mut first, Duration::ZERO, |_| true, &mut create);
        assert!(ended.is_empty());
        assert!(registry.keep_for_retry(HOST, &s, Duration::from_secs(1)).is_empty());
        // The failed attempt's connection closes: the retry keeps it alive.
        assert!(registry.release(first).is_empty());
        let mut second = Touched::default();
        let (again, _) = registry.subscribing(HOST, &mut second, Duration::from_secs(2), |_| true, &mut create);
        assert_eq!(again, s);
        assert_eq!(registry.release(second), vec![s]);
    }

    #[test]
    fn a_kept_session_expires_and_ends() {
        let (mut registry, mut create) = (Registry::<u64>::default(), counter());
        let mut first = Touched::default();
        let (s, _) = registry.subscribing(HOST, &mut first, Duration::ZERO, |_| true, &mut create);
        registry.keep_for_retry(HOST, &s, Duration::ZERO);
        assert!(registry.release(first).is_empty());
        let other = "10.0.0.2".parse().unwrap();
        let mut t = Touched::default();
        let (o, _) = registry.subscribing(other, &mut t, Duration::ZERO, |_| true, &mut create);
        assert_eq!(registry.keep_for_retry(other, &o, LOBBY_WAIT), vec![s]);
    }

    #[test]
    fn a_named_kept_session_is_not_continued() {
        let (mut registry, mut create) = (Registry::<u64>::default(), counter());
        let mut first = Touched::default();
        let (s, _) = registry.subscribing(HOST, &mut first, Duration::ZERO, |_| true, &mut create);
        registry.keep_for_retry(HOST, &s, Duration::ZERO);
        registry.release(first);
        let (new, ended) = registry.subscribing(HOST, &mut Touched::default(), Duration::ZERO, |_| false, &mut create);
        assert_ne!(new, s);
        assert_eq!(ended, vec![s]);
    }

    #[test]
    fn after_shutdown_nothing_is_held() {
        let (mut registry, mut create) = (Registry::<u64>::default(), counter());
        let s = registry.framework("f", &mut Touched::default(), &mut create);
        assert_eq!(registry.shut_down(), vec![s]);
        let mut t = Touched::default();
        let late = registry.framework("f", &mut t, &mut create);
        assert_ne!(late, s);
        assert_eq!(registry.live().count(), 0);
        assert!(registry.release(t).is_empty());
    }

    #[test]
    fn the_lobby_keeps_sixteen_per_host() {
        let mut lobby = Lobby::default();
        for n in 0..20 {
            lobby.wait(HOST, Duration::ZERO, n);
        }
        assert_eq!(lobby.claim(HOST, Duration::ZERO), (4..20).collect::<Vec<_>>());
        assert!(lobby.claim(HOST, Duration::ZERO).is_empty());
    }
}
