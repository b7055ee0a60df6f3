//! The write pipeline: how a write reaches the disk.
//!
//! **PostgreSQL** (several servers may share the database): each write is its own
//! transaction from the pool, wallets locked row by row.
//!
//! **SQLite** (one machine, one writer): one connection writes, with
//! `synchronous = FULL`, so an acknowledged write survives a power cut. Writes queue for
//! it (a fair lock), and consecutive writes share one transaction — *group commit*: each
//! write runs inside its own savepoint (a failing write rolls back only itself), and a
//! committer task commits the batch, with one fsync, once the writes that were waiting
//! when it got in line have run. A write's `commit()` returns only after its batch is
//! durable; if the batch's commit fails, every write in it gets the error (and a retry
//! with the same idempotency key runs it again, since nothing of it was stored). Reads
//! go to a separate pool of read-only connections (WAL lets them run beside the writer)
//! and see only committed writes.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{watch, Mutex, Notify, OwnedMutexGuard};

use super::conn::Conn;
use super::sqlite::{Checkpointer, LiteConn, STATEMENTS};
use crate::error::LedgerError;

type Outcome = Option<Result<(), String>>;

/// Where writes go.
#[derive(Clone)]
pub(crate) enum Writer {
    /// One transaction per write (PostgreSQL), writes to one wallet queued in process.
    Pool(AnyPool, Arc<WalletQueues>),
    /// One writer connection, group commit (SQLite).
    Group(Arc<Group>),
}

pub(crate) struct Group {
    batch: Arc<Mutex<Batch>>,
    /// Wakes the committer: a write finished (committed to its savepoint or rolled back).
    ready: Notify,
    /// Writes waiting for the batch lock: with none, a finished write commits at once
    /// itself, with no hand-over to the committer.
    queued: AtomicUsize,
    /// Copies the log back into the database beside the writer (`db/sqlite/checkpoint.rs`).
    checkpoint: Option<Checkpointer>,
}

/// The open batch: a transaction holding writes that are done but not yet durable.
struct Batch {
    /// The writer's connection (`None` once `crash` dropped it).
    conn: Option<Conn>,
    /// A transaction is open on it.
    open: bool,
    /// Writes released into the batch since it began.
    writes: usize,
    /// A write ended without committing: its savepoint is still to be rolled back.
    abandoned: bool,
    /// A rollback failed: the batch can only be thrown away.
    broken: bool,
    /// `crash` ran: no more writes.
    dead: bool,
    /// Told the batch's fate once it is committed (or not).
    outcome: Option<watch::Sender<Outcome>>,
    /// Batches committed, and writes in them (for `stats`).
    batches_committed: u64,
    writes_committed: u64,
}

/// Batches and writes committed so far (SQLite): writes per batch is what group commit
/// saves in fsyncs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub batches: u64,
    pub writes: u64,
    /// SQLite statements run so far, reads and writes, by every ledger in the process.
    pub statements: u64,
}

impl Writer {
    /// One transaction per write from `pool` (PostgreSQL).
    pub(crate) fn pool(pool: AnyPool) -> Writer {
        Writer::Pool(pool, Arc::default())
    }

    /// Group commit on SQLite's one writer connection; `checkpoint` keeps its log short.
    pub(crate) fn group(conn: LiteConn, checkpoint: Option<Checkpointer>) -> Writer {
        let group = Arc::new(Group {
            batch: Arc::new(Mutex::new(Batch {
                conn: Some(Conn::Lite(Box::new(conn))),
                open: false,
                writes: 0,
                abandoned: false,
                broken: false,
                dead: false,
                outcome: None,
                batches_committed: 0,
                writes_committed: 0,
            })),
            ready: Notify::new(),
            queued: AtomicUsize::new(0),
            checkpoint,
        });
        // The committer holds only a weak reference: it ends with the ledger.
        let weak = Arc::downgrade(&group);
        tokio::spawn(async move {
            loop {
                let Some(group) = weak.upgrade() else { return };
                let woken = tokio::time::timeout(
                    std::time::Duration::from_millis(200),
                    group.ready.notified(),
                )
                .await;
                if woken.is_ok() {
                    let mut batch = group.batch.clone().lock_owned().await;
                    batch.finish().await;
                }
            }
        });
        Writer::Group(group)
    }

    /// Starts a write.
    pub(crate) async fn begin(&self) -> Result<Tx, LedgerError> {
        match self {
            Writer::Pool(pool, _) => Ok(Tx::Single(
                Conn::Sqlx(pool.begin().await?, Default::default()),
                None,
            )),
            Writer::Group(group) => {
                let mut batch = {
                    let _queued = Queued::new(&group.queued);
                    group.batch.clone().lock_owned().await
                };
                batch.tidy().await;
                if batch.broken {
                    batch.finish().await;
                }
                if batch.dead {
                    return Err(LedgerError::Unavailable("the ledger is shut down".into()));
                }
                let open = batch.open;
                let Some(Conn::Lite(conn)) = batch.conn.as_mut() else {
                    return Err(LedgerError::Unavailable("the ledger is shut down".into()));
                };
                let begun = if open {
                    conn.batch("SAVEPOINT write")
                } else {
                    conn.batch("BEGIN IMMEDIATE")
                        .and_then(|()| conn.batch("SAVEPOINT write"))
                };
                if conn.in_transaction() {
                    batch.open = true;
                }
                if let Err(e) = begun {
                    batch.broken = true;
                    return Err(e.into());
                }
                Ok(Tx::Grouped(GroupTx {
                    batch: Some(batch),
                    group: group.clone(),
                }))
            }
        }
    }

