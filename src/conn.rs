//! Connections: each one's transport, codec state, input carry-over, output queue and
//! flow state, and the table that holds them all and carries out the core's effects.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use slab::Slab;

use crate::codec::{Codec, Decoder, Encoders, Line, Shared};
use crate::flow::{FlowControl, FlowState, FlowTable, Queued, SendqLimits};
use crate::flushq::{FlushMark, FlushQueue, Lane, PROMPT_FANOUT};
use crate::hub::{ClientId, Effects, Event, Reply, Request, Write};
use crate::outq::OutQueue;
use crate::pacing::{Pace, RateLimit};
use crate::transport::Transport;

/// Where a connection is in its life, as the loop sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// The transport is not ready for application data yet (a handshake); the core
    /// has not heard of the connection.
    Opening,
    /// The core knows the client.
    Open,
    /// The core is done with the client: the connection flushes what is queued, then
    /// closes. `lingering` once a deadline for that is set.
    Closing {
        /// A deadline for the flush is set.
        lingering: bool,
    },
    /// Output went over `--max-sendq`: the connection is dropped at the next
    /// opportunity. `in_hub` while the core still has to be told.
    Dropped {
        /// The core still knows the client.
        in_hub: bool,
        /// It was lingering when dropped (the loop counts lingering connections).
        lingering: bool,
    },
}

impl Lifecycle {
    /// True if a deadline for closing was set: the connection counts as lingering
    /// until it is removed.
    pub fn lingering(self) -> bool {
        matches!(
            self,
            Lifecycle::Closing { lingering: true }
                | Lifecycle::Dropped {
                    lingering: true,
                    ..
                }
        )
    }

    /// The state after output went over `--max-sendq`.
    pub fn dropped(self) -> Lifecycle {
        Lifecycle::Dropped {
            in_hub: matches!(
                self,
                Lifecycle::Open | Lifecycle::Dropped { in_hub: true, .. }
            ),
            lingering: self.lingering(),
        }
    }

    /// The state once the core has forgotten the client.
    pub fn left_hub(self) -> Lifecycle {
        match self {
            Lifecycle::Opening | Lifecycle::Open => Lifecycle::Closing { lingering: false },
            Lifecycle::Dropped { lingering, .. } => Lifecycle::Dropped {
                in_hub: false,
                lingering,
            },
            closing => closing,
        }
    }
}

/// Reply lines are handed out while a client's queued output is below this, or below
/// half of `--soft-sendq` if that is less: enough to keep a reader's socket busy, far
/// below what gets a client dropped.
pub const REPLY_CHUNK: usize = 32 * 1024;

/// What a reply's size costs in flood control: a reply counts as one line more for
/// each `line_bytes` it carries, so that pipelining costly commands cannot multiply a
/// client's output without bound.
#[derive(Debug, Clone, Copy)]
pub struct ReplyCost {
    /// Flood control's limits (`--flood-rate`, `--flood-burst`).
    pub flood: RateLimit,
    /// Bytes of reply that cost one line (`--max-line`).
    pub line_bytes: usize,
}

/// A reply to a client's own command being handed out as the client reads it.
#[derive(Debug)]
pub struct Handout {
    what: Handing,
    /// Bytes handed out so far.
    bytes: usize,
}

