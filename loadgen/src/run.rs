//! A fixed-duration load run: N keep-alive HTTP/1.1 connections, each sending one request shape back to back
//! (a closed loop, as wrk does), every latency recorded in an HDR histogram.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::HeaderValue;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::shape::{RequestShape, SeededImages};

/// Latencies are recorded in microseconds, up to a minute, to three significant digits.
const LATENCY_MAX_MICROS: u64 = 60_000_000;
/// How long a connection waits before trying again when the server cannot be reached.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);
/// How much of an unexpected answer's body is kept for the report.
const ERROR_BODY_CHARS: usize = 300;

/// A server to load: its socket address and the `host:port` sent as `Host`.
#[derive(Clone, Debug)]
pub struct Target {
    /// Where to connect.
    pub addr: SocketAddr,
    /// The `Host` header (and the host that AK/SK signatures cover).
    pub authority: HeaderValue,
}

/// Why a target URL cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid target {url:?}: {reason}")]
pub struct TargetError {
    url: String,
    reason: String,
}

impl Target {
    /// Parses `http://host:port` (a trailing `/` allowed; no path, no TLS).
    pub fn from_url(url: &str) -> Result<Target, TargetError> {
        let fail = |reason: &str| TargetError { url: url.to_owned(), reason: reason.to_owned() };
        let uri: http::Uri = url.parse().map_err(|_| fail("not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(fail("only http:// is supported"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(fail("give the server's root, without a path"));
        }
        let authority = uri.authority().ok_or_else(|| fail("no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let addr = (authority.host().trim_start_matches('[').trim_end_matches(']'), port)
            .to_socket_addrs()
            .map_err(|e| fail(&e.to_string()))?
            .next()
            .ok_or_else(|| fail("the host resolves to no address"))?;
        let authority = HeaderValue::from_str(authority.as_str()).map_err(|_| fail("invalid host"))?;
        Ok(Target { addr, authority })
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    /// The servers; connection `i` goes to `targets[i % targets.len()]` (replicas share the load evenly).
    pub targets: Vec<Target>,
    /// Concurrent connections, each with one request in flight.
    pub connections: usize,
    /// Threads of the generator (at most one per connection).
    pub threads: usize,
    /// How long to send requests for.
    pub duration: Duration,
    /// The request sent.
    pub shape: Arc<RequestShape>,
    /// The seeded images requests pick from.
    pub images: SeededImages,
    /// Seed of the image choice (each connection derives its own).
    pub seed: u64,
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    /// Answers received (whatever their status).
    pub requests: u64,
    /// Answers that were not 2xx, plus requests that failed in transport.
    pub errors: u64,
    /// From the start of the run to the end of its last request.
    pub elapsed: Duration,
    /// Latency of every answer, in microseconds.
    pub latency: Histogram<u64>,
    /// The first error, for the report.
    pub first_error: Option<String>,
}

impl Outcome {
    fn empty() -> Outcome {
        Outcome {
            requests: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latency: Histogram::new_with_bounds(1, LATENCY_MAX_MICROS, 3).expect("valid histogram bounds"),
            first_error: None,
        }
    }

    fn error(&mut self, message: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(message());
        }
    }

    fn merge(&mut self, other: Outcome) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latency.add(&other.latency).expect("histograms of the same bounds add up");
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// Answers per second over the run.
    pub fn requests_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { self.requests as f64 / seconds } else { 0.0 }
    }

    /// The latency at `percentile` (0-100), in milliseconds.
    pub fn latency_ms(&self, percentile: f64) -> f64 {
        self.latency.value_at_percentile(percentile) as f64 / 1000.0
    }
}

/// The line `scripts/bench` parses (the wrk script prints the same):
/// `RESULT <req/s> <p50 ms> <p99 ms> <p99.9 ms> <max ms> <requests> <errors>`.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RESULT {:.1} {:.3} {:.3} {:.3} {:.3} {} {}",
            self.requests_per_second(),
            self.latency_ms(50.0),
            self.latency_ms(99.0),
            self.latency_ms(99.9),
            self.latency.max() as f64 / 1000.0,
            self.requests,
            self.errors
        )
    }
}

/// A small fast generator for the image choice (SplitMix64): the choice only has to spread over the images.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Runs `plan` and returns what it measured. Each of its threads has its own single-threaded Tokio runtime and
/// its share of the connections, as each wrk thread has its own event loop: a connection's requests and its
/// HTTP driver never wake each other across threads.
pub fn run(plan: &LoadPlan) -> Outcome {
    if plan.targets.is_empty() {
        let mut outcome = Outcome::empty();
        outcome.error(|| "no target to load".to_owned());
        return outcome;
    }
    let started = Instant::now();
    let deadline = started + plan.duration;
    let threads = plan.threads.clamp(1, plan.connections.max(1));
    let mut outcome = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| scope.spawn(move || run_thread(plan, thread, threads, deadline)))
            .collect();
        let mut outcome = Outcome::empty();
        for worker in workers {
            match worker.join() {
                Ok(part) => outcome.merge(part),
                Err(_) => outcome.error(|| "a generator thread panicked".to_owned()),
            }
        }
        outcome
    });
    outcome.elapsed = started.elapsed();
    outcome
}

