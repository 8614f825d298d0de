use batchrow::BatchRow;

#[derive(BatchRow)]
struct Event {
    id: u64,
    #[batch(skip, rename = "scratch_pad")]
    scratch: u32,
    #[batch(skip, type = "UInt32")]
    other: u32,
}

fn main() {}
