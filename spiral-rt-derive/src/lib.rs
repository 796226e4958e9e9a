//! `#[derive(Inverse)]`: lets a struct be stored in an `InvArray` as one buffer per leaf field.
