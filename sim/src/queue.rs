//! The world's event queue: earliest `(time, sequence)` first.
//!
//! Events are large (a message carries its whole request), and a binary heap moves its
//! entries on every push and pop. So the heap orders small keys and the events sit still in
//! a slab beside it; a popped event's slot is reused by the next push. Reuse follows a LIFO
//! free list, so the layout — like everything else in a run — depends only on the order of
//! pushes and pops.

use kafkasim_core::time::Instant;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Where one event sits, and when it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    at: Instant,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// Reversed, so the max-heap pops the earliest `(time, seq)` first. `seq` is unique, so
    /// `slot` never decides.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A priority queue of events by `(time, sequence)`.
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    slab: Vec<Option<(Instant, E)>>,
    free: Vec<u32>,
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub(crate) fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Queue `event` to run at `at`; `seq` breaks ties and must be unique.
    pub(crate) fn push(&mut self, at: Instant, seq: u64, event: E) {
        let slot = match self.free.pop() {
            Some(slot) => {
                debug_assert!(self.slab[slot as usize].is_none(), "slot reused while full");
                self.slab[slot as usize] = Some((at, event));
                slot
            }
            None => {
                self.slab.push(Some((at, event)));
                u32::try_from(self.slab.len() - 1).expect("fewer than 2^32 queued events")
            }
        };
        self.heap.push(Key { at, seq, slot });
    }

    /// Take the earliest event.
    pub(crate) fn pop(&mut self) -> Option<(Instant, E)> {
        let key = self.heap.pop()?;
        let entry = self.slab[key.slot as usize]
            .take()
            .expect("a queued key points at an event");
        self.free.push(key.slot);
        Some(entry)
    }

    /// When the earliest event runs.
    pub(crate) fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(|key| key.at)
    }

    /// How many events are queued.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Every queued event with its time, in no particular order (callers sort what they
    /// report).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Instant, &E)> {
        self.slab.iter().flatten().map(|(at, event)| (*at, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn pops_by_time_then_sequence() {
        let mut queue = EventQueue::new();
        queue.push(at(5), 0, "late");
        queue.push(at(1), 1, "first");
        queue.push(at(1), 2, "second");
        assert_eq!(queue.peek_time(), Some(at(1)));
        assert_eq!(queue.pop(), Some((at(1), "first")));
        queue.push(at(1), 3, "third, reusing a slot");
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.pop(), Some((at(1), "second")));
        assert_eq!(queue.pop(), Some((at(1), "third, reusing a slot")));
        assert_eq!(queue.pop(), Some((at(5), "late")));
        assert!(queue.is_empty());
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn iter_sees_only_queued_events() {
        let mut queue = EventQueue::new();
        queue.push(at(1), 0, 'a');
        queue.push(at(2), 1, 'b');
        queue.pop();
        assert_eq!(queue.iter().collect::<Vec<_>>(), vec![(at(2), &'b')]);
    }
}
