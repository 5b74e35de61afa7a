//! Password hashing for accounts: Argon2id with PHC strings, as pure functions that the
//! hashing worker threads run (never the poll loop: one check costs tens of
//! milliseconds and 19 MiB of memory at the default cost).
//!
//! A check costs the same whether the name is unknown, the password is wrong, or the
//! account holds its password in clear (from a users file): each runs one full Argon2id
//! verification, so the time a `/login` takes does not tell which names are accounts.

use std::cell::RefCell;
use std::fmt;
use std::io::BufRead;

use argon2::password_hash::rand_core::{self, OsRng, RngCore};
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::{Zeroize, Zeroizing};

/// Argon2id cost settings. Default = OWASP: memory_kib 19456 (19 MiB), passes 2, lanes 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory per hash, in KiB: what makes guessing on GPUs expensive.
    pub memory_kib: u32,
    /// Passes over that memory.
    pub passes: u32,
    /// Lanes (Argon2's parallelism). This build computes them one after the other on
    /// the calling thread, so more lanes cost time and add no speed.
    pub lanes: u32,
}

impl Default for HashParams {
    /// OWASP's recommended Argon2id settings, the same as the argon2 crate's defaults.
    fn default() -> HashParams {
        HashParams {
            memory_kib: 19 * 1024,
            passes: 2,
            lanes: 1,
        }
    }
}

/// A password in memory: wiped on drop (`zeroize::Zeroizing<String>` inside); Debug prints
/// `Password(***)`, never the text.
///
/// Clone because a [`Credential`] holding a clear-text password from a users file is
/// cloned; every copy is wiped when dropped.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Takes ownership of `text` (no copy is made, so none is left behind unwiped).
    pub fn new(text: String) -> Password {
        Password(Zeroizing::new(text))
    }

    /// The password's text, for hashing and comparing.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in code points, the unit of the protocol's minimum length.
    pub fn chars(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// What an account's password is held as: a PHC string (`$argon2id$...`), or a
/// clear-text password from a users file.
#[derive(Clone)]
pub enum Credential {
    /// A PHC hash string, which carries its own algorithm, parameters and salt.
    Phc(Box<str>),
    /// A clear-text password, as the seed programs' users files hold them.
    Clear(Password),
}

impl fmt::Debug for Credential {
    /// Prints which kind it is and nothing else: logs never show a password or a hash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Phc(_) => f.write_str("Phc"),
            Credential::Clear(_) => f.write_str("Clear(***)"),
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The password is right.
    pub ok: bool,
    /// the password is right but held with other parameters or in clear: rehash it
    pub outdated: bool,
}

impl Verdict {
    /// A wrong password or an unknown account.
    const REFUSED: Verdict = Verdict {
        ok: false,
        outdated: false,
    };
}

/// Why a password could not be hashed, or a hash not used.
#[derive(Debug)]
pub enum HashError {
    /// The cost settings are out of Argon2's range (e.g. memory below 8 KiB per lane).
    BadParams(argon2::Error),
    /// The text is not an Argon2 PHC string that a verification could use.
    BadPhc,
    /// The operating system's random number generator failed (no salt).
    Random(rand_core::Error),
    /// Argon2 refused to hash (it does not with parameters that [`Hasher::new`] took).
    Hashing(password_hash::Error),
    /// The password could not be read.
    Read(std::io::Error),
    /// The password read is not UTF-8.
    NotUtf8,
    /// The password read is empty.
    EmptyPassword,
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashError::BadParams(e) => write!(f, "bad Argon2 parameters: {e}"),
            HashError::BadPhc => f.write_str("not an Argon2 PHC hash string"),
            HashError::Random(e) => write!(f, "no random salt from the system: {e}"),
            HashError::Hashing(e) => write!(f, "hashing failed: {e}"),
            HashError::Read(e) => write!(f, "cannot read the password: {e}"),
            HashError::NotUtf8 => f.write_str("the password is not UTF-8"),
            HashError::EmptyPassword => f.write_str("the password is empty"),
        }
    }
}

impl std::error::Error for HashError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HashError::BadParams(e) => Some(e),
            HashError::Random(e) => Some(e),
            HashError::Hashing(e) => Some(e),
            HashError::Read(e) => Some(e),
            HashError::BadPhc | HashError::NotUtf8 | HashError::EmptyPassword => None,
        }
    }
}

