//! A bounded, open-loop load generator for the webhook: AdmissionReviews for a Deployment sent at a fixed
//! rate, each at its scheduled time whether or not earlier ones were answered (so a slow server shows up
//! as latency, not as a lower rate), each timed from send to answer. Shared by `verdict bench admission`
//! and the in-process load benchmark, so both measure the same way.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

/// The most requests per second a step may send, and the longest a step may last: a benchmark, not a
/// flood.
pub const MAX_RATE: f64 = 5000.0;
/// See [`MAX_RATE`].
pub const MAX_SECONDS: f64 = 60.0;

/// A Deployment's AdmissionReview naming `image`, with uid `u-{uid}`.
pub fn deployment_review(uid: usize, image: &str) -> Vec<u8> {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": format!("u-{uid}"), "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "operation": "CREATE", "namespace": "bench", "name": "web", "userInfo": {"username": "bench"},
        "object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "bench"},
                   "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}}})
    .to_string()
    .into_bytes()
}

/// One step's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct LoadStep {
    /// What the step measured (`warm`, `cold`, …).
    pub label: String,
    /// The requested rate.
    pub target_rate: f64,
    /// Requests sent.
    pub sent: usize,
    /// Answered `allowed: true`.
    pub admitted: usize,
    /// Answered `allowed: false`.
    pub denied: usize,
    /// No AdmissionReview answer (connection error, non-200, not JSON).
    pub errors: usize,
    /// The rate achieved: requests over the step's wall time.
    pub achieved_rate: f64,
    /// Latency percentiles in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// The slowest answer.
    pub max_ms: f64,
}

impl LoadStep {
    /// A Markdown table row; [`TABLE_HEADER`] is its header.
    pub fn table_row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
            self.label,
            self.target_rate,
            self.sent,
            self.admitted,
            self.denied,
            self.errors,
            self.achieved_rate,
            self.p50_ms,
            self.p95_ms,
            self.p99_ms,
            self.max_ms
        )
    }
}

/// The header of [`LoadStep::table_row`]'s table.
pub const TABLE_HEADER: &str = "| step | target req/s | sent | admitted | denied | errors | achieved req/s | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|---|---|---|";

/// The `q` quantile of sorted `values` (nearest rank); 0 when there are none.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Sends one review per entry of `images` to `{url}/validate` at `rate` per second, and waits for every
/// answer. `rate` is clamped to `(0, MAX_RATE]`.
pub async fn run_step(
    client: &reqwest::Client,
    url: &str,
    label: &str,
    rate: f64,
    images: &[String],
) -> LoadStep {
    let rate = rate.clamp(0.1, MAX_RATE);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(images.len());
    for (index, image) in images.iter().enumerate() {
        let due = started + Duration::from_secs_f64(index as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let url = format!("{}/validate", url.trim_end_matches('/'));
        let body = deployment_review(index, image);
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let response =
                client.post(url).header("content-type", "application/json").body(body).send().await;
            let allowed = match response {
                Ok(response) if response.status().is_success() => response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|a| a["response"]["allowed"].as_bool()),
                _ => None,
            };
            (sent.elapsed().as_secs_f64() * 1000.0, allowed)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let (mut admitted, mut denied, mut errors) = (0, 0, 0);
    for task in tasks {
        match task.await {
            Ok((latency, allowed)) => {
                latencies.push(latency);
                match allowed {
                    Some(true) => admitted += 1,
                    Some(false) => denied += 1,
                    None => errors += 1,
                }
            }
            Err(_) => errors += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    let seconds = started.elapsed().as_secs_f64().max(f64::EPSILON);
    LoadStep {
        label: label.to_owned(),
        target_rate: rate,
        sent: images.len(),
        admitted,
        denied,
        errors,
        achieved_rate: images.len() as f64 / seconds,
        p50_ms: percentile(&latencies, 0.5),
        p95_ms: percentile(&latencies, 0.95),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 51.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&values, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.99), 0.0);
    }

    #[test]
    fn the_review_is_one_the_webhook_parses() {
        let request = crate::review::parse_review(&deployment_review(7, "ghcr.io/acme/app:1"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.uid, "u-7");
    }
}
