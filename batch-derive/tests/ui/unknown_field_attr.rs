use batchrow::BatchRow;

#[derive(BatchRow)]
struct Event {
    #[batch(name = "event_id")]
    id: u64,
}

fn main() {}
