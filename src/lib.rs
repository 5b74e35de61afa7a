//! parley: a chat server on one single-threaded mio poll loop.
//!
//! # Layout
//!
//! The layers, from the inside out; each uses only the ones above it in this table.
//!
//! | module | job |
//! | --- | --- |
//! | [`timers`] | deadlines that yield the poll timeout |
//! | [`calendar`] | dates from Unix time, for IRC's `server-time` and the client |
//! | [`hub`] | the sans-IO, protocol-free core: users, rooms, boards, the queue, protocol timers; typed commands in, typed events and effects out |
//! | [`codec`] | wire protocols: bytes to the core's input, events to shared bytes ([`codec::parley`] is parley's line protocol) |
//! | [`flow`] | sans-IO flow control: output limits and the pacing of senders |
//! | [`flushq`] | the connections with output to write, in a prompt and a bulk lane |
//! | [`pacing`] | sans-IO rate limits: flood control, and the pace of small writes to big fan-outs |
//! | [`outq`] | a connection's pending output, flushed with vectored writes |
//! | [`tls`] | the TLS listener's certificate and key, read at start and on SIGHUP |
//! | [`transport`] | what carries a connection's bytes (plain TCP or a TLS session) |
//! | [`handshakes`] | TLS handshakes in progress: how many, from where, until when |
//! | [`conn`] | one connection and the table of all, which carries out the core's effects |
//! | [`work`] | worker threads for work that would block the loop |
//! | [`store`] | the SQLite database: what survives a restart, written in batches |
//! | [`password`] | Argon2id hashing and checking of account passwords, run by hashing workers |
//! | [`users_file`] | the seed programs' users file (`--accounts-file`) |
//! | [`config`] | settings: every limit as a flag with a `PARLEY_*` variable |
//! | [`turns`] | how long the loop's turns take, logged when it stops |
//! | [`server`] | the poll loop: listeners, accept, read, hand input to the core, flush, timers |
//! | [`signal`] | SIGINT and SIGTERM as an event of the loop |
//! | [`limits`] | the process's open-file limit and the capacity it allows |
//!
//! The core never touches a socket, never reads a clock and knows no wire format: the
//! server passes it typed input and the time with every event, and it answers with
//! effects. That keeps the chat testable without sockets, makes every protocol a codec
//! and every kind of socket a transport, and keeps the loop free of chat logic.

pub mod calendar;
pub mod codec;
pub mod config;
pub mod conn;
pub mod flow;
pub mod flushq;
pub mod handshakes;
pub mod hashing;
pub mod hub;
pub mod limits;
pub mod outq;
pub mod pacing;
pub mod password;
pub mod server;
pub mod signal;
pub mod store;
pub mod timers;
pub mod tls;
pub mod transport;
pub mod turns;
pub mod users_file;
pub mod work;
