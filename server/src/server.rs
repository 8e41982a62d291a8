//! Server lifecycle: binding, the runtime, background threads and shutdown.
//!
//! [`Server::start`] binds the listeners, starts a multi-threaded tokio runtime on its
//! own thread and returns a [`ServerHandle`]: the binary waits on it, tests and
//! embedders start and stop servers with it in-process.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shoal_storage::{Keyspace, KeyspaceConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::access::announce;
use crate::blocking::PauseKind;
use crate::changes::{Change, Observer, EXPIRED, REPLACED};
use crate::config::Config;
use crate::net;
use crate::persistence;
use crate::state::{now_ms, Shared};

/// A running server. Dropping it without calling [`ServerHandle::shutdown`] leaves it
/// running until the process exits.
pub struct ServerHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    metrics_addrs: Vec<SocketAddr>,
}

impl ServerHandle {
    /// The first address the server listens on (the ephemeral port resolved).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addrs[0]
    }

    /// The addresses of the `metrics-port` listener (empty when it is off).
    pub fn metrics_addrs(&self) -> &[SocketAddr] {
        &self.metrics_addrs
    }

    /// The shared state (for embedding: direct keyspace access, stats).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops accepting, closes every connection and waits for the server to end.
    pub fn shutdown(mut self) {
        self.shared.request_shutdown();
        self.join();
    }

    /// Waits until the server stops on its own (SHUTDOWN, a signal).
    pub fn wait(mut self) {
        self.join();
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Entry point for starting servers.
pub struct Server;

impl Server {
    /// Binds the configured addresses and starts serving on a background runtime.
    /// Errors (address in use, bad bind address) are returned before anything runs.
    pub fn start(config: Config) -> io::Result<ServerHandle> {
        Server::start_with(config, false)
    }

    /// Like [`Server::start`]; with `handle_signals` the server also stops on SIGINT
    /// and SIGTERM (the binary sets it; tests and embedders do not).
    pub fn start_with(config: Config, handle_signals: bool) -> io::Result<ServerHandle> {
        Server::start_full(config, handle_signals, None)
    }

    /// Like [`Server::start`], with `observer` told of every change to the dataset
    /// from the start on, the load of the dump file included (see
    /// [`crate::access::announce`]; later observers can be added with
    /// `Shared::observers`).
    pub fn start_observed(config: Config, observer: Observer) -> io::Result<ServerHandle> {
        Server::start_full(config, false, Some(observer))
    }

    fn start_full(
        config: Config,
        handle_signals: bool,
        observer: Option<Observer>,
    ) -> io::Result<ServerHandle> {
        let mut config = config;
        config.maxclients = crate::fdlimit::adjust_at_start(config.maxclients);
        // Before the first command times itself (once per process).
        crate::clock::calibrate();
        // Bind synchronously so that errors reach the caller before anything runs;
        // the runtime is built on the server's own thread, so starting a server from
        // inside another tokio runtime (tests, embedders) works.
        let listeners = bind_all(&config, config.port)?;
        let addrs = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<io::Result<Vec<_>>>()?;
        let metrics_listeners = if config.metrics_port == 0 {
            Vec::new()
        } else {
            bind_all(&config, config.metrics_port)?
        };
        let metrics_addrs = metrics_listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<io::Result<Vec<_>>>()?;
        let keyspace = Keyspace::new(KeyspaceConfig {
            databases: config.databases,
            capacity: config.capacity,
            shards: config.shards,
        });
        let shared = Arc::new(Shared::new(
            keyspace,
            &config,
            addrs.clone(),
            crate::dispatch::TABLE.commands.len(),
        ));
        if let Some(o) = observer {
            shared.observers.add(o);
        }
        // Persistence loads function libraries through the scripting engine.
        shared
            .persistence
            .set_library_loader(crate::scripting::create_library);
        tracing::info!(
            addrs = ?addrs,
            metrics_addrs = ?metrics_addrs,
            config_file = %config
                .config_file
                .as_ref()
                .map_or_else(|| "none (defaults, environment, flags)".to_string(), |p| p.display().to_string()),
            maxmemory = config.maxmemory,
            maxmemory_policy = %config.maxmemory_policy,
            shards = shared.keyspace.db(0).num_shards(),
            databases = shared.keyspace.num_dbs(),
            capacity = config.capacity,
            pid = std::process::id(),
            "Shoal {} ready to accept connections",
            env!("CARGO_PKG_VERSION")
        );
        crate::security::warn_at_start(
            &shared.addrs,
            shared.live.protected_mode.load(Ordering::Relaxed),
            shared.auth_required(),
        );
        let expiry = spawn_expiry_thread(Arc::clone(&shared));
        let save_cron = spawn_save_cron(Arc::clone(&shared))?;
        let evictor = spawn_eviction_thread(Arc::clone(&shared))?;
        let run_shared = Arc::clone(&shared);
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("shoal-worker")
            // A thread's share of the allocation count joins the total as it ends.
            .on_thread_stop(crate::memory::flush_thread)
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("shoal-main".into())
            .spawn(move || {
                runtime.block_on(async {
                    let listeners = listeners
                        .into_iter()
                        .filter_map(|l| match TcpListener::from_std(l) {
                            Ok(l) => Some(l),
                            Err(e) => {
                                tracing::error!(error = %e, "listener setup failed");
                                None
                            }
                        })
                        .collect();
                    let metrics_listeners = metrics_listeners
                        .into_iter()
                        .filter_map(|l| TcpListener::from_std(l).ok())
                        .collect();
                    serve(
                        Arc::clone(&run_shared),
                        listeners,
                        metrics_listeners,
                        handle_signals,
                    )
                    .await
                });
                // Connections were told to close; give them a moment, then drop the
                // runtime (which cancels anything left).
                runtime.shutdown_timeout(Duration::from_secs(2));
                let deadline = Instant::now() + Duration::from_secs(2);
                for t in [expiry, save_cron, evictor] {
                    join_by(t, deadline);
                }
                run_shared.persistence.on_exit(&run_shared.keyspace);
                tracing::info!("Shoal is now ready to exit, bye bye...");
            })?;
        // Persistence: load the dump, if any, while clients already get LOADING. On
        // failure the server stops and the caller gets the error (the binary exits 1).
        if let Err(e) = shared.persistence.load_at_start(&shared.keyspace) {
            shared.request_shutdown();
            let _ = thread.join();
            return Err(e);
        }
        // The dump replaced the contents of every database it held keys for.
        for db in 0..shared.keyspace.num_dbs() {
            if !shared.keyspace.db(db).is_empty() {
                announce(
                    &shared,
                    Change::Db {
                        db,
                        event: REPLACED,
                    },
                );
            }
        }
        Ok(ServerHandle {
            shared,
            thread: Some(thread),
            metrics_addrs,
        })
    }
}

/// Listeners on every `bind` address at `port`.
fn bind_all(config: &Config, port: u16) -> io::Result<Vec<std::net::TcpListener>> {
    use std::net::ToSocketAddrs;
    let backlog = i32::try_from(config.tcp_backlog).unwrap_or(i32::MAX);
    check_somaxconn(backlog);
    let mut out = Vec::new();
    for host in &config.bind {
        let host = host.trim();
        if host.is_empty() {
            continue;
        }
        let addr = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let sockaddr = addr
            .to_socket_addrs()
            .and_then(|mut a| {
                a.next().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "address resolves to nothing")
                })
            })
            .map_err(|e| io::Error::new(e.kind(), format!("could not listen on {addr}: {e}")))?;
        let listener = listen(sockaddr, backlog)
            .map_err(|e| io::Error::new(e.kind(), format!("could not listen on {addr}: {e}")))?;
        out.push(listener);
    }
    if out.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no bind address configured",
        ));
    }
    Ok(out)
}

