//! A room's bulletin board: numbered posts, of which the newest few are kept.

use std::collections::VecDeque;
use std::sync::Arc;

/// One post's header, as a board keeps it: the body stays in the store, so that a
/// board's memory is bounded by its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Its number in the room, from 1, never reused.
    pub id: u64,
    /// The author's name as spelled when posting.
    pub author: Box<str>,
    /// Wall-clock time of posting, in unix seconds.
    pub unix_secs: u64,
    /// One line of subject.
    pub subject: Box<str>,
}

/// The posts of one room, oldest first. Ids rise by one per post; a post whose storing
/// failed leaves a gap when later ids were handed out meanwhile.
#[derive(Debug, Default)]
pub struct Board {
    /// Shared, so that a listing being handed out keeps its posts without copying
    /// them.
    posts: VecDeque<Arc<Post>>,
    /// The id the next post gets.
    next_id: u64,
    /// Posts whose ids are handed out but that are not stored yet: the room must not
    /// go away under them.
    in_flight: u32,
}

impl Board {
    /// An empty board whose first post will be number 1.
    pub fn new() -> Board {
        Board {
            posts: VecDeque::new(),
            next_id: 1,
            in_flight: 0,
        }
    }

    /// A board restored from the store: its posts, oldest first, and the next id.
    pub fn restore(next_id: u64, posts: impl IntoIterator<Item = Post>) -> Board {
        let posts: VecDeque<Arc<Post>> = posts.into_iter().map(Arc::new).collect();
        let after_last = posts.back().map_or(1, |post| post.id + 1);
        Board {
            posts,
            next_id: next_id.max(after_last),
            in_flight: 0,
        }
    }

    /// Stores a post, dropping the oldest beyond `retain`, and returns its id.
    pub fn add(&mut self, author: &str, unix_secs: u64, subject: &str, retain: usize) -> u64 {
        let id = self.reserve_id();
        self.insert(
            Post {
                id,
                author: author.into(),
                unix_secs,
                subject: subject.into(),
            },
            retain,
        );
        id
    }

