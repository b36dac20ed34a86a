//! A fault-injecting TCP proxy for throttling tests: the first `n` connections get a canned
//! HTTP error response (503 SlowDown, 503 ServerBusy, 429 ...), every later one is piped to the
//! upstream server untouched. The emulators cannot throttle; this makes them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    left: Arc<AtomicU32>,
    served: Arc<AtomicU32>,
}

/// An HTTP/1.1 response that closes its connection.
pub fn response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

impl FaultProxy {
    /// A proxy to `upstream` (an `http://host:port` URL) whose first `faults` connections are
    /// answered with `canned`.
    pub async fn start(upstream: &str, faults: u32, canned: String) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let left = Arc::new(AtomicU32::new(faults));
        let served = Arc::new(AtomicU32::new(0));
        let canned = Arc::new(canned);
        let (l, s) = (left.clone(), served.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let fault = l
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                let (upstream, canned, served) = (upstream.clone(), canned.clone(), s.clone());
                tokio::spawn(async move {
                    if fault {
                        read_head(&mut client).await;
                        let _ = client.write_all(canned.as_bytes()).await;
                        let _ = client.shutdown().await;
                        served.fetch_add(1, Ordering::SeqCst);
                    } else if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            left,
            served,
        }
    }

    /// Faults answered so far.
    pub fn served(&self) -> u32 {
        self.served.load(Ordering::SeqCst)
    }

    /// Faults still to come.
    pub fn left(&self) -> u32 {
        self.left.load(Ordering::SeqCst)
    }
}

/// Reads a request's head (and whatever else arrived with it).
async fn read_head(client: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
