//! The sources this build serves. A new source is one module here and one line in [`registry`].

pub mod database;
pub mod dir;
pub mod mysql;
pub mod postgresql;

use connectors_sdk::SourceRegistry;

/// Every source of this build, by service type.
pub fn registry() -> SourceRegistry {
    let mut r = SourceRegistry::new();
    r.register(Box::new(dir::DirectorySource::default()));
    r.register(Box::new(postgresql::PostgresSource));
    r.register(Box::new(mysql::MySqlSource));
    r
}
