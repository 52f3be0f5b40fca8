//! The runner's HTTP client: bounded concurrency, a request rate limit, timeouts, and retries
//! with backoff on 429/503 that honour `Retry-After`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Semaphore;

/// A request the runner sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: http::Method,
    /// Path and query, starting with `/`.
    pub path: String,
    pub bearer: Option<String>,
    pub body: Body,
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    None,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
}

impl HttpRequest {
    pub fn new(method: http::Method, path: impl Into<String>) -> Self {
        HttpRequest {
            method,
            path: path.into(),
            bearer: None,
            body: Body::None,
        }
    }
    pub fn bearer(mut self, token: Option<String>) -> Self {
        self.bearer = token;
        self
    }
    pub fn json(mut self, value: serde_json::Value) -> Self {
        self.body = Body::Json(value);
        self
    }
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.body = Body::Form(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// 0 when no response arrived (connection error or timeout).
    pub status: u16,
    pub body: Vec<u8>,
    pub latency: Duration,
    /// Transport error, when `status == 0`.
    pub error: Option<String>,
}

impl HttpResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Limits for talking to a target.
#[derive(Debug, Clone)]
pub struct Limits {
    pub concurrency: usize,
    /// Requests per second; 0 = unlimited.
    pub rate: f64,
    pub timeout: Duration,
    pub retries: u32,
    /// Longest wait for one retry, whatever `Retry-After` says.
    pub max_backoff: Duration,
}

impl Limits {
    /// For a real endpoint: gentle.
    pub fn remote() -> Limits {
        Limits {
            concurrency: 4,
            rate: 10.0,
            timeout: Duration::from_secs(30),
            retries: 3,
            max_backoff: Duration::from_secs(30),
        }
    }
    /// For a mock on loopback: fast.
    pub fn local() -> Limits {
        Limits {
            concurrency: 16,
            rate: 0.0,
            timeout: Duration::from_secs(10),
            retries: 0,
            max_backoff: Duration::from_secs(1),
        }
    }
}

/// The client: over the network, or straight into an in-process simulator.
#[derive(Clone)]
pub struct Http {
    /// When set, requests go to this simulator without a socket (property tests, benchmarks).
    simulator: Option<crate::sim::Simulator>,
    client: reqwest::Client,
    base: String,
    limits: Limits,
    permits: Arc<Semaphore>,
    next_slot: Arc<Mutex<Instant>>,
    /// When set, retry waits pass on this clock instead of sleeping (a target sharing its
    /// clock with the run, in tests).
    clock: Option<crate::sim::Clock>,
}

impl Http {
    pub fn new(base_url: &str, limits: Limits) -> Result<Http, String> {
        let client = reqwest::Client::builder()
            .timeout(limits.timeout)
            .pool_max_idle_per_host(limits.concurrency.max(1))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Http {
            simulator: None,
            client,
            base: base_url.trim_end_matches('/').to_string(),
            permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
            next_slot: Arc::new(Mutex::new(Instant::now())),
            limits,
            clock: None,
        })
    }

    /// A client that hands every request to `simulator` directly, with no network and no
    /// limits: the same probes, judged the same way, thousands of times faster.
    pub fn in_process(simulator: crate::sim::Simulator) -> Http {
        let mut http = Http::new("http://in-process", Limits::local())
            .expect("a client without TLS roots builds");
        http.simulator = Some(simulator);
        http
    }

    fn send_in_process(sim: &crate::sim::Simulator, req: &HttpRequest) -> HttpResponse {
        let started = Instant::now();
        // An absolute URL (a web form's page, a Web Form host) reaches the simulator by its path.
        let full = req
            .path
            .strip_prefix("http://")
            .or_else(|| req.path.strip_prefix("https://"))
            .map_or(req.path.as_str(), |rest| {
                rest.find('/').map_or("/", |at| &rest[at..])
            });
        let (path, query) = match full.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (full, None),
        };
        let mut headers = http::HeaderMap::new();
        if let Some(token) = &req.bearer {
            if let Ok(v) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
                headers.insert(http::header::AUTHORIZATION, v);
            }
        }
        let body = match &req.body {
            Body::None => Vec::new(),
            Body::Json(v) => {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                serde_json::to_vec(v).unwrap_or_default()
            }
            Body::Form(pairs) => {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                serde_urlencoded::to_string(pairs)
                    .unwrap_or_default()
                    .into_bytes()
            }
        };
        let resp = sim.handle(&crate::sim::SimRequest {
            method: &req.method,
            path,
            query,
            headers: &headers,
            body: &body,
        });
        HttpResponse {
            status: resp.status,
            body: resp.body.to_vec(),
            latency: started.elapsed(),
            error: None,
        }
    }

    /// Wait on `clock` for retries (`Retry-After`, backoff) instead of sleeping: for a target
    /// that shares its clock with the run (see [`crate::sim::Clock::wait`]).
    pub fn with_clock(mut self, clock: crate::sim::Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    async fn wait(&self, by: Duration) {
        match &self.clock {
            Some(clock) => clock.wait(by).await,
            None => tokio::time::sleep(by).await,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Wait for the next slot of the rate limit.
    async fn pace(&self) {
        if self.limits.rate <= 0.0 {
            return;
        }
        let gap = Duration::from_secs_f64(1.0 / self.limits.rate);
        let wait = {
            let mut next = self.next_slot.lock();
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + gap;
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Send with the limits applied.
    pub async fn send(&self, req: &HttpRequest) -> HttpResponse {
        if let Some(sim) = &self.simulator {
            return Http::send_in_process(sim, req);
        }
        let _permit = self.permits.acquire().await.ok();
        let mut attempt = 0;
        loop {
            self.pace().await;
            let started = Instant::now();
            let result = self.build(req).send().await;
            let latency = started.elapsed();
            match result {
                Err(e) if !e.is_timeout() && !e.is_connect() && attempt < self.limits.retries => {
                    // The connection closed before an answer (a gateway timing out): retried
                    // like a 503. Timeouts and refused connections are not.
                    attempt += 1;
                    self.wait(
                        Duration::from_millis(500 * 2u64.pow(attempt)).min(self.limits.max_backoff),
                    )
                    .await;
                    continue;
                }
                Err(e) => {
                    let kind = if e.is_timeout() {
                        "timeout"
                    } else if e.is_connect() {
                        "connection failed"
                    } else {
                        "request failed"
                    };
                    return HttpResponse {
                        status: 0,
                        body: Vec::new(),
                        latency,
                        error: Some(format!("{kind}: {}", self.base)),
                    };
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    if (status == 429 || status == 503) && attempt < self.limits.retries {
                        attempt += 1;
                        let backoff =
                            retry_after.unwrap_or(Duration::from_millis(500 * 2u64.pow(attempt)));
                        self.wait(backoff.min(self.limits.max_backoff)).await;
                        continue;
                    }
                    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    return HttpResponse {
                        status,
                        body,
                        latency,
                        error: None,
                    };
                }
            }
        }
    }

    fn build(&self, req: &HttpRequest) -> reqwest::RequestBuilder {
        // An absolute path goes to its own host (the Web Form 2.0 host of `--webform-url`).
        let url = if req.path.starts_with("http://") || req.path.starts_with("https://") {
            req.path.clone()
        } else {
            format!("{}{}", self.base, req.path)
        };
        let mut builder = self.client.request(req.method.clone(), url);
        if let Some(token) = &req.bearer {
            builder = builder.bearer_auth(token);
        }
        match &req.body {
            Body::None => builder,
            Body::Json(v) => builder.json(v),
            Body::Form(pairs) => builder.form(pairs),
        }
    }
}
