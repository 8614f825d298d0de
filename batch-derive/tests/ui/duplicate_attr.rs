use batchrow::BatchRow;

#[derive(BatchRow)]
#[batch(table = "events")]
#[batch(table = "events_v2")]
struct Event {
    #[batch(rename = "a", rename = "b")]
    id: u64,
}

fn main() {}
