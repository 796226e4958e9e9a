use spiral_rt::Inverse;

#[derive(Inverse)]
struct Named {
    id: u32,
    name: String,
}

fn main() {}