/// Hashes and checks passwords with one set of cost settings; Send + Sync, built once
/// and shared (in an `Arc`) by every hashing worker thread.
pub struct Hasher {
    params: HashParams,
    /// Argon2id, version 0x13, with `params` and an explicit 32-byte output, so that
    /// its parameters equal those decoded from a PHC string it wrote (which always
    /// states the output length): the test of an outdated hash.
    argon2: Argon2<'static>,
    /// The hash of a random password nobody knows, with `params`: what a check of an
    /// unknown name (or of a clear-text password) verifies against, so that it costs
    /// the same as a wrong password for an account.
    dummy: Box<str>,
}

impl Hasher {
    /// Checks `params` against Argon2's limits and computes the dummy hash (one full
    /// hash: call it once, at start).
    pub fn new(params: HashParams) -> Result<Hasher, HashError> {
        let argon2_params = Params::new(
            params.memory_kib,
            params.passes,
            params.lanes,
            Some(Params::DEFAULT_OUTPUT_LEN),
        )
        .map_err(HashError::BadParams)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params);

        let mut secret = Zeroizing::new([0u8; 32]);
        OsRng
            .try_fill_bytes(secret.as_mut())
            .map_err(HashError::Random)?;
        // Kept: 0, as this runs once on the caller's thread (the loop's), which has no
        // use for the memory afterwards.
        let dummy = hash_bytes(&argon2, secret.as_ref(), 0)?;
        Ok(Hasher {
            params,
            argon2,
            dummy,
        })
    }

    /// The cost settings new hashes get.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Hashes `password` with Argon2id, `params` and a random 16-byte salt from the
    /// operating system, as a PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
    pub fn hash(&self, password: &Password) -> Result<Box<str>, HashError> {
        hash_bytes(
            &self.argon2,
            password.as_str().as_bytes(),
            self.kept_blocks(),
        )
    }

    /// Checks `password` against an account's credential.
    ///
    /// `None` = unknown account: still runs one full verification against the dummy
    /// hash so an unknown name costs the same time as a wrong password, and returns
    /// ok=false.
    ///
    /// A clear credential is compared in constant time, and a dummy verification is run
    /// as well so that its timing matches; when right it is outdated (it should be
    /// stored hashed).
    ///
    /// A PHC string is verified with the algorithm, version and parameters it encodes;
    /// when right it is outdated if those differ from this hasher's. A malformed one
    /// gives ok=false (and, costing a dummy verification too, takes the usual time).
    /// Nothing is logged here: the caller knows the account.
    pub fn verify(&self, credential: Option<&Credential>, password: &Password) -> Verdict {
        let given = password.as_str().as_bytes();
        match credential {
            None => {
                self.verify_dummy(given);
                Verdict::REFUSED
            }
            Some(Credential::Clear(stored)) => {
                let ok = constant_time_eq(given, stored.as_str().as_bytes());
                self.verify_dummy(given);
                Verdict { ok, outdated: ok }
            }
            Some(Credential::Phc(phc)) => {
                let Some(hash) = PasswordHash::new(phc).ok().filter(within_cost_cap) else {
                    self.verify_dummy(given);
                    return Verdict::REFUSED;
                };
                match verify_phc(given, &hash, self.kept_blocks()) {
                    Ok(()) => Verdict {
                        ok: true,
                        outdated: !self.is_current(&hash),
                    },
                    // The password is wrong: a full verification has run.
                    Err(password_hash::Error::Password) => Verdict::REFUSED,
                    // The string parsed but cannot be verified (an unknown algorithm,
                    // bad parameters, a short salt): nothing has been computed yet.
                    Err(_) => {
                        self.verify_dummy(given);
                        Verdict::REFUSED
                    }
                }
            }
        }
    }

    /// Runs one full verification against the dummy hash, for its cost alone.
    fn verify_dummy(&self, given: &[u8]) {
        if let Ok(hash) = PasswordHash::new(&self.dummy) {
            // black_box: the outcome is unused, and the work must not be skipped.
            std::hint::black_box(verify_phc(given, &hash, self.kept_blocks()).is_ok());
        }
    }

    /// The working memory a hashing thread keeps between checks: the current cost's.
    fn kept_blocks(&self) -> usize {
        self.argon2.params().block_count()
    }

    /// Whether `hash` was made with this hasher's algorithm, version and parameters
    /// (so rehashing it would change nothing but the salt).
    fn is_current(&self, hash: &PasswordHash<'_>) -> bool {
        hash.algorithm == Algorithm::Argon2id.ident()
            && hash.version == Some(Version::V0x13 as u32)
            && Params::try_from(hash).is_ok_and(|params| &params == self.argon2.params())
    }
}