#[derive(Debug)]
enum Handing {
    /// Events drawn one by one.
    Events(Reply),
    /// One line, encoded already, waiting for the output before it.
    Line(Line),
}

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    /// The client's id: slab key and generation.
    pub id: ClientId,
    /// Sequential number for logs.
    pub serial: u64,
    /// The address the connection comes from.
    pub peer: IpAddr,
    /// What carries the bytes.
    pub transport: Transport,
    /// The protocol spoken.
    pub codec: Codec,
    /// Where the client's input stands in its protocol.
    pub decoder: Decoder,
    /// Input bytes read but not yet decoded: a partial line, or input held back while
    /// the client may not be read. Empty (and unallocated) for an idle client.
    pub carry: Vec<u8>,
    /// Output waiting to be written.
    pub out: OutQueue,
    /// Where the connection is in its life.
    pub lifecycle: Lifecycle,
    /// The socket took everything last time (cleared when a write would block).
    pub writable: bool,
    /// Registered for writable events as well as readable ones.
    pub write_interest: bool,
    /// Its place in the table's flush lanes.
    pub flush_mark: FlushMark,
    /// Listed for reading next turn.
    pub read_listed: bool,
    /// Flow control's state of this connection.
    pub flow: FlowState,
    /// Requests of this client whose completions have not come back: its input waits.
    pub awaiting: u32,
    /// Flood control applies (flood control is on and the peer is not trusted).
    pub paced: bool,
    /// Flood control's state.
    pub pace: Pace,
    /// Flood control holds the input back until the loop's resume timer fires.
    pub flood_held: bool,
    /// A reply being handed out; the client's input waits until it is out.
    pub handout: Option<Box<Handout>>,
    /// Its TLS handshake is in progress and counted among the loop's handshakes.
    pub handshaking: bool,
    /// When it was accepted: the read phase serves newcomers after everyone else.
    pub opened: Instant,
    /// Its input ended or its socket failed: it is read no more, and leaves the core
    /// in the loop's departures phase.
    pub leaving: Option<Leaving>,
    /// A write failed (the client closed its socket, most likely with our replies
    /// unread): nothing more is queued or written, but what it sent before is still
    /// read and handled, and it leaves when that input ends.
    pub output_lost: bool,
}

/// How a client is going, between the loop noticing and the core being told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// Its input ended: what is queued for it is flushed, then the connection closes.
    Ended,
    /// Its socket failed: nothing more is queued or written, and the connection is
    /// removed.
    Lost,
}

impl Conn {
    /// A fresh connection.
    pub fn new(
        id: ClientId,
        serial: u64,
        peer: IpAddr,
        transport: Transport,
        codec: Codec,
        max_line: usize,
        opened: Instant,
    ) -> Conn {
        Conn {
            id,
            serial,
            peer,
            transport,
            codec,
            decoder: codec.decoder(max_line),
            carry: Vec::new(),
            out: OutQueue::new(),
            lifecycle: Lifecycle::Opening,
            writable: true,
            write_interest: false,
            flush_mark: FlushMark::default(),
            read_listed: false,
            flow: FlowState::default(),
            awaiting: 0,
            output_lost: false,
            paced: false,
            pace: Pace::default(),
            flood_held: false,
            handout: None,
            handshaking: false,
            opened,
            leaving: None,
        }
    }

    /// True while the core knows this client.
    pub fn in_hub(&self) -> bool {
        matches!(
            self.lifecycle,
            Lifecycle::Open | Lifecycle::Dropped { in_hub: true, .. }
        )
    }

    /// True once the connection is being dropped for its output.
    pub fn is_dropped(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Dropped { .. })
    }

    /// True while output for this client is worth queueing: not once it is being
    /// dropped, nor once its socket failed (it may wait a few turns to leave the core,
    /// and what it collected meanwhile would count against flow control for nothing).
    pub fn takes_output(&self) -> bool {
        !self.is_dropped() && self.leaving != Some(Leaving::Lost) && !self.output_lost
    }

    /// A write failed: what is queued (a reply being handed out too) is forgotten and
    /// nothing more will be; the socket no longer counts as stuck.
    pub fn lose_output(&mut self) {
        self.output_lost = true;
        self.handout = None;
        self.out = OutQueue::new();
        self.flow.wrote();
    }

    /// True when the loop may read this client's input now.
    pub fn may_read(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Opening | Lifecycle::Open)
            && self.leaving.is_none()
            && self.awaiting == 0
            && !self.flood_held
            && self.handout.is_none()
            && self.flow.may_read()
    }

    /// Pauses the client if its own output is above `soft`, then says whether it may be
    /// read: a client that floods without reading throttles itself.
    pub fn may_read_within(&mut self, soft: usize) -> bool {
        let ready = self.ready();
        self.flow.may_read_with(ready, soft) && self.may_read()
    }

    /// Output held for the client: its queue, bookkeeping included, and what its
    /// transport holds (the plaintext inside a TLS session).
    pub fn pending(&self) -> usize {
        if self.output_lost {
            // What the transport still holds will never be written either.
            return 0;
        }
        self.out.pending() + self.transport.buffered()
    }

    /// The part of [`Conn::pending`] that may be written now. Lines held behind an
    /// IRC client's welcome wait for its input (`CAP END`), so they must not stop it
    /// from being read.
    pub fn ready(&self) -> usize {
        if self.output_lost {
            return 0;
        }
        self.out.ready() + self.transport.buffered()
    }

    /// True while output or transport bytes wait to be written.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty() || self.transport.wants_write()
    }

    /// Gives up a reply being handed out (the connection is closing): what is held
    /// behind it goes out now.
    fn abandon_reply(&mut self) {
        // Also what an IRC client's registration held back (its welcome waits for
        // `CAP END`): the closing lines must not wait behind it.
        self.handout = None;
        self.out.release();
    }
}

