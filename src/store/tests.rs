//! The store against real SQLite files in a temporary folder.

use std::fs;

use super::*;

/// A fresh temporary folder (removed when dropped) and a file path in it.
fn temp_file(name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name).to_str().unwrap().to_owned();
    (dir, path)
}

fn post(id: u64, subject: &str) -> StoredPost {
    StoredPost {
        id,
        author: "al".into(),
        unix_secs: 1_700_000_000 + id,
        subject: subject.into(),
        body: format!("body of {id}"),
    }
}

fn post_write(room: &str, id: u64, retain: usize) -> Write {
    Write::Post {
        room: room.into(),
        post: post(id, &format!("s{id}")),
        retain,
    }
}

fn message_write(room: &str, n: u64, keep: usize) -> Write {
    Write::Message {
        room: room.into(),
        message: StoredMessage {
            unix_secs: n,
            from: "bo".into(),
            text: format!("line {n}"),
        },
        keep,
    }
}

#[test]
fn posts_and_their_ids_survive_a_reopen_within_retention() {
    let (_dir, path) = temp_file("p.db");
    let mut store = Store::open(&path, Sync::Normal).unwrap();
    let writes: Vec<Write> = (1..=5).map(|id| post_write("Rust", id, 3)).collect();
    store.commit(&writes).unwrap();
    drop(store);
    let mut store = Store::open(&path, Sync::Full).unwrap();
    let rooms = store.load(1000, &["lobby"]).unwrap();
    let rust = rooms
        .iter()
        .find(|r| r.name == "Rust")
        .expect("room with posts");
    let ids: Vec<u64> = rust.posts.iter().map(|p| p.id).collect();
    assert_eq!(ids, [3, 4, 5], "the last three, oldest first");
    assert_eq!(rust.next_post_id, 6, "ids go on where they stopped");
    let header = StoredPost {
        body: String::new(),
        ..post(3, "s3")
    };
    assert_eq!(rust.posts[0], header, "boards load headers only");
    let read = |store: &mut Store, id| {
        let request = Request::Post {
            room: "Rust".into(),
            id,
        };
        store.serve(vec![(None, request)]).remove(0).1
    };
    let expected = Completion::Post {
        room: "Rust".into(),
        post: Some(post(3, "s3")),
    };
    assert_eq!(read(&mut store, 3), expected, "a body is read on demand");
    let trimmed = Completion::Post {
        room: "Rust".into(),
        post: None,
    };
    assert_eq!(read(&mut store, 1), trimmed, "past retention");
    assert!(
        rooms.iter().any(|r| r.name == "lobby"),
        "the lobby always comes back"
    );
    let fewer = store.load(2, &[]).unwrap();
    assert_eq!(
        fewer[0].posts.len(),
        2,
        "loading is bounded by the retention setting"
    );
}

#[test]
fn history_keeps_the_last_messages_and_goes_with_rooms_that_do_not_come_back() {
    let (_dir, path) = temp_file("h.db");
    let mut store = Store::open(&path, Sync::Normal).unwrap();
    let mut writes: Vec<Write> = (1..=10).map(|n| message_write("lobby", n, 4)).collect();
    writes.push(message_write("gone", 1, 4));
    store.commit(&writes).unwrap();
    store.commit(&[message_write("lobby", 11, 4)]).unwrap();
    let texts: Vec<String> = store
        .history("lobby", 4)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["line 8", "line 9", "line 10", "line 11"]);
    assert_eq!(store.history("lobby", 2).unwrap().len(), 2);
    let rooms = store.load(1000, &["lobby"]).unwrap();
    assert_eq!(
        rooms.len(),
        1,
        "a room without posts does not come back: {rooms:?}"
    );
    assert!(
        store.history("gone", 10).unwrap().is_empty(),
        "its history went with it"
    );
    assert_eq!(
        store.history("lobby", 4).unwrap().len(),
        4,
        "the lobby's stays"
    );
}

#[test]
fn a_removed_room_takes_its_posts_and_history_with_it() {
    let mut store = Store::open(":memory:", Sync::Normal).unwrap();
    store
        .commit(&[post_write("r", 1, 10), message_write("r", 1, 10)])
        .unwrap();
    store
        .commit(&[Write::RoomRemoved { room: "R".into() }])
        .unwrap();
    assert!(store.load(10, &[]).unwrap().is_empty());
}

#[test]
fn memory_keeps_nothing() {
    let mut store = Store::open(":memory:", Sync::Normal).unwrap();
    store.commit(&[post_write("r", 1, 10)]).unwrap();
    drop(store);
    let mut store = Store::open(":memory:", Sync::Normal).unwrap();
    assert!(store.load(10, &[]).unwrap().is_empty());
}

