//! The database's identity and its numbered migrations.
//!
//! `PRAGMA application_id` marks a parley database; `PRAGMA user_version` is its schema
//! version. Migration `n` takes a database from version `n` to `n + 1`, in one
//! transaction, so a crash leaves either version.

use rusqlite::Connection;

/// The `application_id` of a parley database: "prly" in ASCII.
pub const APPLICATION_ID: i64 = 0x7072_6c79;

/// The migrations, in order: `MIGRATIONS[n]` takes version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: rooms with posts, posts, room history.
    "CREATE TABLE rooms (
         key TEXT PRIMARY KEY,        -- the name in lowercase: names are unique ignoring case
         name TEXT NOT NULL,          -- as its creator spelled it
         next_post_id INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE posts (
         room TEXT NOT NULL,
         id INTEGER NOT NULL,
         author TEXT NOT NULL,
         unix_secs INTEGER NOT NULL,
         subject TEXT NOT NULL,
         body TEXT NOT NULL,
         PRIMARY KEY (room, id)
     ) WITHOUT ROWID;
     CREATE TABLE history (
         seq INTEGER PRIMARY KEY,
         room TEXT NOT NULL,
         unix_secs INTEGER NOT NULL,
         sender TEXT NOT NULL,
         text TEXT NOT NULL
     );
     CREATE INDEX history_by_room ON history (room, seq);",
    // 2: accounts, and private messages waiting for offline accounts.
    "CREATE TABLE accounts (
         key TEXT PRIMARY KEY,        -- the name in lowercase
         name TEXT NOT NULL,          -- as first spelled
         phc TEXT NOT NULL            -- the Argon2id hash of the password
     ) WITHOUT ROWID;
     CREATE TABLE offline (
         seq INTEGER PRIMARY KEY,
         recipient TEXT NOT NULL,     -- the account's key
         unix_secs INTEGER NOT NULL,
         sender TEXT NOT NULL,
         text TEXT NOT NULL
     );
     CREATE INDEX offline_by_recipient ON offline (recipient, seq);",
];

/// The SQL of migration `n` (from version `n` to `n + 1`), for tests of old files.
#[cfg(test)]
pub fn migration(n: usize) -> &'static str {
    MIGRATIONS[n]
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// What a file holds, judged without writing to it.
#[derive(Debug, PartialEq, Eq)]
pub enum Identity {
    /// A parley database of this schema version.
    Parley(i64),
    /// A new, empty database.
    Empty,
    /// Something else.
    Other,
}

/// Reads what the file at `conn` is.
pub fn identity(conn: &Connection) -> rusqlite::Result<Identity> {
    let application: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let objects: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    Ok(match application {
        APPLICATION_ID => Identity::Parley(version),
        0 if objects == 0 && version == 0 => Identity::Empty,
        _ => Identity::Other,
    })
}

/// Brings the schema up to [`SCHEMA_VERSION`].
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let to = n as i64 + 1;
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {to}; COMMIT;"
        ))?;
    }
    Ok(())
}
