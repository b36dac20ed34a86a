//! Permissions of a file or folder, as the reference's network drive reads them: the DACL of
//! its self-relative security descriptor (MS-DTYP 2.4.6), each ACE's type, mask and SID, and
//! which SIDs may read it (`sid:<SID>` values; a deny beats an allow for the same SID).
//!
//! Written by hand: the SMB client crate returns the descriptor as bytes, and the layout is
//! four fixed headers and a SID encoding (about a hundred lines); no maintained crate parses
//! just this without a Windows API or a whole SMB stack.

use std::collections::{BTreeSet, HashMap};

/// `ACCESS_ALLOWED_ACE_TYPE`.
const ACCESS_ALLOWED: u8 = 0;
/// `ACCESS_DENIED_ACE_TYPE`.
const ACCESS_DENIED: u8 = 1;
/// The reference's `ACCESS_MASK_DENIED_WRITE_PERMISSION`: an ACE with this mask denies writing
/// only, so it counts as an allow, whatever its type.
const DENY_WRITE_ONLY_MASK: u32 = 278;
/// `SE_DACL_PRESENT` in the descriptor's control flags.
const DACL_PRESENT: u16 = 0x0004;

/// One access-control entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    pub ace_type: u8,
    pub mask: u32,
    /// The trustee, as `S-1-5-21-...`.
    pub sid: String,
}

/// The ACEs of the descriptor's DACL; empty when it has none. `Err` when the bytes are not a
/// self-relative security descriptor.
pub fn dacl(descriptor: &[u8]) -> Result<Vec<Ace>, String> {
    let control = u16_at(descriptor, 2)?;
    let offset = u32_at(descriptor, 16)? as usize;
    if control & DACL_PRESENT == 0 || offset == 0 {
        return Ok(Vec::new());
    }
    let count = u16_at(descriptor, offset + 4)? as usize;
    let mut aces = Vec::with_capacity(count);
    let mut at = offset + 8;
    for _ in 0..count {
        let ace_type = *descriptor.get(at).ok_or("truncated ACE")?;
        let size = u16_at(descriptor, at + 2)? as usize;
        if size < 8 {
            return Err(format!("ACE of {size} bytes"));
        }
        // Allowed, denied and their callback forms carry the mask then the SID; the object
        // forms (5, 6, 11, 12) have GUIDs in between and are skipped, as the reference never
        // counts them.
        if matches!(ace_type, 0 | 1 | 9 | 10) {
            let mask = u32_at(descriptor, at + 4)?;
            let sid = sid(descriptor.get(at + 8..at + size).ok_or("truncated ACE")?)?;
            aces.push(Ace {
                ace_type,
                mask,
                sid,
            });
        }
        at += size;
    }
    Ok(aces)
}

/// A binary SID as text: `S-<revision>-<authority>-<sub authorities...>`.
pub fn sid(bytes: &[u8]) -> Result<String, String> {
    let revision = *bytes.first().ok_or("empty SID")?;
    let count = *bytes.get(1).ok_or("truncated SID")? as usize;
    let authority = bytes.get(2..8).ok_or("truncated SID")?;
    let authority = authority.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
    let mut text = if authority < 1 << 32 {
        format!("S-{revision}-{authority}")
    } else {
        format!("S-{revision}-0x{authority:012X}")
    };
    for i in 0..count {
        text.push_str(&format!("-{}", u32_at(bytes, 8 + 4 * i)?));
    }
    Ok(text)
}

/// The reference's `get_entity_permission` and `_decorate_with_access_control`: the SIDs the
/// ACEs allow minus those they deny, as `sid:<SID>`, sorted (the reference's order is a
/// Python set's). A group found in `groups` (Windows drives: SID → member SIDs) stands for
/// its members.
pub fn allowed(aces: &[Ace], groups: &HashMap<String, Vec<String>>) -> Vec<String> {
    let mut allow = BTreeSet::new();
    let mut deny = BTreeSet::new();
    for ace in aces {
        let sids: Vec<&String> = match groups.get(&ace.sid) {
            Some(members) if !members.is_empty() => members.iter().collect(),
            _ => vec![&ace.sid],
        };
        let values = sids.into_iter().map(|s| format!("sid:{s}"));
        if ace.ace_type == ACCESS_ALLOWED || ace.mask == DENY_WRITE_ONLY_MASK {
            allow.extend(values);
        } else if ace.ace_type == ACCESS_DENIED {
            deny.extend(values);
        }
    }
    allow.difference(&deny).cloned().collect()
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, String> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| "truncated security descriptor".to_string())
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| "truncated security descriptor".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid_bytes(authority: u8, subs: &[u32]) -> Vec<u8> {
        let mut b = vec![1, subs.len() as u8, 0, 0, 0, 0, 0, authority];
        for s in subs {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b
    }

    fn descriptor(aces: &[(u8, u32, Vec<u8>)]) -> Vec<u8> {
        let mut acl = Vec::new();
        for (t, mask, sid) in aces {
            acl.push(*t);
            acl.push(0);
            acl.extend_from_slice(&((8 + sid.len()) as u16).to_le_bytes());
            acl.extend_from_slice(&mask.to_le_bytes());
            acl.extend_from_slice(sid);
        }
        let mut b = vec![1, 0];
        b.extend_from_slice(&(0x8004u16).to_le_bytes());
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(&20u32.to_le_bytes());
        b.extend_from_slice(&[2, 0]);
        b.extend_from_slice(&((8 + acl.len()) as u16).to_le_bytes());
        b.extend_from_slice(&(aces.len() as u16).to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&acl);
        b
    }

    #[test]
    fn reads_the_dacl_and_formats_sids() {
        let sd = descriptor(&[
            (0, 0x1f01ff, sid_bytes(5, &[21, 1, 2, 3, 1001])),
            (1, 0x1f01ff, sid_bytes(5, &[21, 1, 2, 3, 1002])),
            (0, 0x1200a9, sid_bytes(1, &[0])),
        ]);
        let aces = dacl(&sd).unwrap();
        assert_eq!(aces.len(), 3);
        assert_eq!(aces[0].sid, "S-1-5-21-1-2-3-1001");
        assert_eq!(aces[1].ace_type, 1);
        assert_eq!(aces[2].sid, "S-1-1-0");
        assert_eq!(aces[2].mask, 0x1200a9);
        assert!(dacl(&sd[..30]).is_err());
    }

    #[test]
    fn deny_beats_allow_and_groups_expand_like_the_reference() {
        let ace = |t, sid: &str| Ace {
            ace_type: t,
            mask: 0x1f01ff,
            sid: sid.into(),
        };
        // The reference's own examples.
        let groups = HashMap::from([("S-1-11-10".to_string(), vec!["S-2-21-211-411".to_string()])]);
        assert!(allowed(&[ace(0, "S-2-21-211-411"), ace(1, "S-1-11-10")], &groups).is_empty());
        let groups = HashMap::from([(
            "S-1-11-11".to_string(),
            vec!["S-2-21-211-411".to_string(), "S-3-23-222-221".to_string()],
        )]);
        let aces = [
            ace(0, "S-2-21-211-411"),
            ace(1, "S-3-23-222-221"),
            ace(0, "S-1-11-11"),
        ];
        assert_eq!(allowed(&aces, &groups), ["sid:S-2-21-211-411"]);
        // A deny of writing only is an allow.
        let deny_write = Ace {
            ace_type: 1,
            mask: DENY_WRITE_ONLY_MASK,
            sid: "S-1-5-7".into(),
        };
        assert_eq!(allowed(&[deny_write], &HashMap::new()), ["sid:S-1-5-7"]);
    }
}
