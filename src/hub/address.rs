//! Where connections come from: the unit limits count by ([`AddressKey`]), networks
//! exempt from them ([`Trusted`]), and how many connections each address holds
//! ([`PerAddress`], for `--max-per-address`).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The unit that failed logins and connection limits count by: an IPv4 address, or
/// the /64 network of an IPv6 address (one host usually holds a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(u128);

impl AddressKey {
    /// The key of `address`. An IPv4 address mapped into IPv6 counts as itself.
    pub fn of(address: IpAddr) -> AddressKey {
        let bits = as_v6_bits(address);
        if is_v4_mapped(bits) {
            AddressKey(bits)
        } else {
            AddressKey(bits & !u128::from(u64::MAX))
        }
    }
}

/// `address` as 128 bits, IPv4 (plain or mapped) in its IPv6-mapped form, so that one
/// comparison serves both families.
fn as_v6_bits(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_ipv6_mapped()),
            None => u128::from(v6),
        },
    }
}

/// Whether `bits` is an IPv4-mapped IPv6 address (`::ffff:0:0/96`).
fn is_v4_mapped(bits: u128) -> bool {
    bits >> 32 == 0xffff
}

/// Bits an IPv4 prefix length is offset by in the mapped form.
const V4_IN_V6: u8 = 96;

/// A network in CIDR notation (`127.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// The network's first address, in the mapped form of [`as_v6_bits`].
    base: u128,
    /// Its prefix length in that form (an IPv4 /8 is 104).
    prefix: u8,
}

impl Network {
    /// Whether `address` is inside this network.
    pub fn contains(&self, address: IpAddr) -> bool {
        as_v6_bits(address) & mask(self.prefix) == self.base
    }
}

/// The mask of a prefix `prefix` bits long.
fn mask(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        n => u128::MAX << (128 - u32::from(n)),
    }
}

/// Why a network did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkError {
    /// The address part is not an IP address.
    BadAddress(String),
    /// The prefix length is not a number within the family's bits.
    BadPrefix(String),
    /// Bits are set beyond the prefix (`10.0.0.1/8`): probably a typo, so refused.
    HostBitsSet(String),
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkError::BadAddress(s) => write!(f, "{s:?} is not an IP address or network"),
            NetworkError::BadPrefix(s) => write!(f, "{s:?} has a bad prefix length"),
            NetworkError::HostBitsSet(s) => {
                write!(f, "{s:?} has bits set beyond its prefix length")
            }
        }
    }
}

impl std::error::Error for NetworkError {}

impl FromStr for Network {
    type Err = NetworkError;

    fn from_str(text: &str) -> Result<Network, NetworkError> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| NetworkError::BadAddress(text.to_owned()))?;
        let (bits, offset) = match address {
            IpAddr::V4(_) => (32, V4_IN_V6),
            IpAddr::V6(_) => (128, 0),
        };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= bits)
                .ok_or_else(|| NetworkError::BadPrefix(text.to_owned()))?,
        };
        let prefix = prefix + offset;
        let base = as_v6_bits(address);
        if base & !mask(prefix) != 0 {
            return Err(NetworkError::HostBitsSet(text.to_owned()));
        }
        Ok(Network { base, prefix })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_v4_mapped(self.base) && self.prefix >= V4_IN_V6 {
            let v4 = std::net::Ipv4Addr::from(self.base as u32);
            write!(f, "{v4}/{}", self.prefix - V4_IN_V6)
        } else {
            write!(f, "{}/{}", std::net::Ipv6Addr::from(self.base), self.prefix)
        }
    }
}

/// `--trusted`: networks whose connections are exempt from the abuse limits and from
/// login throttling (a load test, a bridge the operator runs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trusted(Vec<Network>);

impl Trusted {
    /// These networks.
    pub fn new(networks: Vec<Network>) -> Trusted {
        Trusted(networks)
    }

    /// Whether `address` is in one of the networks.
    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }
}

