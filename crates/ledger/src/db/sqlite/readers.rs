//! SQLite's readers, run in place like the writer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::LiteConn;

/// Idle SQLite readers; one is opened when none is idle, and at most
/// [`IDLE_READERS`] are kept.
pub(crate) struct LiteReaders {
    path: PathBuf,
    idle: Mutex<Vec<LiteConn>>,
}

const IDLE_READERS: usize = 8;

/// A reader lent out; it returns to the pool when dropped (its transaction rolled back).
pub(crate) struct Pooled {
    pub(crate) conn: Option<Box<LiteConn>>,
    home: Arc<LiteReaders>,
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if conn.in_transaction() && conn.batch("ROLLBACK").is_err() {
            return; // not reusable: closed
        }
        let mut idle = self.home.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(*conn);
        }
    }
}

impl LiteReaders {
    pub(crate) fn new(path: PathBuf) -> LiteReaders {
        LiteReaders {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the idle readers.
    pub(crate) fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub(crate) fn take(self: &Arc<Self>) -> Result<Pooled, sqlx::Error> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => Box::new(c),
            None => Box::new(LiteConn::open_reader(&self.path)?),
        };
        Ok(Pooled {
            conn: Some(conn),
            home: self.clone(),
        })
    }
}