    /// Starts a write that locks `wallet_id` first. On PostgreSQL it waits here, in
    /// this process, behind the other writes to that wallet, *before* it takes a
    /// connection from the pool: a hot wallet's writers then wait in a queue in memory,
    /// not each in a connection blocked on the row lock (with 64 of them the pool of 16
    /// was all blocked writers, and the quotes and reads waited behind them). The row
    /// lock is still taken, so servers sharing the database stay serialised.
    pub(crate) async fn begin_on(&self, wallet_id: &str) -> Result<Tx, LedgerError> {
        match self {
            Writer::Pool(pool, queues) => {
                let turn = queues.get(wallet_id).lock_owned().await;
                let conn = Conn::Sqlx(pool.begin().await?, Default::default());
                Ok(Tx::Single(conn, Some(turn)))
            }
            Writer::Group(_) => self.begin().await,
        }
    }

    /// Commits whatever is pending now (tests, shutdown).
    pub(crate) async fn flush(&self) {
        if let Writer::Group(group) = self {
            group.batch.clone().lock_owned().await.finish().await;
        }
    }

    pub(crate) async fn stats(&self) -> WriterStats {
        match self {
            Writer::Pool(..) => WriterStats::default(),
            Writer::Group(group) => {
                let b = group.batch.lock().await;
                WriterStats {
                    batches: b.batches_committed,
                    writes: b.writes_committed,
                    statements: STATEMENTS.load(Ordering::Relaxed),
                }
            }
        }
    }

    /// Dies as a killed process would: the open batch is lost (its writes were never
    /// acknowledged: they get an error), nothing more is written.
    pub(crate) async fn crash(&self) {
        match self {
            Writer::Pool(pool, _) => pool.close().await,
            Writer::Group(group) => {
                if let Some(c) = &group.checkpoint {
                    c.stop();
                }
                let mut batch = group.batch.clone().lock_owned().await;
                batch.dead = true;
                // Closing a connection with its transaction open rolls it back.
                drop(batch.conn.take());
                batch.open = false;
                if let Some(outcome) = batch.outcome.take() {
                    let _ = outcome.send(Some(Err("the process died".into())));
                }
            }
        }
    }

    pub(crate) async fn close(&self) {
        self.flush().await;
        match self {
            Writer::Pool(pool, _) => pool.close().await,
            Writer::Group(group) => {
                if let Some(c) = &group.checkpoint {
                    c.stop();
                }
                let mut batch = group.batch.lock().await;
                batch.dead = true;
                drop(batch.conn.take());
            }
        }
    }
}

impl Batch {
    /// The writer's connection while a transaction is open on it.
    fn conn(&mut self) -> Option<&mut LiteConn> {
        match self.conn.as_mut() {
            Some(Conn::Lite(c)) if self.open => Some(c),
            _ => None,
        }
    }

    /// Rolls back an abandoned write's savepoint.
    async fn tidy(&mut self) {
        if !self.abandoned {
            return;
        }
        self.abandoned = false;
        let Some(conn) = self.conn() else { return };
        if conn
            .batch("ROLLBACK TO SAVEPOINT write")
            .and_then(|()| conn.batch("RELEASE SAVEPOINT write"))
            .is_err()
        {
            self.broken = true;
        }
    }

    /// Commits the batch (or throws it away if broken) and tells its writes.
    async fn finish(&mut self) {
        self.tidy().await;
        let broken = self.broken;
        let Some(conn) = self.conn() else { return };
        let result = if broken {
            Err("the write batch failed and was rolled back".to_string())
        } else {
            // The fsync, on this task: only the batch's holder waits on it, so at most one
            // runtime worker at a time (handing the worker over with `block_in_place`
            // cost more CPU than the fsync itself on a fast disk: measured, 2× per charge
            // at low load).
            conn.batch("COMMIT").map_err(|e| e.to_string())
        };
        if conn.in_transaction() {
            // A failed commit (or a broken batch) leaves the transaction open: undo it.
            // If even that fails the connection is unusable: no more writes.
            if conn.batch("ROLLBACK").is_err() {
                self.dead = true;
            }
        }
        self.open = false;
        if result.is_ok() {
            self.batches_committed += 1;
            self.writes_committed += self.writes as u64;
        }
        if let Some(outcome) = self.outcome.take() {
            let _ = outcome.send(Some(result));
        }
        self.writes = 0;
        self.broken = false;
    }
}

