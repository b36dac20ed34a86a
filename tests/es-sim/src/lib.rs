//! `es-sim`: an in-memory, Elasticsearch-compatible test server.
//!
//! It answers the document, bulk, search (with near-real-time refresh semantics), scroll, PIT,
//! delete-by-query, index, alias, ingest pipeline, API key and connector APIs with Elasticsearch's
//! status codes, bodies and headers, and can inject faults. Start one in-process with
//! [`start`] or run the `es-sim` binary.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = es_sim::start(es_sim::SimConfig::default()).await?;
//! println!("{}", sim.url());
//! sim.faults().reject_bulk_items_percent(10);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod authz;
pub mod datemath;
pub mod doc_source;
pub mod error;
pub mod faults;
pub mod http;
pub mod ids;
pub mod ingest;
pub mod mapping;
pub mod media;
pub mod principal;
pub mod query;
pub mod roles;
pub mod router;
pub mod script;
pub mod search;
pub mod security;
pub mod server;
pub mod source_filter;
pub mod state;
pub mod store;
pub mod sync;
pub mod templates;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use faults::Faults;

/// The node id reported in task ids, shard failures and `_nodes`.
pub const NODE_ID: &str = "es-sim-node-0000000001";
pub const NODE_NAME: &str = "es-sim";
pub const CLUSTER_NAME: &str = "es-sim";

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on (loopback by default).
    pub host: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// The Elasticsearch version reported by `GET /`; its major decides REST compatibility.
    pub version: String,
    /// `http.max_content_length`: larger requests get an empty 413.
    pub max_content_length: usize,
    /// The default `index.refresh_interval` (indices may set their own); `None` refreshes indices
    /// without the setting only on request.
    pub refresh_interval: Option<Duration>,
    /// Basic-auth user; `None` turns security off.
    pub security: Option<Security>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            version: "9.6.0".to_string(),
            max_content_length: 100 * 1024 * 1024,
            refresh_interval: Some(Duration::from_secs(1)),
            security: None,
        }
    }
}

/// The basic-auth user of a secured simulator. API keys created through `_security/api_key`
/// authenticate too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    pub username: String,
    pub password: String,
}

/// A running simulator.
pub struct EsSim {
    addr: SocketAddr,
    faults: Faults,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Binds the listener and starts serving in the background.
pub async fn start(config: SimConfig) -> std::io::Result<EsSim> {
    server::start(config).await
}

impl EsSim {
    pub(crate) fn new(
        addr: SocketAddr,
        faults: Faults,
        shutdown: tokio::sync::watch::Sender<bool>,
        tasks: Vec<tokio::task::JoinHandle<()>>,
    ) -> EsSim {
        EsSim {
            addr,
            faults,
            shutdown,
            tasks,
        }
    }

    /// `http://HOST:PORT`.
    pub fn url(&self) -> String {
        match self.addr {
            SocketAddr::V6(a) => format!("http://[{}]:{}", a.ip(), a.port()),
            SocketAddr::V4(a) => format!("http://{}:{}", a.ip(), a.port()),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle on the fault injection of this server.
    pub fn faults(&self) -> Faults {
        self.faults.clone()
    }

    /// Stops accepting, closes open connections and stops background work.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
