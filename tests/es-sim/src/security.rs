//! Authentication (Basic and ApiKey) and the `_security/api_key` APIs.
//!
//! Layout: `roles` (role descriptors of API keys: parsing, rendering), `privileges` (what
//! privileges grant, validation of descriptors), `authz` (what a key with descriptors may do:
//! workflow restrictions, index privileges of reads, document-level security filters), `dls`
//! (role queries and their templates), `mustache` (the template renderer).

pub mod dls;
pub mod mustache;
pub mod privileges;

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::Security;
use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::roles::RoleDescriptor;
use crate::sync::lock;

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub secret: String,
    pub creation: i64,
    pub expiration: Option<i64>,
    pub invalidated: bool,
    pub invalidation: Option<i64>,
    pub username: String,
    pub metadata: Value,
    /// The key's role descriptors; empty: the owner's permissions.
    pub roles: Arc<Vec<RoleDescriptor>>,
}

impl ApiKey {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!("rest"));
        m.insert("creation".into(), json!(self.creation));
        if let Some(e) = self.expiration {
            m.insert("expiration".into(), json!(e));
        }
        m.insert("invalidated".into(), json!(self.invalidated));
        if let Some(i) = self.invalidation {
            m.insert("invalidation".into(), json!(i));
        }
        m.insert("username".into(), json!(self.username));
        m.insert("realm".into(), json!("default_native"));
        m.insert("realm_type".into(), json!("native"));
        m.insert("metadata".into(), self.metadata.clone());
        let roles: Map<String, Value> = self
            .roles
            .iter()
            .map(|r| (r.name.clone(), r.to_json()))
            .collect();
        m.insert("role_descriptors".into(), Value::Object(roles));
        Value::Object(m)
    }

    fn expired(&self, now: i64) -> bool {
        self.expiration.is_some_and(|e| e <= now)
    }
}

#[derive(Debug, Default)]
pub struct KeyStore {
    pub keys: Vec<ApiKey>,
}

/// What authentication needs from the simulator: the basic-auth user (`None`: security is
/// off) and the API keys.
#[derive(Clone, Copy)]
pub struct Auth<'a> {
    pub user: Option<&'a Security>,
    pub keys: &'a Mutex<KeyStore>,
}

pub use crate::principal::Principal;

fn unauthenticated(reason: String) -> EsError {
    let challenge = json!([
        "Basic realm=\"security\", charset=\"UTF-8\"",
        "Bearer realm=\"security\"",
        "ApiKey"
    ]);
    EsError::new(401, "security_exception", reason)
        .with("header", json!({"WWW-Authenticate": challenge}))
        .with_header(
            "WWW-Authenticate",
            "Basic realm=\"security\", charset=\"UTF-8\"",
        )
        .with_header("WWW-Authenticate", "Bearer realm=\"security\"")
        .with_header("WWW-Authenticate", "ApiKey")
}

/// Checks the request's credentials when security is on.
pub fn authenticate(auth: &Auth<'_>, req: &Req) -> EsResult<Principal> {
    principal(auth, req, true)
}

fn principal(auth: &Auth<'_>, req: &Req, enforce: bool) -> EsResult<Principal> {
    let Some(sec) = auth.user else {
        return Ok(Principal::Anonymous);
    };
    let path = &req.path;
    let Some(header) = req.header("authorization") else {
        if !enforce {
            return Ok(Principal::Anonymous);
        }
        return Err(unauthenticated(format!(
            "missing authentication credentials for REST request [{path}]"
        )));
    };
    let (scheme, cred) = header.trim().split_once(' ').unwrap_or((header, ""));
    let cred = cred.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => {
            let decoded = STANDARD
                .decode(cred)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return Err(unauthenticated(format!(
                    "unable to authenticate user [] for REST request [{path}]"
                )));
            };
            if user == sec.username && pass == sec.password {
                Ok(Principal::User(user.to_string()))
            } else {
                Err(unauthenticated(format!(
                    "unable to authenticate user [{user}] for REST request [{path}]"
                )))
            }
        }
        "apikey" => {
            let fail = |why: &str| {
                unauthenticated("unable to authenticate with provided credentials and anonymous access is not allowed for this request".to_string())
                    .with("additional_unsuccessful_credentials", format!("API key: {why}"))
            };
            let decoded = STANDARD
                .decode(cred)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return Err(fail("invalid ApiKey value"));
            };
            let keys = lock(auth.keys);
            let now = chrono::Utc::now().timestamp_millis();
            match keys.keys.iter().find(|k| k.id == id) {
                None => Err(fail(&format!("unable to find apikey with id {id}"))),
                Some(k) if k.secret != secret => {
                    Err(fail(&format!("invalid credentials for API key [{id}]")))
                }
                Some(k) if k.invalidated => {
                    Err(fail(&format!("api key [{id}] has been invalidated")))
                }
                Some(k) if k.expired(now) => Err(fail("api key is expired")),
                Some(k) => Ok(Principal::Key {
                    id: k.id.clone(),
                    name: k.name.clone(),
                    username: k.username.clone(),
                    roles: k.roles.clone(),
                }),
            }
        }
        _ => Err(unauthenticated(format!(
            "missing authentication credentials for REST request [{path}]"
        ))),
    }
}

fn owner(auth: &Auth<'_>, req: &Req) -> String {
    match principal(auth, req, false) {
        Ok(Principal::User(u)) => u,
        Ok(Principal::Key { username, .. }) => username,
        _ => "_anonymous".to_string(),
    }
}

