use batchrow::BatchRow;

#[derive(BatchRow)]
#[batch(tabel = "events")]
struct Event {
    id: u64,
}

fn main() {}
