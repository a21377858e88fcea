//! Lanes: the threads that serve framework connections, one tokio
//! current-thread runtime each. A connection is served on the lane with the
//! fewest connections, and every task it starts (the relay of a stream it
//! answers, its upstream connection) stays on that lane, so the chunks of
//! one stream are read from the master, recorded and written to the
//! framework on one thread, with no hand-over between threads.
//!
//! Why not tokio's multi-threaded scheduler: there, a stream's relay task
//! and the task writing to the framework were woken on whichever worker
//! was free, and each batch crossed between the two threads (a futex
//! wake-up, and the reference counts of the chunks' buffers bouncing
//! between the cores' caches). `proxy_vs_nginx` on a 2-core VM, the lanes
//! against the multi-threaded runtime in the same run: 13 % more events/s
//! on the realistic mix, 10 % on 200 B records, 18 % on 4 KiB; 10–14 %
//! less CPU an event; the median latency of a paced event 40 → 32 µs (mix),
//! 50 → 31 µs (200 B), 42 → 33 µs (4 KiB). (First seen as the recorder on
//! one worker thread doing better than on two.) The lanes keep that for
//! each stream and still use every core for many connections. What this
//! gives up: one connection's work never spreads over two cores (it did
//! not pay where it was measured, a 2-core machine shared with the master
//! and the framework; on a larger one, many streams spread over the lanes).
//! Nor did moving only a stream's recording (the heading walk, the
//! numbering, the lines) to a thread of the stream's own, the lane reading
//! on while it numbered and forwarding each batch once numbered:
//! `proxy_vs_nginx` on the AMD VM, against the recording on the lane in
//! the same run, the better of two versions gave +1 % events/s on the mix
//! and +10 % at 4 KiB (the other −17 % on the mix), 0.3 µs more CPU an
//! event, and 60–100 µs more median latency a paced event (a wake-up
//! across threads each way per batch). The lane's CPU an event halved
//! (2.8 → 1.4 µs), but the recorder, the session's writer and the bench's
//! own client then shared the other core and bound the stream
//! (`docs/performance.md`, "Seventh run"). (Both comparisons were made
//! while the session's writer let only 256 entries wait for it, which
//! stalled every fast stream: see [`crate::writer::WAITING_BYTES`].)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// The lanes of a running proxy.
pub(crate) struct Lanes {
    lanes: Vec<Lane>,
}

struct Lane {
    handle: Handle,
    /// Connections being served on the lane.
    open: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Counts a connection on its lane while it is held.
pub(crate) struct OnLane(Arc<AtomicUsize>);

impl Drop for OnLane {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lanes {
    /// Starts `n` lanes (one per core: `std::thread::available_parallelism`).
    /// A lane whose thread or runtime cannot be started is left out and
    /// logged; with none, connections are served on the caller's runtime.
    pub(crate) fn start(n: usize) -> Lanes {
        let mut lanes = Vec::with_capacity(n);
        for i in 0..n {
            match Lane::start(i) {
                Ok(lane) => lanes.push(lane),
                Err(err) => tracing::warn!(error = %err, lane = i, "cannot start a lane thread; serving on fewer"),
            }
        }
        Lanes { lanes }
    }

    /// The number of lanes a proxy starts on this machine.
    pub(crate) fn per_core() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// Where the next connection is served: the lane with the fewest
    /// connections (the caller's runtime when there is no lane).
    pub(crate) fn pick(&self) -> (Handle, Option<OnLane>) {
        let Some(lane) = self.lanes.iter().min_by_key(|lane| lane.open.load(Ordering::Relaxed)) else {
            return (Handle::current(), None);
        };
        lane.open.fetch_add(1, Ordering::Relaxed);
        (lane.handle.clone(), Some(OnLane(lane.open.clone())))
    }

    /// Stops every lane (what is still running on one is dropped) and waits
    /// for their threads to end.
    pub(crate) async fn stop(self) {
        let threads: Vec<_> = self
            .lanes
            .into_iter()
            .filter_map(|mut lane| {
                drop(lane.stop.take());
                lane.thread.take()
            })
            .collect();
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

impl Lane {
    fn start(i: usize) -> std::io::Result<Lane> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name(format!("proxy-lane-{i}")).spawn(move || {
            // Tasks spawned on the lane run while this waits.
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })?;
        Ok(Lane { handle, open: Arc::new(AtomicUsize::new(0)), stop: Some(stop), thread: Some(thread) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections go to the least busy lane; a task a connection's task
    /// spawns runs on the same thread; stopping ends the threads.
    #[tokio::test]
    async fn connections_spread_and_their_tasks_stay_on_their_lane() {
        let lanes = Lanes::start(2);
        let (first, a) = lanes.pick();
        let (second, b) = lanes.pick();
        let thread_of = |handle: &Handle| {
            handle.spawn(async {
                let outer = std::thread::current().id();
                let inner = tokio::spawn(async { std::thread::current().id() }).await.unwrap();
                (outer, inner)
            })
        };
        let (one, one_inner) = thread_of(&first).await.unwrap();
        let (two, two_inner) = thread_of(&second).await.unwrap();
        assert_eq!(one, one_inner);
        assert_eq!(two, two_inner);
        assert_ne!(one, two, "two connections, two lanes");
        drop(a);
        // The first lane is free again: the next connection goes there.
        let (third, _c) = lanes.pick();
        assert_eq!(thread_of(&third).await.unwrap().0, one);
        drop(b);
        lanes.stop().await;
        assert!(first.spawn(async {}).await.is_err(), "the lane's runtime is gone");
    }
}
