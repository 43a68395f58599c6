//! What the account and console pages share of a posted form (its fields, a name may repeat) and
//! how they show a time.

/// The fields of a posted form; a name may repeat (checkboxes).
pub fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of `name`, trimmed; empty when absent.
pub fn field(fields: &[(String, String)], name: &str) -> String {
    raw_field(fields, name).trim().to_owned()
}

/// A field exactly as typed (passwords are never trimmed).
pub fn raw_field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// "2026-11-12T10:15:00.000Z" -> "2026-11-12 10:15 UTC".
pub fn when(t: keygate_core::Timestamp) -> String {
    let text = t.to_rfc3339();
    match text.get(..16) {
        Some(minutes) => format!("{} UTC", minutes.replace('T', " ")),
        None => text,
    }
}
