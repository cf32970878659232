//! Wall-clock helpers: Unix milliseconds, calendar dates, display in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// (year, month 1–12, day 1–31) of a Unix time in milliseconds (Howard Hinnant's algorithm).
pub fn civil_date(unix_ms: i64) -> (i32, u32, u32) {
    let days = unix_ms.div_euclid(86_400_000) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    ((year_of_era + era * 400 + i64::from(month <= 2)) as i32, month, day)
}

pub fn year_of(unix_ms: i64) -> i32 {
    civil_date(unix_ms).0
}

/// "2026-11-22 09:13 UTC".
pub fn format_utc(unix_ms: i64) -> String {
    let (y, m, d) = civil_date(unix_ms);
    let minutes = unix_ms.rem_euclid(86_400_000) / 60_000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", minutes / 60, minutes % 60)
}

/// "3 min", "2 h", "5 j" — how long ago, in French (the console's language).
pub fn ago(unix_ms: i64, now: i64) -> String {
    let minutes = (now - unix_ms).max(0) / 60_000;
    match minutes {
        0 => "à l'instant".to_owned(),
        1..=59 => format!("{minutes} min"),
        60..=2879 => format!("{} h", minutes / 60),
        _ => format!("{} j", minutes / 1440),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_unix_time() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(951_782_400_000), (2000, 2, 29));
        assert_eq!(civil_date(1_735_689_599_000), (2024, 12, 31));
        assert_eq!(civil_date(1_735_689_600_000), (2025, 1, 1));
        assert_eq!(year_of(1_795_000_000_000), 2026);
        assert_eq!(format_utc(1_735_689_599_000), "2024-12-31 23:59 UTC");
    }

    #[test]
    fn ages_in_minutes_hours_days() {
        assert_eq!(ago(0, 30_000), "à l'instant");
        assert_eq!(ago(0, 5 * 60_000), "5 min");
        assert_eq!(ago(0, 3 * 3_600_000), "3 h");
        assert_eq!(ago(0, 72 * 3_600_000), "3 j");
    }
}
