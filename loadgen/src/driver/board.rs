//! The board scenario's side of the loop: each `POSTED` answers its poster's oldest
//! post (its latency is recorded and the poster's window moves on), each `POST` notice
//! is checked against the member's room, and the drain waits for both.

use crate::conn::State;
use crate::scenario::NONE;
use crate::wire;

use super::Driver;

impl Driver {
    /// `POSTED <room> <id>` to client `i`: the answer to its oldest post awaiting one.
    /// Its latency runs from the post's scheduled (open loop) or generation (`--max`)
    /// time, so a stalled server shows in it whatever the loadgen did meanwhile.
    pub(super) fn on_posted(&mut self, i: usize, room: &[u8], id: u64, now: u64) {
        let Some(b) = self.board.as_mut() else {
            return;
        };
        let g = self.conns.clients[i].role.group;
        if g == NONE {
            b.misrouted += 1;
            return;
        }
        let right_room = wire::room_id(&self.setup.name_prefix, room) == Some(u64::from(g));
        let Some(p) = b.on_posted(i, g as usize, id, right_room) else {
            return;
        };
        let stats = &mut self.measure.stats;
        if stats.in_window(now) {
            b.posted_window += 1;
        }
        if stats.in_window(p.sched) {
            stats.latency.saturating_record(now.saturating_sub(p.sched));
            if stats.record_sent_latency {
                stats
                    .latency_sent
                    .saturating_record(now.saturating_sub(p.sent));
            }
        }
        let c = &mut self.conns.clients[i];
        c.acked += 1;
        if c.window_full && self.window_open(i, 2) {
            // Half the window has been answered: let the poster go on.
            self.conns.clients[i].window_full = false;
            self.conns.push_again(i);
        }
    }

    /// `POST <room> <id> <author> ...` to client `i`: another member's new post.
    pub(super) fn on_post_notice(
        &mut self,
        i: usize,
        room: &[u8],
        id: u64,
        author: &[u8],
        now: u64,
    ) {
        let Some(b) = self.board.as_mut() else {
            return;
        };
        let g = self.conns.clients[i].role.group;
        let prefix = &self.setup.name_prefix;
        let from_peer = g != NONE
            && wire::room_id(prefix, room) == Some(u64::from(g))
            && wire::name_id(prefix, author).is_some_and(|a| {
                a != i as u64
                    && self
                        .plan
                        .roles
                        .get(a as usize)
                        .is_some_and(|r| r.group == g)
            });
        let room = if g == NONE { 0 } else { g as usize };
        b.on_notice(i, room, id, from_peer);
        if self.measure.stats.in_window(now) {
            b.notices_window += 1;
        }
    }

    /// Every open poster has the answers to all its posts, and every open member the
    /// notices of all the answered posts of the others in its room.
    pub(super) fn all_answered(&self) -> bool {
        let Some(b) = self.board.as_ref() else {
            return true;
        };
        let open = |m: u32| self.conns.clients[m as usize].state != State::Closed;
        self.plan.groups.iter().all(|g| {
            let room_answered: u64 = g.members.iter().map(|&m| b.answered[m as usize]).sum();
            g.members.iter().filter(|&&m| open(m)).all(|&m| {
                b.unanswered(m as usize) == 0 && b.notices_missing(m as usize, room_answered) == 0
            })
        })
    }
}