/// A non-blocking listener on `addr` with `backlog` (Redis's `tcp-backlog`): address
/// reuse as Redis sets it, IPv6 sockets IPv6-only (bind `0.0.0.0` and `::` both).
fn listen(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Redis's warning when the kernel caps the listen backlog below `tcp-backlog`.
fn check_somaxconn(backlog: i32) {
    let Some(somaxconn) = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    else {
        return;
    };
    if somaxconn < backlog {
        tracing::warn!(
            "WARNING: The TCP backlog setting of {backlog} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {somaxconn}."
        );
    }
}

async fn serve(
    shared: Arc<Shared>,
    listeners: Vec<TcpListener>,
    metrics_listeners: Vec<TcpListener>,
    handle_signals: bool,
) {
    for listener in listeners {
        tokio::spawn(accept_loop(Arc::clone(&shared), listener));
    }
    for listener in metrics_listeners {
        tokio::spawn(metrics_accept_loop(Arc::clone(&shared), listener));
    }
    let mut stop = shared.shutdown_signal();
    if handle_signals {
        tokio::spawn(handle_signals_loop(Arc::clone(&shared)));
    }
    wait_shutdown(&mut stop).await;
    tracing::info!("User requested shutdown...");
    shared.clients.kill_all();
    // Let connections flush and exit.
    for _ in 0..200 {
        if shared.clients.connected() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A signalled shutdown's drain: every connection's reading side is shut, so each
/// finishes the commands it had read (a whole pipeline already sent), writes their
/// replies and closes. Connections accepted meanwhile run nothing (see `net::run`).
/// Those still open when `shutdown-timeout` runs out are killed.
async fn drain(shared: &Shared) {
    let timeout = Duration::from_secs(shared.config.read().shutdown_timeout);
    let deadline = Instant::now() + timeout;
    let connected = shared.clients.connected();
    if connected > 0 {
        tracing::info!(
            clients = connected,
            timeout_secs = timeout.as_secs(),
            "Waiting for client connections to finish their commands..."
        );
    }
    loop {
        // Again each time: connections accepted during the drain end too.
        shared.clients.shut_reading_all();
        if shared.clients.connected() == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left = shared.clients.connected();
    if left > 0 {
        tracing::warn!(
            clients = left,
            "shutdown-timeout reached: closing the clients still connected"
        );
        shared.clients.kill_all();
    }
}

/// Accepts `metrics-port` connections until shutdown; each is one HTTP request.
async fn metrics_accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut stop = shared.shutdown_signal();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    tokio::spawn(crate::http::serve_metrics_port(Arc::clone(&shared), socket));
                }
                Err(e) => {
                    if shared.security_log.accept_error.allow(now_ms()) {
                        tracing::warn!(error = %e, "Accepting metrics connection failed");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = wait_shutdown(&mut stop) => return,
        }
    }
}

/// Resolves once shutdown is requested.
pub async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// SIGTERM and SIGINT shut the server down as `shutdown-on-sigterm` /
/// `shutdown-on-sigint` say, exactly as SHUTDOWN with those flags would: when the
/// final save fails (and `force` is not set) the server logs why and keeps serving.
/// A signal that arrives while a shutdown is under way (saving, or waiting for
/// connections to finish) ends the process at once, with status 1.
async fn handle_signals_loop(shared: Arc<Shared>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("could not install signal handlers");
            return;
        };
        loop {
            let (name, sigterm) = tokio::select! {
                _ = term.recv() => ("SIGTERM", true),
                _ = int.recv() => ("SIGINT", false),
            };
            let attempt = shutdown_on_signal(&shared, name, sigterm);
            tokio::pin!(attempt);
            let stopping = tokio::select! {
                done = &mut attempt => done,
                _ = term.recv() => exit_now("SIGTERM"),
                _ = int.recv() => exit_now("SIGINT"),
            };
            if stopping {
                // Connections are draining: another signal cuts it short.
                tokio::select! {
                    _ = term.recv() => exit_now("SIGTERM"),
                    _ = int.recv() => exit_now("SIGINT"),
                }
            }
        }
    }
    #[cfg(not(unix))]
    loop {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        if shutdown_on_signal(&shared, "SIGINT", false).await {
            let _ = tokio::signal::ctrl_c().await;
            exit_now("SIGINT");
        }
    }
}

