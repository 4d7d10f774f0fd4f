//! A set of page ids: one bit per page the file can hold, a hash set for ids beyond it
//! (only damage references those), so marking the pages of a multi-GiB db costs a few
//! KiB and no hashing.

use std::collections::HashSet;

/// A set of page ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct PageSet {
    bits: Vec<u64>,
    beyond: HashSet<u64>,
    len: u64,
}

impl PageSet {
    /// An empty set whose ids below `pages` take one bit each.
    pub fn with_pages(pages: u64) -> PageSet {
        let words = usize::try_from(pages.div_ceil(64)).unwrap_or(0);
        PageSet {
            bits: vec![0; words],
            beyond: HashSet::new(),
            len: 0,
        }
    }

    fn slot(&mut self, id: u64) -> Option<(&mut u64, u64)> {
        let word = usize::try_from(id / 64).ok()?;
        self.bits.get_mut(word).map(|w| (w, 1u64 << (id % 64)))
    }

    /// Add `id`; `false` when it was there already.
    pub fn insert(&mut self, id: u64) -> bool {
        let added = match self.slot(id) {
            Some((w, bit)) => {
                let was = *w & bit != 0;
                *w |= bit;
                !was
            }
            None => self.beyond.insert(id),
        };
        self.len += u64::from(added);
        added
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: u64) -> bool {
        let word = usize::try_from(id / 64).ok().and_then(|w| self.bits.get(w));
        match word {
            Some(w) => w >> (id % 64) & 1 == 1,
            None => self.beyond.contains(&id),
        }
    }

    /// Number of ids in the set.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The ids in ascending order.
    pub fn to_sorted_vec(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self
            .bits
            .iter()
            .enumerate()
            .flat_map(|(w, &bits)| {
                (0..64u64)
                    .filter(move |b| bits >> b & 1 == 1)
                    .map(move |b| w as u64 * 64 + b)
            })
            .collect();
        let mut beyond: Vec<u64> = self.beyond.iter().copied().collect();
        beyond.sort_unstable();
        out.extend(beyond);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_beyond_behave_as_one_set() {
        let mut s = PageSet::with_pages(130);
        let ids = [0u64, 1, 63, 64, 127, 128, 129, 130, 5000, u64::MAX];
        for &id in &ids {
            assert!(!s.contains(id));
            assert!(s.insert(id), "{id}");
            assert!(!s.insert(id), "{id} again");
            assert!(s.contains(id));
        }
        assert_eq!(s.len(), ids.len() as u64);
        assert_eq!(s.to_sorted_vec(), ids.to_vec());
        assert!(!s.contains(2) && !s.contains(131));
        let empty = PageSet::default();
        assert!(!empty.contains(0));
        assert_eq!(empty.to_sorted_vec(), Vec::<u64>::new());
    }
}