/// Every connection by slab key, the lists of connections with work, flow control, the
/// encoders, and the requests to run.
///
/// This is the [`Effects`] runner of the server: a delivery encodes the event once per
/// codec, appends the shared bytes to each recipient's queue and lists the recipient for
/// the flush at the end of the turn, so each connection gets one vectored write per
/// turn however many lines it received. A delivery to a congested recipient also holds
/// back the client whose input caused it (see [`crate::flow`]).
#[derive(Debug)]
pub struct ConnTable {
    /// The connections; a key is a client id's slot and a poll token.
    pub slab: Slab<Conn>,
    /// Keys with input to read next.
    pub read: Vec<usize>,
    /// Keys with output to write, in two lanes, each oldest first. A key keeps its
    /// place while more output is queued for it, so when the loop cannot write to
    /// everyone in one turn each connection still gets its turn in order.
    pub flush: FlushQueue,
    /// Connections that went over their output limit or took none of it for the write
    /// timeout, oldest first: each is marked dropped and waits to be told to its rooms.
    pub overflowed: VecDeque<ClientId>,
    /// Scratch list of the clients whose write timeout expired this turn.
    timed_out: Vec<ClientId>,
    /// Flow control over these connections.
    pub flow: FlowControl,
    /// Work the core asked for, to be handed to workers after this step: with the
    /// client that waits for it, if any.
    pub requests: Vec<(Option<ClientId>, Request)>,
    encoders: Encoders,
    /// Senders flow control released, being listed for reading (kept for its memory).
    released: Vec<ClientId>,
    /// What replies cost in flood control.
    reply_cost: ReplyCost,
    /// The first recipients of a fan-out, until its lane is known (kept for its
    /// memory).
    fanout_head: Vec<usize>,
}

impl FlowTable for Slab<Conn> {
    fn flow(&mut self, id: ClientId) -> Option<&mut FlowState> {
        conn_mut(self, id).map(|conn| &mut conn.flow)
    }
}

/// The connection `id`, if it is still the holder of its slot.
fn conn_mut(slab: &mut Slab<Conn>, id: ClientId) -> Option<&mut Conn> {
    slab.get_mut(id.slot()).filter(|conn| conn.id == id)
}

impl ConnTable {
    /// An empty table.
    pub fn new(limits: SendqLimits, reply_cost: ReplyCost, now: Instant) -> ConnTable {
        ConnTable {
            slab: Slab::new(),
            read: Vec::new(),
            flush: FlushQueue::default(),
            overflowed: VecDeque::new(),
            timed_out: Vec::new(),
            flow: FlowControl::new(limits, now),
            requests: Vec::new(),
            encoders: Encoders::new(),
            released: Vec::new(),
            reply_cost,
            fanout_head: Vec::new(),
        }
    }

    /// The connection `id`, if it is still the holder of its slot.
    pub fn get_mut(&mut self, id: ClientId) -> Option<&mut Conn> {
        conn_mut(&mut self.slab, id)
    }

