//! A tour of the runtime without the compiler: build inverse arrays, regroup them for free,
//! run a map kernel on the CPU device, print the columns, and see the typed errors.
//!
//! `cargo run -p spiral-rt --example runtime_tour`

use spiral_rt::{Device, Error, InvArray, Inverse};

#[derive(Inverse, Debug, Clone, Copy, PartialEq)]
struct Xyz {
    x: i32,
    y: i32,
    z: i32,
}

fn arange(n: i32) -> InvArray<i32> {
    (0..n).collect()
}

fn main() -> Result<(), Error> {
    let n = 16;
    // zip (arange n) <| zip (arange n) <| arange n, then regroup as a record: no copies.
    let input = InvArray::zip(arange(n), InvArray::zip(arange(n), arange(n))?)?;
    let input: InvArray<Xyz> = input.rezip()?;
    println!("input  {}", input.display_columns().to_string().replace('\n', "\n       "));

    let dev = Device::cpu();
    let output = dev.map(&input, |Xyz { x, y, z }| (x + y + z, x * y * z))?;
    println!("output {}", output.display_columns().to_string().replace('\n', "\n       "));
    println!("on {dev}: {:?}", output.iter().take(4).collect::<Vec<_>>());

    // Every failure is a value.
    let short = arange(3);
    println!("zip of 3 and 16 elements: {}", InvArray::zip(short, output).unwrap_err());
    match Device::cuda(0) {
        Ok(d) => println!("found {d}"),
        Err(e) => println!("Device::cuda(0): {e}"),
    }
    // The default panic hook would print the panic too; silence it for this demonstration.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let failed = dev.map(&input, |p: Xyz| if p.x == 7 { panic!("x = 7 is unlucky") } else { p.x });
    std::panic::set_hook(hook);
    println!("a panicking kernel: {}", failed.unwrap_err());
    Ok(())
}
