//! Formatting unix timestamps as calendar times, in the local zone for people and in
//! UTC for reproducible tests.

/// A way to turn unix seconds into `YYYY-MM-DD HH:MM`. The renderer takes one so it
/// stays a pure function in tests (which use [`utc`]).
pub type Clock = fn(i64) -> String;

/// Formats `secs` in the local time zone (the `TZ` variable or `/etc/localtime`).
///
/// Falls back to UTC, marked as such, if the C library cannot convert the time.
pub fn local(secs: i64) -> String {
    // A 32-bit time_t cannot hold every timestamp; show those in UTC.
    let Some(t) = libc::time_t::try_from(secs).ok() else {
        return format!("{} UTC", utc(secs));
    };
    // SAFETY: `tm` is plain old data that localtime_r fills in; an all-zero value is
    // a valid (if meaningless) `tm`, and both pointers live for the whole call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: see above; localtime_r is the thread-safe variant.
    let converted = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !converted {
        return format!("{} UTC", utc(secs));
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        i64::from(tm.tm_year) + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min
    )
}

/// Makes later [`local`] calls honour the `TZ` variable; call once at start-up.
pub fn init_local_zone() {
    // localtime_r, unlike localtime, need not read TZ itself (POSIX); tzset does.
    // SAFETY: tzset only reads the environment, and no thread changes it.
    unsafe { tzset() };
}

extern "C" {
    /// POSIX `tzset(3)`, which the `libc` crate does not bind on every platform.
    fn tzset();
}

/// The current time in unix seconds (0 if the system clock is before 1970).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `secs` as `clock` shows it, without the date when that is the date of `now`
/// (`HH:MM` for today, `YYYY-MM-DD HH:MM` otherwise): for replayed chat, where
/// most times are recent.
pub fn brief(clock: Clock, secs: i64, now: i64) -> String {
    let full = clock(secs);
    let today = clock(now);
    match (full.split_once(' '), today.split_once(' ')) {
        (Some((date, time)), Some((today, _))) if date == today => time.to_owned(),
        _ => full,
    }
}

/// Formats `secs` in UTC without the C library (days-to-civil conversion).
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = parley::calendar::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00");
        assert_eq!(utc(-60), "1969-12-31 23:59");
    }

    #[test]
    fn brief_times_leave_out_today() {
        let now = 1_700_000_000; // 2023-11-14 22:13 UTC
        assert_eq!(brief(utc, now, now), "22:13");
        assert_eq!(brief(utc, 1_699_920_000, now), "00:00");
        assert_eq!(brief(utc, 1_699_919_999, now), "2023-11-13 23:59");
        assert_eq!(brief(utc, now + 86_400, now), "2023-11-15 22:13");
        assert_eq!(brief(utc, 0, now), "1970-01-01 00:00");
        // A clock whose text has no date part is shown whole.
        assert_eq!(brief(|_| "soon".to_owned(), 5, 5), "soon");
    }

    #[test]
    fn now_is_after_the_epoch() {
        assert!(now() > 1_700_000_000);
    }

    #[test]
    fn local_formatting_has_the_same_shape() {
        init_local_zone();
        let text = local(1_700_000_000);
        assert_eq!(text.len(), "2023-11-14 22:13".len(), "{text}");
    }
}
