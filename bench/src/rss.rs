//! The process's peak resident set, for the benchmark binaries that report memory (Linux).

/// Starts the peak resident set over from now (writing 5 to clear_refs).
#[allow(dead_code)] // not every binary measures from a point after its setup
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident set in MiB, from /proc.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