/// A second signal during a shutdown: exit now, without saving or waiting.
fn exit_now(name: &str) -> ! {
    tracing::warn!("Received {name} during shutdown: exiting now without waiting for anything.");
    std::process::exit(1)
}

/// One shutdown attempt for a signal; `true` when the server is now stopping.
/// From the signal on `/healthz` answers 503 and new connections run nothing; the
/// connections drain (each finishes what it had read, up to `shutdown-timeout`),
/// then the final save runs, so it holds every write a client saw acknowledged.
async fn shutdown_on_signal(shared: &Arc<Shared>, name: &str, sigterm: bool) -> bool {
    let setting = {
        let c = shared.config.read();
        if sigterm {
            c.shutdown_on_sigterm.clone()
        } else {
            c.shutdown_on_sigint.clone()
        }
    };
    if shared.persistence.loading() {
        tracing::warn!("Received {name} during loading, scheduling shutdown...");
    } else {
        tracing::warn!("Received {name} scheduling shutdown...");
    }
    shared.begin_stopping();
    drain(shared).await;
    let flags = persistence::ShutdownFlags::from_config(&setting);
    let s = Arc::clone(shared);
    let saved =
        tokio::task::spawn_blocking(move || s.persistence.shutdown_save(&s.keyspace, flags)).await;
    match saved {
        Ok(Ok(())) => {
            shared.request_shutdown();
            return true;
        }
        Ok(Err(e)) => {
            tracing::warn!(
                error = %e,
                "Errors trying to shut down the server. Check the logs for more information. Still serving; send the signal again once the cause is fixed, or set shutdown-on-{} to include force.",
                if sigterm { "sigterm" } else { "sigint" }
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "shutdown save task failed; still serving");
        }
    }
    // Still serving: new connections run commands again, /healthz answers 200.
    shared.end_stopping();
    false
}

