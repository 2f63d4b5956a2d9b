//! Resource use: a child process's wall and CPU time, read with `wait4` so that they are
//! the child's alone, and a process's own peak memory.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a child process used, and what it said.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Exit code; None when a signal ended it.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub wall: Duration,
    /// User plus system time.
    pub cpu: Duration,
}

/// Runs `cmd` to its end (blocking) and measures it.
pub fn measure(mut cmd: Command) -> std::io::Result<Measured> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data that wait4 fills in; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own child, not yet reaped (std's Child is never waited on);
        // both pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let wall = started.elapsed();
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
    })
}

/// This process's peak resident memory (`VmHWM`). Not `ru_maxrss`: Linux carries the
/// parent's resident size at `exec` over into a child's, so a child spawned by a big
/// parent would report the parent's memory.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// Raises this process's open-file limit to its hard limit: every native host holds
/// its own connections, and thousands of them exceed the usual soft limit of 1024.
pub fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_child_shows_its_own_cpu_time_and_output() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo $i; exit 3",
        ]);
        let m = measure(cmd).unwrap();
        assert_eq!(m.code, Some(3));
        assert_eq!(String::from_utf8_lossy(&m.stdout).trim(), "200000");
        assert!(m.cpu > Duration::from_millis(10), "{:?}", m.cpu);
        assert!(m.wall >= m.cpu / 4);
    }

    #[test]
    fn peak_memory_grows_with_what_this_process_touched() {
        let before = peak_rss_bytes();
        assert!(before > 0);
        let block = vec![1u8; 64 << 20];
        assert!(peak_rss_bytes() >= before.max(64 << 20), "{}", block[12345]);
    }
}
