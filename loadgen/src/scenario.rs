//! Who does what in each scenario: the groups clients are put in (a room, lobby, or a
//! private pair), which members send (or post), which never read, which are accounts
//! (login storm) or attackers (abuse), which speak IRC (`--protocol irc` or `mixed`),
//! and the order of the open-loop send schedule.
//! The event loop in `driver` is shared; only this plan differs.

use crate::args::{Config, Kind, Protocol};
use crate::error::Error;

/// Marks "none" in the compact per-client index fields.
pub const NONE: u32 = u32::MAX;

/// Where a group's members hear each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meet {
    /// A room of its own, which its first member creates; everyone then leaves lobby.
    Room,
    /// Lobby, where every named client lands (abuse: the attackers are there too).
    Lobby,
    /// Private messages to a partner.
    Private,
}

/// A set of clients that hear each other: the members of one room, or a private pair.
#[derive(Debug, Clone)]
pub struct Group {
    /// Member client indices; the first one creates the room.
    pub members: Vec<u32>,
    /// Sending client indices by slot; a message's slot is the receiver's array index.
    pub senders: Vec<u32>,
    /// Where they meet.
    pub meet: Meet,
}

/// One client's part in the scenario.
#[derive(Debug, Clone, Copy)]
pub struct Role {
    /// Its group, or [`NONE`].
    pub group: u32,
    /// Its sender slot in that group, or [`NONE`] when it does not send.
    pub slot: u32,
    /// It stops reading once traffic starts (slow scenario).
    pub stuck: bool,
    /// It registers an account during setup and logs in to it in the storm (login
    /// storm); it is in no group.
    pub account: bool,
    /// It attacks the server, from the attack's start on (abuse); it is in no group and
    /// not set up with the others.
    pub attacker: bool,
    /// It speaks IRC rather than parley's protocol.
    pub irc: bool,
}

/// The whole cast of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// All groups.
    pub groups: Vec<Group>,
    /// Per client.
    pub roles: Vec<Role>,
    /// Sending clients interleaved across groups: open-loop message k is sent by
    /// `schedule[k % len]`, which spreads the total rate evenly over all senders.
    pub schedule: Vec<u32>,
    /// Senders post to their room's board (board scenario): each post is answered to
    /// its poster (`POSTED`), so what a sender has in flight is counted against those
    /// answers, not against deliveries to the members.
    pub board: bool,
}

