//! The schema check before the first row ([`Sink::prepare`](batch_core::Sink::prepare)), and again after an error
//! that suggests the table changed.

use std::sync::Arc;

use batch_core::{changed_columns, Schema, SinkError, SinkErrorKind};
use tokio::time::{timeout, timeout_at, Instant};

use super::attempt::Checkout;
use super::classify::pool_error;
use super::{
    ledger, upsert, PostgresSender, PostgresSink, Prepared, PREPARE_TIMEOUT, RECHECK_GRACE,
};
use crate::copy::PgBinary;
use crate::schema::{self, TableName};

impl PostgresSink {
    /// The schema check of [`Sink::prepare`](batch_core::Sink::prepare), within [`PREPARE_TIMEOUT`].
    pub(super) async fn run_prepare(self, schema: Schema) -> Result<PostgresSender, SinkError> {
        let name = self.target(&schema);
        let check = async {
            let client = self
                .pool
                .get()
                .await
                .map_err(|e| pool_error(e, &self.pool, &self.endpoint))?;
            let checkout = Checkout::new(client);
            let Some(client) = checkout.client() else {
                return Err(SinkError::retryable("no PostgreSQL connection"));
            };
            let checked = schema::check(client, &name, schema).await?;
            let ledger = match &self.ledger {
                Some(config) => {
                    Some(ledger::prepare(client, config, self.ledger_stats.clone()).await?)
                }
                None => None,
            };
            let merge = match &self.on_conflict {
                Some(on_conflict) => {
                    if ledger.is_some() {
                        return Err(SinkError::new(
                            SinkErrorKind::Config,
                            "on_conflict (upsert) and the ledger cannot be combined yet: \
                             choose one",
                        ));
                    }
                    let columns: Vec<&str> = schema.columns.iter().map(|c| c.name).collect();
                    Some(upsert::prepare(client, &checked.table, &columns, on_conflict).await?)
                }
                None => None,
            };
            checkout.release();
            Ok((checked, ledger, merge))
        };
        let (checked, ledger, merge) = timeout(PREPARE_TIMEOUT, check).await.map_err(|_| {
            SinkError::retryable(format!(
                "the schema check of {} did not finish within {PREPARE_TIMEOUT:?}: \
                 PostgreSQL{} does not answer",
                name.display(),
                self.endpoint
                    .address
                    .as_deref()
                    .map_or_else(String::new, |a| format!(" at {a}"))
            ))
        })??;
        tracing::debug!(table = %checked.table.display(), copy = %checked.copy_sql, "schema check passed");
        let prepared = Arc::new(Prepared {
            schema,
            name,
            checked,
            ledger,
            merge,
        });
        Ok(PostgresSender {
            sink: self,
            prepared,
        })
    }

    pub(super) fn target(&self, schema: &Schema) -> TableName {
        let mut name = TableName::parse(schema.table);
        if let Some(table) = &self.table {
            name = TableName {
                schema: name.schema,
                table: table.clone(),
            };
        }
        if let Some(s) = &self.schema {
            name.schema = Some(s.clone());
        }
        name
    }

    /// Runs the schema check again after an error that suggests the table changed, and
    /// reports what changed; `original` if nothing did, or if the check cannot finish by
    /// `deadline` (or [`RECHECK_GRACE`] from now, whichever is later).
    pub(super) async fn recheck(
        &self,
        prepared: &Prepared,
        original: SinkError,
        deadline: Instant,
    ) -> SinkError {
        let until = deadline.max(Instant::now() + RECHECK_GRACE);
        let check = async {
            let checkout = Checkout::new(self.pool.get().await.ok()?);
            let client = checkout.client()?;
            let result = schema::check(client, &prepared.name, prepared.schema).await;
            checkout.release();
            Some(result)
        };
        let Ok(Some(result)) = timeout_at(until, check).await else {
            return original;
        };
        match result {
            Err(e) => e,
            Ok(now) => changed_columns::<PgBinary>(
                &now.table.display(),
                prepared.schema.columns,
                &prepared.checked.columns,
                &now.columns,
            )
            .map_or(original, SinkError::schema),
        }
    }
}
