//! Small facts about network addresses shared by the crates that talk to registries.

/// Whether a registry host (`host[:port]`) is on the loopback interface (`127.0.0.0/8` addresses, `localhost`, `[::1]`):
/// such registries are spoken to over plain HTTP, as Docker does, and are the only ones tests may reach.
pub fn is_loopback_registry(registry: &str) -> bool {
    let host = registry.rsplit_once(':').map_or(registry, |(host, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) { host } else { registry }
    });
    // An address, not a name that merely starts with "127." (`127.example.com` is somebody's host).
    matches!(host, "localhost" | "[::1]")
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_recognised() {
        for (registry, loopback) in [
            ("127.0.0.1:5000", true),
            ("localhost", true),
            ("localhost:8080", true),
            ("[::1]:5000", true),
            ("127.10.0.1", true),
            ("ghcr.io", false),
            ("registry.local:5000", false),
            ("127.example.com", false),
            ("127.0.0.1.nip.io", false),
            ("127.1.2.3", true),
            ("docker.io", false),
            ("10.0.0.1:5000", false),
            ("localhost.example.com", false),
        ] {
            assert_eq!(is_loopback_registry(registry), loopback, "{registry}");
        }
    }
}