/// Accepts connections until shutdown. When the process runs out of descriptors,
/// the one kept in reserve is given up for an instant to accept the waiting client
/// and answer `-ERR max number of clients reached`, so no client hangs unanswered,
/// and the failure is logged at most once every 10 seconds.
async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut stop = shared.shutdown_signal();
    let mut reserve = std::fs::File::open("/dev/null").ok();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, addr)) => {
                    shared.stats.connections_received.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(net::run(Arc::clone(&shared), socket, addr));
                }
                Err(e) => {
                    let out_of_fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
                    if shared.security_log.accept_error.allow(now_ms()) {
                        tracing::warn!(
                            error = %e,
                            "Accepting client connection failed{}",
                            if out_of_fds { ": out of file descriptors, refusing clients with -ERR max number of clients reached" } else { "" }
                        );
                    }
                    if out_of_fds && reserve.take().is_some() {
                        refuse_one(&shared, &listener).await;
                        reserve = std::fs::File::open("/dev/null").ok();
                    } else {
                        // Back off instead of spinning on an error that persists.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            },
            _ = wait_shutdown(&mut stop) => return,
        }
    }
}

/// With the reserve descriptor released: accepts one waiting client, tells it the
/// server is full and closes it.
async fn refuse_one(shared: &Shared, listener: &TcpListener) {
    let wait = Duration::from_millis(10);
    if let Ok(Ok((socket, _))) = tokio::time::timeout(wait, listener.accept()).await {
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = socket.try_write(crate::error::MAX_CLIENTS_REACHED_REPLY);
    }
}

/// Joins background thread `t`, waiting until `deadline` at most. One that is still
/// blocked then waits for a shard lock that a script in an endless loop holds
/// (SHUTDOWN NOSAVE stops the server under it, as Redis allows): it is left behind,
/// and the process exits without it.
fn join_by(t: JoinHandle<()>, deadline: Instant) {
    while !t.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if t.is_finished() {
        let _ = t.join();
    } else {
        tracing::warn!(
            thread = t.thread().name().unwrap_or("?"),
            "a background thread did not stop (a script still holds its shard)"
        );
    }
}

/// Active expiry runs on its own thread: a cycle may take a few milliseconds and must
/// not stall a runtime worker that serves connections. Each cycle gets 25% of the
/// tick (times active-expire-effort, capped), like Redis's slow cycle.
fn spawn_expiry_thread(shared: Arc<Shared>) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("shoal-expire".into())
        .spawn(move || {
            while !shared.shutting_down() {
                let hz = shared.live.hz.load(Ordering::Relaxed).clamp(1, 500);
                let tick = Duration::from_micros(1_000_000 / hz);
                let effort = shared
                    .live
                    .active_expire_effort
                    .load(Ordering::Relaxed)
                    .clamp(1, 10);
                let budget = (tick / 4 * (1 + (effort as u32 - 1) / 3)).min(tick / 2 + tick / 4);
                // While clients are paused the dataset stays as it is: no key expires
                // in the background (Redis 7.0; reads still hide expired keys).
                if shared.blocking.pause_active(now_ms()) != PauseKind::None
                    || shared.live.active_expire_off.load(Ordering::Relaxed)
                {
                    std::thread::sleep(tick);
                    continue;
                }
                let start = Instant::now();
                // Every key removed goes through the write hook.
                let cycle =
                    shared
                        .keyspace
                        .active_expire_cycle(now_ms(), start + budget, &mut |db, e| {
                            announce(&shared, Change::key(db, e.key(), EXPIRED))
                        });
                let spent = start.elapsed();
                shared.latency.maybe_record(
                    "expire-cycle",
                    now_ms() / 1000,
                    spent.as_millis() as u64,
                );
                shared
                    .stats
                    .expire_cycle_usec
                    .fetch_add(spent.as_micros() as u64, Ordering::Relaxed);
                if cycle.timed_out {
                    shared
                        .stats
                        .expire_cycle_timeouts
                        .fetch_add(1, Ordering::Relaxed);
                    // Behind: go again soon, but leave the CPU to clients for a moment.
                    std::thread::sleep(tick / 4);
                } else {
                    std::thread::sleep(tick.saturating_sub(spent));
                }
            }
        })
        .expect("spawn expiry thread")
}

/// Starts the eviction thread: it carries on evicting when a command's time budget
/// ran out with memory still over `maxmemory` (see [`crate::evict`]).
fn spawn_eviction_thread(shared: Arc<Shared>) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("shoal-evict".into())
        .spawn(move || shared.evict.background(&shared))
}

/// Starts the save-point thread (persistence's timer: save points, retries); it ends when shutdown is requested.
fn spawn_save_cron(shared: Arc<Shared>) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("shoal-savecron".into())
        .spawn(move || {
            while !shared.shutting_down() {
                std::thread::sleep(persistence::CRON_TICK);
                if !shared.shutting_down() {
                    shared.persistence.cron(&shared.keyspace);
                }
            }
        })
}