impl Plan {
    /// Builds the plan for `cfg`.
    pub fn build(cfg: &Config) -> Result<Plan, Error> {
        let mut n = cfg.clients;
        let usage = |m: &str| Err(Error::Usage(m.into()));
        let mut groups = Vec::new();
        let mut stuck = vec![false; n];
        let mut accounts = 0..0;
        let mut attackers = 0..0;
        match cfg.kind {
            Kind::JoinStorm | Kind::Idle | Kind::Queue => {}
            Kind::Fanout | Kind::Slow => {
                if n < 2 {
                    return usage("this scenario needs at least 2 clients");
                }
                let senders = cfg.senders.unwrap_or(10.min(n - 1));
                let n_stuck = if cfg.kind == Kind::Slow {
                    (cfg.stuck * n as f64).floor() as usize
                } else {
                    0
                };
                if senders + n_stuck > n || senders >= n {
                    return usage(
                        "--senders (plus the stuck members) must leave at least one other member",
                    );
                }
                // Stuck members are the last ones and never send: they would stop
                // reading, not writing, but a sender dropped by the server would make
                // its messages' loss ambiguous.
                for s in stuck.iter_mut().skip(n - n_stuck) {
                    *s = true;
                }
                groups.push(Group {
                    members: (0..n as u32).collect(),
                    senders: (0..senders as u32).collect(),
                    meet: Meet::Room,
                });
            }
            Kind::Rooms => {
                let k = cfg.room_size;
                if n < k {
                    return usage("--clients must be at least --room-size");
                }
                let full = n / k;
                let per_room = cfg.senders.unwrap_or(k);
                let mut start = 0usize;
                for g in 0..full {
                    // A remainder of one client joins the last room; more make a room.
                    let end = if g + 1 == full && n - (start + k) == 1 {
                        n
                    } else {
                        start + k
                    };
                    groups.push(room_group(start, end, per_room));
                    start = end;
                }
                if start < n {
                    groups.push(room_group(start, n, per_room));
                }
            }
            Kind::Board => {
                // Config checked 1 <= rooms <= clients: no room is empty, and sizes
                // differ by at most one.
                let rooms = cfg.rooms;
                for g in 0..rooms {
                    let (start, end) = (g * n / rooms, (g + 1) * n / rooms);
                    groups.push(room_group(start, end, end - start));
                }
            }
            Kind::LoginStorm => {
                // The bystanders come first and talk in a room of their own: in lobby,
                // every login's JOIN would reach them and each of their messages would
                // go to every account logged in so far, so the storm would also measure
                // a lobby growing by --clients members. In a room of their own the only
                // difference between the baseline and the storm is the logins.
                // --clients counts the accounts, which follow them.
                let b = cfg.bystanders;
                groups.push(room_group(0, b, b));
                accounts = b..b + n;
                n += b;
                stuck = vec![false; n];
            }
            Kind::Abuse => {
                // The bystanders chat in lobby, where the attacks that go through
                // lobby (its board, its non-reading members, its floods) reach them,
                // or with --bystanders-room in a room of their own.
                // After them comes the attack's helper, if it has one (the victim of
                // a big listing, the chatter the non-readers do not read), then
                // --clients attackers, who connect only when the attack begins.
                let b = cfg.bystanders;
                let helpers = cfg
                    .abuse
                    .as_ref()
                    .and_then(|a| a.attack.helper())
                    .map_or(0, |_| 1);
                let mut chat = room_group(0, b, b);
                if !cfg.abuse.as_ref().is_some_and(|a| a.bystanders_room) {
                    chat.meet = Meet::Lobby;
                }
                groups.push(chat);
                attackers = b + helpers..b + helpers + n;
                n += b + helpers;
                stuck = vec![false; n];
            }
            Kind::Private => {
                if n < 2 || n & 1 != 0 {
                    return usage("private needs an even number of clients (pairs)");
                }
                let senders = cfg.senders.unwrap_or(n).min(n) as u32;
                for i in (0..n as u32).step_by(2) {
                    groups.push(Group {
                        members: vec![i, i + 1],
                        senders: [i, i + 1].into_iter().filter(|&c| c < senders).collect(),
                        meet: Meet::Private,
                    });
                }
            }
        }
        let mut roles = vec![
            Role {
                group: NONE,
                slot: NONE,
                stuck: false,
                account: false,
                attacker: false,
                irc: false,
            };
            n
        ];
        // Mixed: every other client speaks IRC, so that both kinds send and receive,
        // and the first member of each group, who creates its room, speaks parley.
        for (i, r) in roles.iter_mut().enumerate() {
            r.irc = match cfg.protocol {
                Protocol::Parley => false,
                Protocol::Irc => true,
                Protocol::Mixed => i % 2 == 1,
            };
        }
        for r in &mut roles[accounts] {
            r.account = true;
        }
        for r in &mut roles[attackers] {
            r.attacker = true;
        }
        for (gi, g) in groups.iter().enumerate() {
            for &m in &g.members {
                roles[m as usize].group = gi as u32;
                roles[m as usize].stuck = stuck[m as usize];
            }
            for (slot, &s) in g.senders.iter().enumerate() {
                roles[s as usize].slot = slot as u32;
            }
        }
        let widest = groups.iter().map(|g| g.senders.len()).max().unwrap_or(0);
        let mut schedule = Vec::new();
        for slot in 0..widest {
            for g in &groups {
                if let Some(&s) = g.senders.get(slot) {
                    schedule.push(s);
                }
            }
        }
        if cfg.kind.sends() && schedule.is_empty() {
            return usage("nobody would send: check --senders");
        }
        Ok(Plan {
            groups,
            roles,
            schedule,
            board: cfg.kind == Kind::Board,
        })
    }

    /// Members that read and are checked (not stuck).
    pub fn readers(&self) -> usize {
        self.groups
            .iter()
            .flat_map(|g| &g.members)
            .filter(|&&m| !self.roles[m as usize].stuck)
            .count()
    }

    /// Clients that are accounts (login storm).
    pub fn accounts(&self) -> usize {
        self.roles.iter().filter(|r| r.account).count()
    }

    /// Clients that speak IRC.
    pub fn irc_clients(&self) -> usize {
        self.roles.iter().filter(|r| r.irc).count()
    }

    /// Members that never read.
    pub fn stuck(&self) -> usize {
        self.roles.iter().filter(|r| r.stuck).count()
    }

    /// Index of the first attacker (abuse), or the number of clients when none: the
    /// attackers are the last clients, and setup is over for the ones before them.
    pub fn first_attacker(&self) -> usize {
        self.roles
            .iter()
            .position(|r| r.attacker)
            .unwrap_or(self.roles.len())
    }
}

/// The name of group `g`'s room in a run whose names begin with `prefix`.
pub fn room_name(prefix: &str, g: usize) -> String {
    format!("{prefix}r{g}")
}

