//! The schema check on every endpoint, and the statements and settings it resolves
//! ([`Sink::prepare`]).

use std::sync::Arc;

use batch_core::{Schema, SinkError};
use tokio::time::Instant;

use super::{ClickHouseSender, ClickHouseSink, Prepared, DISTRIBUTED_SYNC};
use crate::dedup;
use crate::endpoints::{Endpoint, Endpoints};
use crate::native::{InsertFormat, NativeBlock};
use crate::schema::{check_endpoint, combine, Checked};
use crate::sql::quote_ident;
use crate::types::ChType;

impl ClickHouseSink {
    pub(super) async fn run_prepare(self, schema: Schema) -> Result<ClickHouseSender, SinkError> {
        dedup::refuse_fixed_token(&self.client, &self.settings)?;
        let endpoints = self.build_endpoints();
        let table = self
            .table
            .clone()
            .unwrap_or_else(|| schema.table.to_owned());
        let database = self
            .database
            .clone()
            .or_else(|| self.client.database().map(str::to_owned));
        // Every endpoint at once, each within the schema timeout.
        let mut checks = tokio::task::JoinSet::new();
        for (i, e) in endpoints.iter().enumerate() {
            let check = check_endpoint(
                e.client.clone(),
                database.clone(),
                table.clone(),
                schema,
                self.deduplicate,
                self.schema_timeout,
            );
            checks.spawn(async move { (i, check.await) });
        }
        let mut results: Vec<(usize, Result<Checked, SinkError>)> = Vec::new();
        while let Some(joined) = checks.join_next().await {
            match joined {
                Ok(result) => results.push(result),
                Err(e) => {
                    return Err(SinkError::retryable(format!(
                        "ClickHouse: the schema check of table `{table}` did not finish: {e}"
                    )))
                }
            }
        }
        results.sort_by_key(|(i, _)| *i);
        let checked = combine(&endpoints, &table, &schema, results)?;
        let now = Instant::now();
        for &i in &checked.unreachable {
            endpoints.start_unchecked(i, now);
            tracing::warn!(
                endpoint = endpoints.get(i).url.as_deref().unwrap_or_default(),
                "ClickHouse endpoint did not answer the schema check; it gets no batch until \
                 it answers one"
            );
        }
        let Checked {
            database,
            columns,
            distributed,
        } = checked.checked;
        let label = format!("{database}.{table}");
        let native = match self.format {
            InsertFormat::Native => {
                match NativeBlock::new(schema.columns.iter().map(|c| c.name).zip(&columns)) {
                    Ok(native) => Some(Arc::new(native)),
                    Err(e) => {
                        tracing::info!(
                            table = label,
                            "batchrow: sending table {label} in RowBinary, not Native: {e}"
                        );
                        None
                    }
                }
            }
            InsertFormat::RowBinary => None,
        };
        let names: Vec<String> = schema.columns.iter().map(|c| quote_ident(c.name)).collect();
        let sql = |format: InsertFormat| {
            format!(
                "INSERT INTO {}.{} ({}) FORMAT {format}",
                quote_ident(&database),
                quote_ident(&table),
                names.join(", "),
            )
        };
        let native = native.map(|n| (n, sql(InsertFormat::Native)));
        let sql = sql(InsertFormat::RowBinary);
        let mut implied = Vec::new();
        if columns.iter().any(has_json) {
            implied.push(("input_format_binary_read_json_as_string", "1"));
        }
        if distributed {
            // A Distributed table answers once every shard stored its part; without it,
            // the node spools the batch and answers at once (see `# Shards`).
            implied.push((DISTRIBUTED_SYNC, "1"));
        }
        let prepared = Prepared {
            database,
            table,
            label,
            sql,
            schema,
            columns,
            implied,
            token_prefix: self.deduplicate.then(dedup::prefix),
            endpoints: Arc::new(endpoints),
            native,
            kept: Arc::default(),
        };
        Ok(ClickHouseSender {
            sink: self,
            prepared,
        })
    }

    /// The endpoints a sink with these settings sends to.
    pub(super) fn build_endpoints(&self) -> Endpoints {
        let urls: Vec<Option<String>> = if self.urls.is_empty() {
            vec![None]
        } else {
            self.urls.iter().cloned().map(Some).collect()
        };
        Endpoints::new(
            urls.into_iter()
                .map(|url| Endpoint::new(url, &self.client, &self.insert_client))
                .collect(),
        )
    }
}

fn has_json(t: &ChType) -> bool {
    match t {
        ChType::Json => true,
        ChType::Nullable(t) | ChType::LowCardinality(t) | ChType::Array(t) => has_json(t),
        ChType::Map(k, v) => has_json(k) || has_json(v),
        _ => false,
    }
}
