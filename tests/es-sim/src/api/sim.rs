//! `/_sim/faults`: the admin endpoint for fault injection (never subject to faults or auth).

use serde_json::json;

use crate::error::{EsError, EsResult};
use crate::faults::FaultSpec;
use crate::http::{Req, Resp};
use crate::state::AppState;

pub fn get(state: &AppState) -> EsResult<Resp> {
    Ok(Resp::ok(state.faults.to_json()))
}

pub fn put(state: &AppState, req: &Req) -> EsResult<Resp> {
    let spec: FaultSpec = if req.has_body() {
        serde_json::from_slice(&req.body)
            .map_err(|e| EsError::x_content(format!("[sim faults] {e}")))?
    } else {
        FaultSpec::default()
    };
    state.faults.apply(&spec);
    Ok(Resp::ok(
        json!({"acknowledged": true, "faults": state.faults.to_json()}),
    ))
}

pub fn delete(state: &AppState) -> EsResult<Resp> {
    state.faults.clear();
    Ok(Resp::ok(
        json!({"acknowledged": true, "faults": state.faults.to_json()}),
    ))
}
