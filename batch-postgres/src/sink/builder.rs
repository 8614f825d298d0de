//! [`PostgresSinkBuilder`]: a sink with its own pool, and network timeouts by default.

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, Runtime};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{NoTls, Socket};

use super::classify::Endpoint;
use super::PostgresSink;
use crate::error::{Error, Result};

/// The connect timeout when the configuration sets none; it bounds the whole
/// connection set-up (TCP, TLS, start-up, authentication).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use batch_postgres::{PostgresSink, DEFAULT_CONNECT_TIMEOUT};
///
/// let default = PostgresSink::new("postgres://u@127.0.0.1/db")?;
/// assert_eq!(default.pool().timeouts().create, Some(DEFAULT_CONNECT_TIMEOUT));
/// let own = PostgresSink::new("postgres://u@127.0.0.1/db?connect_timeout=3")?;
/// assert_eq!(own.pool().timeouts().create, Some(Duration::from_secs(3)));
/// # Ok::<(), batch_postgres::Error>(())
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle connection waits before its first TCP keepalive probe, when the
/// configuration leaves tokio-postgres's default of two hours.
const KEEPALIVES_IDLE: Duration = Duration::from_secs(30);
/// tokio-postgres's default idle time before a keepalive probe.
const TOKIO_POSTGRES_KEEPALIVES_IDLE: Duration = Duration::from_secs(2 * 60 * 60);
const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVES_RETRIES: u32 = 3;
/// How long sent data may stay unacknowledged before the connection is dropped (Linux).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `pool.get()` waits for a free connection when all are in use.
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long checking an idle connection before reuse may take.
const POOL_RECYCLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a [`PostgresSink`] with its own connection pool.
///
/// # Network timeouts
///
/// A server that stops answering must not hold a connection forever, so the builder
/// fills in what the [`tokio_postgres::Config`] leaves unset:
///
/// - **`connect_timeout`: 10 s** ([`DEFAULT_CONNECT_TIMEOUT`]). The pool's create
///   timeout is the same, and it bounds the whole connection set-up (TCP, TLS, start-up,
///   authentication), as libpq's `connect_timeout` does: a program that accepts the TCP
///   connection and never answers makes [`Sink::prepare`](batch_core::Sink::prepare)
///   fail after it, saying so.
/// - **TCP keepalives**: the first probe after 30 s idle (when the configuration leaves
///   tokio-postgres's two hours), then every 10 s, 3 probes.
/// - **`tcp_user_timeout`: 30 s** (Linux): data unacknowledged for that long drops the
///   connection.
/// - **Pool timeouts**: 30 s to wait for a free connection, 5 s to recycle one.
///
/// Values set in the configuration (`connect_timeout=5` in a URL, say) are kept.
/// Each send is bounded by its own deadline besides (see
/// [`PostgresSink`](PostgresSink#method.send_by)).
///
/// # Examples
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_postgres::PostgresSink;
///
/// let config: tokio_postgres::Config = "host=127.0.0.1 user=batchrow dbname=batchrow".parse()?;
/// let sink = PostgresSink::builder(config).pool_size(4).build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct PostgresSinkBuilder {
    config: tokio_postgres::Config,
    pool_size: Option<usize>,
    manager: Box<dyn FnOnce(tokio_postgres::Config, ManagerConfig) -> Manager + Send>,
    tls: bool,
}

impl fmt::Debug for PostgresSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSinkBuilder")
            .field("config", &self.config)
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

/// Fills in the network timeouts `config` leaves unset (see [`PostgresSinkBuilder`]),
/// and returns the connect timeout.
fn network_defaults(config: &mut tokio_postgres::Config) -> Duration {
    let connect = match config.get_connect_timeout() {
        Some(t) => *t,
        None => {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
            DEFAULT_CONNECT_TIMEOUT
        }
    };
    if config.get_keepalives() {
        if config.get_keepalives_idle() == TOKIO_POSTGRES_KEEPALIVES_IDLE {
            config.keepalives_idle(KEEPALIVES_IDLE);
        }
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(KEEPALIVES_INTERVAL);
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(KEEPALIVES_RETRIES);
        }
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(TCP_USER_TIMEOUT);
    }
    connect
}

/// `host:port` of each host of `config`, for messages.
fn address(config: &tokio_postgres::Config) -> Option<String> {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports
                .get(i)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(h) => format!("{h}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}/.s.PGSQL.{port}", path.display()),
            }
        })
        .collect();
    (!hosts.is_empty()).then(|| hosts.join(","))
}

impl PostgresSinkBuilder {
    pub(super) fn new(config: tokio_postgres::Config) -> Self {
        PostgresSinkBuilder {
            config,
            pool_size: None,
            manager: Box::new(|config, mc| Manager::from_config(config, NoTls, mc)),
            tls: false,
        }
    }