/// Hashes `secret` with Argon2id (version 0x13), `argon2`'s parameters and a fresh
/// random salt, as a PHC string; the thread keeps up to `kept` blocks of working memory
/// for later calls.
fn hash_bytes(argon2: &Argon2<'_>, secret: &[u8], kept: usize) -> Result<Box<str>, HashError> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2.params().clone());
    // try_fill_bytes, not SaltString::generate: that one panics if the system's
    // generator fails, and this runs on a worker thread the server counts on.
    let mut salt = [0u8; argon2::RECOMMENDED_SALT_LEN];
    OsRng.try_fill_bytes(&mut salt).map_err(HashError::Random)?;
    let encoded = SaltString::encode_b64(&salt).map_err(HashError::Hashing)?;
    let params = argon2.params();
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let hash = with_memory(params.block_count(), kept, |memory| {
        Output::init_with(output_len, |out| {
            Ok(argon2.hash_password_into_with_memory(secret, &salt, out, memory)?)
        })
    })
    .map_err(HashError::Hashing)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(HashError::Hashing)?,
        salt: Some(Salt::from(&encoded)),
        hash: Some(hash),
    };
    Ok(phc.to_string().into_boxed_str())
}

/// Verifies `given` against `hash` with the algorithm, version and parameters it
/// states: `Err(Error::Password)` when the password is wrong, another error (before
/// any work) when the string cannot be verified. `kept` is the most working memory,
/// in blocks, the thread keeps for later checks (the current cost's).
fn verify_phc(given: &[u8], hash: &PasswordHash<'_>, kept: usize) -> password_hash::Result<()> {
    let algorithm = Algorithm::try_from(hash.algorithm)?;
    let version = hash.version.map(Version::try_from).transpose()?;
    let params = Params::try_from(hash)?;
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return Err(password_hash::Error::PhcStringField);
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf)?;
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params);
    let computed = with_memory(argon2.params().block_count(), kept, |memory| {
        Output::init_with(expected.len(), |out| {
            Ok(argon2.hash_password_into_with_memory(given, salt, out, memory)?)
        })
    })?;
    // Output's equality takes the same time wherever the bytes differ.
    if computed == expected {
        Ok(())
    } else {
        Err(password_hash::Error::Password)
    }
}

thread_local! {
    /// Argon2's working memory, kept by each hashing thread from one hash to the next:
    /// allocating and freeing 19 MiB per check left the allocator holding about
    /// 100 MiB per thread.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` on `blocks` blocks of working memory, wiped afterwards: what Argon2
/// leaves there would let a guess be checked without paying the memory cost. The
/// thread keeps up to `kept` blocks (the current cost's) for the next call; a larger
/// request (a stored hash with an older, higher cost) gets memory of its own for the
/// one call.
fn with_memory<T>(blocks: usize, kept: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    if blocks > kept {
        let mut memory = vec![Block::default(); blocks];
        let result = work(&mut memory);
        // Volatile writes: this memory is freed next, so plain ones could be skipped.
        memory.iter_mut().for_each(Zeroize::zeroize);
        return result;
    }
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let result = work(&mut memory[..blocks]);
        // Plain writes (a memset) suffice: the memory stays and is read again.
        memory[..blocks].fill(Block::default());
        result
    })
}

/// Compares `given` with `stored` in a time that depends on `given`'s length alone
/// (which its sender knows), not on where they first differ nor on `stored`'s length.
fn constant_time_eq(given: &[u8], stored: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != stored.len());
    // cycle: every byte of `given` is compared with something, whatever the lengths
    // (an empty `stored` yields nothing, and the length difference already counts).
    for (a, b) in given.iter().zip(stored.iter().cycle()) {
        // black_box keeps the compiler from turning the loop into an early exit.
        diff = std::hint::black_box(diff | (a ^ b));
    }
    diff == 0
}