/// Thread `thread` of `threads`: connections `thread`, `thread + threads`, ... until `deadline`.
fn run_thread(plan: &LoadPlan, thread: usize, threads: usize, deadline: Instant) -> Outcome {
    let mut outcome = Outcome::empty();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            outcome.error(|| format!("cannot start a runtime: {e}"));
            return outcome;
        }
    };
    runtime.block_on(async {
        let tasks: Vec<_> = (thread..plan.connections)
            .step_by(threads)
            .map(|i| {
                let target = plan.targets[i % plan.targets.len()].clone();
                let shape = Arc::clone(&plan.shape);
                let images = plan.images;
                let seed = plan.seed ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
                tokio::spawn(async move { connection(target, &shape, images, seed, deadline).await })
            })
            .collect();
        for task in tasks {
            match task.await {
                Ok(part) => outcome.merge(part),
                Err(e) => outcome.error(|| format!("a connection task failed: {e}")),
            }
        }
    });
    outcome
}

async fn connect(target: &Target) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream =
        TcpStream::connect(target.addr).await.map_err(|e| format!("connect {}: {e}", target.addr))?;
    stream.set_nodelay(true).map_err(|e| format!("TCP_NODELAY: {e}"))?;
    let (sender, connection) =
        handshake(TokioIo::new(stream)).await.map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One connection's closed loop until `deadline`: reconnects when the server closes it.
async fn connection(
    target: Target,
    shape: &RequestShape,
    images: SeededImages,
    seed: u64,
    deadline: Instant,
) -> Outcome {
    let mut outcome = Outcome::empty();
    let mut random = SplitMix64(seed);
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < deadline {
        let reusable = match sender.take() {
            Some(mut live) => live.ready().await.is_ok().then_some(live),
            None => None,
        };
        let mut live = match reusable {
            Some(live) => live,
            None => match connect(&target).await {
                Ok(live) => live,
                Err(message) => {
                    outcome.error(|| message);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            },
        };
        let image = if shape.names_image() { images.pick(random.next()) } else { 0 };
        let request = match shape.build(&target.authority, image, SystemTime::now()) {
            Ok(request) => request,
            Err(e) => {
                outcome.error(|| e.to_string());
                return outcome;
            }
        };
        let sent = Instant::now();
        match exchange(&mut live, request).await {
            Ok((status, body)) => {
                outcome.requests += 1;
                outcome.latency.saturating_record(sent.elapsed().as_micros() as u64);
                if !status.is_success() {
                    outcome.error(|| {
                        let text = String::from_utf8_lossy(&body);
                        format!("HTTP {status}: {}", text.chars().take(ERROR_BODY_CHARS).collect::<String>())
                    });
                }
                sender = Some(live);
            }
            Err(e) => outcome.error(|| format!("request failed: {e}")),
        }
    }
    outcome
}

/// Sends `request` and reads the whole answer.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: http::Request<Full<Bytes>>,
) -> Result<(http::StatusCode, Bytes), hyper::Error> {
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_urls() {
        let target = Target::from_url("http://127.0.0.1:9292/").expect("valid");
        assert_eq!(target.addr, "127.0.0.1:9292".parse().expect("address"));
        assert_eq!(target.authority, "127.0.0.1:9292");
        assert_eq!(Target::from_url("http://[::1]:80").expect("valid").authority, "[::1]:80");
        for bad in ["https://127.0.0.1:9292", "http://127.0.0.1:9292/v2", "127.0.0.1:9292", "http://"] {
            assert!(Target::from_url(bad).is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn the_result_line_has_seven_fields() {
        let mut outcome = Outcome::empty();
        for (micros, count) in [(100, 900), (1000, 95), (2000, 5)] {
            outcome.latency.record_n(micros, count).expect("in bounds");
        }
        outcome.requests = 1000;
        outcome.errors = 2;
        outcome.elapsed = Duration::from_millis(500);
        assert_eq!(outcome.to_string(), "RESULT 2000.0 0.100 1.000 2.000 2.000 1000 2");
    }

    #[test]
    fn a_plan_without_targets_reports_an_error() {
        let shape = RequestShape::new("GET", "/versions", "", crate::Auth::None, None).expect("valid");
        let plan = LoadPlan {
            targets: Vec::new(),
            connections: 4,
            threads: 2,
            duration: Duration::from_secs(60),
            shape: Arc::new(shape),
            images: SeededImages { images: 1, projects: 1 },
            seed: 1,
        };
        let outcome = run(&plan);
        assert_eq!((outcome.requests, outcome.errors), (0, 1));
        assert_eq!(outcome.first_error.as_deref(), Some("no target to load"));
    }

    #[test]
    fn connections_choose_different_images() {
        let mut a = SplitMix64(1);
        let mut b = SplitMix64(2);
        let (a, b): (Vec<_>, Vec<_>) = (0..8).map(|_| (a.next(), b.next())).unzip();
        assert_ne!(a, b);
        assert!(a.windows(2).all(|w| w[0] != w[1]));
    }
}
