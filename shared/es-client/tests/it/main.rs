//! Integration tests. They run against an in-process es-sim by default, or against a real cluster
//! when `ES_URL` is set (with `ES_API_KEY` or `ES_USERNAME`/`ES_PASSWORD`); tests that need fault
//! injection or a specially configured simulator are skipped on a real cluster.

mod common;

mod auth;
mod bulk;
mod cluster;
mod connectors;
mod documents;
mod search;
mod tls;
