//! The embedded SQLite store: the plumbing (connections, pragmas, migrations, the writer thread and the reader
//! pool, their metrics). The queries are in `queries`, the SQL text they share with PostgreSQL in
//! `store::sql`.
//!
//! One writer thread commits concurrent writes together (group commit), and a small pool of reader connections
//! never waits on the writer (WAL). Each group is flushed to disk before its writes are acknowledged
//! (`synchronous=FULL`) unless the durability setting says otherwise, and SQLite's progress handler stops a
//! read that runs past the per-query time limit. A checkpointer thread copies the log into the database beside
//! the writer, which copies only the last frames (see `run_checkpointer`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{Durability, StoreError};
use crate::ops::prometheus::{
    GaugeHeld, SQLITE_READERS, SQLITE_READERS_IN_USE, SQLITE_READERS_WAITING, SQLITE_WRITE_GROUP_SIZE,
    SQLITE_WRITER_QUEUE_DEPTH,
};

mod queries;

/// The schema migrations, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_images_and_tags.sql"),
    include_str!("migrations/0002_tags_in_image_order.sql"),
];

/// Most writes committed in one transaction.
const MAX_GROUP: usize = 256;

/// Delivers a write's result once its group's transaction has ended (committed: `Ok`).
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A write waiting for the writer thread.
trait WriteJob: Send {
    /// Runs the write in the current transaction: whether it succeeded, and how to deliver its result.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Completion);
    /// Answers the write with an error without running it.
    fn refuse(self: Box<Self>, error: StoreError);
}

/// A write and where its result goes.
struct Job<F, T> {
    work: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> WriteJob for Job<F, T>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Completion) {
        let Job { work, reply } = *self;
        let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError::Backend("a write panicked".into())));
        let ok = result.is_ok();
        (ok, Box::new(move |ended| drop(reply.send(ended.and(result)))))
    }

    fn refuse(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

/// How the SQLite store is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Reader connections (at least one).
    pub readers: usize,
    /// When a commit is acknowledged.
    pub durability: Durability,
    /// Longest a read may run before SQLite stops it; `None`: no limit.
    pub query_time_limit: Option<Duration>,
}

/// The SQLite store.
pub struct SqliteStore {
    writer: mpsc::Sender<Box<dyn WriteJob>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    reader_permits: Arc<Semaphore>,
    query_time_limit: Option<Duration>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Page cache of each connection but the writer's, in KiB (SQLite's negative `cache_size`).
const CACHE_KIB: i64 = 64 * 1024;
/// Page cache of the writer connection, in KiB. Small on purpose: at every `COMMIT` SQLite truncates the
/// page cache to the database's size (`pager_end_transaction`), and that walks the cache's whole hash table,
/// which grows with the pages the cache has held; with the readers' 64 MiB it was 9.7% of op 7's CPU
/// (`pcache1TruncateUnsafe`). The writer reads unchanged pages through the memory map, so a small cache costs
/// it little: op 7 and op 1 spent 13-15% less CPU per request with 2 MiB (8 MiB: 5-8%, 512 KiB: no better);
/// seeding in batches of 5,000 images, which spill past it, is about 10% slower.
const WRITER_CACHE_KIB: i64 = 2 * 1024;
/// Memory-mapped I/O window of each connection (SQLite caps it near 2 GiB); reads of a large database then
/// cost no system call per page: the benchmark's queries ran five to ten times faster with it.
const MMAP_BYTES: i64 = 0x7fff_0000;

/// Prepared statements each reader connection keeps (rusqlite's default is 16): the point reads', and the list
/// queries' by shape (their SQL differs with the number and kind of conditions, not with the values, which are
/// bound), so that a repeated list query is neither parsed nor planned again.
const READER_STATEMENT_CACHE: usize = 64;

/// Virtual-machine steps between two looks at the clock while a read runs (a few microseconds of work).
const PROGRESS_STEPS: std::ffi::c_int = 1000;

