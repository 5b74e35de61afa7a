//! Quotas on what outlives a command: rooms created (`--max-created`) and posts made
//! (`--post-rate`), counted for an account from any address, or for a guest's address.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::address::AddressKey;

/// Who rooms and posts count for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A logged-in user: its account, by folded name.
    Account(Box<str>),
    /// A guest: its address.
    Address(AddressKey),
}

/// Rooms that still exist, by who created them.
#[derive(Debug, Default)]
pub struct Created {
    counts: HashMap<Owner, usize>,
}

impl Created {
    /// Whether `owner` may create one more room under `limit` (0: no limit).
    pub fn may_create(&self, owner: &Owner, limit: usize) -> bool {
        limit == 0 || self.counts.get(owner).copied().unwrap_or(0) < limit
    }

    /// `owner` created a room.
    pub fn add(&mut self, owner: Owner) {
        *self.counts.entry(owner).or_insert(0) += 1;
    }

    /// A room `owner` created is gone.
    pub fn release(&mut self, owner: &Owner) {
        if let Some(count) = self.counts.get_mut(owner) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(owner);
            }
        }
    }
}

/// The span `--post-rate` counts posts over.
pub const POST_WINDOW: Duration = Duration::from_secs(60);

/// Posts in the last [`POST_WINDOW`], by owner: a sliding window, exact. It holds one
/// entry per post in the window, so at most `limit` per owner, and forgets owners with
/// none.
#[derive(Debug, Default)]
pub struct PostRate {
    recent: VecDeque<(Instant, Owner)>,
    counts: HashMap<Owner, usize>,
}

impl PostRate {
    /// Whether `owner` may post once more at `now` under `limit` posts per window (0:
    /// no limit); if so, the post counts.
    pub fn try_post(&mut self, owner: &Owner, limit: usize, now: Instant) -> bool {
        if limit == 0 {
            return true;
        }
        while let Some((at, _)) = self.recent.front() {
            if now.saturating_duration_since(*at) < POST_WINDOW {
                break;
            }
            if let Some((_, gone)) = self.recent.pop_front() {
                if let Some(count) = self.counts.get_mut(&gone) {
                    *count -= 1;
                    if *count == 0 {
                        self.counts.remove(&gone);
                    }
                }
            }
        }
        let count = self.counts.entry(owner.clone()).or_insert(0);
        if *count >= limit {
            return false;
        }
        *count += 1;
        self.recent.push_back((now, owner.clone()));
        true
    }

    /// Owners with a post in the window.
    #[cfg(test)]
    fn owners(&self) -> usize {
        self.counts.values().filter(|&&n| n > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest(last: u8) -> Owner {
        Owner::Address(AddressKey::of(std::net::IpAddr::from([192, 0, 2, last])))
    }

    #[test]
    fn rooms_count_until_released() {
        let mut created = Created::default();
        let (a, b) = (guest(1), Owner::Account("alice".into()));
        for _ in 0..2 {
            assert!(created.may_create(&a, 2));
            created.add(a.clone());
        }
        assert!(!created.may_create(&a, 2));
        assert!(created.may_create(&b, 2), "each owner counts apart");
        assert!(created.may_create(&a, 0), "0 is no limit");
        created.release(&a);
        assert!(created.may_create(&a, 2));
    }

    #[test]
    fn posts_count_over_a_sliding_minute() {
        let mut rate = PostRate::default();
        let start = Instant::now();
        let (a, b) = (guest(1), guest(2));
        for s in 0..3 {
            assert!(rate.try_post(&a, 3, start + Duration::from_secs(s * 10)));
        }
        assert!(!rate.try_post(&a, 3, start + Duration::from_secs(59)));
        assert!(rate.try_post(&b, 3, start + Duration::from_secs(59)));
        // The first post (at 0 s) leaves the window at 60 s: one more may go.
        assert!(rate.try_post(&a, 3, start + Duration::from_secs(60)));
        assert!(!rate.try_post(&a, 3, start + Duration::from_secs(61)));
        // Refused posts did not count: by 80 s the posts of 10 and 20 s have left.
        assert!(rate.try_post(&a, 3, start + Duration::from_secs(80)));
        assert!(rate.try_post(&a, 3, start + Duration::from_secs(80)));
        assert!(!rate.try_post(&a, 3, start + Duration::from_secs(80)));
        // After a quiet minute nothing is held.
        assert!(rate.try_post(&b, 3, start + Duration::from_secs(200)));
        assert_eq!(rate.owners(), 1);
        assert_eq!(rate.recent.len(), 1);
    }
}