fn room_group(start: usize, end: usize, senders: usize) -> Group {
    let members: Vec<u32> = (start as u32..end as u32).collect();
    let senders = members.iter().copied().take(senders).collect();
    Group {
        members,
        senders,
        meet: Meet::Room,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Config};
    use clap::Parser;

    fn plan(args: &[&str]) -> Result<Plan, Error> {
        let mut v = vec!["parley-loadgen"];
        v.extend_from_slice(args);
        Plan::build(&Config::from_cli(Cli::try_parse_from(v).unwrap())?)
    }

    #[test]
    fn fanout_is_one_room_with_senders_first() {
        let p = plan(&["fanout", "--clients", "20", "--senders", "3"]).unwrap();
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.groups[0].members.len(), 20);
        assert_eq!(p.groups[0].senders, vec![0, 1, 2]);
        assert_eq!(p.roles[2].slot, 2);
        assert_eq!(p.roles[3].slot, NONE);
        assert_eq!(p.schedule, vec![0, 1, 2]);
    }

    #[test]
    fn rooms_split_and_interleave() {
        let p = plan(&[
            "rooms",
            "--clients",
            "21",
            "--room-size",
            "5",
            "--senders",
            "2",
        ])
        .unwrap();
        assert_eq!(p.groups.len(), 4);
        assert_eq!(p.groups[3].members.len(), 6);
        assert_eq!(p.schedule, vec![0, 5, 10, 15, 1, 6, 11, 16]);
        let p = plan(&["rooms", "--clients", "12", "--room-size", "5"]).unwrap();
        assert_eq!(p.groups.len(), 3);
        assert_eq!(p.groups[2].members, vec![10, 11]);
    }

    #[test]
    fn private_pairs() {
        let p = plan(&["private", "--clients", "6", "--senders", "3"]).unwrap();
        assert_eq!(p.groups.len(), 3);
        assert_eq!(p.groups[1].members, vec![2, 3]);
        assert_eq!(p.groups[1].senders, vec![2]);
        assert!(plan(&["private", "--clients", "5"]).is_err());
    }

    #[test]
    fn board_spreads_every_client_as_a_poster_over_the_rooms() {
        let p = plan(&["board", "--clients", "11", "--rooms", "3"]).unwrap();
        assert!(p.board);
        let sizes: Vec<usize> = p.groups.iter().map(|g| g.members.len()).collect();
        assert_eq!(sizes, vec![3, 4, 4]);
        assert!(p
            .groups
            .iter()
            .all(|g| g.meet == Meet::Room && g.senders == g.members));
        assert_eq!(p.schedule.len(), 11);
        assert_eq!(&p.schedule[..4], &[0, 3, 7, 1]);
        assert!(!plan(&["rooms", "--clients", "10"]).unwrap().board);
    }

    #[test]
    fn login_storm_puts_the_bystanders_first_in_a_room_and_the_accounts_after() {
        let p = plan(&["login-storm", "--clients", "5", "--bystanders", "3"]).unwrap();
        assert_eq!(p.roles.len(), 8);
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.groups[0].meet, Meet::Room);
        assert_eq!(p.groups[0].members, vec![0, 1, 2]);
        assert_eq!(p.schedule, vec![0, 1, 2]);
        assert_eq!(p.accounts(), 5);
        assert!(p.roles[3..].iter().all(|r| r.account && r.group == NONE));
        assert!(p.roles[..3].iter().all(|r| !r.account && r.slot != NONE));
        assert_eq!(p.readers(), 3);
        assert!(!p.board);
    }

    #[test]
    fn abuse_puts_the_bystanders_in_lobby_then_the_helper_then_the_attackers() {
        let p = plan(&[
            "abuse",
            "--attack",
            "big-list",
            "--attackers",
            "4",
            "--bystanders",
            "3",
        ])
        .unwrap();
        assert_eq!(p.roles.len(), 8);
        assert_eq!(p.groups[0].meet, Meet::Lobby);
        assert_eq!(p.groups[0].members, vec![0, 1, 2]);
        assert_eq!(p.schedule, vec![0, 1, 2]);
        assert_eq!(p.first_attacker(), 4, "the victim is client 3");
        assert!(p.roles[4..].iter().all(|r| r.attacker && r.group == NONE));
        assert_eq!(p.roles[3].group, NONE);
        assert_eq!(p.readers(), 3);
        let p = plan(&["abuse", "--attack", "flood", "--bystanders", "2"]).unwrap();
        assert_eq!((p.roles.len(), p.first_attacker()), (3, 2), "no helper");
        assert_eq!(plan(&["fanout"]).unwrap().first_attacker(), 100);
    }

    #[test]
    fn mixed_makes_every_other_client_an_irc_one() {
        let args = ["fanout", "--clients", "7", "--senders", "4"];
        let p = plan(
            &[
                &args[..],
                &["--protocol", "mixed", "--irc-addr", "127.0.0.1:6667"],
            ]
            .concat(),
        )
        .unwrap();
        let irc: Vec<bool> = p.roles.iter().map(|r| r.irc).collect();
        assert_eq!(irc, [false, true, false, true, false, true, false]);
        assert_eq!(p.irc_clients(), 3);
        // The room's creator speaks parley; both kinds send.
        assert!(!p.roles[p.groups[0].members[0] as usize].irc);
        assert_eq!(p.groups[0].senders, vec![0, 1, 2, 3]);
        let p = plan(&[&args[..], &["--protocol", "irc"]].concat()).unwrap();
        assert_eq!(p.irc_clients(), 7);
        assert_eq!(plan(&args).unwrap().irc_clients(), 0);
    }

    #[test]
    fn slow_marks_the_last_members_stuck() {
        let p = plan(&["slow", "--clients", "100", "--senders", "10"]).unwrap();
        assert_eq!(p.stuck(), 10);
        assert!(p.roles[99].stuck && !p.roles[89].stuck);
        assert_eq!(p.readers(), 90);
    }
}
