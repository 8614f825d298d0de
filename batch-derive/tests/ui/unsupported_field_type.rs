use batchrow::BatchRow;

#[derive(BatchRow)]
struct Event {
    id: u64,
    file: std::fs::File,
}

fn main() {}
