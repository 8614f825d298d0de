// Every mistake in a struct is reported at once, each at its own token.
use batchrow::BatchRow;

#[derive(BatchRow)]
#[batch(table = "events", rename_al = "camelCase")]
struct Event {
    #[batch(rename = "id")]
    event_id: u64,
    #[batch(rename = "id")]
    other_id: u64,
    #[batch(type = "DateTime65")]
    at: u64,
    #[batch(skip, colour = "red")]
    scratch: u32,
    #[batch(type = "Int32", type = "Int64")]
    count: i64,
}

fn main() {}
