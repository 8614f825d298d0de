use batchrow::BatchRow;

#[derive(BatchRow)]
struct Event {
    #[batch(type = "Datetime64(3)")]
    at: String,
}

fn main() {}