/// Applies the settings every connection shares, with a page cache of `cache_kib`.
fn configure(conn: &Connection, durability: Durability, cache_kib: i64) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // In WAL mode FULL syncs the log at every commit, NORMAL only at checkpoints. With group commit one sync
    // covers every write of the group.
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, runs the migrations and starts the writer thread.
    pub fn open(path: &Path, options: &SqliteOptions) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Backend(format!("{}: {e}", dir.display())))?;
        }
        let mut writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer, options.durability, WRITER_CACHE_KIB)?;
        migrate(&writer)?;
        // Refresh the planner's statistics when they are missing or stale, sampling rather than reading whole
        // tables so that opening a large database stays fast.
        writer.execute_batch("PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002")?;

        let mut pool = Vec::with_capacity(options.readers);
        for _ in 0..options.readers.max(1) {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&conn, options.durability, CACHE_KIB)?;
            conn.set_prepared_statement_cache_capacity(READER_STATEMENT_CACHE);
            // Plans that do not depend on the bound values (SQLite's query planner stability guarantee): with
            // the STAT4 statistics of the bundled build, a cached statement comparing a bound value with an
            // indexed column was otherwise prepared again at its first step after every new binding.
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
            pool.push(conn);
        }
        let checkpointer = Connection::open(path)?;
        configure(&checkpointer, options.durability, CACHE_KIB)?;
        // The writer's WAL hook replaces SQLite's automatic checkpoint (which is a WAL hook too): the
        // checkpointer thread copies the log instead.
        let log = Arc::new(LogState::new());
        let hook_log = log.clone();
        writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames| {
            hook_log.committed(frames);
            Ok(())
        }))?;
        let (sender, receiver) = mpsc::channel::<Box<dyn WriteJob>>(4096);
        let checkpointer_log = log.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || run_checkpointer(checkpointer, checkpointer_log))
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpointer thread: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(writer, receiver, log))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        metrics::gauge!(SQLITE_READERS).set(pool.len() as f64);
        for gauge in [SQLITE_READERS_IN_USE, SQLITE_READERS_WAITING, SQLITE_WRITER_QUEUE_DEPTH] {
            metrics::gauge!(gauge).increment(0.0);
        }
        Ok(SqliteStore {
            writer: sender,
            reader_permits: Arc::new(Semaphore::new(pool.len())),
            readers: Arc::new(Mutex::new(pool)),
            query_time_limit: options.query_time_limit,
        })
    }

    /// Runs `work` in the writer's current transaction. Its changes are rolled back alone if it fails; the
    /// result is delivered once the group it belongs to has committed.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn WriteJob> = Box::new(Job { work, reply });
        // Lowered by the writer when it takes the write, or here if it never gets queued.
        let queued = GaugeHeld::raise(metrics::gauge!(SQLITE_WRITER_QUEUE_DEPTH), 1.0);
        self.writer
            .send(job)
            .await
            .map_err(|_| StoreError::Backend("the writer thread has stopped".into()))?;
        queued.hand_over();
        answer.await.map_err(|_| StoreError::Backend("the writer thread dropped a write".into()))?
    }

    /// Runs `work` on a reader connection inside one read transaction (a consistent snapshot), stopped by
    /// SQLite's progress handler if it runs past the time limit (`StoreError::QueryTimeLimit`; the connection
    /// goes back to the pool usable), on a thread of the blocking pool.
    ///
    /// The blocking task owns both the connection and the pool permit and gives them back itself, so a
    /// request abandoned while its query runs (a client hanging up, a timeout) loses neither.
    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.read_on(Thread::BlockingPool, work).await
    }

    /// A point read (one image by id: its row and its few tags and properties, a handful of index lookups):
    /// as [`SqliteStore::read`], but run on the calling thread. Handing it to the blocking pool and back cost
    /// more CPU than the read itself (two thread wake-ups per request); with the database memory-mapped, the
    /// worst such a read does to its worker thread is wait for a page from the disk.
    async fn read_point<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.read_on(Thread::Caller, work).await
    }

    async fn read_on<T, F>(&self, thread: Thread, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let waiting = GaugeHeld::raise(metrics::gauge!(SQLITE_READERS_WAITING), 1.0);
        let permit = self
            .reader_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("the reader pool is closed".into()))?;
        drop(waiting);
        let in_use = GaugeHeld::raise(metrics::gauge!(SQLITE_READERS_IN_USE), 1.0);
        let pool = self.readers.clone();
        let time_limit = self.query_time_limit;
        let span = tracing::Span::current();
        let run = move || {
            let _permit = (permit, in_use);
            let _span = span.enter();
            let mut conn = pool
                .lock()
                .map_err(|_| StoreError::Backend("the reader pool is poisoned".into()))?
                .pop()
                .ok_or_else(|| StoreError::Backend("no reader connection available".into()))?;
            let stopped = Arc::new(AtomicBool::new(false));
            let result = catch_unwind(AssertUnwindSafe(|| {
                conn.prepare_cached("BEGIN")?.execute([])?;
                if let Some(limit) = time_limit {
                    let deadline = Instant::now() + limit;
                    let stopped = stopped.clone();
                    conn.progress_handler(
                        PROGRESS_STEPS,
                        Some(move || {
                            let late = Instant::now() >= deadline;
                            if late {
                                stopped.store(true, Ordering::Relaxed);
                            }
                            late
                        }),
                    )?;
                }
                let result = work(&conn);
                conn.progress_handler(0, None::<fn() -> bool>)?;
                conn.prepare_cached("COMMIT")?.execute([])?;
                result
            }))
            .unwrap_or_else(|_| Err(StoreError::Backend("a read panicked".into())));
            // Whatever happened, the next read on this connection starts without a handler.
            let _ = conn.progress_handler(0, None::<fn() -> bool>);
            let result = match (result, time_limit) {
                (Err(_), Some(limit)) if stopped.load(Ordering::Relaxed) => {
                    tracing::warn!(
                        limit_ms = limit.as_millis(),
                        "a read ran past the time limit and was stopped"
                    );
                    Err(StoreError::QueryTimeLimit { limit })
                }
                (result, _) => result,
            };
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            if let Ok(mut pool) = pool.lock() {
                pool.push(conn);
            }
            result
        };
        match thread {
            Thread::Caller => run(),
            Thread::BlockingPool => tokio::task::spawn_blocking(run)
                .await
                .map_err(|e| StoreError::Backend(format!("reader task failed: {e}")))?,
        }
    }
}

