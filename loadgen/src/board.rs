//! Bookkeeping of the board scenario: the posts each poster has awaiting their
//! `POSTED`, the ids each room handed out, the post notices each member got, and the
//! checks on them. Pure logic; the driver feeds it what it sends and reads.
//!
//! A connection's commands are answered in order, so a `POSTED` answers the oldest post
//! of its poster still awaiting one. Every room is created by the run (its name holds
//! the run's prefix), so its ids must be exactly 1, 2, 3, ... in the order the server
//! took the posts: an id can never come twice, never go down for one poster or in the
//! notices one member sees, and never exceed the posts made to the room so far.

use std::collections::VecDeque;

use crate::scenario::Plan;

/// A post awaiting its `POSTED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// When it was due (open loop) or generated (`--max`), in process-clock ns.
    pub sched: u64,
    /// When it was handed to the socket.
    pub sent: u64,
}

/// The ids a room handed out, as a bit set indexed by id.
#[derive(Debug, Default)]
struct IdSet(Vec<u64>);

impl IdSet {
    /// Adds `id`; `false` if it was already there.
    fn insert(&mut self, id: u64) -> bool {
        let (word, bit) = ((id / 64) as usize, 1u64 << (id % 64));
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let new = self.0[word] & bit == 0;
        self.0[word] |= bit;
        new
    }
}

/// The board scenario's state and findings.
#[derive(Debug, Default)]
pub struct BoardRun {
    /// Per client: its posts awaiting `POSTED`, oldest first.
    awaiting: Vec<VecDeque<Pending>>,
    /// Per client: `POSTED` lines that answered one of its posts.
    pub answered: Vec<u64>,
    /// Per client: the highest id its `POSTED` lines carried (0: none yet).
    last_posted: Vec<u64>,
    /// Per client: the highest id of the post notices it received (0: none yet).
    last_notice: Vec<u64>,
    /// Per client: post notices received.
    pub notices_to: Vec<u64>,
    /// Per room: posts made to it (handed to the sockets).
    made: Vec<u64>,
    /// Per room: the ids its `POSTED` lines carried.
    ids: Vec<IdSet>,
    /// `POSTED` lines that answered a post.
    pub posted: u64,
    /// Of those, received in the measured window.
    pub posted_window: u64,
    /// Post notices received.
    pub notices: u64,
    /// Of those, received in the measured window.
    pub notices_window: u64,
    /// `POSTED` lines that came when no post of that client awaited one.
    pub unexpected_posted: u64,
    /// `POSTED` ids the room had already handed out.
    pub repeated_ids: u64,
    /// `POSTED` ids not above the poster's previous one.
    pub ids_not_increasing: u64,
    /// Post notices whose id was not above the previous one the member saw.
    pub notice_ids_not_increasing: u64,
    /// Ids (answers or notices) beyond the number of posts made to the room.
    pub ids_out_of_range: u64,
    /// `POSTED` lines naming another room than the poster's; notices from outside the
    /// member's room, by an unknown author or by the member itself.
    pub misrouted: u64,
    /// `POSTED` or `POST` lines whose id is not a number.
    pub garbled: u64,
}

impl BoardRun {
    /// Nothing posted yet, for the clients and rooms of `plan`.
    pub fn new(plan: &Plan) -> BoardRun {
        let clients = plan.roles.len();
        let rooms = plan.groups.len();
        BoardRun {
            awaiting: vec![VecDeque::new(); clients],
            answered: vec![0; clients],
            last_posted: vec![0; clients],
            last_notice: vec![0; clients],
            notices_to: vec![0; clients],
            made: vec![0; rooms],
            ids: (0..rooms).map(|_| IdSet::default()).collect(),
            ..BoardRun::default()
        }
    }

    /// Client `client` of room `room` posted (due at `sched`, written at `sent`).
    pub fn on_sent(&mut self, client: usize, room: usize, sched: u64, sent: u64) {
        self.awaiting[client].push_back(Pending { sched, sent });
        self.made[room] += 1;
    }

    /// The last `n` posts of `client` never fully left (its connection closed): they
    /// cannot be answered.
    pub fn forget_unsent(&mut self, client: usize, room: usize, n: u64) {
        for _ in 0..n {
            if self.awaiting[client].pop_back().is_some() {
                self.made[room] -= 1;
            }
        }
    }

    /// A `POSTED` to `client` of room `room` carrying `id`, in that room when
    /// `right_room`: the post it answers, or `None` when none awaited an answer.
    pub fn on_posted(
        &mut self,
        client: usize,
        room: usize,
        id: u64,
        right_room: bool,
    ) -> Option<Pending> {
        let Some(p) = self.awaiting[client].pop_front() else {
            self.unexpected_posted += 1;
            return None;
        };
        self.posted += 1;
        self.answered[client] += 1;
        if !right_room {
            self.misrouted += 1;
        } else if id == 0 {
            self.garbled += 1;
        } else if id > self.made[room] {
            self.ids_out_of_range += 1;
        } else if !self.ids[room].insert(id) {
            self.repeated_ids += 1;
        } else if id <= self.last_posted[client] {
            self.ids_not_increasing += 1;
        }
        self.last_posted[client] = self.last_posted[client].max(id);
        Some(p)
    }

