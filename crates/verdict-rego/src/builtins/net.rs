//! `net.cidr_merge`, `net.cidr_contains_matches` and `net.cidr_intersects`, with OPA's semantics.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{Result, bail};
use regorus::Value;

use super::args::{string, type_name};

/// A network: address family, first address (as a 128-bit number) and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Network {
    v6: bool,
    start: u128,
    prefix: u8,
}

impl Network {
    fn bits(self) -> u8 {
        if self.v6 { 128 } else { 32 }
    }

    fn mask(self) -> u128 {
        let host = u32::from(self.bits() - self.prefix);
        let all = if self.v6 { u128::MAX } else { u128::from(u32::MAX) };
        if host >= 128 { 0 } else { all & !((1u128 << host) - 1) }
    }

    fn end(self) -> u128 {
        let host = u32::from(self.bits() - self.prefix);
        if host >= 128 { u128::MAX } else { self.start | ((1u128 << host) - 1) }
    }

    fn contains(self, other: Network) -> bool {
        self.v6 == other.v6 && self.start <= other.start && other.end() <= self.end()
    }

    fn intersects(self, other: Network) -> bool {
        self.v6 == other.v6 && self.start <= other.end() && other.start <= self.end()
    }

    fn normalized(mut self) -> Self {
        self.start &= self.mask();
        self
    }

    fn render(self) -> String {
        let address = if self.v6 {
            IpAddr::V6(Ipv6Addr::from(self.start))
        } else {
            IpAddr::V4(Ipv4Addr::from(u32::try_from(self.start).unwrap_or(u32::MAX)))
        };
        format!("{address}/{}", self.prefix)
    }
}

fn ip_number(address: IpAddr) -> (bool, u128) {
    match address {
        IpAddr::V4(v4) => (false, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (true, u128::from(v6)),
    }
}

/// Parses `a.b.c.d/n`, `v6::/n`, or a bare address (a /32 or /128 network).
fn parse_cidr_or_ip(text: &str) -> Option<Network> {
    match text.split_once('/') {
        Some((address, prefix)) => {
            let (v6, start) = ip_number(address.parse().ok()?);
            let prefix: u8 = prefix.parse().ok()?;
            let network = Network { v6, start, prefix };
            (prefix <= network.bits()).then_some(network)
        }
        None => {
            let (v6, start) = ip_number(text.parse().ok()?);
            Some(Network { v6, start, prefix: if v6 { 128 } else { 32 } })
        }
    }
}

/// `net.cidr_merge` reads a bare IPv4 address with its classful default mask (Go's `IP.DefaultMask`), as
/// OPA does, and rejects a bare IPv6 address.
fn parse_for_merge(text: &str) -> Result<Network> {
    if text.contains('/') {
        return parse_cidr_or_ip(text)
            .ok_or_else(|| anyhow::anyhow!("net.cidr_merge: invalid CIDR {text:?}"));
    }
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let prefix = match v4.octets()[0] {
                0..=127 => 8,
                128..=191 => 16,
                192..=223 => 24,
                _ => bail!("net.cidr_merge: IP {text} has no default mask"),
            };
            Ok(Network { v6: false, start: u128::from(u32::from(v4)), prefix }.normalized())
        }
        Ok(IpAddr::V6(_)) => bail!("net.cidr_merge: IPv6 invalid: needs prefix length"),
        Err(_) => bail!("net.cidr_merge: invalid IP {text:?}"),
    }
}

/// The smallest set of networks covering exactly the union of `networks`.
fn merge(networks: Vec<Network>) -> Vec<Network> {
    let mut list: Vec<Network> = networks.into_iter().map(Network::normalized).collect();
    loop {
        list.sort();
        list.dedup();
        // Drop networks contained in another.
        let mut kept: Vec<Network> = Vec::with_capacity(list.len());
        for network in list {
            if !kept.iter().any(|k| k.contains(network)) {
                kept.retain(|k| !network.contains(*k));
                kept.push(network);
            }
        }
        kept.sort();
        // Join sibling pairs (two halves of the same parent).
        let mut joined = Vec::with_capacity(kept.len());
        let mut changed = false;
        let mut index = 0;
        while index < kept.len() {
            let current = kept[index];
            if let Some(next) = kept.get(index + 1).copied()
                && current.prefix > 0
                && current.v6 == next.v6
                && current.prefix == next.prefix
            {
                let parent = Network { prefix: current.prefix - 1, ..current }.normalized();
                if parent.start == current.start && parent.end() == next.end() {
                    joined.push(parent);
                    changed = true;
                    index += 2;
                    continue;
                }
            }
            joined.push(current);
            index += 1;
        }
        list = joined;
        if !changed {
            return list;
        }
    }
}

fn strings_of(name: &str, value: &Value) -> Result<Vec<String>> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Set(items) => items.iter().collect(),
        other => bail!("{name}: operand 1 must be one of {{array, set}} but got {}", type_name(other)),
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(text) => Ok(text.to_string()),
            other => bail!("{name}: element must be string but got {}", type_name(other)),
        })
        .collect()
}