/// Where a read runs.
#[derive(Clone, Copy)]
enum Thread {
    /// The thread that asks for it.
    Caller,
    /// A thread of Tokio's blocking pool.
    BlockingPool,
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let applied: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?.try_into().unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        conn.execute_batch(&format!("BEGIN; {migration}; PRAGMA user_version = {}; COMMIT;", index + 1))?;
    }
    Ok(())
}

/// Runs one of the writer's fixed statements (transaction control) from the connection's statement cache, so
/// that it is parsed once rather than for every group or every write.
fn run_cached(conn: &Connection, statement: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(statement)?.execute([]).map(drop)
}

/// The writer loop: takes every queued write (up to `MAX_GROUP`), runs each under a savepoint inside one
/// transaction (a failed write is rolled back alone), commits once, then answers them all. If the transaction
/// itself fails, every write of the group is rolled back and answered with the error. Between two groups it
/// copies the tail of the log when the checkpointer asks it to (see `run_checkpointer`).
fn run_writer(conn: Connection, mut jobs: mpsc::Receiver<Box<dyn WriteJob>>, log: Arc<LogState>) {
    while let Some(first) = jobs.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        metrics::gauge!(SQLITE_WRITER_QUEUE_DEPTH).decrement(group.len() as f64);
        metrics::histogram!(SQLITE_WRITE_GROUP_SIZE).record(group.len() as f64);
        for (completion, ended) in run_group(&conn, group) {
            completion(ended);
        }
        if log.tail_left.load(Ordering::Acquire) {
            log.tail_attempted(checkpoint(&conn));
        }
    }
    log.stop();
}

/// Runs one group in one transaction; returns each write's completion with what to deliver to it.
fn run_group(conn: &Connection, group: Vec<Box<dyn WriteJob>>) -> Vec<(Completion, Result<(), StoreError>)> {
    if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
        let message = e.to_string();
        group.into_iter().for_each(|job| job.refuse(StoreError::Backend(message.clone())));
        return Vec::new();
    }
    let mut completions = Vec::with_capacity(group.len());
    let mut failure = None;
    let mut pending = group.into_iter();
    for job in pending.by_ref() {
        if let Err(e) = run_cached(conn, "SAVEPOINT job") {
            failure = Some(e.to_string());
            job.refuse(StoreError::Backend(e.to_string()));
            break;
        }
        let (ok, completion) = job.run(conn);
        completions.push(completion);
        let closed = if ok {
            run_cached(conn, "RELEASE job")
        } else {
            run_cached(conn, "ROLLBACK TO job").and_then(|()| run_cached(conn, "RELEASE job"))
        };
        if let Err(e) = closed {
            failure = Some(e.to_string());
            break;
        }
    }
    let ended = match failure {
        Some(message) => Err(message),
        None => run_cached(conn, "COMMIT").map_err(|e| e.to_string()),
    };
    if let Err(message) = &ended {
        let _ = conn.execute_batch("ROLLBACK");
        pending.for_each(|job| job.refuse(StoreError::Backend(message.clone())));
    }
    completions
        .into_iter()
        .map(|completion| (completion, ended.clone().map_err(StoreError::Backend)))
        .collect()
}