    /// The most connections the pool opens (default: deadpool's, 4 per CPU). It should
    /// be at least the batcher's `max_in_flight`, plus one for the commit-status check.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_postgres::PostgresSink;
    ///
    /// let sink = PostgresSink::builder("host=127.0.0.1 user=batchrow".parse()?)
    ///     .pool_size(3)
    ///     .build()?;
    /// assert_eq!(sink.pool().status().max_size, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = Some(size);
        self
    }

    /// Connects with TLS through any tokio-postgres TLS connector, such as
    /// `postgres_native_tls::MakeTlsConnector` or `tokio_postgres_rustls::MakeRustlsConnect`
    /// (add the crate of your choice; batchrow does not pick one for you). The default
    /// is no TLS.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_postgres::PostgresSink;
    /// use batch_postgres::tokio_postgres::NoTls;
    ///
    /// // Any `MakeTlsConnect` works; `NoTls` stands in for a real connector here.
    /// let sink = PostgresSink::builder("host=db.example.com user=batchrow".parse()?)
    ///     .tls(NoTls)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls<T>(mut self, tls: T) -> Self
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        self.manager = Box::new(move |config, mc| Manager::from_config(config, tls, mc));
        self.tls = true;
        self
    }

    /// Builds the sink, with the network timeouts the configuration leaves unset (see
    /// the type's documentation). No connection is made until
    /// [`Sink::prepare`](batch_core::Sink::prepare).
    ///
    /// # Errors
    ///
    /// [`Error::Pool`](crate::Error::Pool) when the pool cannot be built;
    /// [`Error::TlsRequired`](crate::Error::TlsRequired) when the configuration says
    /// `sslmode=require` and no [`tls`](PostgresSinkBuilder::tls) connector was given.
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_postgres::PostgresSink;
    ///
    /// let sink = PostgresSink::builder("host=127.0.0.1 user=batchrow".parse()?).build()?;
    /// let timeouts = sink.pool().timeouts();
    /// assert_eq!(timeouts.create, Some(batch_postgres::DEFAULT_CONNECT_TIMEOUT));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(mut self) -> Result<PostgresSink> {
        if !self.tls && self.config.get_ssl_mode() == SslMode::Require {
            return Err(Error::TlsRequired {
                sslmode: "require".to_owned(),
            });
        }
        let connect = network_defaults(&mut self.config);
        let endpoint = Endpoint {
            address: address(&self.config),
        };
        let manager = (self.manager)(self.config, ManagerConfig::default());
        let mut pool = Pool::builder(manager)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(connect))
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .recycle_timeout(Some(POOL_RECYCLE_TIMEOUT));
        if let Some(size) = self.pool_size {
            pool = pool.max_size(size);
        }
        Ok(PostgresSink::with_endpoint(pool.build()?, endpoint))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn unset_network_timeouts_get_defaults() {
        let mut config: tokio_postgres::Config = "host=127.0.0.1 port=6543 user=u".parse().unwrap();
        assert_eq!(network_defaults(&mut config), DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(config.get_connect_timeout(), Some(&DEFAULT_CONNECT_TIMEOUT));
        assert!(config.get_keepalives());
        assert_eq!(config.get_keepalives_idle(), KEEPALIVES_IDLE);
        assert_eq!(config.get_keepalives_interval(), Some(KEEPALIVES_INTERVAL));
        assert_eq!(config.get_keepalives_retries(), Some(KEEPALIVES_RETRIES));
        assert_eq!(config.get_tcp_user_timeout(), Some(&TCP_USER_TIMEOUT));
        assert_eq!(address(&config).as_deref(), Some("127.0.0.1:6543"));
    }

    #[test]
    fn tls_is_refused_without_a_connector() {
        for url in [
            "postgres://u@h/db?sslmode=require",
            "host=h sslmode = require user=u",
            "postgres://u@h/db?application_name=x&sslmode=verify-full",
            "host=h sslmode=VERIFY-CA",
        ] {
            let err = PostgresSink::new(url).unwrap_err();
            let Error::TlsRequired { sslmode } = &err else {
                panic!("{url}: {err}");
            };
            assert!(
                sslmode == "require" || sslmode.starts_with("verify-"),
                "{url}"
            );
            assert!(err
                .to_string()
                .contains("PostgresSink::builder(config).tls(connector)"));
        }
        assert!(PostgresSink::new("postgres://u@h/db?sslmode=prefer").is_ok());
        assert!(PostgresSink::new("postgres://u@h/db?sslmode=disable").is_ok());
        let require: tokio_postgres::Config = "host=h sslmode=require".parse().unwrap();
        assert!(PostgresSink::builder(require.clone()).build().is_err());
        assert!(PostgresSink::builder(require).tls(NoTls).build().is_ok());
    }

    #[test]
    fn network_timeouts_the_user_set_are_kept() {
        let mut config: tokio_postgres::Config =
            "postgres://u@a,b:7000/db?connect_timeout=3&keepalives_idle=600&keepalives=1"
                .parse()
                .unwrap();
        config.tcp_user_timeout(Duration::from_secs(90));
        assert_eq!(network_defaults(&mut config), Duration::from_secs(3));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(600));
        assert_eq!(
            config.get_tcp_user_timeout(),
            Some(&Duration::from_secs(90))
        );
        assert_eq!(address(&config).as_deref(), Some("a:5432,b:7000"));

        let mut off: tokio_postgres::Config = "host=h keepalives=0".parse().unwrap();
        network_defaults(&mut off);
        assert!(!off.get_keepalives());
        assert_eq!(off.get_keepalives_interval(), None);
    }
}