    /// `event` encoded for `codec`, for any recipient.
    pub fn encode(&mut self, codec: Codec, event: &Event<'_>) -> Line {
        self.encoders.encode(codec, event)
    }

    /// The wall-clock time, for the lines that carry it.
    pub fn set_time(&mut self, unix_millis: u64) {
        self.encoders.set_time(unix_millis);
    }

    /// Names the client whose input is handled next (`None` for timers and departures,
    /// which pace nobody), and the time.
    pub fn set_sender(&mut self, sender: Option<ClientId>, now: Instant) {
        self.flow.set_sender(sender, now);
    }

    /// Queues `line` for `key` regardless of limits (the final `BYE shutdown`), giving
    /// up a reply being handed out.
    pub fn push_unlimited(&mut self, key: usize, line: &Line) {
        if let Some(conn) = self.slab.get_mut(key) {
            conn.abandon_reply();
            conn.out.push(line);
            self.flush.list(key, &mut conn.flush_mark, Lane::Prompt);
        }
    }

    /// Lists `key` for reading, once.
    pub fn list_for_read(&mut self, key: usize) {
        if let Some(conn) = self.slab.get_mut(key) {
            list(&mut self.read, key, &mut conn.read_listed);
        }
    }

    /// Lists `key` for flushing in `lane`, once.
    pub fn list_for_flush(&mut self, key: usize, lane: Lane) {
        if let Some(conn) = self.slab.get_mut(key) {
            self.flush.list(key, &mut conn.flush_mark, lane);
        }
    }

    /// Lists for reading the senders that flow control has let go.
    pub fn list_released(&mut self) {
        if !self.flow.take_released(&mut self.released) {
            return;
        }
        for &id in &self.released {
            if let Some(conn) = conn_mut(&mut self.slab, id) {
                if conn.may_read() {
                    list(&mut self.read, id.slot(), &mut conn.read_listed);
                }
            }
        }
    }

    /// Takes `key` out of the table, letting the senders it was pacing go.
    pub fn remove(&mut self, key: usize) -> Conn {
        let id = self.slab[key].id;
        self.flow.remove(&mut self.slab, id);
        self.list_released();
        self.slab.remove(key)
    }

    /// After a flush left `key` with its output at or below the soft limit: it is no
    /// longer congested and no longer paused.
    pub fn drained(&mut self, key: usize) {
        let conn = &self.slab[key];
        if !conn.flow.is_held_or_holding() {
            return;
        }
        let (id, pending, ready) = (conn.id, conn.pending(), conn.ready());
        let readable = self.flow.drained(&mut self.slab, id, pending, ready);
        // The senders it held go first, as they have waited longest.
        self.list_released();
        if readable && self.slab[key].may_read() {
            self.list_for_read(key);
        }
    }

    /// Handles stall deadlines due at `now`.
    pub fn expire_stalls(&mut self, now: Instant) {
        self.flow.expire_stalls(&mut self.slab, now);
        self.list_released();
        // Clients that took no output for the write timeout go the way of those over
        // --max-sendq, marked dropped at once: they may wait turns to be told.
        let timed_out = &mut self.timed_out;
        self.flow
            .expire_write_timeouts(&mut self.slab, now, timed_out);
        for id in timed_out.drain(..) {
            if let Some(conn) = conn_mut(&mut self.slab, id).filter(|conn| !conn.is_dropped()) {
                conn.lifecycle = conn.lifecycle.dropped();
                self.overflowed.push_back(id);
            }
        }
    }

    /// A completion for `id` came back: its input may be read again.
    pub fn completed(&mut self, id: ClientId) {
        if let Some(conn) = conn_mut(&mut self.slab, id) {
            conn.awaiting = conn.awaiting.saturating_sub(1);
            if conn.may_read() {
                list(&mut self.read, id.slot(), &mut conn.read_listed);
            }
        }
    }

