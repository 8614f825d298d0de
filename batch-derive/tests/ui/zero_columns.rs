use batchrow::BatchRow;

#[derive(BatchRow)]
struct Nothing {
    #[batch(skip)]
    scratch: u32,
}

fn main() {}
