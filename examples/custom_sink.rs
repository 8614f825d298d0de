//! A user-written sink: rows encoded as CSV lines and written to standard output.
//!
//! It shows the three parts every sink has:
//! - a [`Format`](batchrow::Format) with an [`Encode`](batchrow::Encode) impl for each
//!   Rust type it can write (here `u64`, `f64`, `bool`, strings, and enums through
//!   `Format::encode_enum`; a row with any other field type does not compile with this
//!   sink);
//! - [`Sink::prepare`](batchrow::Sink::prepare), the schema check that runs before the
//!   first row, reporting every unsupported column at once, and returning the sender;
//! - [`Sender::send`](batchrow::Sender::send), which writes one batch and classifies its
//!   errors so the batcher knows whether to retry.
//!
//! Run it with `cargo run --example custom_sink`.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use batchrow::{
    Batch, BatchEnum, BatchRow, Batcher, ColumnMismatch, Encode, EncodeError, Format, RetryPolicy,
    Schema, SchemaMismatch, Sender, Sink, SinkError, ValueKind,
};

/// Comma-separated values, one line per row.
#[derive(Debug)]
struct Csv;

/// What `prepare` resolved for a column: here only whether it is the first of its row.
#[derive(Debug, Clone)]
struct CsvColumn {
    first: bool,
}

impl Format for Csv {
    type Column = CsvColumn;
    const NAME: &'static str = "CSV";

    // CSV has no row header; a sink whose format needs one (PostgreSQL's field count)
    // writes it here.
    fn begin_row(_columns: u16, _buf: &mut Vec<u8>) {}

    fn encode_enum(
        label: &'static str,
        _value: i16,
        column: &CsvColumn,
        buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        <str as Encode<Csv>>::encode(label, column, buf)
    }
}

fn separator(column: &CsvColumn, buf: &mut Vec<u8>) {
    if !column.first {
        buf.push(b',');
    }
}

impl Encode<Csv> for u64 {
    fn encode(&self, column: &CsvColumn, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        separator(column, buf);
        // `write!` to a Vec cannot fail.
        let _ = write!(buf, "{self}");
        Ok(())
    }
}

impl Encode<Csv> for f64 {
    fn encode(&self, column: &CsvColumn, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        if !self.is_finite() {
            return Err(EncodeError::OutOfRange {
                what: "a CSV number",
                value: self.to_string(),
            });
        }
        separator(column, buf);
        let _ = write!(buf, "{self}");
        Ok(())
    }
}

impl Encode<Csv> for bool {
    fn encode(&self, column: &CsvColumn, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        separator(column, buf);
        buf.extend_from_slice(if *self { b"true" } else { b"false" });
        Ok(())
    }
}

impl Encode<Csv> for str {
    fn encode(&self, column: &CsvColumn, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        separator(column, buf);
        buf.push(b'"');
        for b in self.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
        Ok(())
    }
}

impl Encode<Csv> for String {
    fn encode(&self, column: &CsvColumn, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        <str as Encode<Csv>>::encode(self, column, buf)
    }
}

/// A sink that writes each batch to standard output, one CSV line per row.
#[derive(Debug, Default)]
struct StdoutSink;

/// The sink once its check passed: what it writes with.
#[derive(Debug)]
struct StdoutSender {
    columns: Vec<CsvColumn>,
    out: Mutex<Vec<u8>>,
}

impl Sink for StdoutSink {
    type Format = Csv;
    type Sender = StdoutSender;