/// How many connections each address holds, waiting ones included. Only addresses
/// holding at least one are kept, so this never outgrows the connection table.
#[derive(Debug, Default)]
pub struct PerAddress {
    counts: HashMap<AddressKey, usize>,
}

impl PerAddress {
    /// Counts one more connection from `key` unless it holds `limit` already (0: no
    /// limit). Returns whether it was counted.
    pub fn try_add(&mut self, key: AddressKey, limit: usize) -> bool {
        let count = self.counts.entry(key).or_insert(0);
        if limit != 0 && *count >= limit {
            return false;
        }
        *count += 1;
        true
    }

    /// Forgets one connection from `key`.
    pub fn remove(&mut self, key: AddressKey) {
        if let Some(count) = self.counts.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&key);
            }
        }
    }

    /// Addresses holding a connection.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.counts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn net(text: &str) -> Network {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_networks_hold_their_addresses_in_either_form() {
        let loopback = net("127.0.0.0/8");
        assert!(loopback.contains(ip("127.0.0.1")));
        assert!(loopback.contains(ip("127.255.3.4")));
        assert!(loopback.contains(ip("::ffff:127.0.0.9")));
        assert!(!loopback.contains(ip("128.0.0.1")));
        assert!(!loopback.contains(ip("::1")));
        let one = net("192.0.2.7");
        assert!(one.contains(ip("192.0.2.7")));
        assert!(!one.contains(ip("192.0.2.8")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.1")));
        assert!(!net("0.0.0.0/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv6_networks_hold_their_addresses() {
        let doc = net("2001:db8::/32");
        assert!(doc.contains(ip("2001:db8:1::5")));
        assert!(!doc.contains(ip("2001:db9::1")));
        assert!(net("::1").contains(ip("::1")));
        assert!(
            net("::/0").contains(ip("127.0.0.1")),
            "all of IPv6 holds the mapped"
        );
    }

    #[test]
    fn bad_networks_are_refused_with_the_reason() {
        assert!(matches!(
            "localhost".parse::<Network>(),
            Err(NetworkError::BadAddress(_))
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<Network>(),
            Err(NetworkError::BadPrefix(_))
        ));
        assert!(matches!(
            "10.0.0.0/x".parse::<Network>(),
            Err(NetworkError::BadPrefix(_))
        ));
        assert!(matches!(
            "10.0.0.1/8".parse::<Network>(),
            Err(NetworkError::HostBitsSet(_))
        ));
        assert!(matches!(
            "2001:db8::1/32".parse::<Network>(),
            Err(NetworkError::HostBitsSet(_))
        ));
    }

    #[test]
    fn networks_print_as_written() {
        for text in ["127.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "::1/128"] {
            assert_eq!(net(text).to_string(), text);
        }
    }

    #[test]
    fn ipv6_hosts_count_by_their_64() {
        let a = AddressKey::of(ip("2001:db8:1:2::1"));
        assert_eq!(a, AddressKey::of(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(a, AddressKey::of(ip("2001:db8:1:3::1")));
        assert_eq!(
            AddressKey::of(ip("127.0.0.1")),
            AddressKey::of(ip("::ffff:127.0.0.1"))
        );
        assert_ne!(
            AddressKey::of(ip("127.0.0.1")),
            AddressKey::of(ip("127.0.0.2"))
        );
    }

    #[test]
    fn per_address_counts_up_to_the_limit_and_forgets_empty_addresses() {
        let mut counts = PerAddress::default();
        let a = AddressKey::of(ip("192.0.2.1"));
        let b = AddressKey::of(ip("192.0.2.2"));
        assert!(counts.try_add(a, 2));
        assert!(counts.try_add(a, 2));
        assert!(!counts.try_add(a, 2), "a third is over the limit");
        assert!(counts.try_add(b, 2), "another address has its own count");
        counts.remove(a);
        assert!(counts.try_add(a, 2), "a freed place can be taken again");
        counts.remove(a);
        counts.remove(a);
        counts.remove(b);
        assert_eq!(counts.addresses(), 0);
        for _ in 0..1000 {
            assert!(counts.try_add(a, 0), "0 is no limit");
        }
    }
}
