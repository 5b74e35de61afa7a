//! Names and rooms: naming, user and room lists, creating, joining and leaving rooms.

use std::sync::Arc;

use log::{debug, info};

use super::address::AddressKey;
use super::names::Folded;
use super::quota::Owner;
use super::rooms::RoomId;
use super::session::{Me, Membership, Phase, User};
use super::{ClientId, Effects, ErrorCode, Event, Handled, Hub, LeaveReason, UsersOf, Write};

impl Hub {
    /// `/name`: names an admitted client and puts it in the lobby.
    pub(super) fn name(&mut self, client: ClientId, name: &str, out: &mut impl Effects) -> Handled {
        let key = Folded::new(name).ok_or(ErrorCode::BadName)?;
        self.check_free_name(&key)?;
        self.take_name(client, name.into(), false, out);
        Ok(())
    }

    /// Gives `client` the free name `name` (logged in to its account when `account`),
    /// and puts it in the lobby.
    pub(super) fn take_name(
        &mut self,
        client: ClientId,
        name: Arc<str>,
        account: bool,
        out: &mut impl Effects,
    ) {
        let Some(key) = Folded::new(&name) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(client) else {
            return;
        };
        self.names.insert(key.as_str().into(), client);
        session.phase = Phase::Named(User {
            name: Arc::clone(&name),
            joined: Vec::new(),
            account,
            catching_up: false,
        });
        if account {
            info!("#{} logged in as {name}", session.serial);
        } else {
            info!("#{} is now {name}", session.serial);
        }
        let users = self.names.len();
        out.send(client, &Event::Welcome { name: &name, users });
        let lobby = self.rooms.lobby();
        self.join(&Me { id: client, name }, lobby, out);
    }

    /// `/users`: the names in a room, or everyone's.
    pub(super) fn users(&self, me: &Me, which: UsersOf<'_>, out: &mut impl Effects) -> Handled {
        let limit = self.limits.list_limit;
        let sessions = &self.sessions;
        match which {
            UsersOf::Everyone => {
                let names: Vec<&str> = self
                    .names
                    .values()
                    .take(limit)
                    .filter_map(|&c| sessions.name_of(c))
                    .collect();
                let count = self.names.len();
                out.reply_line(
                    me.id,
                    &Event::Users {
                        room: "*",
                        count,
                        names: &names,
                    },
                );
            }
            UsersOf::One(name) => {
                let found = self.find_user(&name).ok().and_then(|c| sessions.name_of(c));
                out.reply_line(
                    me.id,
                    &Event::Users {
                        room: "*",
                        count: self.names.len(),
                        names: found.as_slice(),
                    },
                );
            }
            UsersOf::Current | UsersOf::Room(_) | UsersOf::Members(_) => {
                let (room, ordered) = match which {
                    UsersOf::Room(name) => (self.find_room(&name)?, true),
                    UsersOf::Members(name) => (self.find_room(&name)?, false),
                    _ => (self.current_room(me.id)?, true),
                };
                let room = &self.rooms[room];
                let members = room.members.iter().filter_map(|&c| sessions.name_of(c));
                let names: Vec<&str> = if ordered {
                    let mut names = members.collect();
                    first_in_list_order(&mut names, limit);
                    names
                } else {
                    members.take(limit).collect()
                };
                out.reply_line(
                    me.id,
                    &Event::Users {
                        room: &room.name,
                        count: room.members.len(),
                        names: &names,
                    },
                );
            }
        }
        Ok(())
    }

    /// `/rooms`: every room with its member count.
    pub(super) fn list_rooms(&self, me: &Me, out: &mut impl Effects) {
        let rooms: Vec<(&str, usize)> = self
            .rooms
            .in_order()
            .take(self.limits.list_limit)
            .map(|room| (&*room.name, room.members.len()))
            .collect();
        let count = self.rooms.len();
        out.reply_line(
            me.id,
            &Event::Rooms {
                count,
                rooms: &rooms,
            },
        );
    }

    /// `/create`: a new room, joined by its creator.
    pub(super) fn create(&mut self, me: &Me, name: &str, out: &mut impl Effects) -> Handled {
        if self.rooms.find(name).is_some() {
            return Err(ErrorCode::RoomExists.into());
        }
        if self.rooms.len() >= self.limits.max_rooms {
            return Err(ErrorCode::LimitReached.into());
        }
        self.check_can_join(me)?;
        let owner = self.owner(me.id);
        if let Some(owner) = &owner {
            if !self.created.may_create(owner, self.limits.max_created) {
                return Err(ErrorCode::LimitReached.into());
            }
        }
        let room = self.rooms.create(name);
        if let Some(owner) = owner {
            self.created.add(owner.clone());
            self.rooms[room].creator = Some(owner);
        }
        debug!("room {name} created");
        self.join(me, room, out);
        Ok(())
    }

    /// Removes `room` if unused (as `Rooms::remove_if_unused` says); its creator may then
    /// create another. Returns whether it went.
    pub(super) fn remove_room_if_unused(&mut self, room: RoomId) -> bool {
        let Some(removed) = self.rooms.remove_if_unused(room) else {
            return false;
        };
        if let Some(creator) = &removed.creator {
            self.created.release(creator);
        }
        true
    }