    async fn prepare(self, schema: Schema) -> Result<StdoutSender, SinkError> {
        // The schema check: every column must be of a kind this sink writes. Report all
        // the columns that are not, at once.
        let unsupported: Vec<ColumnMismatch> = schema
            .columns
            .iter()
            .filter(|c| {
                !matches!(
                    c.kind,
                    ValueKind::U64
                        | ValueKind::F64
                        | ValueKind::Bool
                        | ValueKind::String
                        | ValueKind::Enum(_)
                )
            })
            .map(|c| ColumnMismatch {
                column: c.name.to_owned(),
                rust_type: Some(c.rust_type.to_owned()),
                server_type: None,
                reason: "the CSV sink writes only u64, f64, bool, strings and enums".to_owned(),
            })
            .collect();
        if !unsupported.is_empty() {
            return Err(SinkError::schema(SchemaMismatch {
                table: schema.table.to_owned(),
                columns: unsupported,
            }));
        }
        let header: Vec<&str> = schema.columns.iter().map(|c| c.name).collect();
        println!("# table {}: {}", schema.table, header.join(","));
        Ok(StdoutSender {
            columns: (0..schema.columns.len())
                .map(|i| CsvColumn { first: i == 0 })
                .collect(),
            out: Mutex::new(Vec::new()),
        })
    }
}

impl Sender for StdoutSender {
    type Format = Csv;

    fn columns(&self) -> &[CsvColumn] {
        &self.columns
    }

    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        // Rows are already encoded; a sink only streams the chunks. Here each row gets a
        // line end, and the whole batch is written at once.
        let mut out = self
            .out
            .lock()
            .map_err(|_| SinkError::permanent("poisoned"))?;
        out.clear();
        for i in 0..batch.rows() {
            out.extend_from_slice(batch.row(i).unwrap_or_default());
            out.push(b'\n');
        }
        let mut stdout = std::io::stdout().lock();
        // An I/O error may pass (a full pipe): let the batcher retry the same bytes.
        stdout
            .write_all(&out)
            .and_then(|()| stdout.flush())
            .map_err(|e| SinkError::retryable("writing to stdout failed").with_source(e))?;
        eprintln!("# batch {}: {} rows", batch.id(), batch.rows());
        Ok(())
    }
}

/// The row type. The derive generates `BatchRow` and an `EncodeRow<F>` for every format
/// `F` whose `Encode` impls cover the field types, such as `Csv` here.
#[derive(Debug, BatchRow)]
#[batch(table = "readings")]
struct Reading<'a> {
    sensor: &'a str,
    seq: u64,
    celsius: f64,
    status: Status,
}

/// An enum column: the format decides how to write it (`Format::encode_enum`); CSV
/// writes the label.
#[derive(Debug, Clone, Copy, BatchEnum)]
#[batch(rename_all = "lowercase")]
enum Status {
    Ok = 1,
    Faulty,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let handle = Batcher::builder(StdoutSink)
        .max_rows(4)
        .max_wait(Duration::from_millis(200))
        .retry(RetryPolicy::default().attempts(3))
        .dead_letter(|failed| {
            eprintln!(
                "# batch {} failed for good ({} rows): {}",
                failed.batch().id(),
                failed.rows(),
                failed.cause()
            );
        })
        .spawn::<Reading>()
        .await?;

    let sensors = ["kitchen", "cellar \"north\""];
    for seq in 0..10_u64 {
        let sensor = sensors[usize::from(seq % 2 == 1)];
        handle
            .insert(Reading {
                sensor,
                seq,
                celsius: 18.5 + seq as f64 / 4.0,
                status: if seq == 7 { Status::Faulty } else { Status::Ok },
            })
            .await?;
    }
    // A value this sink cannot write is refused, and the row handed back.
    let nan = Reading {
        sensor: "broken",
        seq: 99,
        celsius: f64::NAN,
        status: Status::Faulty,
    };
    if let Err(refused) = handle.insert(nan).await {
        eprintln!("# refused row {:?}: {refused}", refused.row());
    }

    let summary = handle.close().await?;
    eprintln!(
        "# accepted {} rows, committed {}, failed {}",
        summary.accepted.rows, summary.committed.rows, summary.failed.rows
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() -> Result<(), Box<dyn std::error::Error>> {
        super::main()
    }
}
