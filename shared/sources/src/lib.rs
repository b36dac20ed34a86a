//! The sources this build serves. A new source is one module here and one line in [`registry`].

pub mod database;
pub mod dir;
pub mod graphql;
pub(crate) mod http;
pub mod mysql;
pub mod network_drive;
pub mod objects;
pub mod postgresql;
pub mod python;
pub mod redis;

use connectors_sdk::SourceRegistry;

/// Every source of this build, by service type, with the default limits.
pub fn registry() -> SourceRegistry {
    registry_with(objects::Limits::default())
}

/// Every source of this build; file and object sources download at most
/// `limits.max_content_bytes` per file (the service's `max_file_download_size`).
pub fn registry_with(limits: objects::Limits) -> SourceRegistry {
    let mut r = SourceRegistry::new();
    r.register(Box::new(dir::DirectorySource {
        max_content_bytes: limits.max_content_bytes,
    }));
    r.register(Box::new(postgresql::PostgresSource));
    r.register(Box::new(mysql::MySqlSource));
    r.register(Box::new(objects::s3::S3Source {
        limits,
        ..Default::default()
    }));
    r.register(Box::new(objects::azure::AzureBlobSource { limits }));
    r.register(Box::new(redis::RedisSource));
    r.register(Box::new(graphql::GraphQlSource::default()));
    r.register(Box::new(network_drive::NetworkDriveSource { limits }));
    r.register(Box::new(objects::gcs::GcsSource {
        limits,
        ..Default::default()
    }));
    r
}
