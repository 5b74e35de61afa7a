//! SASL PLAIN (RFC 4616) as `AUTHENTICATE` carries it: base64 of
//! `authzid NUL authcid NUL password`.

use zeroize::Zeroizing;

/// The longest base64 payload accepted, in bytes: a name and a password of parley's
/// largest sizes fit several times over.
pub const MAX_PAYLOAD: usize = 4096;

/// The size of a full `AUTHENTICATE` chunk: one this long means more follows.
pub const CHUNK: usize = 400;

/// Why a payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainError {
    /// Not base64.
    Encoding,
    /// Not `authzid NUL authcid NUL password`, or not UTF-8.
    Form,
    /// An authorization identity other than the authentication identity.
    OtherIdentity,
}

/// A login from a PLAIN payload.
pub struct Plain {
    /// The account.
    pub name: String,
    /// Its password, wiped when dropped.
    pub password: Zeroizing<String>,
}

/// The account only: the password is never printed.
impl std::fmt::Debug for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plain")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Reads a whole base64 PLAIN payload.
pub fn plain(payload: &str) -> Result<Plain, PlainError> {
    let bytes = Zeroizing::new(base64(payload.as_bytes()).ok_or(PlainError::Encoding)?);
    let mut parts = bytes.splitn(3, |&b| b == 0);
    let (Some(authz), Some(authc), Some(password)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(PlainError::Form);
    };
    fn text(b: &[u8]) -> Result<&str, PlainError> {
        std::str::from_utf8(b).map_err(|_| PlainError::Form)
    }
    let (authz, name) = (text(authz)?, text(authc)?);
    if !authz.is_empty() && authz != name {
        return Err(PlainError::OtherIdentity);
    }
    Ok(Plain {
        name: name.to_owned(),
        password: Zeroizing::new(text(password)?.to_owned()),
    })
}

/// Decodes standard base64 with padding; `None` if it is not that.
fn base64(input: &[u8]) -> Option<Vec<u8>> {
    if !input.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let quads = input.len() / 4;
    for (n, quad) in input.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && n + 1 != quads) {
            return None;
        }
        let mut word = 0u32;
        for &c in &quad[..4 - pad] {
            word = word << 6 | value(c)?;
        }
        word <<= 6 * pad as u32;
        let bytes = word.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_payloads() {
        // "\0alice\0secret pass" and "alice\0alice\0pw"
        let login = plain("AGFsaWNlAHNlY3JldCBwYXNz").unwrap();
        assert_eq!(
            (login.name.as_str(), login.password.as_str()),
            ("alice", "secret pass")
        );
        let login = plain("YWxpY2UAYWxpY2UAcHc=").unwrap();
        assert_eq!(
            (login.name.as_str(), login.password.as_str()),
            ("alice", "pw")
        );
    }

    #[test]
    fn refuses_what_is_not_plain() {
        assert_eq!(plain("not base64!").unwrap_err(), PlainError::Encoding);
        assert_eq!(plain("YWxpY2U=").unwrap_err(), PlainError::Form, "no NULs");
        // "bob\0alice\0pw": bob may not act as alice.
        assert_eq!(
            plain("Ym9iAGFsaWNlAHB3").unwrap_err(),
            PlainError::OtherIdentity
        );
        assert_eq!(base64(b"QQ=="), Some(b"A".to_vec()));
        assert_eq!(base64(b"QQ==QQ=="), None, "padding only at the end");
    }
}
