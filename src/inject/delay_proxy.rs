//! A delaying TCP proxy placed in front of a region's entry point, for latency faults
//! on kernels without netem. Each direction is a delay line: bytes read at `t` are
//! written at `t + delay ± jitter` (never before earlier bytes), so latency is added
//! without capping throughput, as netem does per packet. With no delay set it is a
//! plain pass-through.

use rand::RngExt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Bytes in flight per direction before the reader waits for the writer.
const LINE_CHUNKS: usize = 256;

/// The delay and jitter currently applied, in microseconds.
#[derive(Debug, Default)]
struct Setting {
    delay_us: AtomicU64,
    jitter_us: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct DelayProxy {
    pub addr: SocketAddr,
    setting: Arc<Setting>,
    task: JoinHandle<()>,
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DelayProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<DelayProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let setting = Arc::new(Setting::default());
        let shared = setting.clone();
        let task = tokio::spawn(async move {
            // Connection tasks live in the set, so they end with the proxy.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let setting = shared.clone();
                connections.spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, setting).await;
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(DelayProxy {
            addr,
            setting,
            task,
        })
    }

    pub fn set(&self, delay: Duration, jitter: Duration) {
        self.setting
            .jitter_us
            .store(jitter.as_micros() as u64, Ordering::Relaxed);
        self.setting
            .delay_us
            .store(delay.as_micros() as u64, Ordering::Relaxed);
    }
}

async fn relay(client: TcpStream, server: TcpStream, setting: Arc<Setting>) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        delay_line(client_read, server_write, setting.clone()),
        delay_line(server_read, client_write, setting),
    );
}

/// Copies one direction, holding each chunk until its due time.
async fn delay_line(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    setting: Arc<Setting>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(LINE_CHUNKS);
    let reader = async move {
        let mut last_due = Instant::now();
        loop {
            let mut buf = vec![0u8; 16 * 1024];
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.truncate(n);
            let delay = setting.delay_us.load(Ordering::Relaxed);
            let jitter = setting.jitter_us.load(Ordering::Relaxed);
            let spread = if jitter > 0 {
                rand::rng().random_range(0..=2 * jitter) as i64 - jitter as i64
            } else {
                0
            };
            let wait = Duration::from_micros((delay as i64 + spread).max(0) as u64);
            // Never overtake earlier bytes: TCP is a stream.
            last_due = (Instant::now() + wait).max(last_due);
            if tx.send((last_due, buf)).await.is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on loopback, for the proxy to stand in front of.
    async fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(addr: SocketAddr) -> Duration {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let started = std::time::Instant::now();
        s.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        started.elapsed()
    }

    #[tokio::test]
    async fn adds_the_delay_each_way_and_removes_it() {
        let proxy = DelayProxy::start(echo().await).await.unwrap();
        assert!(round_trip(proxy.addr).await < Duration::from_millis(50));
        proxy.set(Duration::from_millis(100), Duration::ZERO);
        let delayed = round_trip(proxy.addr).await;
        assert!(
            delayed >= Duration::from_millis(200),
            "100 ms each way: {delayed:?}"
        );
        assert!(delayed < Duration::from_millis(400), "{delayed:?}");
        proxy.set(Duration::ZERO, Duration::ZERO);
        assert!(round_trip(proxy.addr).await < Duration::from_millis(50));
    }

    #[tokio::test]
    async fn delay_does_not_cap_throughput() {
        let proxy = DelayProxy::start(echo().await).await.unwrap();
        proxy.set(Duration::from_millis(50), Duration::from_millis(10));
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        let started = std::time::Instant::now();
        let (mut r, mut w) = s.split();
        let send = async {
            w.write_all(&data).await.unwrap();
        };
        let mut back = vec![0u8; data.len()];
        let recv = async {
            r.read_exact(&mut back).await.unwrap();
        };
        tokio::join!(send, recv);
        assert_eq!(back, data, "bytes arrive whole and in order despite jitter");
        // 2 MB in ~120 chunks: a per-chunk sleep would take seconds.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