/// `POST|PUT /_security/api_key`.
pub fn create_api_key(auth: &Auth<'_>, req: &Req) -> EsResult<Resp> {
    let body = req.json_object_or_empty()?;
    for k in body.keys() {
        if !["name", "expiration", "role_descriptors", "metadata", "type"].contains(&k.as_str()) {
            return Err(EsError::x_content(format!(
                "[1:2] [api_key_request] unknown field [{k}]"
            )));
        }
    }
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let roles = match body.get("role_descriptors") {
        Some(v) => crate::roles::parse_role_descriptors(v)?,
        None => Vec::new(),
    };
    let invalid = privileges::validate(&roles);
    if !invalid.is_empty() {
        return Err(EsError::validation(&invalid));
    }
    dls::validate_role_queries(&roles)?;
    let now = chrono::Utc::now().timestamp_millis();
    let expiration = match body.get("expiration") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(now + crate::http::parse_time_value(s, "expiration")?.as_millis() as i64)
        }
        Some(_) => return Err(EsError::x_content("[expiration] must be a time value")),
    };
    let key = ApiKey {
        id: crate::ids::auto_id(),
        name: name.clone(),
        secret: crate::ids::uuid(),
        creation: now,
        expiration,
        invalidated: false,
        invalidation: None,
        username: owner(auth, req),
        metadata: body.get("metadata").cloned().unwrap_or_else(|| json!({})),
        roles: Arc::new(roles),
    };
    let encoded = STANDARD.encode(format!("{}:{}", key.id, key.secret));
    let mut out = Map::new();
    out.insert("id".into(), json!(key.id));
    out.insert("name".into(), json!(name));
    if let Some(e) = expiration {
        out.insert("expiration".into(), json!(e));
    }
    out.insert("api_key".into(), json!(key.secret));
    out.insert("encoded".into(), json!(encoded));
    lock(auth.keys).keys.push(key);
    Ok(Resp::ok(Value::Object(out)))
}

/// `GET /_security/api_key?id=&name=&owner=`.
pub fn get_api_keys(auth: &Auth<'_>, req: &Req) -> EsResult<Resp> {
    let p = &req.params;
    let id = p.get("id");
    let name = p.get("name");
    let owner_only = p.bool("owner", false)?;
    let me = owner(auth, req);
    let keys = lock(auth.keys);
    let found: Vec<Value> = keys
        .keys
        .iter()
        .filter(|k| id.is_none_or(|i| k.id == i))
        .filter(|k| name.is_none_or(|n| crate::source_filter::glob(n, &k.name)))
        .filter(|k| !owner_only || k.username == me)
        .map(ApiKey::to_json)
        .collect();
    if found.is_empty() && (id.is_some() || name.is_some()) {
        return Err(EsError::resource_not_found(match (id, name) {
            (Some(i), _) => format!("api key with id [{i}] not found"),
            (_, Some(n)) => format!("api key with name [{n}] not found"),
            _ => "api key not found".into(),
        }));
    }
    Ok(Resp::ok(json!({"api_keys": found})))
}

/// `DELETE /_security/api_key {ids|id|name|owner}`.
pub fn invalidate_api_keys(auth: &Auth<'_>, req: &Req) -> EsResult<Resp> {
    let body = req.json_object_or_empty()?;
    let mut ids: Vec<String> = Vec::new();
    if let Some(v) = body.get("ids").and_then(Value::as_array) {
        ids.extend(v.iter().filter_map(Value::as_str).map(String::from));
    }
    if let Some(v) = body.get("id").and_then(Value::as_str) {
        ids.push(v.to_string());
    }
    let name = body.get("name").and_then(Value::as_str).map(String::from);
    let owner_only = body.get("owner").and_then(Value::as_bool).unwrap_or(false);
    let username = body
        .get("username")
        .and_then(Value::as_str)
        .map(String::from);
    if ids.is_empty() && name.is_none() && !owner_only && username.is_none() {
        return Err(EsError::validation(&[
            "One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false",
        ]));
    }
    let me = owner(auth, req);
    let now = chrono::Utc::now().timestamp_millis();
    let mut invalidated = Vec::new();
    let mut previously = Vec::new();
    let mut keys = lock(auth.keys);
    for k in keys.keys.iter_mut() {
        let hit = (ids.is_empty() || ids.contains(&k.id))
            && name
                .as_deref()
                .is_none_or(|n| crate::source_filter::glob(n, &k.name))
            && (!owner_only || k.username == me)
            && username.as_deref().is_none_or(|u| k.username == u);
        if !hit {
            continue;
        }
        if k.invalidated {
            previously.push(k.id.clone());
        } else {
            k.invalidated = true;
            k.invalidation = Some(now);
            invalidated.push(k.id.clone());
        }
    }
    Ok(Resp::ok(json!({
        "invalidated_api_keys": invalidated,
        "previously_invalidated_api_keys": previously,
        "error_count": 0
    })))
}

/// `GET /_security/_authenticate`.
pub fn authenticate_info(auth: &Auth<'_>, req: &Req) -> EsResult<Resp> {
    let p = principal(auth, req, false)?;
    let (username, api_key) = match p {
        Principal::Anonymous => ("_anonymous".to_string(), None),
        Principal::User(u) => (u, None),
        Principal::Key {
            id, name, username, ..
        } => (username, Some(json!({"id": id, "name": name}))),
    };
    let mut v = json!({
        "username": username,
        "roles": ["superuser"],
        "full_name": null,
        "email": null,
        "metadata": {},
        "enabled": true,
        "authentication_realm": {"name": "default_native", "type": "native"},
        "lookup_realm": {"name": "default_native", "type": "native"},
        "authentication_type": if api_key.is_some() { "api_key" } else { "realm" },
    });
    if let (Some(k), Value::Object(m)) = (api_key, &mut v) {
        m.insert("api_key".into(), k);
    }
    Ok(Resp::ok(v))
}