/// Whether a users-file password field is a PHC hash (starts with `$argon2`) and parses
/// as one: an Argon2 algorithm and version, parameters in range, a salt Argon2 accepts
/// and a hash. Returns the string to store.
pub fn parse_phc(text: &str) -> Result<Box<str>, HashError> {
    if !text.starts_with("$argon2") {
        return Err(HashError::BadPhc);
    }
    let hash = PasswordHash::new(text).map_err(|_| HashError::BadPhc)?;
    Algorithm::try_from(hash.algorithm).map_err(|_| HashError::BadPhc)?;
    if let Some(version) = hash.version {
        Version::try_from(version).map_err(|_| HashError::BadPhc)?;
    }
    Params::try_from(&hash).map_err(|_| HashError::BadPhc)?;
    if !within_cost_cap(&hash) {
        return Err(HashError::BadPhc);
    }
    let salt = hash.salt.ok_or(HashError::BadPhc)?;
    let mut buf = [0u8; 64];
    let salt_len = salt
        .decode_b64(&mut buf)
        .map_err(|_| HashError::BadPhc)?
        .len();
    if salt_len < argon2::MIN_SALT_LEN || hash.hash.is_none() {
        return Err(HashError::BadPhc);
    }
    Ok(text.into())
}

/// The most memory a stored hash may ask a verification for, in KiB (1 GiB): a PHC
/// string carries its own cost, and one that asked for terabytes would abort the
/// server at the next login instead of failing it.
pub const MAX_HASH_MEMORY_KIB: u32 = 1 << 20;

/// The most passes a stored hash may ask for: beyond it one login would hold a worker
/// for minutes.
pub const MAX_HASH_PASSES: u32 = 64;

/// Whether the costs `hash` states are within [`MAX_HASH_MEMORY_KIB`] and
/// [`MAX_HASH_PASSES`] (a hash that states none is not).
fn within_cost_cap(hash: &PasswordHash<'_>) -> bool {
    Params::try_from(hash).is_ok_and(|params| {
        params.m_cost() <= MAX_HASH_MEMORY_KIB && params.t_cost() <= MAX_HASH_PASSES
    })
}

/// Longest password line read without reallocating (a reallocation would leave an
/// unwiped copy behind); the protocol's longest password is 1024 bytes.
const READ_CAPACITY: usize = 1024 + 2;

