//! One table's records kept in memory: bounded, aged, and cleared as a whole when the table
//! changes. A fill is accepted only if nothing was cleared since its lookup started, so a record
//! read just before a change can never outlive the change's notification.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a lookup holds between its miss and its fill: the clear count it started under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

pub(crate) struct Shelf<K, V> {
    inner: Mutex<Inner<K, V>>,
    capacity: usize,
    max_age: Duration,
}

struct Inner<K, V> {
    records: HashMap<K, (V, Instant)>,
    clears: u64,
}

impl<K: Eq + Hash, V: Clone> Shelf<K, V> {
    pub(crate) fn new(capacity: usize, max_age: Duration) -> Self {
        Shelf {
            inner: Mutex::new(Inner {
                records: HashMap::new(),
                clears: 0,
            }),
            capacity: capacity.max(1),
            max_age,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock leaves only a map behind; clearing it is always safe.
        self.inner.lock().unwrap_or_else(|poisoned| {
            let mut inner = poisoned.into_inner();
            inner.records.clear();
            inner.clears += 1;
            inner
        })
    }

    /// The record kept under `key`, if it is younger than the shelf's maximum age.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let inner = self.lock();
        let (value, at) = inner.records.get(key)?;
        (at.elapsed() < self.max_age).then(|| value.clone())
    }

    /// Taken before reading the durable store; see [`Shelf::fill`].
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.lock().clears)
    }

    /// Keeps `value` unless the shelf was cleared since `ticket` was taken (the value may then
    /// predate the change that cleared it).
    pub(crate) fn fill(&self, ticket: Ticket, key: K, value: V) {
        let mut inner = self.lock();
        if inner.clears != ticket.0 {
            return;
        }
        if inner.records.len() >= self.capacity {
            let max_age = self.max_age;
            inner.records.retain(|_, (_, at)| at.elapsed() < max_age);
            if inner.records.len() >= self.capacity {
                inner.records.clear();
            }
        }
        inner.records.insert(key, (value, Instant::now()));
    }

    /// Forgets every record and refuses fills whose lookups started before now.
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.records.clear();
        inner.clears += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shelf() -> Shelf<u32, String> {
        Shelf::new(3, Duration::from_secs(60))
    }

    #[test]
    fn a_fill_is_served_until_the_shelf_is_cleared() {
        let s = shelf();
        let t = s.ticket();
        s.fill(t, 1, "one".into());
        assert_eq!(s.get(&1).as_deref(), Some("one"));
        s.clear();
        assert_eq!(s.get(&1), None);
    }

    #[test]
    fn a_fill_that_raced_a_clear_is_refused() {
        let s = shelf();
        let before = s.ticket();
        s.clear();
        s.fill(before, 1, "stale".into());
        assert_eq!(s.get(&1), None);
        s.fill(s.ticket(), 1, "fresh".into());
        assert_eq!(s.get(&1).as_deref(), Some("fresh"));
    }

    #[test]
    fn a_full_shelf_makes_room_and_old_records_are_not_served() {
        let s = shelf();
        for k in 0..5 {
            s.fill(s.ticket(), k, k.to_string());
        }
        assert!(s.len() <= 3);
        assert_eq!(s.get(&4).as_deref(), Some("4"));
        let aged = Shelf::new(3, Duration::ZERO);
        aged.fill(aged.ticket(), 1, "one".to_owned());
        assert_eq!(aged.get(&1), None);
    }
}
