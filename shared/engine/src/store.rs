//! Reading and writing connector and sync job documents directly through their index aliases,
//! with the `_seq_no`/`_primary_term` each write must name (as the reference does for every
//! update that races other workers).

use connectors_protocol::{CONNECTORS_INDEX, Connector, SYNC_JOBS_INDEX, SyncJob};
use es_client::{EsClient, EsError, Refresh, SeqNo, WriteOptions};
use serde::Serialize;

/// A document with the version token its next write must name.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub doc: T,
    pub seq: SeqNo,
}

/// Why a guarded write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Someone else wrote the document since it was read.
    #[error("the document changed since it was read")]
    Conflict,
    #[error(transparent)]
    Es(#[from] EsError),
}

/// A document that exists but cannot be read as the protocol says.
#[derive(Debug, thiserror::Error)]
#[error("{kind} [{id}] cannot be read: {reason}")]
pub struct Unreadable {
    pub kind: &'static str,
    pub id: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Unreadable(#[from] Unreadable),
    #[error(transparent)]
    Es(#[from] EsError),
}

/// Connector and sync job documents.
#[derive(Clone)]
pub struct Store {
    es: EsClient,
}

impl Store {
    pub fn new(es: EsClient) -> Self {
        Store { es }
    }

    pub fn es(&self) -> &EsClient {
        &self.es
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        index: &str,
        kind: &'static str,
        id: &str,
    ) -> Result<Option<Versioned<T>>, ReadError> {
        let Some(doc) = self.es.get_document::<serde_json::Value>(index, id).await? else {
            return Ok(None);
        };
        let seq = doc.seq_no.ok_or_else(|| Unreadable {
            kind,
            id: id.to_string(),
            reason: "no _seq_no in the answer".into(),
        })?;
        let mut value = doc.source;
        if let Some(map) = value.as_object_mut() {
            map.insert("id".into(), serde_json::Value::String(id.to_string()));
        }
        let parsed = serde_json::from_value(value).map_err(|e| Unreadable {
            kind,
            id: id.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Some(Versioned { doc: parsed, seq }))
    }

    pub async fn job(&self, id: &str) -> Result<Option<Versioned<SyncJob>>, ReadError> {
        self.get(SYNC_JOBS_INDEX, "sync job", id).await
    }

    pub async fn connector(&self, id: &str) -> Result<Option<Versioned<Connector>>, ReadError> {
        self.get(CONNECTORS_INDEX, "connector", id).await
    }

    async fn update(
        &self,
        index: &str,
        id: &str,
        partial: &(impl Serialize + ?Sized),
        seq: Option<SeqNo>,
        refresh: bool,
    ) -> Result<SeqNo, WriteError> {
        // State changes are written immediately visible, like the connector APIs
        // (`refresh=immediate`), so that listings by the scheduler see them; checkpoints need not
        // be (reads by id are real-time).
        let mut options = WriteOptions::default();
        if refresh {
            options = options.refresh(Refresh::True);
        }
        if let Some(seq) = seq {
            options = options.if_seq_no(seq);
        }
        match self
            .es
            .update_document(index, id, partial, false, &options)
            .await
        {
            Ok(r) => Ok(r.seq_no_primary_term().unwrap_or(SeqNo {
                seq_no: -1,
                primary_term: -1,
            })),
            Err(e) if e.is_version_conflict() => Err(WriteError::Conflict),
            Err(e) => Err(WriteError::Es(e)),
        }
    }

    /// A partial update of a job; with `seq`, only if nobody wrote it since.
    pub async fn update_job(
        &self,
        id: &str,
        partial: &(impl Serialize + ?Sized),
        seq: Option<SeqNo>,
    ) -> Result<SeqNo, WriteError> {
        self.update(SYNC_JOBS_INDEX, id, partial, seq, true).await
    }

    /// [`Store::update_job`] without making the change visible to searches right away: for
    /// the frequent checkpoint and heartbeat writes.
    pub async fn checkpoint_job(
        &self,
        id: &str,
        partial: &(impl Serialize + ?Sized),
        seq: SeqNo,
    ) -> Result<SeqNo, WriteError> {
        self.update(SYNC_JOBS_INDEX, id, partial, Some(seq), false)
            .await
    }

    /// A partial update of a connector; with `seq`, only if nobody wrote it since.
    pub async fn update_connector(
        &self,
        id: &str,
        partial: &(impl Serialize + ?Sized),
        seq: Option<SeqNo>,
    ) -> Result<SeqNo, WriteError> {
        self.update(CONNECTORS_INDEX, id, partial, seq, true).await
    }
}
