//! Status enums and the two state machines of the connector protocol.
//!
//! The legal transitions are those of Elasticsearch's `ConnectorStateMachine` and
//! `ConnectorSyncJobStateMachine`; the error text matches what Elasticsearch answers with.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An enum string that is not one of the protocol's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} [{value}]")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

/// A transition that the protocol's state machine forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Invalid transition attempt from [{from}] to [{to}]. Such a {machine} transition is not supported by the Connector Protocol."
)]
pub struct TransitionError {
    pub machine: &'static str,
    pub from: String,
    pub to: String,
}

macro_rules! protocol_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string used in documents and APIs.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue { kind: $kind, value: other.to_string() }),
                }
            }
        }
    };
}

protocol_enum!(
    /// `status` of a connector document.
    ConnectorStatus, "connector status", {
        Created => "created",
        NeedsConfiguration => "needs_configuration",
        Configured => "configured",
        Connected => "connected",
        Error => "error",
    }
);

protocol_enum!(
    /// `status` of a sync job document (and `last_sync_status` of a connector).
    SyncStatus, "sync job status", {
        Pending => "pending",
        InProgress => "in_progress",
        Canceling => "canceling",
        Canceled => "canceled",
        Suspended => "suspended",
        Completed => "completed",
        Error => "error",
    }
);

protocol_enum!(
    /// `job_type` of a sync job.
    JobType, "job type", {
        Full => "full",
        Incremental => "incremental",
        AccessControl => "access_control",
    }
);

protocol_enum!(
    /// `trigger_method` of a sync job.
    TriggerMethod, "trigger method", {
        OnDemand => "on_demand",
        Scheduled => "scheduled",
    }
);

impl ConnectorStatus {
    /// Whether `_status` may move a connector from `self` to `next`.
    pub fn can_transition_to(self, next: ConnectorStatus) -> bool {
        use ConnectorStatus::*;
        matches!(
            (self, next),
            (Created, NeedsConfiguration | Error)
                | (NeedsConfiguration, Configured | Error)
                | (
                    Configured,
                    NeedsConfiguration | Configured | Connected | Error
                )
                | (Connected, Connected | Configured | Error)
                | (Error, Connected | Configured | Error)
        )
    }

    /// Checks a transition, with Elasticsearch's error text when it is illegal.
    pub fn transition(self, next: ConnectorStatus) -> Result<ConnectorStatus, TransitionError> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(TransitionError {
                machine: "ConnectorStatus",
                from: self.to_string(),
                to: next.to_string(),
            })
        }
    }
}

impl SyncStatus {
    /// Whether a sync job may move from `self` to `next`.
    pub fn can_transition_to(self, next: SyncStatus) -> bool {
        use SyncStatus::*;
        matches!(
            (self, next),
            (Pending, InProgress | Canceled)
                | (InProgress, Canceling | Completed | Suspended | Error)
                | (Suspended, InProgress | Canceled)
                | (Canceling, Canceled | Error)
        )
    }

    /// Checks a transition, with Elasticsearch's error text when it is illegal.
    pub fn transition(self, next: SyncStatus) -> Result<SyncStatus, TransitionError> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(TransitionError {
                machine: "ConnectorSyncStatus",
                from: self.to_string(),
                to: next.to_string(),
            })
        }
    }

    /// `completed`, `canceled` and `error` end a job for good.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SyncStatus::Completed | SyncStatus::Canceled | SyncStatus::Error
        )
    }

    /// A worker is (or should be) running the job.
    pub fn is_active(self) -> bool {
        matches!(self, SyncStatus::InProgress | SyncStatus::Canceling)
    }

    /// A worker may claim the job. `_claim` itself does not check this.
    pub fn is_claimable(self) -> bool {
        matches!(self, SyncStatus::Pending | SyncStatus::Suspended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_strings_round_trip() {
        for s in SyncStatus::ALL {
            assert_eq!(s.as_str().parse::<SyncStatus>().unwrap(), *s);
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        for s in ConnectorStatus::ALL {
            assert_eq!(s.as_str().parse::<ConnectorStatus>().unwrap(), *s);
        }
        assert_eq!(JobType::AccessControl.as_str(), "access_control");
        assert_eq!(TriggerMethod::OnDemand.as_str(), "on_demand");
        assert!("bogus".parse::<JobType>().is_err());
    }

    #[test]
    fn connector_state_machine_matches_elasticsearch() {
        use ConnectorStatus::*;
        let legal = [
            (Created, NeedsConfiguration),
            (Created, Error),
            (NeedsConfiguration, Configured),
            (NeedsConfiguration, Error),
            (Configured, NeedsConfiguration),
            (Configured, Configured),
            (Configured, Connected),
            (Configured, Error),
            (Connected, Connected),
            (Connected, Configured),
            (Connected, Error),
            (Error, Connected),
            (Error, Configured),
            (Error, Error),
        ];
        for from in ConnectorStatus::ALL {
            for to in ConnectorStatus::ALL {
                assert_eq!(
                    from.can_transition_to(*to),
                    legal.contains(&(*from, *to)),
                    "{from} -> {to}"
                );
            }
        }
        let err = Created.transition(Connected).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid transition attempt from [created] to [connected]. Such a ConnectorStatus transition is not supported by the Connector Protocol."
        );
    }

    #[test]
    fn sync_job_state_machine_matches_elasticsearch() {
        use SyncStatus::*;
        let legal = [
            (Pending, InProgress),
            (Pending, Canceled),
            (InProgress, Canceling),
            (InProgress, Completed),
            (InProgress, Suspended),
            (InProgress, Error),
            (Suspended, InProgress),
            (Suspended, Canceled),
            (Canceling, Canceled),
            (Canceling, Error),
        ];
        for from in SyncStatus::ALL {
            for to in SyncStatus::ALL {
                assert_eq!(
                    from.can_transition_to(*to),
                    legal.contains(&(*from, *to)),
                    "{from} -> {to}"
                );
            }
        }
        for terminal in [Completed, Canceled, Error] {
            assert!(terminal.is_terminal());
            assert!(
                SyncStatus::ALL
                    .iter()
                    .all(|s| !terminal.can_transition_to(*s))
            );
        }
        assert!(
            Pending
                .transition(Error)
                .unwrap_err()
                .to_string()
                .contains("ConnectorSyncStatus")
        );
    }
}