/// Frames in the write-ahead log after which the checkpointer copies it into the database (SQLite's own
/// automatic checkpoint, which this replaces, runs at 1,000).
const CHECKPOINT_FRAMES: i32 = 1000;

/// Frames the checkpointer leaves for the writer to copy (see `run_checkpointer`).
const TAIL_FRAMES: i32 = 100;

/// Most checkpoint passes in one round of the checkpointer, should the writer outpace them.
const MAX_PASSES: usize = 8;

/// The write-ahead log's length, as the writer's WAL hook reports it after each commit.
#[derive(Clone, Copy)]
struct Frames {
    /// Frames in the log.
    in_log: i32,
    /// Frames in the log when the writer last copied the tail wholly; 0 once the log started over (or before
    /// the first round).
    copied: i32,
}

/// What the writer and the checkpointer share about the write-ahead log.
struct LogState {
    /// The log's length after the latest commit; `None` once the writer stopped.
    frames: Mutex<Option<Frames>>,
    /// Wakes the checkpointer when `CHECKPOINT_FRAMES` have been added since the last round, or the writer
    /// stops.
    grown: Condvar,
    /// Set by the checkpointer once it has copied the log as far as it could beside the writer: the writer
    /// then copies the rest itself, between two groups.
    tail_left: AtomicBool,
}

impl LogState {
    fn new() -> LogState {
        LogState {
            frames: Mutex::new(Some(Frames { in_log: 0, copied: 0 })),
            grown: Condvar::new(),
            tail_left: AtomicBool::new(false),
        }
    }

    /// Called by the writer's WAL hook after each commit.
    fn committed(&self, in_log: i32) {
        let mut frames = self.frames.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(frames) = frames.as_mut() {
            if in_log < frames.copied {
                // The log started over.
                frames.copied = 0;
            } else if frames.copied > 0 {
                // The log was wholly copied, but a reader kept this commit from starting it over: the writer
                // copies the new frames after this group and its next commit tries again, as SQLite does after
                // every commit.
                self.tail_left.store(true, Ordering::Release);
            }
            frames.in_log = in_log;
            if in_log - frames.copied >= CHECKPOINT_FRAMES {
                self.grown.notify_one();
            }
        }
    }

    /// The writer has tried to copy the tail (`copied`: the frames now copied; `None` if the checkpoint
    /// failed). A reader inside an older snapshot keeps a checkpoint from copying the frames it may still need:
    /// then the writer tries again after its next group, as SQLite's own checkpoint does after every commit,
    /// until the log is wholly copied and its next transaction can start it over.
    fn tail_attempted(&self, copied: Option<i32>) {
        let mut frames = self.frames.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(frames) = frames.as_mut() {
            match copied {
                Some(copied) if copied < frames.in_log => return,
                _ => frames.copied = frames.in_log,
            }
        }
        self.tail_left.store(false, Ordering::Release);
    }

    /// Frames in the log after the latest commit; `None` once the writer stopped.
    fn in_log(&self) -> Option<i32> {
        self.frames.lock().unwrap_or_else(PoisonError::into_inner).map(|frames| frames.in_log)
    }

    /// The writer has stopped: so does the checkpointer.
    fn stop(&self) {
        *self.frames.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.grown.notify_one();
    }

    /// Waits until `CHECKPOINT_FRAMES` have been added to the log since the last round and the writer has
    /// copied that round's tail; `false` once the writer has stopped.
    fn wait_for_growth(&self) -> bool {
        let frames = self.frames.lock().unwrap_or_else(PoisonError::into_inner);
        let frames = self
            .grown
            .wait_while(frames, |frames| {
                frames.is_some_and(|f| {
                    f.in_log - f.copied < CHECKPOINT_FRAMES || self.tail_left.load(Ordering::Acquire)
                })
            })
            .unwrap_or_else(PoisonError::into_inner);
        frames.is_some()
    }
}

/// A `PASSIVE` checkpoint: copies what it can of the log into the database without waiting for the writer or
/// the readers (and flushes the database file, unless durability is off). Returns how many frames of the log
/// are now copied, `None` if the checkpoint failed.
fn checkpoint(conn: &Connection) -> Option<i32> {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i32>(2)) {
        Ok(copied) => Some(copied),
        Err(e) => {
            tracing::warn!(error = %e, "a checkpoint failed");
            None
        }
    }
}

