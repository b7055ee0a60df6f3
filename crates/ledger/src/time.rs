//! Clocks and calendar months, without a date library: billing cycles start on the
//! same day of each month as the plan started (clamped to the month's last day).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub const MS_PER_DAY: i64 = 86_400_000;

/// Where the ledger reads "now". Injected so tests can cross cycle and expiry boundaries.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock tests move by hand.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(now_ms: i64) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(now_ms)))
    }
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
    /// The current reading (same as [`Clock::now_ms`], without importing the trait).
    pub fn now_ms_for_test(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    pub fn advance(&self, by_ms: i64) {
        self.0.fetch_add(by_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The UTC day of `at_ms`, as `2026-12-19` (in messages).
pub fn day_text(at_ms: i64) -> String {
    let (y, m, d) = civil_from_days(at_ms.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The start (UTC midnight) of a day written `2027-01-01`.
pub fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) * MS_PER_DAY)
}

/// `at_ms` plus `months` calendar months, keeping the time of day; the 31st becomes
/// the last day of shorter months.
pub fn add_months(at_ms: i64, months: i64) -> i64 {
    let days = at_ms.div_euclid(MS_PER_DAY);
    let time_of_day = at_ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let total = y * 12 + i64::from(m - 1) + months;
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) * MS_PER_DAY + time_of_day
}

/// Index of the billing cycle containing `now_ms` for cycles anchored at `anchor_ms`
/// (0 for the first month; never negative).
pub fn cycle_index(anchor_ms: i64, now_ms: i64) -> i64 {
    if now_ms < anchor_ms {
        return 0;
    }
    let (ay, am, _) = civil_from_days(anchor_ms.div_euclid(MS_PER_DAY));
    let (ny, nm, _) = civil_from_days(now_ms.div_euclid(MS_PER_DAY));
    let mut k = (ny * 12 + i64::from(nm)) - (ay * 12 + i64::from(am));
    while k > 0 && add_months(anchor_ms, k) > now_ms {
        k -= 1;
    }
    while add_months(anchor_ms, k + 1) <= now_ms {
        k += 1;
    }
    k
}

/// The UTC day, ISO week (from Monday) and calendar month containing `now_ms`, as
/// `[start, end)`.
pub fn day_bounds(now_ms: i64) -> (i64, i64) {
    let start = now_ms.div_euclid(MS_PER_DAY) * MS_PER_DAY;
    (start, start + MS_PER_DAY)
}

pub fn week_bounds(now_ms: i64) -> (i64, i64) {
    let days = now_ms.div_euclid(MS_PER_DAY);
    // 1970-01-01 was a Thursday: Monday is 3 days before.
    let monday = days - (days + 3).rem_euclid(7);
    (monday * MS_PER_DAY, (monday + 7) * MS_PER_DAY)
}

pub fn month_bounds(now_ms: i64) -> (i64, i64) {
    let (y, m, _) = civil_from_days(now_ms.div_euclid(MS_PER_DAY));
    let start = days_from_civil(y, m, 1) * MS_PER_DAY;
    (start, add_months(start, 1))
}

/// The billing cycle anchored at `anchor_ms` that contains `now_ms`.
pub fn cycle_bounds(anchor_ms: i64, now_ms: i64) -> (i64, i64) {
    let k = cycle_index(anchor_ms, now_ms);
    (add_months(anchor_ms, k), add_months(anchor_ms, k + 1))
}

/// `2026-02-01 00:00 UTC`: a time as people read it in messages.
pub fn utc_text(at_ms: i64) -> String {
    let (y, m, d) = civil_from_days(at_ms.div_euclid(MS_PER_DAY));
    let minutes = at_ms.rem_euclid(MS_PER_DAY) / 60_000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// `YYYY-MM` of a time, for monthly usage summaries.
pub fn month_key(at_ms: i64) -> String {
    let (y, m, _) = civil_from_days(at_ms.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAN_31_2026: i64 = 1_769_817_600_000; // 2026-01-31T00:00:00Z

    #[test]
    fn civil_round_trip() {
        for days in [-1000, 0, 1, 59, 365, 10_957, 20_000, 20_454, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(month_key(JAN_31_2026), "2026-01");
    }

    #[test]
    fn months_clamp_to_month_end() {
        assert_eq!(month_key(add_months(JAN_31_2026, 1)), "2026-02");
        assert_eq!(add_months(JAN_31_2026, 1), JAN_31_2026 + 28 * MS_PER_DAY); // Feb 28
        assert_eq!(month_key(add_months(JAN_31_2026, 12)), "2027-01");
        assert_eq!(add_months(JAN_31_2026, 0), JAN_31_2026);
    }

    #[test]
    fn periods_start_where_calendars_do() {
        let t = JAN_31_2026 + 13 * 3_600_000; // Saturday 2026-01-31 13:00
        assert_eq!(day_bounds(t), (JAN_31_2026, JAN_31_2026 + MS_PER_DAY));
        let (mon, next) = week_bounds(t);
        assert_eq!(
            (mon, next - mon),
            (JAN_31_2026 - 5 * MS_PER_DAY, 7 * MS_PER_DAY)
        ); // Monday the 26th
        assert_eq!(week_bounds(mon), (mon, next));
        let (start, end) = month_bounds(t);
        assert_eq!(
            (month_key(start), month_key(end)),
            ("2026-01".into(), "2026-02".into())
        );
        assert_eq!(start, JAN_31_2026 - 30 * MS_PER_DAY);
        assert_eq!(
            cycle_bounds(JAN_31_2026, t),
            (JAN_31_2026, add_months(JAN_31_2026, 1))
        );
    }

    #[test]
    fn cycles_count_whole_months() {
        assert_eq!(cycle_index(JAN_31_2026, JAN_31_2026), 0);
        assert_eq!(cycle_index(JAN_31_2026, JAN_31_2026 + 27 * MS_PER_DAY), 0);
        assert_eq!(cycle_index(JAN_31_2026, add_months(JAN_31_2026, 1)), 1);
        assert_eq!(cycle_index(JAN_31_2026, add_months(JAN_31_2026, 1) - 1), 0);
        assert_eq!(
            cycle_index(JAN_31_2026, add_months(JAN_31_2026, 14) + 5),
            14
        );
        assert_eq!(cycle_index(JAN_31_2026, JAN_31_2026 - 5), 0);
    }
}
