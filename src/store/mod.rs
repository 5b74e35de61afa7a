//! The store: parley's state on disk, in an embedded SQLite database.
//!
//! What survives a restart (docs/PROTOCOL.md, "Stored state"): every room whose board
//! holds posts, with its posts and the id its next post gets, the last messages of
//! each such room, accounts, and the private messages waiting for offline accounts.
//! The store is written by one thread of its own ([`crate::work`]), in batches:
//! [`Store::commit`] applies everything that waited in one transaction.
//!
//! A file is parley's when its SQLite `application_id` says so; one that is not, or that
//! a newer version wrote, is refused at [`Store::open`] before anything is written to
//! it. Schema changes are numbered migrations ([`schema`]).

mod schema;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use log::error;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};

pub use crate::hub::records::{StoredAccount, StoredMessage, StoredPost, StoredRoom, Write};
use crate::hub::{ClientId, Completion, Request};

pub use schema::{APPLICATION_ID, SCHEMA_VERSION};

/// How hard a commit holds on (`--sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// Survives a crash of the server process (WAL, `synchronous=NORMAL`).
    Normal,
    /// Also survives a crash of the machine: an fsync per commit.
    Full,
}

/// Why the store cannot be used.
#[derive(Debug)]
pub enum StoreError {
    /// The file is not a parley database (another program's, or not SQLite at all).
    NotParley {
        /// The file.
        path: String,
    },
    /// The file was written by a newer version of parley.
    Newer {
        /// The file.
        path: String,
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// Another server holds the database's lock file: two servers writing one
    /// database would each keep their own post ids and accounts, and refuse each
    /// other's writes.
    InUse {
        /// The database.
        path: String,
    },
    /// The lock file could not be made or locked (a missing or read-only directory).
    Lock {
        /// The lock file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite failed (I/O error, disk full, ...).
    Sqlite(rusqlite::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotParley { path } => {
                write!(f, "{path} is not a parley database; it was left unchanged")
            }
            StoreError::Newer {
                path,
                found,
                supported,
            } => write!(
                f,
                "{path} was written by a newer parley (schema {found}, this build knows up to {supported}); it was left unchanged"
            ),
            StoreError::InUse { path } => write!(
                f,
                "{path} is in use by another parley-server (it holds {path}.lock)"
            ),
            StoreError::Lock { path, source } => write!(f, "cannot lock {path}: {source}"),
            StoreError::Sqlite(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite(e)
    }
}

/// The parley database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// The database's lock file, locked for as long as the store lives (none in memory).
    _lock: Option<File>,
    /// When a failure was last logged.
    last_report: Option<Instant>,
    /// Messages stored per room since its history was last trimmed.
    untrimmed: HashMap<String, usize>,
}

/// Locks `<path>.lock` (made if missing) for the caller's lifetime, or says that
/// another server holds it. The lock is the kernel's (`flock`), so it goes with the
/// process that held it: a crashed server leaves the file but no lock. SQLite's own
/// locks are not taken for this, since they would also shut out
/// `sqlite3 parley.db ".backup ..."` while the server runs.
fn lock_database(path: &str) -> Result<File, StoreError> {
    let lock_path = format!("{path}.lock");
    let lock_error = |source| StoreError::Lock {
        path: lock_path.clone(),
        source,
    };
    // Read-only when it exists: a lock file left by a run as another user still
    // locks (flock needs no write access); made only when missing.
    let file = match File::open(&lock_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path),
        opened => opened,
    }
    .map_err(lock_error)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::InUse {
            path: path.to_owned(),
        }),
        Err(TryLockError::Error(source)) => Err(lock_error(source)),
    }
}

/// Messages a room's history may gain beyond what it keeps before it is trimmed (or
/// twice what it keeps, if that is less): the trim costs a query, so it runs once per
/// that many messages, not per batch. Reads take the last `count`, never the excess.
pub const HISTORY_SLACK: usize = 256;

/// The shortest time between two log lines about failed writes.
pub const ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

