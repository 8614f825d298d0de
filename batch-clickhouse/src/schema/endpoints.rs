//! The schema check of every endpoint of a sink, and the combined answer.

use std::time::Duration;

use batch_core::{ColumnMismatch, Schema, SchemaMismatch, SinkError};

use clickhouse::Client;

use super::{check, current_database, engine, load};
use crate::endpoints::Endpoints;
use crate::types::ChType;

/// What the schema check found on one endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    /// The database the table is in.
    pub(crate) database: String,
    /// The column types, in the row type's order.
    pub(crate) columns: Vec<ChType>,
    /// Whether the table is a `Distributed` table.
    pub(crate) distributed: bool,
}

/// The schema check of one endpoint, within `limit`: the database (`database`, or the
/// server's current one), the columns, the engine; and, with `dedup`, that the server
/// knows `insert_deduplication_token`.
pub(crate) async fn check_endpoint(
    client: Client,
    database: Option<String>,
    table: String,
    schema: Schema,
    dedup: bool,
    limit: Duration,
) -> Result<Checked, SinkError> {
    let run = async {
        if dedup {
            crate::dedup::check_server(&client).await?;
        }
        let database = match database {
            Some(d) => d,
            None => current_database(&client).await?,
        };
        let label = format!("{database}.{table}");
        let server = load(&client, &database, &table).await?;
        let columns = check(&label, &schema, &server).map_err(SinkError::schema)?;
        let distributed = engine(&client, &database, &table).await? == "Distributed";
        Ok(Checked {
            database,
            columns,
            distributed,
        })
    };
    match tokio::time::timeout(limit, run).await {
        Ok(result) => result,
        Err(_) => Err(SinkError::retryable(format!(
            "ClickHouse did not answer the schema check of table `{table}` within {limit:?} \
             (ClickHouseSink::schema_timeout): is the server up, and is the URL its HTTP \
             port?"
        ))),
    }
}

/// The schema checks of every endpoint, combined.
#[derive(Debug)]
pub(crate) struct Combined {
    /// What the endpoints that answered agree on.
    pub(crate) checked: Checked,
    /// The endpoints that did not answer (a retryable error): they are checked before
    /// they get a batch.
    pub(crate) unreachable: Vec<usize>,
}

/// Combines the schema checks of the endpoints (`results`, by endpoint index): one
/// error that names every endpoint that differs, or what they agree on.
///
/// # Errors
///
/// With one endpoint, its own error. With several: a [`SinkErrorKind::Schema`] error
/// listing every mismatched column of every endpoint (each reason ending with the
/// endpoint's URL), including columns whose type differs between endpoints that each
/// fit the row type (batches are encoded once, for every endpoint); a
/// [`SinkErrorKind::Config`] (or other non-retryable) error naming each endpoint whose
/// check failed so; or, when no endpoint answered, a retryable error naming each.
pub(crate) fn combine(
    endpoints: &Endpoints,
    table: &str,
    schema: &Schema,
    mut results: Vec<(usize, Result<Checked, SinkError>)>,
) -> Result<Combined, SinkError> {
    if endpoints.len() == 1 {
        let (_, result) = results.pop().ok_or_else(|| {
            SinkError::retryable(format!(
                "ClickHouse: no schema check of table `{table}` ran"
            ))
        })?;
        return result.map(|checked| Combined {
            checked,
            unreachable: Vec::new(),
        });
    }
    let at = |i: usize| endpoints.get(i).at();
    let mut mismatched: Vec<ColumnMismatch> = Vec::new();
    let mut label = None;
    let mut refused: Vec<(usize, SinkError)> = Vec::new();
    let mut unreachable: Vec<(usize, SinkError)> = Vec::new();
    let mut fits: Vec<(usize, Checked)> = Vec::new();
    for (i, result) in results {
        match result {
            Ok(c) => fits.push((i, c)),
            Err(e) => match e.mismatch() {
                Some(m) => {
                    label.get_or_insert_with(|| m.table.clone());
                    mismatched.extend(m.columns.iter().cloned().map(|mut c| {
                        c.reason = format!("{}{}", c.reason, at(i));
                        c
                    }));
                }
                None if e.is_retryable() => unreachable.push((i, e)),
                None => refused.push((i, e)),
            },
        }
    }
    // Endpoints whose tables each fit the row type, but not alike.
    if let Some((first, reference)) = fits.first() {
        label.get_or_insert_with(|| format!("{}.{table}", reference.database));
        for (i, other) in &fits[1..] {
            for (k, column) in schema.columns.iter().enumerate() {
                let (a, b) = (reference.columns.get(k), other.columns.get(k));
                if a != b {
                    mismatched.push(ColumnMismatch {
                        column: column.name.to_owned(),
                        rust_type: Some(column.rust_type.to_owned()),
                        server_type: b.map(ToString::to_string),
                        reason: format!(
                            "the endpoints differ: `{}`{} but `{}`{}; batches are encoded \
                             once, for every endpoint",
                            a.map(ToString::to_string).unwrap_or_default(),
                            at(*first),
                            b.map(ToString::to_string).unwrap_or_default(),
                            at(*i)
                        ),
                    });
                }
            }
        }
    }
    let listed = |errors: &[(usize, SinkError)]| {
        errors
            .iter()
            .map(|(i, e)| format!("{}: {e}", at(*i).trim_start()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !refused.is_empty() {
        let kind = refused[0].1.kind();
        let mut message = format!(
            "ClickHouse: the schema check of table `{table}` failed on {} of {} endpoints: {}",
            refused.len(),
            endpoints.len(),
            listed(&refused)
        );
        if !mismatched.is_empty() {
            message.push_str(&format!(
                "; and {}",
                SchemaMismatch {
                    table: label.unwrap_or_else(|| table.to_owned()),
                    columns: mismatched
                }
            ));
        }
        return Err(SinkError::new(kind, message));
    }
    if !mismatched.is_empty() {
        return Err(SinkError::schema(SchemaMismatch {
            table: label.unwrap_or_else(|| table.to_owned()),
            columns: mismatched,
        }));
    }
    let Some((_, checked)) = fits.into_iter().next() else {
        return Err(SinkError::retryable(format!(
            "ClickHouse: no endpoint answered the schema check of table `{table}`: {}",
            listed(&unreachable)
        )));
    };
    Ok(Combined {
        checked,
        unreachable: unreachable.into_iter().map(|(i, _)| i).collect(),
    })
}
