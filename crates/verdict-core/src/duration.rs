//! Durations as users write them in flags and configuration files: `500ms`, `5s`, `2m`, `1h`, `7d`, or a plain
//! number of seconds. One parser, so a flag and a config key accept the same text.

/// Parses `500ms`, `5s`, `2m` or a plain number of seconds; the message says what to write instead.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(index) => text.split_at(index),
        None => (text, "s"),
    };
    let value: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration (write e.g. 500ms, 5s, 1m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        _ => return Err(format!("unknown unit `{unit}` in `{text}`: use ms, s, m, h or d")),
    };
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(format!("the duration must be positive, got `{text}`"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations_as_written() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("8s"), Ok(Duration::from_secs(8)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7_200)));
        for bad in ["", "0s", "-1s", "5w", "soon", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
