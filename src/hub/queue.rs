//! The waiting queue: first come, first served, O(1) to join, leave and admit.
//!
//! Each waiting client holds a ticket: its place in a deque counted from the front
//! ticket. Leaving the queue leaves a hole instead of shifting everyone behind; holes
//! at the front are popped, and the deque is rebuilt (with new tickets) when holes
//! outnumber the waiting, so its size stays proportional to the number waiting.

use std::collections::VecDeque;

use super::effects::ClientId;

/// Holes tolerated before a rebuild, on top of one per waiting client.
const SLACK: usize = 64;

/// Clients waiting for a slot, in arrival order.
#[derive(Debug, Default)]
pub struct WaitQueue {
    slots: VecDeque<Option<ClientId>>,
    /// The ticket of `slots[0]`.
    front_ticket: u64,
    waiting: usize,
}

impl WaitQueue {
    /// An empty queue.
    pub fn new() -> WaitQueue {
        WaitQueue::default()
    }

    /// How many clients wait.
    pub fn len(&self) -> usize {
        self.waiting
    }

    /// True when nobody waits.
    pub fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// Puts `client` at the back; returns its ticket.
    pub fn push(&mut self, client: ClientId) -> u64 {
        self.slots.push_back(Some(client));
        self.waiting += 1;
        self.front_ticket + (self.slots.len() as u64 - 1)
    }

    /// Takes the client at the front.
    pub fn pop(&mut self) -> Option<ClientId> {
        let client = self.slots.pop_front()??;
        self.front_ticket += 1;
        self.waiting -= 1;
        self.pop_holes();
        Some(client)
    }

    /// Removes the client holding `ticket`. If that calls for a rebuild, `retick` is
    /// told every waiting client's new ticket.
    pub fn remove(&mut self, ticket: u64, retick: impl FnMut(ClientId, u64)) {
        let Some(index) = ticket.checked_sub(self.front_ticket) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(index as usize) {
            if slot.take().is_some() {
                self.waiting -= 1;
            }
        }
        self.pop_holes();
        if self.slots.len() > 2 * self.waiting + SLACK {
            self.rebuild(retick);
        }
    }

    /// Waiting clients in order, front first (position 1).
    pub fn iter(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.slots.iter().flatten().copied()
    }

    fn pop_holes(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.front_ticket += 1;
        }
    }

    fn rebuild(&mut self, mut retick: impl FnMut(ClientId, u64)) {
        self.slots.retain(Option::is_some);
        for (i, client) in self.slots.iter().flatten().enumerate() {
            retick(*client, self.front_ticket + i as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn admits_in_arrival_order_around_leavers() {
        let mut q = WaitQueue::new();
        let tickets: Vec<u64> = (0..5).map(|i| q.push(ClientId::new(i, 1))).collect();
        q.remove(tickets[1], |_, _| unreachable!("no rebuild for one hole"));
        q.remove(tickets[0], |_, _| unreachable!());
        assert_eq!(q.len(), 3);
        assert_eq!(
            q.iter().collect::<Vec<_>>(),
            vec![
                ClientId::new(2, 1),
                ClientId::new(3, 1),
                ClientId::new(4, 1)
            ]
        );
        assert_eq!(q.pop(), Some(ClientId::new(2, 1)));
        assert_eq!(q.pop(), Some(ClientId::new(3, 1)));
        assert_eq!(q.pop(), Some(ClientId::new(4, 1)));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn many_leavers_behind_a_stuck_front_trigger_a_rebuild_with_new_tickets() {
        let mut q = WaitQueue::new();
        let mut tickets: HashMap<ClientId, u64> = HashMap::new();
        tickets.insert(ClientId::new(0, 1), q.push(ClientId::new(0, 1)));
        for round in 1..1000 {
            let id = ClientId::new(round, 1);
            tickets.insert(id, q.push(id));
            let ticket = tickets.remove(&id).unwrap();
            q.remove(ticket, |client, new| {
                tickets.insert(client, new);
            });
            assert!(q.slots.len() <= 2 * q.len() + SLACK + 1);
        }
        // The stuck front is still first and still reachable by its (new) ticket.
        let last = ClientId::new(5000, 1);
        tickets.insert(last, q.push(last));
        q.remove(tickets[&ClientId::new(0, 1)], |client, new| {
            tickets.insert(client, new);
        });
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![last]);
        assert_eq!(q.pop(), Some(last));
    }
}
