// An attribute mistake is one error, at the attribute: the derive still implements
// `BatchRow` and `EncodeRow` from what parsed, so the uses of the row below (the
// batcher, `TABLE`, `COLUMNS`, a generic bound) do not each add an error.
use batchrow::clickhouse::ClickHouseSink;
use batchrow::{BatchRow, Batcher, EncodeRow};

#[derive(BatchRow)]
#[batch(tabel = "events")]
struct Event {
    id: u64,
    name: String,
}

fn needs_a_row<R: BatchRow + EncodeRow<batchrow::clickhouse::RowBinary>>() {}

async fn run(sink: ClickHouseSink) -> batchrow::Result<()> {
    let handle = Batcher::builder(sink).spawn::<Event>().await?;
    handle
        .insert(Event {
            id: 1,
            name: "a".into(),
        })
        .await
        .ok();
    handle.close().await?;
    Ok(())
}

fn main() {
    needs_a_row::<Event>();
    let _ = (Event::TABLE, Event::COLUMNS);
    drop(run);
}