    /// Who `client`'s rooms and posts count for: its account if logged in, else its
    /// address; nobody if its address is trusted.
    pub(super) fn owner(&self, client: ClientId) -> Option<Owner> {
        let session = self.sessions.get(client)?;
        if self.limits.trusted.contains(session.address) {
            return None;
        }
        match &session.phase {
            Phase::Named(user) if user.account => {
                Some(Owner::Account(Folded::new(&user.name)?.as_str().into()))
            }
            _ => Some(Owner::Address(AddressKey::of(session.address))),
        }
    }

    pub(super) fn check_can_join(&self, me: &Me) -> Handled {
        if self.sessions.joined(me.id).len() >= self.limits.max_joined {
            Err(ErrorCode::LimitReached.into())
        } else {
            Ok(())
        }
    }

    /// Puts `me` in a room and announces it.
    pub(super) fn join(&mut self, me: &Me, room_id: RoomId, out: &mut impl Effects) {
        let Some(user) = self.sessions.user_mut(me.id) else {
            return;
        };
        let room = &mut self.rooms[room_id];
        user.joined.push(Membership {
            room: room_id,
            slot: room.members.len(),
            first_visible: room.board.first_visible_on_join(self.limits.board_backlog),
        });
        room.members.push(me.id);
        let event = Event::Join {
            room: &room.name,
            name: &me.name,
        };
        if room.members.len() <= self.limits.announce_limit {
            out.send_each(room.members.iter().copied(), &event);
        } else {
            out.send(me.id, &event);
        }
    }

    /// `/leave`.
    pub(super) fn leave(&mut self, me: &Me, room: RoomId, out: &mut impl Effects) -> Handled {
        let user = self.sessions.user_mut(me.id).ok_or(ErrorCode::NotInRoom)?;
        let index = user
            .joined
            .iter()
            .position(|m| m.room == room)
            .ok_or(ErrorCode::NotInRoom)?;
        let membership = user.joined.remove(index);
        self.part(me.id, &me.name, membership, LeaveReason::Left, "", out);
        Ok(())
    }

    /// Takes `who` out of a room and tells whoever should hear of it.
    pub(super) fn part(
        &mut self,
        who: ClientId,
        name: &str,
        membership: Membership,
        reason: LeaveReason,
        text: &str,
        out: &mut impl Effects,
    ) {
        let room_id = membership.room;
        let announce = self.rooms[room_id].members.len() <= self.limits.announce_limit;
        self.remove_member(room_id, membership.slot);
        let room = &self.rooms[room_id];
        let event = Event::Leave {
            room: &room.name,
            name,
            reason,
            text: if reason == LeaveReason::Quit {
                text
            } else {
                ""
            },
        };
        // Someone who left on purpose hears of it first; the room, unless too big.
        let leaver = (reason == LeaveReason::Left).then_some(who);
        let members = if announce { &room.members[..] } else { &[] };
        out.send_each(leaver.into_iter().chain(members.iter().copied()), &event);
        let name = Arc::clone(&room.name);
        if self.remove_room_if_unused(room_id) {
            debug!("room {name} removed: its last member left and its board is empty");
            if self.limits.history > 0 {
                out.persist(Write::RoomRemoved { room: name });
            }
        }
    }

    fn remove_member(&mut self, room: RoomId, slot: usize) {
        let members = &mut self.rooms[room].members;
        members.swap_remove(slot);
        if let Some(&moved) = members.get(slot) {
            let moved = self.sessions.user_mut(moved).into_iter();
            for m in moved.flat_map(|user| user.joined.iter_mut()) {
                if m.room == room {
                    m.slot = slot;
                }
            }
        }
    }

    pub(super) fn find_user(&self, name: &str) -> Result<ClientId, ErrorCode> {
        Folded::new(name)
            .and_then(|key| self.names.get(key.as_str()).copied())
            .ok_or(ErrorCode::NoSuchUser)
    }

    pub(super) fn find_room(&self, name: &str) -> Result<RoomId, ErrorCode> {
        self.rooms.find(name).ok_or(ErrorCode::NoSuchRoom)
    }

    pub(super) fn membership(&self, client: ClientId, room: RoomId) -> Option<&Membership> {
        self.sessions.joined(client).iter().find(|m| m.room == room)
    }

    /// A room by name that `client` is in.
    pub(super) fn member_room(&self, client: ClientId, name: &str) -> Result<RoomId, ErrorCode> {
        let room = self.find_room(name)?;
        self.membership(client, room).ok_or(ErrorCode::NotInRoom)?;
        Ok(room)
    }

    /// The named room (which `client` must be in), or the current room.
    pub(super) fn named_or_current(
        &self,
        client: ClientId,
        name: Option<&str>,
    ) -> Result<RoomId, ErrorCode> {
        match name {
            Some(name) => self.member_room(client, name),
            None => self.current_room(client),
        }
    }

    /// The room joined last.
    pub(super) fn current_room(&self, client: ClientId) -> Result<RoomId, ErrorCode> {
        self.sessions
            .joined(client)
            .last()
            .map(|m| m.room)
            .ok_or(ErrorCode::NotInRoom)
    }
}

/// Orders `names` for a list line and keeps the first `limit`: lowercase, byte by byte.
fn first_in_list_order(names: &mut Vec<&str>, limit: usize) {
    let order = |a: &&str, b: &&str| {
        let a = a.bytes().map(|c| c.to_ascii_lowercase());
        a.cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    };
    if names.len() > limit && limit > 0 {
        names.select_nth_unstable_by(limit - 1, order);
    }
    names.truncate(limit);
    names.sort_unstable_by(order);
}