/// For `parley-server hash-password`: reads one password line from `input` (strip the
/// trailing `\n`/`\r\n`, refuse empty with a typed error), returns its PHC string.
pub fn hash_from_reader(hasher: &Hasher, mut input: impl BufRead) -> Result<Box<str>, HashError> {
    let mut line = Zeroizing::new(Vec::with_capacity(READ_CAPACITY));
    input
        .read_until(b'\n', &mut line)
        .map_err(HashError::Read)?;
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    if line.is_empty() {
        return Err(HashError::EmptyPassword);
    }
    let text = String::from_utf8(std::mem::take(&mut *line)).map_err(|e| {
        e.into_bytes().zeroize();
        HashError::NotUtf8
    })?;
    hasher.hash(&Password::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// Tiny costs, so the tests run in milliseconds.
    const TINY: HashParams = HashParams {
        memory_kib: 64,
        passes: 1,
        lanes: 1,
    };

    fn pw(text: &str) -> Password {
        Password::new(text.to_owned())
    }

    fn tiny() -> Hasher {
        Hasher::new(TINY).unwrap()
    }

    #[test]
    fn hasher_is_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<Hasher>();
    }

    #[test]
    fn defaults_are_owasps_and_are_encoded_in_the_hash() {
        let params = HashParams::default();
        assert_eq!(
            params,
            HashParams {
                memory_kib: 19456,
                passes: 2,
                lanes: 1
            }
        );
        let hasher = Hasher::new(params).unwrap();
        assert_eq!(hasher.params(), params);
        let phc = hasher.hash(&pw("correct horse")).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn right_password_is_ok_and_current() {
        let hasher = tiny();
        let phc = hasher.hash(&pw("correct horse")).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let verdict = hasher.verify(Some(&Credential::Phc(phc)), &pw("correct horse"));
        assert_eq!(
            verdict,
            Verdict {
                ok: true,
                outdated: false
            }
        );
    }

    #[test]
    fn wrong_password_is_refused() {
        let hasher = tiny();
        let credential = Credential::Phc(hasher.hash(&pw("correct horse")).unwrap());
        for wrong in ["correct hors", "correct horse ", "Correct horse", ""] {
            assert_eq!(
                hasher.verify(Some(&credential), &pw(wrong)),
                Verdict::REFUSED,
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn unknown_name_is_refused() {
        let hasher = tiny();
        assert_eq!(hasher.verify(None, &pw("anything")), Verdict::REFUSED);
        assert_eq!(hasher.verify(None, &pw("")), Verdict::REFUSED);
    }

    #[test]
    fn clear_credential_right_is_outdated_and_wrong_is_refused() {
        let hasher = tiny();
        let credential = Credential::Clear(pw("pass:word with spaces"));
        assert_eq!(
            hasher.verify(Some(&credential), &pw("pass:word with spaces")),
            Verdict {
                ok: true,
                outdated: true
            }
        );
        for wrong in [
            "pass:word with space",
            "pass:word with spacesX",
            "pass:word with spaces pass:word with spaces",
            "Pass:word with spaces",
            "",
        ] {
            assert_eq!(
                hasher.verify(Some(&credential), &pw(wrong)),
                Verdict::REFUSED,
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abab", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(!constant_time_eq(b"a", b""));
    }

    #[test]
    fn hash_with_other_params_is_outdated() {
        let old = Hasher::new(HashParams {
            memory_kib: 128,
            ..TINY
        })
        .unwrap();
        let current = tiny();
        let credential = Credential::Phc(old.hash(&pw("correct horse")).unwrap());
        assert_eq!(
            current.verify(Some(&credential), &pw("correct horse")),
            Verdict {
                ok: true,
                outdated: true
            }
        );
        assert_eq!(
            current.verify(Some(&credential), &pw("wrong horse")),
            Verdict::REFUSED
        );
    }

    #[test]
    fn hash_with_other_algorithm_is_outdated() {
        let params = Params::new(TINY.memory_kib, TINY.passes, TINY.lanes, None).unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let phc = argon2i
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(phc.starts_with("$argon2i$"), "{phc}");
        let verdict = tiny().verify(Some(&Credential::Phc(phc.into())), &pw("correct horse"));
        assert_eq!(
            verdict,
            Verdict {
                ok: true,
                outdated: true
            }
        );
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own() {
        let hasher = tiny();
        let ours = hasher.hash(&pw("correct horse")).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert_eq!(
            hasher.argon2.verify_password(b"correct horse", &parsed),
            Ok(()),
            "the crate verifies our hash: {ours}"
        );
        assert!(hasher
            .argon2
            .verify_password(b"wrong horse", &parsed)
            .is_err());
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let theirs = hasher
            .argon2
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        let credential = Credential::Phc(theirs.into());
        let right = hasher.verify(Some(&credential), &pw("correct horse"));
        assert_eq!(
            right,
            Verdict {
                ok: true,
                outdated: false
            }
        );
        let wrong = hasher.verify(Some(&credential), &pw("wrong horse"));
        assert_eq!(wrong, Verdict::REFUSED);
    }

    #[test]
    fn a_thread_keeps_the_current_costs_memory_and_no_more() {
        let kept_len = || MEMORY.with_borrow(Vec::len);
        let current = tiny();
        let costly = Hasher::new(HashParams {
            memory_kib: 4 * TINY.memory_kib,
            ..TINY
        })
        .unwrap();
        assert_eq!(kept_len(), 0, "making a hasher keeps no memory");
        let credential = Credential::Phc(costly.hash(&pw("correct horse")).unwrap());
        MEMORY.with_borrow_mut(Vec::clear);
        let verdict = current.verify(Some(&credential), &pw("correct horse"));
        assert_eq!(
            verdict,
            Verdict {
                ok: true,
                outdated: true
            }
        );
        assert_eq!(kept_len(), 0, "the costlier hash's memory was not kept");
        current.verify(None, &pw("correct horse"));
        assert_eq!(kept_len(), current.kept_blocks());
        assert!(
            MEMORY.with_borrow(|memory| memory
                .iter()
                .all(|block| block.as_ref().iter().all(|&w| w == 0))),
            "the memory was wiped after use"
        );
    }

    #[test]
    fn malformed_phc_is_refused() {
        let hasher = tiny();
        let good = hasher.hash(&pw("correct horse")).unwrap();
        let truncated = &good[..good.len() - 10];
        let other_algorithm = good.replacen("argon2id", "argon2x", 1);
        // Right password, but a cost that would take 4 TiB: refused, not attempted.
        let too_costly = good.replacen("m=64", "m=4294967295", 1);
        for phc in [
            &too_costly,
            "",
            "correct horse",
            "$argon2id$",
            "$argon2id$v=19$m=64,t=1,p=1$",
            truncated,
            &other_algorithm,
        ] {
            assert_eq!(
                hasher.verify(Some(&Credential::Phc(phc.into())), &pw("correct horse")),
                Verdict::REFUSED,
                "{phc:?}"
            );
        }
    }

    #[test]
    fn salts_differ_between_hashes_of_one_password() {
        let hasher = tiny();
        let a = hasher.hash(&pw("correct horse")).unwrap();
        let b = hasher.hash(&pw("correct horse")).unwrap();
        assert_ne!(a, b);
        let salt = |phc: &str| phc.split('$').nth(4).unwrap().to_owned();
        assert_ne!(salt(&a), salt(&b));
        // 16 bytes are 22 characters of unpadded base64.
        assert_eq!(salt(&a).len(), 22);
    }

    #[test]
    fn debug_prints_no_secret() {
        let hasher = tiny();
        let phc = hasher.hash(&pw("hunter22")).unwrap();
        let password = pw("hunter22");
        assert_eq!(format!("{password:?}"), "Password(***)");
        let clear = Credential::Clear(pw("hunter22"));
        assert_eq!(format!("{clear:?}"), "Clear(***)");
        let hashed = Credential::Phc(phc.clone());
        assert_eq!(format!("{hashed:?}"), "Phc");
        for printed in [
            format!("{password:?}"),
            format!("{clear:?}"),
            format!("{:?}", Some(&hashed)),
        ] {
            assert!(!printed.contains("hunter22"), "{printed}");
            assert!(!printed.contains(&*phc), "{printed}");
        }
    }

    #[test]
    fn password_counts_code_points() {
        assert_eq!(pw("héllo wörld").chars(), 11);
        assert_eq!(pw("héllo wörld").as_str().len(), 13);
        assert_eq!(pw("").chars(), 0);
    }

    #[test]
    fn bad_params_are_refused() {
        for params in [
            HashParams {
                memory_kib: 4,
                ..TINY
            },
            HashParams { passes: 0, ..TINY },
            HashParams { lanes: 0, ..TINY },
        ] {
            assert!(
                matches!(Hasher::new(params), Err(HashError::BadParams(_))),
                "{params:?}"
            );
        }
    }

    #[test]
    fn parse_phc_accepts_hashes_and_refuses_the_rest() {
        let hasher = tiny();
        let good = hasher.hash(&pw("correct horse")).unwrap();
        assert_eq!(parse_phc(&good).unwrap(), good);
        let short_salt = "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA";
        let no_hash = good.rsplit_once('$').unwrap().0;
        let bad_param = good.replacen("m=64", "m=64,x=1", 1);
        let bad_version = good.replacen("v=19", "v=20", 1);
        let too_costly = good.replacen("m=64", "m=4294967295", 1);
        for text in [
            "",
            "correct horse",
            "$argon2",
            "$argon2id$",
            "$argon2x$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
            short_salt,
            no_hash,
            &bad_param,
            &bad_version,
            &too_costly,
            &good[1..],
        ] {
            assert!(
                matches!(parse_phc(text), Err(HashError::BadPhc)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn hash_from_reader_strips_the_line_ending() {
        let hasher = tiny();
        for input in [
            &b"correct horse\n"[..],
            b"correct horse\r\n",
            b"correct horse",
            b"correct horse\nsecond line\n",
        ] {
            let phc = hash_from_reader(&hasher, input).unwrap();
            let verdict = hasher.verify(Some(&Credential::Phc(phc)), &pw("correct horse"));
            assert!(verdict.ok, "{input:?}");
        }
        // Only the line ending goes: other spaces are part of the password.
        let phc = hash_from_reader(&hasher, &b" spaced \r\n"[..]).unwrap();
        let credential = Credential::Phc(phc);
        assert!(hasher.verify(Some(&credential), &pw(" spaced ")).ok);
        assert!(!hasher.verify(Some(&credential), &pw("spaced")).ok);
    }

    #[test]
    fn hash_from_reader_refuses_empty_and_non_utf8_input() {
        let hasher = tiny();
        for input in [&b""[..], b"\n", b"\r\n", b"\nsecond line\n"] {
            assert!(
                matches!(
                    hash_from_reader(&hasher, input),
                    Err(HashError::EmptyPassword)
                ),
                "{input:?}"
            );
        }
        assert!(matches!(
            hash_from_reader(&hasher, &b"caf\xe9\n"[..]),
            Err(HashError::NotUtf8)
        ));
    }
}