/// A write in progress: derefs to its connection; `commit` makes it durable, dropping it
/// rolls it back.
pub(crate) enum Tx {
    /// With its turn on its wallet, if it took one ([`Writer::begin_on`]).
    Single(Conn, Option<OwnedMutexGuard<()>>),
    Grouped(GroupTx),
}

pub(crate) struct GroupTx {
    batch: Option<OwnedMutexGuard<Batch>>,
    group: Arc<Group>,
}

impl Tx {
    /// Returns once the write is durable.
    pub(crate) async fn commit(self) -> Result<(), LedgerError> {
        match self {
            Tx::Single(conn, _turn) => Ok(conn.commit().await?),
            Tx::Grouped(mut g) => {
                let mut batch = g.batch.take().expect("a write holds its batch");
                let conn = batch.conn().expect("a write has a transaction");
                if let Err(e) = conn.batch("RELEASE SAVEPOINT write") {
                    batch.abandoned = true;
                    g.group.ready.notify_one();
                    return Err(e.into());
                }
                batch.writes += 1;
                if g.group.queued.load(Ordering::SeqCst) == 0 {
                    // Nobody to share the commit with: commit now, on this task.
                    let mut outcome = batch
                        .outcome
                        .get_or_insert_with(|| watch::channel(None).0)
                        .subscribe();
                    batch.finish().await;
                    drop(batch);
                    let done = answer(outcome.wait_for(Option::is_some).await.as_deref());
                    return done;
                }
                let mut outcome = batch
                    .outcome
                    .get_or_insert_with(|| watch::channel(None).0)
                    .subscribe();
                drop(batch); // the next write joins this batch
                g.group.ready.notify_one();
                let done = answer(outcome.wait_for(Option::is_some).await.as_deref());
                done
            }
        }
    }
}

/// One queue per wallet being written (PostgreSQL): an async lock each, dropped from the
/// map once no write holds or waits for it.
#[derive(Default)]
pub(crate) struct WalletQueues(std::sync::Mutex<WalletMap>);

#[derive(Default)]
struct WalletMap {
    locks: std::collections::HashMap<String, std::sync::Weak<Mutex<()>>>,
    /// The map's size after its last sweep of unused entries.
    swept: usize,
}

impl WalletQueues {
    fn get(&self, wallet_id: &str) -> Arc<Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = map.locks.get(wallet_id).and_then(std::sync::Weak::upgrade) {
            return lock;
        }
        // Amortised: sweep when the map has doubled since the last sweep.
        if map.locks.len() >= 2 * map.swept.max(64) {
            map.locks.retain(|_, lock| lock.strong_count() > 0);
            map.swept = map.locks.len();
        }
        let lock = Arc::new(Mutex::new(()));
        map.locks
            .insert(wallet_id.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

/// A batch's outcome as a write's answer.
fn answer<E>(done: Result<&Outcome, E>) -> Result<(), LedgerError> {
    match done {
        Ok(Some(Ok(()))) => Ok(()),
        Ok(Some(Err(e))) => Err(LedgerError::Unavailable(e.clone())),
        _ => Err(LedgerError::Unavailable(
            "the write batch ended without an answer".into(),
        )),
    }
}

/// Counts a write waiting for the batch lock, until it has it (or gave up waiting).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(n: &'a AtomicUsize) -> Queued<'a> {
        n.fetch_add(1, Ordering::SeqCst);
        Queued(n)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for GroupTx {
    fn drop(&mut self) {
        if let Some(mut batch) = self.batch.take() {
            batch.abandoned = true;
            drop(batch);
            self.group.ready.notify_one();
        }
    }
}

impl Deref for Tx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            Tx::Single(conn, _) => conn,
            Tx::Grouped(g) => g
                .batch
                .as_ref()
                .and_then(|b| b.conn.as_ref())
                .expect("a write in progress has its connection"),
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            Tx::Single(conn, _) => conn,
            Tx::Grouped(g) => g
                .batch
                .as_mut()
                .and_then(|b| b.conn.as_mut())
                .expect("a write in progress has its connection"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wallet_has_one_queue_while_used_and_none_after() {
        let queues = WalletQueues::default();
        let turn = queues.get("a").lock_owned().await;
        // Another write to the wallet waits; another wallet's does not.
        assert!(queues.get("a").try_lock().is_err());
        assert!(queues.get("b").try_lock().is_ok());
        drop(turn);
        assert!(queues.get("a").try_lock().is_ok());
        // Unused queues are swept as the map grows: it stays near the wallets in use.
        let held: Vec<_> = (0..10).map(|i| queues.get(&format!("held{i}"))).collect();
        for i in 0..10_000 {
            drop(queues.get(&format!("w{i}")));
        }
        let len = queues.0.lock().unwrap().locks.len();
        assert!(len < 300, "{len} entries kept for 10 wallets in use");
        assert!(held.iter().all(|h| h.try_lock().is_ok()));
        assert!(Arc::ptr_eq(&held[3], &queues.get("held3")));
    }
}