#[test]
fn a_database_in_use_by_another_store_is_refused_until_that_one_closes() {
    let (_dir, path) = temp_file("chat.db");
    let mut first = Store::open(&path, Sync::Normal).unwrap();
    first.commit(&[post_write("r", 1, 10)]).unwrap();
    let err = Store::open(&path, Sync::Normal).unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{path} is in use by another parley-server (it holds {path}.lock)")
    );
    drop(first);
    let mut second = Store::open(&path, Sync::Normal).unwrap();
    assert_eq!(second.load(10, &[]).unwrap().len(), 1);
}

#[test]
fn a_database_in_a_folder_that_does_not_exist_is_refused_saying_why() {
    let (_dir, path) = temp_file("missing/chat.db");
    let err = Store::open(&path, Sync::Normal).unwrap_err();
    assert!(matches!(err, StoreError::Lock { .. }), "{err}");
    assert!(
        err.to_string().contains("No such file or directory"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_unchanged() {
    let (_dir, path) = temp_file("notes.txt");
    let text = b"alice:secret\nbob:hunter2\n".repeat(200);
    fs::write(&path, &text).unwrap();
    let err = Store::open(&path, Sync::Normal).unwrap_err();
    assert!(matches!(err, StoreError::NotParley { .. }), "{err}");
    assert_eq!(fs::read(&path).unwrap(), text);
}

#[test]
fn another_programs_database_is_refused_and_left_unchanged() {
    let (_dir, path) = temp_file("other.db");
    let other = Connection::open(&path).unwrap();
    other
        .execute_batch("CREATE TABLE accounts (name TEXT); INSERT INTO accounts VALUES ('x');")
        .unwrap();
    drop(other);
    let before = fs::read(&path).unwrap();
    let err = Store::open(&path, Sync::Normal).unwrap_err();
    assert!(matches!(err, StoreError::NotParley { .. }), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_unchanged() {
    let (_dir, path) = temp_file("newer.db");
    drop(Store::open(&path, Sync::Normal).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    let before = fs::read(&path).unwrap();
    match Store::open(&path, Sync::Normal) {
        Err(StoreError::Newer { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 1),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn a_failed_commit_changes_nothing() {
    let (_dir, path) = temp_file("full.db");
    let mut store = Store::open(&path, Sync::Normal).unwrap();
    store.commit(&[post_write("r", 1, 1000)]).unwrap();
    let pages: i64 = store
        .conn
        .pragma_query_value(None, "page_count", |row| row.get(0))
        .unwrap();
    store.limit_size(pages as u64 * 4096).unwrap();
    let big: Vec<Write> = (2..=200)
        .map(|id| Write::Post {
            room: "r".into(),
            post: StoredPost {
                body: "x".repeat(4000),
                ..post(id, "big")
            },
            retain: 1000,
        })
        .collect();
    let err = store.commit(&big).unwrap_err();
    assert!(matches!(err, StoreError::Sqlite(_)), "{err}");
    let rooms = store.load(1000, &[]).unwrap();
    assert_eq!(rooms[0].posts.len(), 1, "none of the failed batch was kept");
    assert_eq!(rooms[0].next_post_id, 2);
}

#[test]
fn a_batch_is_served_in_order_and_one_bad_write_fails_alone() {
    let mut store = Store::open(":memory:", Sync::Normal).unwrap();
    let alice = Some(ClientId::new(1, 1));
    let jobs = vec![
        (None, Request::Store(message_write("lobby", 1, 10))),
        (alice, Request::Store(post_write("r", 1, 10))),
        // The same post id again breaks the primary key: only this one fails.
        (alice, Request::Store(post_write("r", 1, 10))),
        (
            alice,
            Request::History {
                room: "LOBBY".into(),
                count: 5,
            },
        ),
    ];
    let done = store.serve(jobs);
    assert_eq!(done.len(), 4);
    assert!(matches!(done[0], (None, Completion::Stored(_))));
    assert!(matches!(done[1], (Some(_), Completion::Stored(_))));
    assert!(matches!(done[2], (Some(_), Completion::StoreFailed(_))));
    match &done[3] {
        (Some(_), Completion::History { room, messages }) => {
            assert_eq!(room, "LOBBY", "told as asked");
            assert_eq!(
                messages.len(),
                1,
                "the read sees the write queued before it"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn history_is_trimmed_to_what_rooms_keep_plus_a_bounded_slack() {
    let mut store = Store::open(":memory:", Sync::Normal).unwrap();
    for n in 0..2000 {
        store.commit(&[message_write("lobby", n, 10)]).unwrap();
    }
    let rows: i64 = store
        .conn
        .query_row("SELECT count(*) FROM history", [], |row| row.get(0))
        .unwrap();
    assert!(rows <= 10 + 20, "{rows} rows kept for 10");
    let kept = store.history("lobby", 10).unwrap();
    let last: Vec<u64> = kept.iter().map(|m| m.unix_secs).collect();
    assert_eq!(last, (1990..2000).collect::<Vec<_>>());
}

#[test]
fn retention_counts_posts_when_a_failed_post_left_a_gap() {
    let mut store = Store::open(":memory:", Sync::Normal).unwrap();
    let writes: Vec<Write> = [1, 2, 4, 5]
        .iter()
        .map(|&id| post_write("r", id, 3))
        .collect();
    store.commit(&writes).unwrap();
    let rooms = store.load(10, &[]).unwrap();
    let ids: Vec<u64> = rooms[0].posts.iter().map(|p| p.id).collect();
    assert_eq!(
        ids,
        [2, 4, 5],
        "the last three, as the board in memory keeps them"
    );
}

fn offline_write(to: &str, n: u64) -> Write {
    Write::Offline {
        to: to.into(),
        message: StoredMessage {
            unix_secs: n,
            from: "bob".into(),
            text: format!("note {n}"),
        },
    }
}

#[test]
fn accounts_and_their_waiting_messages_survive_a_reopen() {
    let (_dir, path) = temp_file("a.db");
    let mut store = Store::open(&path, Sync::Normal).unwrap();
    store
        .commit(&[
            Write::Account {
                name: "Alice".into(),
                phc: "$argon2id$first".into(),
            },
            Write::Account {
                name: "ALICE".into(),
                phc: "$argon2id$second".into(),
            },
            offline_write("alice", 1),
            offline_write("ALICE", 2),
            offline_write("carol", 3),
        ])
        .unwrap();
    drop(store);
    let store = Store::open(&path, Sync::Normal).unwrap();
    let accounts = store.load_accounts().unwrap();
    assert_eq!(
        accounts,
        [StoredAccount {
            name: "Alice".into(),
            phc: "$argon2id$second".into(),
            waiting: 2,
        }],
        "one account per name in any case, spelled as first registered, with its new hash"
    );
    assert_eq!(store.waiting_counts().unwrap().get("carol"), Some(&1));
}

#[test]
fn waiting_messages_are_read_in_order_and_deleted_up_to_the_last_delivered() {
    let (_dir, path) = temp_file("o.db");
    let mut store = Store::open(&path, Sync::Normal).unwrap();
    let read = |store: &mut Store| -> Vec<(u64, String)> {
        let done = store.serve(vec![(
            None,
            Request::Offline {
                account: "Alice".into(),
            },
        )]);
        match &done[..] {
            [(None, Completion::Offline { messages, .. })] => {
                messages.iter().map(|(n, m)| (*n, m.text.clone())).collect()
            }
            other => panic!("{other:?}"),
        }
    };
    store
        .commit(&[offline_write("alice", 1), offline_write("alice", 2)])
        .unwrap();
    let first = read(&mut store);
    assert_eq!(
        first.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
        ["note 1", "note 2"]
    );
    // One more arrives after the read: deleting through the last delivered keeps it.
    store.commit(&[offline_write("alice", 3)]).unwrap();
    let through = first.last().unwrap().0;
    store
        .commit(&[Write::OfflineDelivered {
            to: "alice".into(),
            through,
        }])
        .unwrap();
    let left = read(&mut store);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].1, "note 3");
    // Deleting the account deletes what waits for it.
    store
        .commit(&[Write::AccountRemoved {
            name: "ALICE".into(),
        }])
        .unwrap();
    assert!(read(&mut store).is_empty());
}

#[test]
fn a_database_of_schema_1_is_migrated_keeping_its_rooms() {
    let (_dir, path) = temp_file("v1.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "{}; PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;",
            schema::migration(0)
        ))
        .unwrap();
        conn.execute(
            "INSERT INTO rooms (key, name, next_post_id) VALUES ('rust', 'Rust', 7)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO posts VALUES ('rust', 6, 'al', 1, 'subject', 'body')",
            [],
        )
        .unwrap();
    }
    let mut store = Store::open(&path, Sync::Normal).unwrap();
    let rooms = store.load(10, &[]).unwrap();
    assert_eq!(rooms[0].next_post_id, 7);
    assert!(
        store.load_accounts().unwrap().is_empty(),
        "accounts table made"
    );
    let version: i64 = store
        .conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}
