use spiral_rt::Inverse;

#[derive(Inverse)]
#[inverse(krate = "spiral_rt")]
struct P {
    x: i32,
}

fn main() {}