impl Store {
    /// Opens (or creates) the database at `path` (`:memory:` keeps nothing), checks it
    /// is parley's and not newer than this build, and brings its schema up to date.
    pub fn open(path: &str, sync: Sync) -> Result<Store, StoreError> {
        let not_parley = || StoreError::NotParley {
            path: path.to_owned(),
        };
        let identify = |conn: &Connection| {
            schema::identity(conn).map_err(|e| match e.sqlite_error_code() {
                Some(ErrorCode::NotADatabase) => not_parley(),
                _ => StoreError::Sqlite(e),
            })
        };
        let mut lock = None;
        let conn = if path == ":memory:" {
            Connection::open_in_memory()?
        } else {
            // An existing file is judged through a read-only connection first, so not
            // even a recovery of its journal can touch a file that is not parley's.
            if Path::new(path).exists() {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let reader = Connection::open_with_flags(Path::new(path), flags)?;
                match identify(&reader)? {
                    schema::Identity::Other => return Err(not_parley()),
                    schema::Identity::Parley(found) if found > SCHEMA_VERSION => {
                        return Err(StoreError::Newer {
                            path: path.to_owned(),
                            found,
                            supported: SCHEMA_VERSION,
                        })
                    }
                    _ => {}
                }
            }
            lock = Some(lock_database(path)?);
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            Connection::open_with_flags(Path::new(path), flags)?
        };
        let identity = identify(&conn)?;
        match identity {
            schema::Identity::Parley(version) if version > SCHEMA_VERSION => {
                return Err(StoreError::Newer {
                    path: path.to_owned(),
                    found: version,
                    supported: SCHEMA_VERSION,
                })
            }
            schema::Identity::Parley(_) | schema::Identity::Empty => {}
            schema::Identity::Other => return Err(not_parley()),
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let synchronous = match sync {
            Sync::Normal => "NORMAL",
            Sync::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        schema::migrate(&conn)?;
        Ok(Store {
            conn,
            _lock: lock,
            last_report: None,
            untrimmed: HashMap::new(),
        })
    }

    /// The stored rooms, each with at most its last `board_retain` posts (history
    /// stays on disk: `/history` reads it there). Rooms without posts come back only
    /// when they are `always` (the lobby); the history of the others is deleted, so
    /// that a room created later under the same name starts without it.
    pub fn load(
        &mut self,
        board_retain: usize,
        always: &[&str],
    ) -> Result<Vec<StoredRoom>, StoreError> {
        let kept: Vec<String> = always
            .iter()
            .map(|name| name.to_ascii_lowercase())
            .collect();
        let placeholders = vec!["?"; kept.len()].join(",");
        self.conn.execute(
            &format!(
                "DELETE FROM history WHERE room NOT IN (SELECT room FROM posts)
                 AND room NOT IN ({placeholders})"
            ),
            rusqlite::params_from_iter(&kept),
        )?;
        let mut rooms: BTreeMap<String, StoredRoom> = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT key, name, next_post_id FROM rooms ORDER BY key")?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (key, name, next) = row?;
            let room = StoredRoom {
                name,
                next_post_id: next as u64,
                posts: self.posts(&key, board_retain)?,
            };
            if !room.posts.is_empty() || always.iter().any(|a| a.eq_ignore_ascii_case(&key)) {
                rooms.insert(key, room);
            }
        }
        for name in always {
            let key = name.to_ascii_lowercase();
            rooms.entry(key).or_insert_with(|| StoredRoom {
                name: (*name).to_owned(),
                next_post_id: 1,
                posts: Vec::new(),
            });
        }
        Ok(rooms.into_values().collect())
    }

    /// Every account, with the count of messages waiting for it.
    pub fn load_accounts(&self) -> Result<Vec<StoredAccount>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, phc, (SELECT count(*) FROM offline WHERE recipient = key)
             FROM accounts ORDER BY key",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(StoredAccount {
                name: row.get(0)?,
                phc: row.get(1)?,
                waiting: row.get::<_, i64>(2)? as usize,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many private messages wait for each recipient, by lowercase name.
    pub fn waiting_counts(&self) -> Result<HashMap<String, usize>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT recipient, count(*) FROM offline GROUP BY recipient")?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as usize))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The private messages waiting for `account`, oldest first, with their numbers.
    fn waiting_for(&self, account: &str) -> Result<Vec<(u64, StoredMessage)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, unix_secs, sender, text FROM offline WHERE recipient = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![account.to_ascii_lowercase()], |row| {
            Ok((
                row.get::<_, i64>(0)? as u64,
                StoredMessage {
                    unix_secs: row.get::<_, i64>(1)? as u64,
                    from: row.get::<_, String>(2)?.into(),
                    text: row.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A room's last `limit` posts, oldest first, without their bodies.
    fn posts(&self, key: &str, limit: usize) -> Result<Vec<StoredPost>, StoreError> {
        let sql = "SELECT id, author, unix_secs, subject FROM posts WHERE room = ?1
                   ORDER BY id DESC LIMIT ?2";
        self.last_rows(sql, key, limit, |row| {
            Ok(StoredPost {
                id: row.get::<_, i64>(0)? as u64,
                author: row.get(1)?,
                unix_secs: row.get::<_, i64>(2)? as u64,
                subject: row.get(3)?,
                body: String::new(),
            })
        })
    }

    /// Post `id` of the room `key`, body included, if the store still keeps it.
    fn post(&self, key: &str, id: u64) -> Result<Option<StoredPost>, StoreError> {
        let sql = "SELECT author, unix_secs, subject, body FROM posts WHERE room = ?1 AND id = ?2";
        let mut stmt = self.conn.prepare_cached(sql)?;
        let post = stmt
            .query_row(params![key, id as i64], |row| {
                Ok(StoredPost {
                    id,
                    author: row.get(0)?,
                    unix_secs: row.get::<_, i64>(1)? as u64,
                    subject: row.get(2)?,
                    body: row.get(3)?,
                })
            })
            .optional()?;
        Ok(post)
    }

    /// A room's last `limit` messages, oldest first.
    fn history(&self, key: &str, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        let sql = "SELECT unix_secs, sender, text FROM history WHERE room = ?1
                   ORDER BY seq DESC LIMIT ?2";
        self.last_rows(sql, key, limit, |row| {
            Ok(StoredMessage {
                unix_secs: row.get::<_, i64>(0)? as u64,
                from: row.get(1)?,
                text: row.get(2)?,
            })
        })
    }

    /// The rows of `sql` (newest first, room `?1`, `LIMIT ?2`) turned oldest first.
    fn last_rows<T>(
        &self,
        sql: &str,
        key: &str,
        limit: usize,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt
            .query_map(params![key, limit as i64], row)?
            .collect::<Result<Vec<T>, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// Applies `writes` in one transaction: all of them, or (on error) none.
    pub fn commit(&mut self, writes: &[Write]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        // Retention is applied once per room and batch, not once per write.
        let mut trim_posts: BTreeMap<String, usize> = BTreeMap::new();
        let mut trim_history: BTreeMap<String, usize> = BTreeMap::new();
        {
            let mut room_upsert = tx.prepare_cached(
                "INSERT INTO rooms (key, name, next_post_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET next_post_id = max(next_post_id, ?3)",
            )?;
            let mut post_insert = tx.prepare_cached(
                "INSERT INTO posts (room, id, author, unix_secs, subject, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut message_insert = tx.prepare_cached(
                "INSERT INTO history (room, unix_secs, sender, text) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for write in writes {
                match write {
                    Write::Post { room, post, retain } => {
                        let key = room.to_ascii_lowercase();
                        room_upsert.execute(params![key, room, post.id as i64 + 1])?;
                        post_insert.execute(params![
                            key,
                            post.id as i64,
                            post.author,
                            post.unix_secs as i64,
                            post.subject,
                            post.body
                        ])?;
                        trim_posts.insert(key, *retain);
                    }
                    Write::Message {
                        room,
                        message,
                        keep,
                    } => {
                        let key = room.to_ascii_lowercase();
                        message_insert.execute(params![
                            key,
                            message.unix_secs as i64,
                            message.from,
                            message.text
                        ])?;
                        let untrimmed = self.untrimmed.entry(key.clone()).or_default();
                        *untrimmed += 1;
                        if *untrimmed >= HISTORY_SLACK.min(*keep.max(&1) * 2) {
                            *untrimmed = 0;
                            trim_history.insert(key, *keep);
                        }
                    }
                    Write::Account { name, phc } => {
                        tx.execute(
                            "INSERT INTO accounts (key, name, phc) VALUES (?1, ?2, ?3)
                             ON CONFLICT (key) DO UPDATE SET phc = ?3",
                            params![name.to_ascii_lowercase(), name, phc],
                        )?;
                    }
                    Write::AccountRemoved { name } => {
                        let key = name.to_ascii_lowercase();
                        tx.execute("DELETE FROM offline WHERE recipient = ?1", params![key])?;
                        tx.execute("DELETE FROM accounts WHERE key = ?1", params![key])?;
                    }
                    Write::Offline { to, message } => {
                        tx.prepare_cached(
                            "INSERT INTO offline (recipient, unix_secs, sender, text)
                             VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![
                            to.to_ascii_lowercase(),
                            message.unix_secs as i64,
                            message.from,
                            message.text
                        ])?;
                    }
                    Write::OfflineDelivered { to, through } => {
                        tx.execute(
                            "DELETE FROM offline WHERE recipient = ?1 AND seq <= ?2",
                            params![to.to_ascii_lowercase(), *through as i64],
                        )?;
                    }
                    Write::RoomRemoved { room } => {
                        let key = room.to_ascii_lowercase();
                        tx.execute("DELETE FROM history WHERE room = ?1", params![key])?;
                        tx.execute("DELETE FROM posts WHERE room = ?1", params![key])?;
                        tx.execute("DELETE FROM rooms WHERE key = ?1", params![key])?;
                        trim_posts.remove(&key);
                        trim_history.remove(&key);
                        self.untrimmed.remove(&key);
                    }
                }
            }
        }
        // By count, as the board in memory keeps them: ids may have gaps.
        for (key, retain) in trim_posts {
            tx.execute(
                "DELETE FROM posts WHERE room = ?1 AND id <= (SELECT id FROM posts
                 WHERE room = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                params![key, retain as i64],
            )?;
        }
        for (key, keep) in trim_history {
            let cutoff: Option<i64> = tx
                .query_row(
                    "SELECT seq FROM history WHERE room = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2",
                    params![key, keep as i64],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(seq) = cutoff {
                tx.execute(
                    "DELETE FROM history WHERE room = ?1 AND seq <= ?2",
                    params![key, seq],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Carries out a batch of requests in order: consecutive writes are committed in
    /// one transaction (if that fails, each is tried on its own, so one bad write does
    /// not fail the others), and a read sees every write queued before it. Returns one
    /// completion per request, in order, with the client that waits for it.
    pub fn serve(
        &mut self,
        jobs: Vec<(Option<ClientId>, Request)>,
    ) -> Vec<(Option<ClientId>, Completion)> {
        let mut done = Vec::with_capacity(jobs.len());
        let mut writes = Vec::new();
        for (client, request) in jobs {
            match request {
                Request::Store(write) => writes.push((client, write)),
                Request::History { room, count } => {
                    self.commit_all(&mut writes, &mut done);
                    let read = self.history(&room.to_ascii_lowercase(), count);
                    let read = read.map(|messages| Completion::History { room, messages });
                    done.push((client, self.or_failed(read, Completion::HistoryFailed)));
                }
                Request::Post { room, id } => {
                    self.commit_all(&mut writes, &mut done);
                    let read = self.post(&room.to_ascii_lowercase(), id);
                    let read = read.map(|post| Completion::Post { room, post });
                    done.push((client, self.or_failed(read, Completion::PostFailed)));
                }
                Request::Offline { account } => {
                    self.commit_all(&mut writes, &mut done);
                    let read = self.waiting_for(&account);
                    let read = read.map(|messages| Completion::Offline { account, messages });
                    done.push((client, self.or_failed(read, Completion::OfflineFailed)));
                }
                // Password work is not the store's: whoever sent it here gets a refusal.
                request @ Request::Hash(_) => done.push((client, request.failed())),
                #[cfg(test)]
                Request::Echo(token) => {
                    self.commit_all(&mut writes, &mut done);
                    done.push((client, Completion::Echo(token)));
                }
            }
        }
        self.commit_all(&mut writes, &mut done);
        done
    }

    /// The completion of a read, or `failed` (logged) when it could not be made.
    fn or_failed(
        &mut self,
        read: Result<Completion, StoreError>,
        failed: Completion,
    ) -> Completion {
        read.unwrap_or_else(|e| {
            self.report(&e);
            failed
        })
    }

    /// Commits `writes` (emptying it) and records each one's completion.
    fn commit_all(
        &mut self,
        writes: &mut Vec<(Option<ClientId>, Write)>,
        done: &mut Vec<(Option<ClientId>, Completion)>,
    ) {
        if writes.is_empty() {
            return;
        }
        let batch: Vec<Write> = writes.iter().map(|(_, write)| write.clone()).collect();
        let together = self.commit(&batch);
        for (client, write) in writes.drain(..) {
            let result = match &together {
                Ok(()) => Ok(()),
                Err(_) if batch.len() == 1 => Err(()),
                Err(_) => self
                    .commit(std::slice::from_ref(&write))
                    .map_err(|e| self.report(&e)),
            };
            let completion = match result {
                Ok(()) => Completion::Stored(write),
                Err(()) => Completion::StoreFailed(write),
            };
            done.push((client, completion));
        }
        if let Err(e) = together {
            self.report(&e);
        }
    }

    /// Logs a failure, at most once per [`ERROR_LOG_EVERY`].
    fn report(&mut self, error: &StoreError) {
        let now = Instant::now();
        if self
            .last_report
            .is_none_or(|at| now >= at + ERROR_LOG_EVERY)
        {
            self.last_report = Some(now);
            error!("the store failed: {error}");
        }
    }

    /// Caps the database at about `bytes` (`--max-data`, through SQLite's
    /// `max_page_count`): writes past it fail as on a full disk.
    pub fn limit_size(&self, bytes: u64) -> Result<(), StoreError> {
        let page: i64 = self
            .conn
            .pragma_query_value(None, "page_size", |row| row.get(0))?;
        let pages = (bytes / page.max(1) as u64).max(1);
        self.conn
            .pragma_update(None, "max_page_count", pages as i64)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
