//! One send: the batch's frames made, an endpoint chosen (probing an ejected one), one
//! `INSERT`, and its answer classified.

use std::sync::Arc;

use batch_core::{Batch, SinkError, SinkErrorKind};
use tokio::time::Instant;

use super::framing::{self, native_for, Frames};
use super::{ClickHouseSender, Prepared, GRACE};
use crate::classify::{classify, server_code};
use crate::dedup;
use crate::endpoints::{Endpoint, Pick, PROBE_TIMEOUT};
use crate::schema::{self, check_endpoint};

impl ClickHouseSender {
    /// Sends `batch` as one `INSERT` by `deadline`: its frames made, an endpoint chosen,
    /// one attempt, and the endpoint's health updated from the outcome.
    pub(super) async fn run_send(&self, batch: &Batch, deadline: Instant) -> Result<(), SinkError> {
        let p = &self.prepared;
        // Written as it is, without a copy, when the batch goes in RowBinary.
        if batch.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let out_of_time = |sent: bool, at: &str| {
            let what = if sent {
                "got no answer from the server"
            } else {
                "could not be compressed"
            };
            SinkError::retryable(format!(
                "ClickHouse: inserting {} rows into {}{at}: {what} within {:?} (the insert \
                 timeout or the batcher's deadline); the batch is sent again",
                batch.rows(),
                p.label,
                deadline.saturating_duration_since(started)
            ))
        };
        let native = native_for(p, self.sink.compression, batch);
        let sql = match native {
            Some((_, sql)) => sql.as_str(),
            None => p.sql.as_str(),
        };
        // Made once per delivery: a retry sends the frames of the first attempt (the
        // batcher forgets them when the delivery ends; `send_memory` counts them).
        let frames = match batch.encoded::<Frames>() {
            Some(frames) => frames,
            None => {
                let compress = framing::frames(
                    batch,
                    native.map(|(n, _)| n.clone()),
                    p.kept.clone(),
                    self.sink.compression,
                );
                let frames = match tokio::time::timeout_at(deadline, compress).await {
                    Ok(frames) => Arc::new(frames?),
                    Err(_) => return Err(out_of_time(false, "")),
                };
                batch.keep_encoded(frames.clone());
                // The working buffers are given back: from now on this delivery holds
                // the frames only, and the rest of its send memory serves others.
                batch.shrink_send_memory(frames.held());
                frames
            }
        };
        let Some(index) = self.choose(p, batch, deadline).await else {
            return Err(SinkError::retryable(format!(
                "ClickHouse: inserting {} rows into {}: none of the {} endpoints answered \
                 its probe; the batch is sent again",
                batch.rows(),
                p.label,
                p.endpoints.len()
            )));
        };
        let endpoint = p.endpoints.get(index);
        let result = {
            let _in_flight = p.endpoints.begin(index);
            self.attempt(p, endpoint, batch, (sql, &frames), deadline, &out_of_time)
                .await
        };
        match &result {
            Err(e) if e.is_retryable() => {
                let ejected = p.endpoints.failed(index, Some(batch), Instant::now());
                if !ejected.is_zero() {
                    tracing::warn!(
                        endpoint = endpoint.url.as_deref().unwrap_or_default(),
                        ?ejected,
                        "ClickHouse endpoint ejected after a failed insert: {e}"
                    );
                }
            }
            _ => p.endpoints.answered(index, batch),
        }
        result
    }

    /// Chooses the endpoint for an attempt at `batch`, probing an ejected one first
    /// (see `# Several endpoints` in [`ClickHouseSink`]).
    pub(super) async fn choose(
        &self,
        p: &Prepared,
        batch: &Batch,
        deadline: Instant,
    ) -> Option<usize> {
        let mut skip = Vec::new();
        loop {
            let pick = p.endpoints.pick(batch, &skip, Instant::now())?;
            if !pick.probe {
                return Some(pick.index);
            }
            match self.probe(p, pick, deadline).await {
                Ok(()) => {
                    p.endpoints.probe_passed(pick.index);
                    return Some(pick.index);
                }
                Err(true) => p.endpoints.failed_for_long(pick.index, Instant::now()),
                Err(false) => {
                    p.endpoints.failed(pick.index, None, Instant::now());
                }
            }
            skip.push(pick.index);
        }
    }

