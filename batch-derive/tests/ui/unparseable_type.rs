use batchrow::BatchRow;

#[derive(BatchRow)]
struct Event {
    #[batch(type = "DateTime64(3")]
    at: String,
    #[batch(type = "Decimal(77, 2)")]
    price: String,
    #[batch(type = "Tuple(String, UInt8)")]
    pair: String,
}

fn main() {}