    /// Hands out lines of `key`'s reply while its queue is short, at `now`. When the
    /// reply is out, the lines held behind it follow, its size is charged to flood
    /// control, and the client's input is read again.
    pub fn hand_out(&mut self, key: usize, now: Instant) {
        let below = self.reply_room();
        let Some(conn) = self.slab.get_mut(key) else {
            return;
        };
        let Some(handout) = conn.handout.as_mut() else {
            return;
        };
        let mut pushed = false;
        let mut done = false;
        // Lines held behind the reply do not count: they cannot go before it ends.
        while !done && conn.out.ready() + conn.transport.buffered() < below {
            let line = match &mut handout.what {
                Handing::Line(line) => {
                    done = true;
                    line.clone()
                }
                Handing::Events(reply) => match reply.next_event() {
                    Some(event) => self
                        .encoders
                        .encode_for(&conn.decoder, &event, &mut Shared::default())
                        .clone(),
                    None => break,
                },
            };
            handout.bytes += line.len();
            conn.out.push_reply(&line);
            pushed = true;
        }
        if let Handing::Events(reply) = &handout.what {
            done = reply.remaining() == 0;
        }
        if pushed || done {
            self.flush.list(key, &mut conn.flush_mark, Lane::Prompt);
        }
        if done {
            let bytes = handout.bytes;
            conn.handout = None;
            conn.out.release();
            self.charge(key, bytes, now);
            if self.slab[key].may_read() {
                self.list_for_read(key);
            }
        }
    }

    /// Output a client's queue may hold for reply lines to be added to it (at least a
    /// byte, so that a reply goes on however small `--soft-sendq` is).
    fn reply_room(&self) -> usize {
        REPLY_CHUNK.min(self.flow.limits().soft / 2).max(1)
    }

    /// Charges `bytes` of reply to `key`'s flood control.
    fn charge(&mut self, key: usize, bytes: usize, now: Instant) {
        let cost = self.reply_cost;
        let conn = &mut self.slab[key];
        if conn.paced {
            let lines = bytes / cost.line_bytes.max(1);
            conn.pace
                .charge(u32::try_from(lines).unwrap_or(u32::MAX), cost.flood, now);
        }
    }

    /// Starts handing out `handing` to `id`: lines from elsewhere wait behind it.
    fn begin_reply(&mut self, id: ClientId, handing: Handing) {
        let Some(conn) = conn_mut(&mut self.slab, id).filter(|conn| conn.takes_output()) else {
            return;
        };
        conn.abandon_reply();
        conn.out.hold();
        conn.handout = Some(Box::new(Handout {
            what: handing,
            bytes: 0,
        }));
        let now = self.flow.now();
        self.hand_out(id.slot(), now);
    }

    /// Appends `event` to `id`'s queue, encoded for it unless `shared` holds that
    /// encoding already, and applies the output limits. A connection that is gone or
    /// being dropped gets nothing; otherwise its key is returned, to be listed for a
    /// flush.
    fn push(&mut self, id: ClientId, event: &Event<'_>, shared: &mut Shared) -> Option<usize> {
        let conn = conn_mut(&mut self.slab, id).filter(|conn| conn.takes_output())?;
        let observed = conn.decoder.observe(event);
        if !observed.skip {
            let line = self.encoders.encode_for(&conn.decoder, event, shared);
            if !line.is_empty() {
                conn.out.push(line);
            }
        }
        if observed.hold {
            conn.out.hold();
        }
        if observed.read && conn.may_read() {
            list(&mut self.read, id.slot(), &mut conn.read_listed);
        }
        let pending = conn.pending();
        // Below the soft limit (nearly always) flow control has nothing to decide.
        if pending > self.flow.limits().soft
            && self.flow.queued(&mut self.slab, id, pending) == Queued::Overflow
        {
            let conn = &mut self.slab[id.slot()];
            conn.lifecycle = conn.lifecycle.dropped();
            self.overflowed.push_back(id);
        }
        Some(id.slot())
    }
}

/// Appends `key` to a work list unless `listed` says it is already there.
fn list(list: &mut impl Extend<usize>, key: usize, listed: &mut bool) {
    if !*listed {
        *listed = true;
        list.extend([key]);
    }
}

