use batchrow::BatchRow;

#[derive(BatchRow)]
struct Point(f64, f64);

fn main() {}
