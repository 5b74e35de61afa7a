//! The rule for user and room names, shared by every protocol, and their case folding
//! without allocating.

/// The longest user or room name, in bytes (names are ASCII).
pub const MAX_NAME_LEN: usize = 32;

/// The name of the IRC gateway's service (`/msg parley help`), which no user may take.
pub const SERVICE: &str = "parley";

/// True when `name` is 1 to 32 of `A-Z a-z 0-9 _ -`: the rule for users and rooms.
pub fn is_valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The lowercase form of a valid name, held inline: the key that makes names unique
/// ignoring case, and the order of every list.
#[derive(Debug, Clone, Copy)]
pub struct Folded {
    bytes: [u8; MAX_NAME_LEN],
    len: u8,
}

impl Folded {
    /// Folds `name`, or `None` if it cannot be a name (so no such name can exist).
    pub fn new(name: &str) -> Option<Folded> {
        if !is_valid_name(name) {
            return None;
        }
        let mut bytes = [0; MAX_NAME_LEN];
        for (to, from) in bytes.iter_mut().zip(name.bytes()) {
            *to = from.to_ascii_lowercase();
        }
        Some(Folded {
            bytes,
            len: name.len() as u8,
        })
    }

    /// The folded name.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("valid names are ASCII")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_ascii_names_and_refuses_others() {
        assert_eq!(Folded::new("AlIce_9").unwrap().as_str(), "alice_9");
        assert!(Folded::new("no way").is_none());
        assert!(Folded::new("").is_none());
    }
}