impl Effects for ConnTable {
    fn send(&mut self, to: ClientId, event: &Event<'_>) {
        if let Some(key) = self.push(to, event, &mut Default::default()) {
            self.list_for_flush(key, Lane::Prompt);
        }
    }

    fn send_each(&mut self, to: impl IntoIterator<Item = ClientId>, event: &Event<'_>) {
        let mut encoded = Default::default();
        // The lane depends on the number of recipients, known once past the first
        // PROMPT_FANOUT: those wait here until then.
        let mut head = std::mem::take(&mut self.fanout_head);
        let mut bulk = false;
        for id in to {
            let Some(key) = self.push(id, event, &mut encoded) else {
                continue;
            };
            if bulk {
                self.list_for_flush(key, Lane::Bulk);
            } else if head.len() < PROMPT_FANOUT {
                head.push(key);
            } else {
                bulk = true;
                for key in head.drain(..).chain([key]) {
                    self.list_for_flush(key, Lane::Bulk);
                }
            }
        }
        for key in head.drain(..) {
            self.list_for_flush(key, Lane::Prompt);
        }
        self.fanout_head = head;
    }

    fn reply(&mut self, to: ClientId, reply: Reply) {
        self.begin_reply(to, Handing::Events(reply));
    }

    fn reply_line(&mut self, to: ClientId, event: &Event<'_>) {
        let room = self.reply_room();
        let Some(conn) = conn_mut(&mut self.slab, to).filter(|conn| conn.takes_output()) else {
            return;
        };
        let line = self
            .encoders
            .encode_for(&conn.decoder, event, &mut Shared::default())
            .clone();
        if conn.handout.is_none() && conn.pending() + line.len() <= room {
            // Nearly always: room for it now, so it needs no hand-out.
            conn.out.push_reply(&line);
            self.flush
                .list(to.slot(), &mut conn.flush_mark, Lane::Prompt);
            let now = self.flow.now();
            self.charge(to.slot(), line.len(), now);
        } else {
            self.begin_reply(to, Handing::Line(line));
        }
    }

    fn close(&mut self, client: ClientId) {
        if let Some(conn) = conn_mut(&mut self.slab, client) {
            conn.abandon_reply();
            conn.lifecycle = conn.lifecycle.left_hub();
            self.flush
                .list(client.slot(), &mut conn.flush_mark, Lane::Prompt);
        }
    }

    fn request(&mut self, client: ClientId, request: Request) {
        if let Some(conn) = conn_mut(&mut self.slab, client) {
            conn.awaiting += 1;
        }
        // Carried out even for a connection that is gone: the core counts on every
        // request's completion coming back (it holds names and counts until then).
        self.requests.push((Some(client), request));
    }

