//! The server under failure and scale: a SIGKILL in the middle of concurrent writes loses no
//! acknowledged write and leaves a chain that verifies; two servers on one PostgreSQL database append to
//! one linear chain (appends serialise in the database, not in a process).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Env, ORG, binary};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use verdict_testkit::server::VerdictServer;

/// An acknowledged write: the attestation's name, and the entry the server said holds it.
type Acks = Arc<Mutex<BTreeMap<String, (i64, String)>>>;

async fn seed(client: &Client, base: &str, token: &str) {
    for (path, body) in [
        (format!("{base}/api/v1/orgs/{ORG}/flows"), json!({"name": "backend"})),
        (format!("{base}/api/v1/orgs/{ORG}/flows/backend/trails"), json!({"name": "t1", "flow": "backend"})),
    ] {
        let response = client.post(path).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}

/// Posts attestations `{prefix}-{i}` until `count` (or until the server goes away), recording each
/// acknowledged one. Returns how many were refused with an HTTP error (not counting connection loss).
async fn writer(
    client: Client,
    base: String,
    token: String,
    prefix: String,
    count: usize,
    acks: Acks,
) -> usize {
    let url = format!("{base}/api/v1/orgs/{ORG}/flows/backend/trails/t1/attestations");
    let mut refused = 0;
    for i in 0..count {
        let name = format!("{prefix}-{i}");
        let body =
            json!({"name": name, "type": "generic", "flow": "backend", "trail": "t1", "is_compliant": true});
        let Ok(response) = client.post(&url).bearer_auth(&token).json(&body).send().await else { break };
        if response.status() != StatusCode::CREATED {
            refused += 1;
            continue;
        }
        let Ok(recorded) = response.json::<Value>().await else { break };
        let entry = (recorded["seq"].as_i64().unwrap(), recorded["hash"].as_str().unwrap().to_owned());
        acks.lock().unwrap().insert(name, entry);
    }
    refused
}

async fn stored(client: &Client, base: &str, token: &str) -> BTreeMap<String, (i64, String)> {
    let url = format!("{base}/api/v1/orgs/{ORG}/flows/backend/trails/t1/attestations");
    let list: Vec<Value> = client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    list.into_iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                (a["seq"].as_i64().unwrap(), a["hash"].as_str().unwrap().to_owned()),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_concurrent_writes_loses_no_acknowledged_write() {
    let mut env = Env::server_sqlite();
    let token = env.token.clone().unwrap();
    let client = Client::new();
    seed(&client, env.url(), &token).await;
    let acks: Acks = Arc::default();
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            tokio::spawn(writer(
                client.clone(),
                env.url().to_owned(),
                token.clone(),
                format!("w{w}"),
                100_000,
                acks.clone(),
            ))
        })
        .collect();
    // Let a burst of writes through, then kill the server without warning.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while acks.lock().unwrap().len() < 200 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.server.as_mut().unwrap().kill();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 0, "a write was refused before the crash");
    }
    let acknowledged = acks.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 200,
        "only {} writes were acknowledged before the kill",
        acknowledged.len()
    );

    env.start_server(&[]);
    let after = stored(&client, env.url(), &token).await;
    for (name, entry) in &acknowledged {
        assert_eq!(
            after.get(name),
            Some(entry),
            "acknowledged write {name} is missing or changed after the crash"
        );
    }
    // Every entry the store holds chains (a write cut short by the kill is absent, never half-there).
    let count = env.entries();
    assert!(count as usize >= acknowledged.len() + 2);
    assert_eq!(count as usize, after.len() + 2, "entries the API does not show");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_share_one_linear_chain() {
    let Some(env) = Env::server_postgres() else { return };
    let second = VerdictServer::start(&binary(), &env.db, &[], &env.dir.path().join("second.log"));
    let token = env.token.clone().unwrap();
    let client = Client::new();
    seed(&client, env.url(), &token).await;
    let acks: Acks = Arc::default();
    let per_writer = 40;
    let mut tasks = Vec::new();
    for (s, base) in [env.url().to_owned(), second.url().to_owned()].into_iter().enumerate() {
        for w in 0..8 {
            let prefix = format!("s{s}w{w}");
            tasks.push(tokio::spawn(writer(
                client.clone(),
                base.clone(),
                token.clone(),
                prefix,
                per_writer,
                acks.clone(),
            )));
        }
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 0, "a write was refused");
    }
    let acknowledged = acks.lock().unwrap().clone();
    assert_eq!(acknowledged.len(), 16 * per_writer, "lost writes");
    // One linear chain: the entries are exactly 1..=N, each acknowledged seq unique, and it verifies.
    let mut seqs: Vec<i64> = acknowledged.values().map(|(seq, _)| *seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (3..=(2 + 16 * per_writer as i64)).collect::<Vec<_>>());
    assert_eq!(env.entries(), 2 + 16 * per_writer as u64);
    // Both servers read the same ledger.
    assert_eq!(stored(&client, second.url(), &token).await, acknowledged);
}
