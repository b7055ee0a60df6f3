//! The time each phase of a run took, printed at its end (also when it fails), so the
//! next slow phase is visible.

use std::time::{Duration, Instant};

#[derive(Default)]
pub(crate) struct Phases {
    done: Vec<(&'static str, Duration)>,
    started: Option<Instant>,
    /// The phase that failed, if one did.
    failed: Option<&'static str>,
}

impl Phases {
    pub(crate) fn new() -> Phases {
        Phases {
            done: Vec::new(),
            started: Some(Instant::now()),
            failed: None,
        }
    }

    /// Runs `work` as the phase `name`, adding its time to the phase's total.
    pub(crate) fn time<T>(
        &mut self,
        name: &'static str,
        work: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let start = Instant::now();
        let result = work();
        let took = start.elapsed();
        match self.done.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += took,
            None => self.done.push((name, took)),
        }
        if result.is_err() {
            self.failed = Some(name);
        }
        result
    }

    pub(crate) fn print(&self, outcome: &str) {
        eprintln!("\n==> phases ({outcome})");
        for (name, took) in &self.done {
            let failed = if self.failed == Some(*name) {
                "  FAILED"
            } else {
                ""
            };
            eprintln!("    {name:<16} {:>8}{failed}", minutes(*took));
        }
        if let Some(start) = self.started {
            eprintln!("    {:<16} {:>8}", "total", minutes(start.elapsed()));
        }
    }
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}
