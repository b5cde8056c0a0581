//! The exit-code contract (DESIGN.md rule 1), in one place so every command agrees on it.

/// How a verdict command ended, as the process exit code scripts branch on.
///
/// Any non-zero code is a failure, so `if verdict … ; then deploy; fi` stays safe; scripts that need to tell
/// "denied" from "broken" can compare the exact code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// 0: allowed, compliant, or the command did what it was asked.
    Ok,
    /// 1: denied or non-compliant.
    Denied,
    /// 2: invalid input or usage (bad policy, bad flags, unparsable file).
    Invalid,
    /// 3: something needed was unavailable (server, database, registry, network).
    Unavailable,
}

impl ExitStatus {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Denied => 1,
            ExitStatus::Invalid => 2,
            ExitStatus::Unavailable => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn codes_match_the_documented_contract() {
        assert_eq!(ExitStatus::Ok.code(), 0);
        assert_eq!(ExitStatus::Denied.code(), 1);
        assert_eq!(ExitStatus::Invalid.code(), 2);
        assert_eq!(ExitStatus::Unavailable.code(), 3);
    }
}
