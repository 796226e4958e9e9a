use spiral_rt::Inverse;

#[derive(Inverse)]
enum Shape {
    Circle(f32),
    Square(f32),
}

fn main() {}