    /// A post notice to `client` of room `room` carrying `id`, from a fellow member in
    /// that room when `from_peer`.
    pub fn on_notice(&mut self, client: usize, room: usize, id: u64, from_peer: bool) {
        self.notices += 1;
        self.notices_to[client] += 1;
        if !from_peer {
            self.misrouted += 1;
        } else if id == 0 {
            self.garbled += 1;
        } else if id > self.made[room] {
            self.ids_out_of_range += 1;
        } else if id <= self.last_notice[client] {
            self.notice_ids_not_increasing += 1;
        }
        self.last_notice[client] = self.last_notice[client].max(id);
    }

    /// Posts of `client` still awaiting their `POSTED`.
    pub fn unanswered(&self, client: usize) -> u64 {
        self.awaiting[client].len() as u64
    }

    /// Post notices `client` has yet to receive: one for every answered post of the
    /// other members of its room, whose answered posts together are `room_answered`.
    pub fn notices_missing(&self, client: usize, room_answered: u64) -> u64 {
        let expected = room_answered.saturating_sub(self.answered[client]);
        expected.saturating_sub(self.notices_to[client])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Config};
    use clap::Parser;

    /// Two rooms: clients 0 and 1 in room 0, 2 and 3 in room 1.
    fn run() -> BoardRun {
        let cli = Cli::try_parse_from(["lg", "board", "--clients", "4", "--rooms", "2"]);
        BoardRun::new(&Plan::build(&Config::from_cli(cli.unwrap()).unwrap()).unwrap())
    }

    #[test]
    fn answers_match_posts_oldest_first() {
        let mut b = run();
        b.on_sent(0, 0, 10, 11);
        b.on_sent(0, 0, 20, 21);
        b.on_sent(1, 0, 30, 31);
        assert_eq!(b.on_posted(0, 0, 1, true).map(|p| p.sched), Some(10));
        assert_eq!(b.on_posted(1, 0, 2, true).map(|p| p.sent), Some(31));
        assert_eq!(b.on_posted(0, 0, 3, true).map(|p| p.sched), Some(20));
        assert_eq!(b.on_posted(0, 0, 4, true), None);
        assert_eq!((b.posted, b.unexpected_posted), (3, 1));
        assert_eq!((b.answered[0], b.unanswered(0)), (2, 0));
        assert_eq!(
            (b.repeated_ids, b.ids_not_increasing, b.ids_out_of_range),
            (0, 0, 0)
        );
    }

    #[test]
    fn repeated_falling_and_impossible_ids_are_told_apart() {
        let mut b = run();
        for _ in 0..4 {
            b.on_sent(0, 0, 0, 0);
        }
        b.on_sent(1, 0, 0, 0);
        b.on_sent(2, 1, 0, 0);
        b.on_posted(0, 0, 2, true);
        b.on_posted(0, 0, 1, true); // new to the room, but below the poster's last
        b.on_posted(1, 0, 2, true); // the room already handed out 2
        b.on_posted(0, 0, 6, true); // room 0 has had only five posts
        b.on_posted(0, 0, 0, true); // not a number
        b.on_posted(2, 1, 1, false); // the answer named another room
        assert_eq!(b.ids_not_increasing, 1);
        assert_eq!(b.repeated_ids, 1);
        assert_eq!(b.ids_out_of_range, 1);
        assert_eq!((b.garbled, b.misrouted), (1, 1));
        assert_eq!(b.posted, 6, "each still answered its post");
    }

    #[test]
    fn notices_must_rise_and_all_arrive() {
        let mut b = run();
        for _ in 0..3 {
            b.on_sent(1, 0, 0, 0);
        }
        b.on_notice(0, 0, 1, true);
        b.on_notice(0, 0, 3, true);
        b.on_notice(0, 0, 3, true);
        b.on_notice(0, 0, 2, false);
        assert_eq!((b.notice_ids_not_increasing, b.misrouted), (1, 1));
        assert_eq!(b.notices_to[0], 4);
        for id in 1..=3 {
            b.on_posted(1, 0, id, true);
        }
        b.notices_to[0] = 1;
        assert_eq!(b.notices_missing(0, 3), 2);
        assert_eq!(b.notices_missing(1, 3), 0, "nobody hears their own posts");
    }

    #[test]
    fn posts_that_never_left_are_forgotten() {
        let mut b = run();
        b.on_sent(3, 1, 1, 1);
        b.on_sent(3, 1, 2, 2);
        b.forget_unsent(3, 1, 5);
        assert_eq!(b.unanswered(3), 0);
        b.on_sent(2, 1, 0, 0);
        b.on_posted(2, 1, 2, true);
        assert_eq!(b.ids_out_of_range, 1, "only one post reached room 1");
    }
}
