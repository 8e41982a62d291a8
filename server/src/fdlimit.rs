//! The open-files limit and `maxclients`, as Redis's `adjustOpenFilesLimit`: every
//! client is a descriptor, so at start (and when CONFIG SET raises `maxclients`) Shoal
//! raises `RLIMIT_NOFILE` to `maxclients` + [`RESERVED_FDS`] when it can, and
//! otherwise lowers `maxclients` to what the limit allows, saying so in the log. A
//! client over `maxclients` then gets `-ERR max number of clients reached` instead of
//! an `accept` that fails for want of a descriptor.

/// Descriptors kept for everything but clients: listeners, the runtime's epoll and
/// wake-up descriptors, log and dump files, the reserve descriptor of the accept loop
/// (Redis's `CONFIG_MIN_RESERVED_FDS`).
pub const RESERVED_FDS: u64 = 32;

/// What adjusting the limit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjusted {
    /// The limit already allowed `maxclients`.
    Enough,
    /// The soft limit was raised from `from` to `to`.
    Raised { from: u64, to: u64 },
    /// The limit could not be raised past `limit`: `maxclients` must be lowered to
    /// `maxclients` (`limit` - [`RESERVED_FDS`]).
    Lowered { limit: u64, maxclients: usize },
}

/// Makes room for `maxclients` clients, raising the soft (and, when allowed, the
/// hard) limit on open files. Never lowers a limit.
#[cfg(unix)]
pub fn adjust(maxclients: usize) -> Adjusted {
    let want = (maxclients as u64).saturating_add(RESERVED_FDS);
    let Some((soft, hard)) = get() else {
        return Adjusted::Enough;
    };
    if soft >= want {
        return Adjusted::Enough;
    }
    // As root the hard limit may go up to fs.nr_open; otherwise only to the hard limit.
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let mut tries = vec![want];
    if let Some(n) = nr_open.filter(|&n| n < want && n > hard) {
        tries.push(n);
    }
    if hard < want && hard > soft {
        tries.push(hard);
    }
    for to in tries {
        if set(to, hard.max(to)) {
            return if to >= want {
                Adjusted::Raised { from: soft, to }
            } else {
                Adjusted::Lowered {
                    limit: to,
                    maxclients: clients_within(to),
                }
            };
        }
    }
    Adjusted::Lowered {
        limit: soft,
        maxclients: clients_within(soft),
    }
}

#[cfg(not(unix))]
pub fn adjust(_maxclients: usize) -> Adjusted {
    Adjusted::Enough
}

/// Clients that fit under a limit of `limit` descriptors (at least 1).
fn clients_within(limit: u64) -> usize {
    usize::try_from(limit.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX)
}

/// Applies [`adjust`] at start: logs what happened, as Redis does, and returns the
/// `maxclients` to use.
pub fn adjust_at_start(maxclients: usize) -> usize {
    match adjust(maxclients) {
        Adjusted::Enough => maxclients,
        Adjusted::Raised { from, to } => {
            tracing::info!(
                "Increased maximum number of open files to {to} (it was originally set to {from})."
            );
            maxclients
        }
        Adjusted::Lowered {
            limit,
            maxclients: fit,
        } => {
            tracing::warn!(
                "You requested maxclients of {maxclients} requiring at least {} max file descriptors.",
                (maxclients as u64).saturating_add(RESERVED_FDS)
            );
            tracing::warn!(
                "Current maximum open files is {limit}. maxclients has been reduced to {fit} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'."
            );
            fit
        }
    }
}

#[cfg(unix)]
fn get() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid, exclusive pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0).then_some((lim.rlim_cur, lim.rlim_max))
}

#[cfg(unix)]
fn set(soft: u64, hard: u64) -> bool {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads one `rlimit` through a valid pointer.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_that_already_fits_is_left_alone() {
        let (soft, _) = get().expect("getrlimit");
        let fits = soft.saturating_sub(RESERVED_FDS).max(1) as usize;
        assert_eq!(adjust(fits), Adjusted::Enough);
        assert_eq!(get().expect("getrlimit").0, soft);
    }

    #[test]
    fn clients_within_keeps_the_reserve() {
        assert_eq!(clients_within(256), 224);
        assert_eq!(clients_within(10), 1);
    }
}
