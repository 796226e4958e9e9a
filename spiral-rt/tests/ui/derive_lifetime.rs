use spiral_rt::Inverse;

#[derive(Inverse)]
struct Borrowed<'a> {
    x: &'a i32,
}

fn main() {}
