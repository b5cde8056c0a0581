//! One line that says what failed and what failed underneath it.
//!
//! HTTP and database clients wrap the cause that matters ("connection refused", a DNS failure, a TLS
//! alert) several layers deep; their top-level message alone ("error sending request for url") leaves
//! the user guessing.

use std::error::Error;

/// `err` followed by each of its causes, joined with ": ", skipping a cause whose text the message
/// already holds (some clients repeat their source in their own message).
pub fn describe(err: &(dyn Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[derive(Debug, thiserror::Error)]
    #[error("{message}")]
    struct Layer {
        message: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    fn layer(message: &'static str, source: Option<Layer>) -> Layer {
        Layer { message, source: source.map(Box::new) }
    }

    #[test]
    fn every_cause_is_named_once() {
        let refused = layer("Connection refused (os error 111)", None);
        let connect = layer("client error (Connect)", Some(refused));
        let top = layer("error sending request for url (http://127.0.0.1:9/)", Some(connect));
        assert_eq!(
            describe(&top),
            "error sending request for url (http://127.0.0.1:9/): client error (Connect): Connection refused (os error 111)"
        );
        let repeated =
            layer("tcp connect error: Connection refused", Some(layer("Connection refused", None)));
        assert_eq!(describe(&repeated), "tcp connect error: Connection refused");
    }
}
