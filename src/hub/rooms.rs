//! Rooms: their members and boards, found by name ignoring case.

use std::collections::BTreeMap;
use std::sync::Arc;

use slab::Slab;

use super::board::Board;
use super::effects::ClientId;
use super::names::Folded;
use super::quota::Owner;

/// The name of the room everyone joins on naming.
pub const LOBBY: &str = "lobby";

/// A handle to a room, valid while the room exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomId(usize);

/// One room.
#[derive(Debug)]
pub struct Room {
    /// The name as its creator spelled it.
    pub name: Arc<str>,
    /// Members in no particular order; each member's membership records its slot here,
    /// so leaving is O(1) and fan-out walks a dense array.
    pub members: Vec<ClientId>,
    /// The room's posts.
    pub board: Board,
    /// Who created it, for `--max-created` (none: the lobby, a restored room, or a
    /// trusted creator).
    pub creator: Option<Owner>,
}

/// Every room, with an index by lowercase name kept in list order.
#[derive(Debug)]
pub struct Rooms {
    rooms: Slab<Room>,
    by_name: BTreeMap<Box<str>, RoomId>,
    lobby: RoomId,
}

impl Default for Rooms {
    fn default() -> Self {
        Self::new()
    }
}

impl Rooms {
    /// The rooms at start: `lobby` only.
    pub fn new() -> Rooms {
        let mut rooms = Rooms {
            rooms: Slab::new(),
            by_name: BTreeMap::new(),
            lobby: RoomId(0),
        };
        rooms.lobby = rooms.create(LOBBY);
        rooms
    }

    /// The lobby, which always exists.
    pub fn lobby(&self) -> RoomId {
        self.lobby
    }

    /// Finds a room by name, ignoring case.
    pub fn find(&self, name: &str) -> Option<RoomId> {
        self.by_name.get(Folded::new(name)?.as_str()).copied()
    }

    /// Creates a room; the caller has checked that the name is valid and free.
    pub fn create(&mut self, name: &str) -> RoomId {
        let id = RoomId(self.rooms.insert(Room {
            name: name.into(),
            members: Vec::new(),
            board: Board::new(),
            creator: None,
        }));
        let key = Folded::new(name).expect("room names are valid before creation");
        self.by_name.insert(key.as_str().into(), id);
        id
    }

    /// Removes `id` if nobody is in it and its board is empty with no post being
    /// stored; never the lobby. Returns the room removed.
    pub fn remove_if_unused(&mut self, id: RoomId) -> Option<Room> {
        let room = &self.rooms[id.0];
        if id == self.lobby || !room.members.is_empty() || !room.board.is_unused() {
            return None;
        }
        let room = self.rooms.remove(id.0);
        if let Some(key) = Folded::new(&room.name) {
            self.by_name.remove(key.as_str());
        }
        Some(room)
    }

    /// How many rooms exist, lobby included.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    /// Every room in list order (lowercase names, byte by byte).
    pub fn in_order(&self) -> impl Iterator<Item = &Room> {
        self.by_name.values().map(|id| &self.rooms[id.0])
    }
}

impl std::ops::Index<RoomId> for Rooms {
    type Output = Room;
    fn index(&self, id: RoomId) -> &Room {
        &self.rooms[id.0]
    }
}

impl std::ops::IndexMut<RoomId> for Rooms {
    fn index_mut(&mut self, id: RoomId) -> &mut Room {
        &mut self.rooms[id.0]
    }
}
