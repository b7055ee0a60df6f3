//! WAL checkpoints off the commit path.
//!
//! SQLite copies the write-ahead log back into the database file (a *checkpoint*) by
//! default inside the commit that crosses 1,000 pages of log: that commit, and every
//! write queued behind it, waits for the copy and its fsync. Here a thread of its own,
//! on its own connection, runs a `PASSIVE` checkpoint every [`INTERVAL`] (10 ms): it copies what
//! no reader still needs, never waits for the writer, and never makes it wait. The
//! writer's own automatic checkpoint stays as a backstop at [`BACKSTOP_PAGES`], should
//! this thread fall behind. Durability is unchanged: a write is durable once its commit
//! reached the log (`synchronous = FULL`); the checkpoint only moves it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::LiteConn;

/// How often the log is copied back: short enough that each copy (and its fsync) is
/// small. Measured (HTTP bench, p99 of a call, open loop at a quarter of the best rate):
/// every 500 ms 19 ms, every 50 ms 6–10 ms, every 10 ms 4.6 ms. An idle database costs
/// a look at the log's index each time.
pub(crate) const INTERVAL: Duration = Duration::from_millis(10);

/// The writer checkpoints by itself only past this many pages of log (4 KiB each).
pub(crate) const BACKSTOP_PAGES: u32 = 16_384;

/// The checkpoint thread; it stops when this is dropped or [`Checkpointer::stop`]ped.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path) -> Result<Checkpointer, sqlx::Error> {
        let conn = LiteConn::connect(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(INTERVAL);
                    // (busy, frames in the log, frames copied): nothing to act on; a
                    // failure is retried next time, and the backstop still holds.
                    let _ = conn
                        .conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(sqlx::Error::Io)?;
        Ok(Checkpointer { stop })
    }

    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}
