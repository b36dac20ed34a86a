//! Who made a request: anonymous, a user, or an API key with its role descriptors. Its own
//! module so that requests (`http`) can carry it without depending on the security handlers.

use std::sync::Arc;

use crate::roles::RoleDescriptor;

/// Who made a request.
#[derive(Debug, Clone, Default)]
pub enum Principal {
    #[default]
    Anonymous,
    User(String),
    Key {
        id: String,
        name: String,
        username: String,
        /// The key's role descriptors (empty: the owner's permissions), see `crate::authz`.
        roles: Arc<Vec<RoleDescriptor>>,
    },
}
