//! Strings a stream repeats in every chunk (the model version, the response id), shared
//! between the chunks instead of allocated for each.

use std::sync::Arc;

/// How many distinct strings are kept: a stream repeats one model version and one response id;
/// anything else only costs the allocation it would have cost anyway.
const KEPT: usize = 4;

/// The strings of the latest chunks, for the next ones to share.
#[derive(Debug, Default)]
pub(crate) struct Interned(Vec<Arc<str>>);

impl Interned {
    /// `text` as an `Arc<str>`: one kept already if it is equal, else a new one, kept in place
    /// of the oldest.
    pub(crate) fn share(&mut self, text: &str) -> Arc<str> {
        if let Some(found) = self.0.iter().find(|kept| ***kept == *text) {
            return Arc::clone(found);
        }
        let new = Arc::<str>::from(text);
        if self.0.len() == KEPT {
            self.0.remove(0);
        }
        self.0.push(Arc::clone(&new));
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_allocation_and_unequal_ones_do_not() {
        let mut interned = Interned::default();
        let a = interned.share("gemini-2.5-flash");
        let b = interned.share("gemini-2.5-flash");
        assert!(Arc::ptr_eq(&a, &b));
        let c = interned.share("gemini-2.5-pro");
        assert_eq!(&*c, "gemini-2.5-pro");
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn at_most_a_few_strings_are_kept_the_oldest_going_first() {
        let mut interned = Interned::default();
        let first = interned.share("s0");
        for n in 1..=KEPT {
            interned.share(&format!("s{n}"));
        }
        assert_eq!(interned.0.len(), KEPT);
        // "s0" was dropped from the kept ones: a new one is made, equal but not shared.
        let again = interned.share("s0");
        assert_eq!(again, first);
        assert!(!Arc::ptr_eq(&again, &first));
        // The newest are still shared.
        let newest = interned.share(&format!("s{KEPT}"));
        assert!(Arc::ptr_eq(&newest, &interned.share(&format!("s{KEPT}"))));
    }
}
