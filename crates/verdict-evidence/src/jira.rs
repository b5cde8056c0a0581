//! Jira issue references, as `attest jira` records them: the issue keys a commit message or branch name
//! mentions, each looked up through Jira's REST API. Compliant when at least one key is found and every
//! key names an existing issue (Kosli's rule).

use serde::Serialize;

use crate::http_api::{ApiError, Auth, JsonApi, encode};

/// One referenced issue and what Jira said about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JiraIssue {
    /// The key, e.g. `PAY-123`.
    pub issue_id: String,
    /// Whether Jira knows it.
    pub issue_exists: bool,
    /// Its summary, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Its workflow status name (`In Progress`, `Done`, …), when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Its page in Jira.
    pub url: String,
}

/// How to sign in to Jira.
#[derive(Debug, Clone)]
pub enum JiraAuth {
    /// Jira Cloud: an account's e-mail and API token.
    ApiToken {
        /// The account (usually an e-mail address).
        username: String,
        /// The API token.
        token: String,
    },
    /// Jira Data Center / Server: a personal access token.
    Pat(String),
}

/// The issue keys in `texts`, in order of first mention, each once. A key is a project key (an upper-case
/// letter, then 1 to 9 upper-case letters or digits), a dash and a number, not glued to a longer word.
pub fn issue_keys(texts: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for text in texts {
        let bytes = text.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            if let Some(end) = key_at(bytes, start) {
                let key = &text[start..end];
                if !keys.iter().any(|k| k == key) {
                    keys.push(key.to_owned());
                }
                start = end;
            } else {
                start += 1;
            }
        }
    }
    keys
}

/// The end of a key starting at `start`, if one does (and `start` is not inside a longer word).
fn key_at(bytes: &[u8], start: usize) -> Option<usize> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if start > 0 && word(bytes[start - 1]) {
        return None;
    }
    if !bytes.get(start)?.is_ascii_uppercase() {
        return None;
    }
    let project_end = start
        + 1
        + bytes[start + 1..].iter().take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit()).count();
    let project_len = project_end - start;
    if !(2..=10).contains(&project_len) || bytes.get(project_end) != Some(&b'-') {
        return None;
    }
    let digits = bytes[project_end + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
    let end = project_end + 1 + digits;
    if digits == 0 || bytes.get(end).is_some_and(|b| word(*b)) {
        return None;
    }
    Some(end)
}

/// Looks every key up in the Jira at `base_url`. A missing issue is an answer (`issue_exists: false`);
/// refused credentials are an error, not a missing issue: recording "not found" for an issue nobody could
/// look at would be evidence of nothing.
pub async fn look_up(base_url: &str, auth: JiraAuth, keys: &[String]) -> Result<Vec<JiraIssue>, ApiError> {
    let auth = match auth {
        JiraAuth::ApiToken { username, token } => Auth::Basic { username, password: token },
        JiraAuth::Pat(token) => Auth::Bearer(token),
    };
    let api = JsonApi::new("Jira", base_url, Some(auth))?;
    let mut issues = Vec::new();
    for key in keys {
        let answer =
            api.get_optional(&format!("/rest/api/2/issue/{}?fields=summary,status", encode(key))).await?;
        let url = api.url(&format!("/browse/{key}"));
        issues.push(match answer {
            Some(issue) => JiraIssue {
                issue_id: key.clone(),
                issue_exists: true,
                summary: issue["fields"]["summary"].as_str().map(str::to_owned),
                status: issue["fields"]["status"]["name"].as_str().map(str::to_owned),
                url,
            },
            None => {
                JiraIssue { issue_id: key.clone(), issue_exists: false, summary: None, status: None, url }
            }
        });
    }
    Ok(issues)
}

/// Kosli's rule: at least one issue is referenced, and every referenced issue exists.
pub fn compliant(issues: &[JiraIssue]) -> bool {
    !issues.is_empty() && issues.iter().all(|issue| issue.issue_exists)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_in_messages_and_branch_names() {
        assert_eq!(
            issue_keys(&["PAY-123: fix rounding (see also OPS2-7)", "feature/PAY-123-rounding"]),
            ["PAY-123", "OPS2-7"]
        );
        assert_eq!(issue_keys(&["Merge branch 'bugfix/AB-1'"]), ["AB-1"]);
    }

    #[test]
    fn things_that_only_look_like_keys_are_not() {
        // One-letter projects, lower case, no number, glued to a word, an over-long project key.
        for text in ["A-1", "pay-123", "PAY-", "xPAY-12", "PAY-12x", "ABCDEFGHIJK-1", "UTF-8x"] {
            assert_eq!(issue_keys(&[text]), Vec::<String>::new(), "{text}");
        }
        assert_eq!(issue_keys(&["ABCDEFGHIJ-1"]), ["ABCDEFGHIJ-1"]);
    }

    #[test]
    fn compliance_needs_a_reference_and_every_issue() {
        let issue = |exists| JiraIssue {
            issue_id: "A1-1".into(),
            issue_exists: exists,
            summary: None,
            status: None,
            url: String::new(),
        };
        assert!(!compliant(&[]));
        assert!(compliant(&[issue(true)]));
        assert!(!compliant(&[issue(true), issue(false)]));
    }

    proptest::proptest! {
        #[test]
        fn key_search_never_panics_and_finds_only_keys(text in "\\PC{0,80}") {
            for key in issue_keys(&[&text]) {
                let (project, number) = key.split_once('-').unwrap();
                proptest::prop_assert!(project.len() >= 2 && project.chars().next().unwrap().is_ascii_uppercase());
                proptest::prop_assert!(number.bytes().all(|b| b.is_ascii_digit()) && !number.is_empty());
            }
        }
    }
}
