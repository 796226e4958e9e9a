//! `#[derive(Inverse)]` structs through spiral-build's C kernels: in place through `&mut`,
//! moved in and out, and through slice views.
use spiral_build_demo::particles::{advanced, speed_sum, step, stop, Particle};
use spiral::{Device, InvArray};

fn particles(n: usize) -> InvArray<Particle> {
    (0..n).map(|i| Particle { x: i as f32, y: 0.0, vx: 3.0, vy: 4.0 }).collect()
}

#[test]
fn the_particle_step_round_trips_in_place_and_by_value() {
    for threads in [1, 2, 8] {
        let dev = Device::cpu_with_threads(threads);
        let mut ps = particles(1000);
        let before = ps.columns().x.as_ptr();
        step(&dev, 0.5, &mut ps).unwrap();
        assert_eq!(ps.columns().x.as_ptr(), before, "updated in place");
        assert_eq!(ps.get(10), Some(Particle { x: 11.5, y: 2.0, vx: 3.0, vy: 4.0 - 0.5 * 9.81 }));
        let moved = particles(1000);
        let p = moved.columns().vy.as_ptr();
        let out = advanced(&dev, 0.5, moved).unwrap();
        assert_eq!(out, ps);
        assert_eq!(out.columns().vy.as_ptr(), p, "moved in and returned in the same buffers");
    }
}

#[test]
fn slices_of_structs_are_read_and_written_in_place() {
    let dev = Device::cpu_with_threads(2);
    let mut ps = particles(100);
    assert_eq!(speed_sum(&dev, ps.slice(..10)).unwrap(), 50.0);
    assert_eq!(stop(&dev, ps.slice_mut(90..)).unwrap(), 10);
    assert_eq!(ps.get(89).unwrap().vx, 3.0);
    assert_eq!(ps.get(90).unwrap().vx, 0.0);
    assert_eq!(speed_sum(&dev, ps.as_slice()).unwrap(), 450.0);
}
