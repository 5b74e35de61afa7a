//! The IRC clients' side of the loop (`--protocol irc` and `mixed`): registering,
//! joining their channel, and what they do with each server line. Setup, traffic and
//! the checks are the parley clients'; only the words differ.
//!
//! An IRC client registers as soon as it is connected: there is no greeting to wait
//! for. `001` names it (it counts as admitted and named at once); then it joins its
//! group's channel (`#<prefix>r<group>`, after its creator, as a parley member waits
//! for `/create`) or, in idle and join-storm, `#lobby`; seeing its own `JOIN` there
//! sets it up. A channel the server put it in unasked (parley's gateway joins every IRC
//! user to `#lobby`) is left at once, as a parley member leaves lobby.

use crate::conn::State;
use crate::irc::{self, IrcLine};
use crate::scenario::{Meet, NONE};
use crate::wire;

use super::Driver;

impl Driver {
    /// Client `i` is connected: it registers with its name as nick.
    pub(super) fn irc_register(&mut self, i: usize) {
        let nick = format!("{}{i}", self.cfg.prefix);
        irc::write_register(&mut self.conns.clients[i].out, nick.as_bytes());
    }

    /// Client `i` joins `channel`; its own `JOIN` there will set it up.
    pub(super) fn irc_join(&mut self, i: usize, channel: &[u8]) {
        let c = &mut self.conns.clients[i];
        irc::write_channel_command(&mut c.out, b"JOIN", channel);
        c.state = State::Joining;
        self.flush(i);
    }

    /// Handles one line the server sent to IRC client `i`.
    pub(super) fn on_irc_line(&mut self, i: usize, line: &[u8], now: u64) {
        match irc::parse_line(line) {
            IrcLine::Privmsg { text, .. } => self.on_payload(i, text, now),
            IrcLine::Ping { token } => {
                irc::write_pong(&mut self.conns.clients[i].out, token);
                self.flush(i);
            }
            IrcLine::Welcome => {
                if self.admit(i, now) {
                    self.admitted(i, now);
                    self.on_named(i, now);
                }
            }
            IrcLine::Join { nick, channel } => {
                if wire::name_id(&self.setup.name_prefix, nick) == Some(i as u64) {
                    self.on_irc_self_join(i, channel, now);
                }
            }
            IrcLine::Queued { pos } => self.on_queued(i, pos, now),
            IrcLine::Error { reason } => self.on_bye(i, reason),
            IrcLine::Refused { code } => self.on_refused(i, code, "IRC"),
            IrcLine::Other => {}
        }
    }

    /// Client `i`'s own `JOIN` to `channel`: into its channel, it is set up (and, as
    /// its group's creator, lets the members who waited in); into any other, it leaves.
    fn on_irc_self_join(&mut self, i: usize, channel: &[u8], now: u64) {
        let c = &self.conns.clients[i];
        let g = c.role.group;
        let room = (g != NONE && self.plan.groups[g as usize].meet == Meet::Room).then_some(g);
        let ours = match room {
            Some(g) => {
                channel
                    .strip_prefix(b"#")
                    .and_then(|r| wire::room_id(&self.setup.name_prefix, r))
                    == Some(u64::from(g))
            }
            None => channel == irc::LOBBY,
        };
        if !ours {
            let c = &mut self.conns.clients[i];
            irc::write_channel_command(&mut c.out, b"PART", channel);
            self.flush(i);
            return;
        }
        if c.state != State::Joining {
            return;
        }
        if let Some(g) = room {
            if self.plan.groups[g as usize].members[0] as usize == i {
                self.room_exists(g as usize);
            }
        }
        self.make_ready(i, now);
    }
}
