//! The hashing workers' job: carry out the core's password work ([`HashJob`]) with a
//! [`Hasher`], on threads of their own ([`crate::work::Worker::start_pool`]), never on
//! the poll loop.

use log::error;

use crate::hub::{HashJob, Hashed};
use crate::password::Hasher;

/// Runs `job`: checks its password, then hashes the new one if the check passed (or
/// there was none); with `upgrade`, a checked password held in an outdated form is
/// hashed again. The passwords are wiped when `job` is dropped here.
pub fn carry_out(hasher: &Hasher, job: HashJob) -> Hashed {
    let HashJob {
        upgrade,
        check,
        hash,
    } = job;
    let verdict = check
        .as_ref()
        .map(|(credential, password)| hasher.verify(credential.as_ref(), password));
    if verdict.is_some_and(|v| !v.ok) {
        return Hashed {
            verified: false,
            hash: None,
        };
    }
    let to_hash = match (&hash, &check, verdict) {
        (Some(new), _, _) => Some(new),
        (None, Some((_, checked)), Some(v)) if upgrade && v.outdated => Some(checked),
        _ => None,
    };
    let hash = to_hash.and_then(|password| match hasher.hash(password) {
        Ok(phc) => Some(phc),
        Err(e) => {
            error!("hashing a password failed: {e}");
            None
        }
    });
    Hashed {
        verified: true,
        hash,
    }
}
