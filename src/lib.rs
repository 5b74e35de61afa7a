//! parley: a chat server on one single-threaded mio poll loop.
//!
//! # Layout
//!
//! | module | job |
//! | --- | --- |
//! | [`config`] | settings: every limit as a flag with a `PARLEY_*` variable |
//! | [`line`] | sans-IO framing of client bytes into checked lines |
//! | [`command`] | a line to a command: words, aliases, quoting, name rules |
//! | [`reply`] | encoding of every server line, once per line, shared by recipients |
//! | [`chat`] | the sans-IO core: users, rooms, boards, the queue, protocol timers |
//! | [`timers`] | deadlines that yield the poll timeout |
//! | [`outq`] | a connection's pending output, flushed with vectored writes |
//! | [`conn`] | one connection: socket, input carry-over, output queue, readiness |
//! | [`server`] | the poll loop: accept, read, hand lines to the core, flush, timers |
//! | [`signal`] | SIGINT and SIGTERM as an event of the loop |
//! | [`limits`] | the process's open-file limit and the capacity it allows |
//!
//! The chat core never touches a socket and never reads a clock: the server passes it
//! the time with every event, and it answers by pushing lines into an
//! [`chat::Outbox`]. That keeps the protocol testable without sockets and the loop
//! free of chat logic.

pub mod chat;
pub mod command;
pub mod config;
pub mod conn;
pub mod limits;
pub mod line;
pub mod outq;
pub mod reply;
pub mod server;
pub mod signal;
pub mod timers;
