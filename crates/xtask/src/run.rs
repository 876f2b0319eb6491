//! Running one step: print it, stream its output, read the test counts from the runner's summary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

/// What one step amounted to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    /// Whether the command exited with success.
    pub ok: bool,
    /// Tests the runner reported as passed.
    pub passed: u64,
    /// Tests the runner reported as failed.
    pub failed: u64,
}

impl Outcome {
    /// A step that failed before it could run.
    pub fn failed() -> Outcome {
        Outcome {
            ok: false,
            passed: 0,
            failed: 0,
        }
    }

    /// Success of the command and of every test in it.
    pub fn passed(&self) -> bool {
        self.ok && self.failed == 0
    }

    /// `Ok` when passed, else an error naming the exit.
    pub fn into_result(self) -> Result<(), String> {
        if self.passed() {
            Ok(())
        } else {
            Err("the command failed".into())
        }
    }
}

/// Reads test counts from a line of cargo test (`test result: ok. 3 passed; 0 failed; …`) or of node's
/// TAP reporter (`# pass 3`, `# fail 0`).
pub fn parse_counts(line: &str) -> (u64, u64) {
    let number_before = |s: &str, word: &str| -> u64 {
        s.split(';')
            .find_map(|part| {
                let mut it = part.split_whitespace().rev();
                (it.next() == Some(word))
                    .then(|| it.next().and_then(|n| n.parse().ok()))
                    .flatten()
            })
            .unwrap_or(0)
    };
    if let Some(rest) = line.trim().strip_prefix("test result: ") {
        let rest = rest.split_once(". ").map(|(_, r)| r).unwrap_or(rest);
        return (number_before(rest, "passed"), number_before(rest, "failed"));
    }
    let t = line.trim();
    if let Some(n) = t.strip_prefix("# pass ") {
        return (n.trim().parse().unwrap_or(0), 0);
    }
    if let Some(n) = t.strip_prefix("# fail ") {
        return (0, n.trim().parse().unwrap_or(0));
    }
    (0, 0)
}

/// Runs `program args` in `dir`, printing a header and every output line.
pub fn step(
    dir: &Path,
    title: &str,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Outcome {
    println!("\n==> {title}\n    $ {program} {}", args.join(" "));
    let started = std::time::Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("    could not start `{program}`: {e}");
            return Outcome::failed();
        }
    };
    let mut out = Outcome::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            let (p, f) = parse_counts(&line);
            out.passed += p;
            out.failed += f;
        }
    }
    out.ok = child.wait().map(|s| s.success()).unwrap_or(false);
    println!(
        "<== {title}: {} ({:.0} s)",
        if out.passed() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    out
}

/// Runs a command quietly and returns its trimmed stdout, if it succeeded.
pub fn capture(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The counts of all steps.
#[derive(Default)]
pub struct Tally {
    passed: u64,
    failed: u64,
    failed_steps: Vec<String>,
}

impl Tally {
    /// Adds a step: its tests, or one check when the runner reported none.
    pub fn record(&mut self, name: &str, o: Outcome) {
        if o.passed + o.failed == 0 {
            if o.ok {
                self.passed += 1;
            } else {
                self.failed += 1;
            }
        } else {
            self.passed += o.passed;
            self.failed += o.failed;
            if !o.ok && o.failed == 0 {
                self.failed += 1;
            }
        }
        if !o.passed() {
            self.failed_steps.push(name.to_string());
        }
    }

    /// Prints the summary line and returns the exit code.
    pub fn finish(self) -> ExitCode {
        if !self.failed_steps.is_empty() {
            println!("\nFailed steps: {}", self.failed_steps.join(", "));
        }
        println!("\n{} passed, {} failed", self.passed, self.failed);
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_counts;

    #[test]
    fn reads_cargo_and_tap_summaries() {
        assert_eq!(parse_counts("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"), (12, 0));
        assert_eq!(
            parse_counts("test result: FAILED. 3 passed; 2 failed; 0 ignored"),
            (3, 2)
        );
        assert_eq!(parse_counts("# pass 7"), (7, 0));
        assert_eq!(parse_counts("# fail 1"), (0, 1));
        assert_eq!(parse_counts("running 3 tests"), (0, 0));
    }
}
