//! Wall-clock timestamps as the journal and records write them: RFC 3339, UTC.

/// Now, to the second (golden records).
pub fn now_rfc3339() -> String {
    format_utc(0)
}

/// Now, to the microsecond (journal events).
pub fn now_rfc3339_precise() -> String {
    format_utc(1000)
}

fn format_utc(keep_ns: u32) -> String {
    let now = time::OffsetDateTime::now_utc();
    let ns = now
        .nanosecond()
        .checked_div(keep_ns)
        .map_or(0, |n| n * keep_ns);
    now.replace_nanosecond(ns)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}