/// The checkpointer: once the log has grown past `CHECKPOINT_FRAMES`, copies it into the database on a
/// connection of its own, beside the writer, which keeps committing; pass after pass (each copies what was
/// committed during the one before) until at most `TAIL_FRAMES` are left, then leaves those (the tail) to the
/// writer, which copies them between two groups. The log is then wholly copied, and the writer's next commit
/// starts it over from its beginning, which keeps the file bounded (checkpoints beside a busy writer alone
/// never catch up with it). The writer used to run whole checkpoints itself, and every write queued behind one
/// waited for it; now they wait only for the tail. A reader still inside an older snapshot can keep the tail
/// from being copied, or the log from starting over: the writer then tries again after each group until it
/// succeeds (see `LogState`).
fn run_checkpointer(conn: Connection, log: Arc<LogState>) {
    while log.wait_for_growth() {
        for _ in 0..MAX_PASSES {
            let Some(copied) = checkpoint(&conn) else { break };
            if log.in_log().is_none_or(|in_log| in_log - copied <= TAIL_FRAMES) {
                break;
            }
        }
        log.tail_left.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::query::tag_query::TagQuery;
    use crate::store::Store;

    fn options(readers: usize) -> SqliteOptions {
        SqliteOptions { readers, durability: Durability::Full, query_time_limit: None }
    }

    /// Regression: reads abandoned mid-query (wrk hanging up at the end of a run) used to leak their reader
    /// connection, until every later read failed with "no reader connection available".
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoned_reads_give_their_connection_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("db.sqlite3"), &options(2)).expect("opens");
        let query = TagQuery::default();
        for _ in 0..20 {
            // Polled once (the query starts on a blocking thread), then dropped.
            let _ = futures::FutureExt::now_or_never(store.query_images("p", &query, None));
        }
        for _ in 0..4 {
            let (total, _) =
                tokio::time::timeout(Duration::from_secs(10), store.query_images("p", &query, None))
                    .await
                    .expect("a connection comes back")
                    .expect("the read succeeds");
            assert_eq!(total, 0);
        }
    }

    /// Acknowledged commits are flushed to disk by default (`synchronous=FULL`, 2), and `normal` (1) is there
    /// when asked for; read back from the writer connection itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commits_are_flushed_by_default_and_the_switch_works() {
        let synchronous = |options: SqliteOptions| async move {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = SqliteStore::open(&dir.path().join("db.sqlite3"), &options).expect("opens");
            store
                .write(|conn| Ok(conn.pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0))?))
                .await
                .expect("read back")
        };
        assert_eq!(
            synchronous(crate::config::Config::default().sqlite_options()).await,
            2,
            "FULL by default"
        );
        let normal = SqliteOptions { durability: Durability::Normal, ..options(1) };
        assert_eq!(synchronous(normal).await, 1, "NORMAL when configured");
    }

    /// The writer keeps a small page cache (its truncation at every commit walks the whole cache), the readers
    /// a large one; read back from each connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_keeps_a_small_page_cache_and_the_readers_a_large_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("db.sqlite3"), &options(1)).expect("opens");
        let cache_size =
            |conn: &Connection| Ok(conn.pragma_query_value(None, "cache_size", |r| r.get::<_, i64>(0))?);
        assert_eq!(store.write(cache_size).await.expect("writer"), -WRITER_CACHE_KIB);
        assert_eq!(store.read(cache_size).await.expect("reader"), -CACHE_KIB);
    }

    /// A read that runs past the time limit is stopped with `QueryTimeLimit`, and the pool's only connection
    /// serves the next read.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_past_the_time_limit_is_stopped_and_its_connection_serves_the_next() {
        let dir = tempfile::tempdir().expect("temp dir");
        let limit = Duration::from_millis(100);
        let options = SqliteOptions { query_time_limit: Some(limit), ..options(1) };
        let store = SqliteStore::open(&dir.path().join("db.sqlite3"), &options).expect("opens");
        let endless =
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n";
        for _ in 0..2 {
            let stopped = tokio::time::timeout(
                Duration::from_secs(10),
                store.read(move |conn| Ok(conn.query_row(endless, [], |r| r.get::<_, i64>(0))?)),
            )
            .await
            .expect("stopped well within 10 s");
            assert!(
                matches!(stopped, Err(StoreError::QueryTimeLimit { limit: l }) if l == limit),
                "{stopped:?}"
            );
            let (total, _) =
                store.query_images("p", &TagQuery::default(), None).await.expect("the next read succeeds");
            assert_eq!(total, 0);
        }
    }

    /// Under a steady load of writes with reads alongside, the write-ahead log stays bounded: the checkpointer
    /// copies it into the database every `CHECKPOINT_FRAMES`, the writer the tail, and its next commit starts
    /// the log over (retried while a reader still needs its frames), so the log file (whose size is the most
    /// frames it ever held: SQLite writes it over from the start rather than shrinking it) stays within 64 MiB,
    /// while these writes put about 300 MB through it (measured with the checkpoints turned off). Every write
    /// is acknowledged and every read answers meanwhile.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_stays_bounded_under_steady_writes_and_reads() {
        use crate::domain::tag::{Tag, TagChange};
        use crate::seed::{SeedPlan, image, image_id};

        const IMAGES: u64 = 1000;
        const WRITERS: u64 = 16;
        const WRITES_EACH: u64 = 1000;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite3");
        let store = Arc::new(SqliteStore::open(&path, &options(2)).expect("opens"));
        let plan = SeedPlan { images: IMAGES, projects: vec!["p".into()], tags_per_image: 4, first: 0 };
        store.create_images((0..IMAGES).map(|n| image(&plan, n)).collect()).await.expect("seeded");
        let writing = Arc::new(AtomicBool::new(true));
        let readers: Vec<_> = (0..2u64)
            .map(|r| {
                let (store, writing) = (store.clone(), writing.clone());
                tokio::spawn(async move {
                    let mut reads = 0u64;
                    while writing.load(Ordering::Relaxed) {
                        let n = (reads * 7 + r) % IMAGES;
                        store.image_tags(image_id(n), "p").await.expect("the read answers");
                        reads += 1;
                        tokio::task::yield_now().await;
                    }
                    reads
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for j in 0..WRITES_EACH {
                        let n = (w * 61 + j * 17) % IMAGES;
                        let change =
                            TagChange::Upsert(vec![Tag::new(format!("k{}", j % 10), format!("v{w}-{j}"))]);
                        store
                            .change_tags(image_id(n), "p", change, 50)
                            .await
                            .expect("the write is acknowledged");
                    }
                })
            })
            .collect();
        tokio::time::timeout(Duration::from_secs(120), async {
            for writer in writers {
                writer.await.expect("the writer task ends");
            }
        })
        .await
        .expect("16,000 writes within 120 s");
        writing.store(false, Ordering::Relaxed);
        for reader in readers {
            assert!(reader.await.expect("the reader task ends") > 0, "reads ran beside the writes");
        }
        let log_bytes = std::fs::metadata(dir.path().join("db.sqlite3-wal")).expect("the log exists").len();
        let bound = 64 * 1024 * 1024;
        assert!(log_bytes <= bound, "the log grew to {log_bytes} bytes (bound {bound})");
    }

    /// Writes committed in one group: a write that fails is rolled back alone (its own changes are gone), the
    /// others of its group are committed, and each is answered with its own result. A first write holds the
    /// writer while the others queue, so they make one group.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_rolls_back_alone_and_its_group_commits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3"), &options(1)).expect("opens"));
        store
            .write(|conn| Ok(conn.execute_batch("CREATE TABLE written (n INTEGER NOT NULL)")?))
            .await
            .expect("table created");
        let holding = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .write(|_| {
                        std::thread::sleep(Duration::from_millis(300));
                        Ok(())
                    })
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let writes: Vec<_> = (0..32i64)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .write(move |conn| {
                            conn.execute("INSERT INTO written (n) VALUES (?)", [n])?;
                            if n % 2 == 1 {
                                return Err(StoreError::Backend(format!("write {n} refused")));
                            }
                            Ok(n)
                        })
                        .await
                })
            })
            .collect();
        holding.await.expect("the holding write ends").expect("the holding write commits");
        for (n, write) in writes.into_iter().enumerate() {
            let result = write.await.expect("the write's task ends");
            if n % 2 == 1 {
                assert!(
                    matches!(&result, Err(StoreError::Backend(m)) if m == &format!("write {n} refused")),
                    "{result:?}"
                );
            } else {
                assert_eq!(result.expect("an even write commits"), i64::try_from(n).expect("small"));
            }
        }
        let stored: Vec<i64> = store
            .read(|conn| {
                let mut stmt = conn.prepare("SELECT n FROM written ORDER BY n")?;
                Ok(stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?)
            })
            .await
            .expect("read back");
        assert_eq!(stored, (0..32).filter(|n| n % 2 == 0).collect::<Vec<i64>>());
    }
}