/// The (key, network) pairs of a `net.cidr_contains_matches` operand: a string (key = the string), an
/// array (key = index), a set (key = the element) or an object (key = the key); elements are strings or
/// non-empty arrays whose first element is the string.
fn keyed(operand: usize, value: &Value) -> Result<Vec<(Value, Network)>> {
    let name = "net.cidr_contains_matches";
    let network_of = |element: &Value| -> Result<Network> {
        let text = match element {
            Value::String(text) => text.to_string(),
            Value::Array(items) => match items.first() {
                Some(Value::String(text)) => text.to_string(),
                _ => bail!("{name}: operand {operand}: element must be string or non-empty array"),
            },
            _ => bail!("{name}: operand {operand}: element must be string or non-empty array"),
        };
        parse_cidr_or_ip(&text)
            .ok_or_else(|| anyhow::anyhow!("{name}: operand {operand}: invalid CIDR or IP {text:?}"))
    };
    match value {
        Value::String(_) => Ok(vec![(value.clone(), network_of(value)?)]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| Ok((Value::from(index as u64), network_of(item)?)))
            .collect(),
        Value::Set(items) => items.iter().map(|item| Ok((item.clone(), network_of(item)?))).collect(),
        Value::Object(map) => map.iter().map(|(key, item)| Ok((key.clone(), network_of(item)?))).collect(),
        other => bail!(
            "{name}: operand {operand} must be one of {{string, array, set, object}} but got {}",
            type_name(other)
        ),
    }
}

fn cidr_merge(args: &[Value]) -> Result<Value> {
    let name = "net.cidr_merge";
    let operand = args.first().ok_or_else(|| anyhow::anyhow!("{name}: missing operand"))?;
    let networks =
        strings_of(name, operand)?.iter().map(|text| parse_for_merge(text)).collect::<Result<Vec<_>>>()?;
    let merged: BTreeSet<Value> = merge(networks).into_iter().map(|n| Value::from(n.render())).collect();
    Ok(Value::from(merged))
}

fn cidr_contains_matches(args: &[Value]) -> Result<Value> {
    let (Some(first), Some(second)) = (args.first(), args.get(1)) else {
        bail!("net.cidr_contains_matches: needs two operands");
    };
    let outer = keyed(1, first)?;
    let inner = keyed(2, second)?;
    let mut matches = BTreeSet::new();
    for (outer_key, outer_net) in &outer {
        for (inner_key, inner_net) in &inner {
            if outer_net.contains(*inner_net) {
                matches.insert(Value::from(vec![outer_key.clone(), inner_key.clone()]));
            }
        }
    }
    Ok(Value::from(matches))
}

fn cidr_intersects(args: &[Value]) -> Result<Value> {
    let name = "net.cidr_intersects";
    let parse = |index: usize| -> Result<Network> {
        let text = string(name, args, index)?;
        if !text.contains('/') {
            bail!("{name}: operand {} must be a CIDR, got {text:?}", index + 1);
        }
        parse_cidr_or_ip(text)
            .map(Network::normalized)
            .ok_or_else(|| anyhow::anyhow!("{name}: invalid CIDR {text:?}"))
    };
    Ok(Value::from(parse(0)?.intersects(parse(1)?)))
}

pub const FUNCTIONS: &[super::Builtin] = &[
    ("net.cidr_merge", 1, cidr_merge),
    ("net.cidr_contains_matches", 2, cidr_contains_matches),
    ("net.cidr_intersects", 2, cidr_intersects),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(inputs: &[&str]) -> Vec<String> {
        let networks = inputs.iter().map(|t| parse_for_merge(t).unwrap()).collect();
        merge(networks).into_iter().map(Network::render).collect()
    }

    #[test]
    fn merges_siblings_and_drops_contained_networks() {
        assert_eq!(merged(&["192.0.128.0/24", "192.0.129.0/24"]), ["192.0.128.0/23"]);
        assert_eq!(merged(&["192.0.2.112/30", "192.0.2.116/31", "192.0.2.118/31"]), ["192.0.2.112/29"]);
        assert_eq!(
            merged(&["192.0.2.112/31", "192.0.2.116/31", "192.0.2.118/31"]),
            ["192.0.2.112/31", "192.0.2.116/30"]
        );
        assert_eq!(merged(&["192.0.128.0/24", "0.0.0.0/0"]), ["0.0.0.0/0"]);
        assert_eq!(merged(&["::/0", "fe80::1/128"]), ["::/0"]);
        assert_eq!(merged(&["2601:600:8a80:207e:a57d:7567:e2c9:e7b3/64"]), ["2601:600:8a80:207e::/64"]);
        // A bare IPv4 address takes its classful mask.
        assert_eq!(merged(&["192.0.128.0", "192.0.129.0"]), ["192.0.128.0/23"]);
        assert!(parse_for_merge("fe80::1").is_err());
    }

    #[test]
    fn containment_and_intersection() {
        let net = |t: &str| parse_cidr_or_ip(t).unwrap().normalized();
        assert!(net("10.0.0.0/8").contains(net("10.1.2.3")));
        assert!(!net("10.0.0.0/8").contains(net("11.0.0.1")));
        assert!(!net("10.0.0.0/8").contains(net("::1")));
        assert!(net("10.0.0.0/8").intersects(net("10.255.0.0/16")));
        assert!(!net("10.0.0.0/16").intersects(net("10.1.0.0/16")));
        assert!(parse_cidr_or_ip("10.0.0.0/33").is_none());
    }
}
