use batchrow::BatchRow;

#[derive(BatchRow)]
struct Event {
    #[batch(type = "DateTime64(3)")]
    at: String,
    #[batch(type = "Int32")]
    count: i64,
    #[batch(type = "FixedString(4)")]
    code: [u8; 8],
}

fn main() {}