    /// Hands out the next id for a post that is being stored.
    pub fn reserve_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight += 1;
        id
    }

    /// Gives back an id whose post was not stored, if no later id was handed out.
    pub fn release_id(&mut self, id: u64) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if id + 1 == self.next_id {
            self.next_id = id;
        }
    }

    /// Adds a stored post (with a reserved id), dropping the oldest beyond `retain`.
    pub fn insert(&mut self, post: Post, retain: usize) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.next_id = self.next_id.max(post.id + 1);
        let at = self.posts.partition_point(|p| p.id < post.id);
        if self.posts.get(at).is_some_and(|p| p.id == post.id) {
            return;
        }
        self.posts.insert(at, Arc::new(post));
        while self.posts.len() > retain {
            self.posts.pop_front();
        }
    }

    /// True while the board holds no post (a room with posts outlives its members).
    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    /// True when the board holds no post and none is being stored: only then may its
    /// room go away.
    pub fn is_unused(&self) -> bool {
        self.posts.is_empty() && self.in_flight == 0
    }

    /// The first id visible to someone joining now: the last `backlog` posts stored
    /// before the join, and everything after it. Counted over the stored posts, not
    /// the ids: a post still being stored is announced to the joiner when it is, so it
    /// counts as after the join, and a gap left by a failed post takes no place.
    pub fn first_visible_on_join(&self, backlog: usize) -> u64 {
        if backlog == 0 {
            return self.posts.back().map_or(1, |newest| newest.id + 1);
        }
        match self.posts.len().checked_sub(backlog) {
            Some(at) => self.posts[at].id,
            None => 1,
        }
    }

    /// Stored posts with ids from `first_visible` on, oldest first.
    pub fn visible_from(&self, first_visible: u64) -> impl ExactSizeIterator<Item = &Arc<Post>> {
        let skip = self.posts.partition_point(|p| p.id < first_visible);
        self.posts.range(skip..)
    }

    /// The post `id` if it is stored and visible from `first_visible`.
    pub fn get(&self, id: u64, first_visible: u64) -> Option<&Post> {
        if id < first_visible {
            return None;
        }
        let at = self.posts.binary_search_by_key(&id, |p| p.id).ok()?;
        self.posts.get(at).map(|post| &**post)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_left_by_a_failed_post_keeps_lookups_right() {
        let mut board = Board::new();
        let first = board.reserve_id();
        let failed = board.reserve_id();
        let third = board.reserve_id();
        board.release_id(failed); // not the last: stays a gap
        for id in [first, third] {
            stored(&mut board, id);
        }
        assert_eq!(board.get(third, 1).map(|p| p.id), Some(3));
        assert!(board.get(failed, 1).is_none());
        let visible: Vec<u64> = board.visible_from(2).map(|p| p.id).collect();
        assert_eq!(visible, [3]);
        let last = board.reserve_id();
        board.release_id(last);
        assert_eq!(
            board.reserve_id(),
            4,
            "the last id handed out is given back"
        );
    }

    /// Stores the post with the reserved `id`.
    fn stored(board: &mut Board, id: u64) {
        let post = Post {
            id,
            author: "al".into(),
            unix_secs: 0,
            subject: "s".into(),
        };
        board.insert(post, 10);
    }

    #[test]
    fn a_post_still_being_stored_at_a_join_counts_as_after_it() {
        let mut board = board_with(3, 10);
        let storing = board.reserve_id();
        let from = board.first_visible_on_join(2);
        stored(&mut board, storing);
        assert_eq!(ids(board.visible_from(from)), vec![2, 3, 4]);
        let mut board = board_with(3, 10);
        let storing = board.reserve_id();
        let from = board.first_visible_on_join(0);
        stored(&mut board, storing);
        assert_eq!(ids(board.visible_from(from)), vec![4]);
    }

    #[test]
    fn a_gap_left_by_a_failed_post_takes_no_place_in_the_backlog() {
        let mut board = board_with(2, 10);
        let failed = board.reserve_id();
        let fourth = board.reserve_id();
        board.release_id(failed);
        stored(&mut board, fourth);
        let from = board.first_visible_on_join(2);
        assert_eq!(ids(board.visible_from(from)), vec![2, 4]);
    }

    fn board_with(n: u64, retain: usize) -> Board {
        let mut board = Board::new();
        for i in 1..=n {
            assert_eq!(board.add("al", i, &format!("s{i}"), retain), i);
        }
        board
    }

    fn ids<'a>(posts: impl Iterator<Item = &'a Arc<Post>>) -> Vec<u64> {
        posts.map(|p| p.id).collect()
    }

    #[test]
    fn joiner_sees_the_last_two_before_and_all_after() {
        let mut board = board_with(5, 100);
        let from = board.first_visible_on_join(2);
        assert_eq!(ids(board.visible_from(from)), vec![4, 5]);
        board.add("al", 6, "s6", 100);
        assert_eq!(ids(board.visible_from(from)), vec![4, 5, 6]);
        assert!(board.get(3, from).is_none());
        assert_eq!(board.get(6, from).map(|p| p.id), Some(6));
        assert!(board.get(7, from).is_none());
    }

    #[test]
    fn empty_and_short_boards_show_what_there_is() {
        let board = Board::new();
        assert_eq!(board.first_visible_on_join(2), 1);
        assert_eq!(board.visible_from(1).len(), 0);
        let board = board_with(1, 100);
        assert_eq!(
            ids(board.visible_from(board.first_visible_on_join(2))),
            vec![1]
        );
        assert_eq!(
            ids(board.visible_from(board.first_visible_on_join(0))),
            Vec::<u64>::new()
        );
    }

    #[test]
    fn retention_drops_the_oldest_and_ids_are_never_reused() {
        let mut board = board_with(5, 3);
        assert_eq!(ids(board.visible_from(1)), vec![3, 4, 5]);
        assert!(board.get(2, 1).is_none());
        assert_eq!(board.add("al", 9, "s", 3), 6);
        assert_eq!(ids(board.visible_from(1)), vec![4, 5, 6]);
    }
}
