use batchrow::BatchRow;

#[derive(BatchRow)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