    fn persist(&mut self, write: Write) {
        self.requests.push((None, Request::Store(write)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::SendqLimits;
    use std::net::{TcpListener, TcpStream as StdStream};
    use std::time::Duration;

    /// A table with `count` open parley connections over loopback sockets (the table
    /// never touches them: nothing here reads or writes).
    fn table(count: usize) -> (ConnTable, Vec<ClientId>, Vec<StdStream>) {
        table_of(&vec![Codec::Parley; count])
    }

    /// A table with one open connection per codec of `codecs`.
    fn table_of(codecs: &[Codec]) -> (ConnTable, Vec<ClientId>, Vec<StdStream>) {
        let limits = SendqLimits {
            max: 1 << 20,
            total: 0,
            soft: 1 << 16,
            write_timeout: Duration::from_secs(60),
            stall: Duration::from_secs(1),
        };
        let cost = ReplyCost {
            flood: RateLimit { rate: 0, burst: 0 },
            line_bytes: 4096,
        };
        let mut table = ConnTable::new(limits, cost, Instant::now());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peers = Vec::new();
        let mut ids = Vec::new();
        for (n, &codec) in codecs.iter().enumerate() {
            peers.push(StdStream::connect(listener.local_addr().unwrap()).unwrap());
            let (socket, _) = listener.accept().unwrap();
            let socket = mio::net::TcpStream::from_std(socket);
            let entry = table.slab.vacant_entry();
            let id = ClientId::new(entry.key(), n as u32 + 1);
            let transport = Transport::Plain(socket);
            let mut conn = Conn::new(
                id,
                n as u64,
                IpAddr::from([127, 0, 0, 1]),
                transport,
                codec,
                4096,
                Instant::now(),
            );
            conn.lifecycle = Lifecycle::Open;
            entry.insert(conn);
            ids.push(id);
        }
        (table, ids, peers)
    }

    /// The first line queued for each connection, in slab order.
    fn first_lines(table: &mut ConnTable) -> Vec<Line> {
        table
            .slab
            .iter_mut()
            .map(|(_, conn)| conn.out.discard_all().remove(0))
            .collect()
    }

    /// A room message from `al` to lobby.
    const HI: Event<'static> = Event::Msg {
        room: "lobby",
        from: "al",
        text: "hi",
        notice: false,
    };

    #[test]
    fn a_fan_out_is_encoded_once_and_shared() {
        let (mut table, ids, _peers) = table(3);
        table.send_each(ids.iter().copied(), &HI);
        let queued = first_lines(&mut table);
        assert_eq!(&queued[0][..], b"MSG lobby al hi\n");
        assert!(queued.windows(2).all(|w| w[0].shares_bytes_with(&w[1])));
    }

    #[test]
    fn a_mixed_fan_out_is_one_encoding_per_protocol_and_irc_form() {
        use Codec::{Irc, Parley};
        let (mut table, ids, _peers) = table_of(&[Parley, Irc, Parley, Irc, Irc]);
        // The last IRC client asked for server-time: its lines carry a tag.
        let mut cap = b"CAP REQ :server-time\r\n".to_vec();
        table.slab[4].decoder.next(&mut cap);
        table.set_time(0);
        table.send_each(ids.iter().copied(), &HI);
        let queued = first_lines(&mut table);
        assert_eq!(&queued[0][..], b"MSG lobby al hi\n");
        assert_eq!(&queued[1][..], b":al!al@parley PRIVMSG #lobby :hi\r\n");
        assert_eq!(
            &queued[4][..],
            b"@time=1970-01-01T00:00:00.000Z :al!al@parley PRIVMSG #lobby :hi\r\n"
        );
        assert!(queued[0].shares_bytes_with(&queued[2]));
        assert!(queued[1].shares_bytes_with(&queued[3]));
    }

    #[test]
    fn a_client_awaiting_work_is_not_read_until_it_completes() {
        let (mut table, ids, _peers) = table(1);
        assert!(table.slab[0].may_read());
        table.request(ids[0], Request::Echo(1));
        assert!(
            !table.slab[0].may_read(),
            "later input waits for the completion"
        );
        table.completed(ids[0]);
        assert!(table.slab[0].may_read());
        assert_eq!(table.read, [0], "listed for reading again");
    }

    #[test]
    fn lifecycle_transitions_keep_what_the_loop_counts() {
        let lingering = Lifecycle::Closing { lingering: true };
        assert!(
            lingering.dropped().lingering(),
            "a drop keeps a lingering close counted"
        );
        assert_eq!(
            Lifecycle::Open.dropped(),
            Lifecycle::Dropped {
                in_hub: true,
                lingering: false
            }
        );
        assert_eq!(
            Lifecycle::Open.dropped().left_hub(),
            Lifecycle::Dropped {
                in_hub: false,
                lingering: false
            }
        );
        assert_eq!(
            Lifecycle::Opening.left_hub(),
            Lifecycle::Closing { lingering: false },
            "a connection lost before its transport was ready still closes"
        );
        assert_eq!(lingering.left_hub(), lingering);
    }

    #[test]
    fn effects_for_a_departed_client_reach_nobody() {
        let (mut table, ids, _peers) = table(1);
        let stale = ClientId::new(ids[0].slot(), ids[0].generation() + 1);
        table.send(stale, &Event::Hello);
        table.close(stale);
        assert!(table.slab[0].out.is_empty());
        assert_eq!(table.slab[0].lifecycle, Lifecycle::Open);
    }
}