    /// Probes endpoint `pick` before it gets a batch again: `SELECT 1`, or the schema
    /// check if it has not passed one yet. `Err(true)` when its table no longer fits.
    pub(super) async fn probe(
        &self,
        p: &Prepared,
        pick: Pick,
        deadline: Instant,
    ) -> Result<(), bool> {
        let e = p.endpoints.get(pick.index);
        let limit = PROBE_TIMEOUT.min(deadline.saturating_duration_since(Instant::now()));
        if !pick.unchecked {
            let ping = e.client.query("SELECT 1").fetch_one::<u8>();
            return match tokio::time::timeout(limit, ping).await {
                Ok(Ok(1)) => Ok(()),
                _ => Err(false),
            };
        }
        let check = check_endpoint(
            e.client.clone(),
            Some(p.database.clone()),
            p.table.clone(),
            p.schema,
            p.token_prefix.is_some(),
            limit,
        )
        .await;
        match check {
            Ok(c) if c.columns == p.columns => Ok(()),
            Ok(c) => {
                tracing::error!(
                    endpoint = e.url.as_deref().unwrap_or_default(),
                    "ClickHouse endpoint's table {} differs from the other endpoints' \
                     ({:?} instead of {:?}); it gets no batch",
                    p.label,
                    c.columns,
                    p.columns
                );
                Err(true)
            }
            Err(err) if err.is_retryable() => Err(false),
            Err(err) => {
                tracing::error!(
                    endpoint = e.url.as_deref().unwrap_or_default(),
                    "ClickHouse endpoint failed the schema check: {err}; it gets no batch"
                );
                Err(true)
            }
        }
    }

    /// One insert of the batch's frames on `endpoint`, its error classified (and the
    /// schema checked again there when the error may mean the table changed).
    pub(super) async fn attempt(
        &self,
        p: &Prepared,
        endpoint: &Endpoint,
        batch: &Batch,
        sent: (&str, &Frames),
        deadline: Instant,
        out_of_time: &(dyn Fn(bool, &str) -> SinkError + Sync),
    ) -> Result<(), SinkError> {
        let at = if p.endpoints.len() > 1 {
            endpoint.at()
        } else {
            String::new()
        };
        let attempt = self.insert(endpoint, p, batch, sent, deadline);
        let e = match tokio::time::timeout_at(deadline + GRACE, attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(clickhouse::error::Error::TimedOut)) | Err(_) => {
                return Err(out_of_time(true, &at));
            }
            Ok(Err(e)) => e,
        };
        let err = classify(
            e,
            &format!("inserting {} rows into {}{at}", batch.rows(), p.label),
        );
        if !schema::may_be_schema_change(server_code(&err)) {
            return Err(err);
        }
        let recheck = schema::recheck(
            &endpoint.client,
            &p.database,
            &p.table,
            &p.label,
            &p.schema,
            &p.columns,
        );
        let recheck_by = (Instant::now() + self.sink.schema_timeout).min(deadline + GRACE);
        match tokio::time::timeout_at(recheck_by, recheck).await {
            Ok(Ok(Some(mismatch))) => {
                let mut e = SinkError::schema(mismatch);
                if let Some(code) = err.code() {
                    e = e.with_code(code);
                }
                Err(e.with_source(err))
            }
            // The table still fits: the data itself was refused.
            Ok(Ok(None)) => Err(err),
            // The table or database is gone.
            Ok(Err(recheck)) if recheck.kind() == SinkErrorKind::Config => Err(recheck),
            // The server went away meanwhile, or did not answer in time.
            Ok(Err(_)) | Err(_) => Err(err),
        }
    }

    /// Sends the frames as one `INSERT`; the `clickhouse` crate ends it at `deadline`
    /// and aborts its connection.
    pub(super) async fn insert(
        &self,
        endpoint: &Endpoint,
        p: &Prepared,
        batch: &Batch,
        (sql, frames): (&str, &Frames),
        deadline: Instant,
    ) -> Result<(), clickhouse::error::Error> {
        let left = Some(deadline.saturating_duration_since(Instant::now()));
        let mut insert = endpoint
            .insert_client
            .insert_formatted_with(sql)
            .with_timeouts(left, left)
            .with_setting("decompress", "1");
        for (name, value) in &p.implied {
            if !self.sink.settings.iter().any(|(n, _)| n == name) {
                insert = insert.with_setting(*name, *value);
            }
        }
        for (name, value) in &self.sink.settings {
            insert = insert.with_setting(name.as_str(), value.as_str());
        }
        if let Some(prefix) = &p.token_prefix {
            insert = insert.with_setting(dedup::SETTING, dedup::token(prefix, batch));
        }
        for piece in frames.pieces() {
            insert.send(piece.clone()).await?;
        }
        insert.end().await
    }
}
