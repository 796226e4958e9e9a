//! What the Spiral compiler, the runtime and the build tools agree on, with no heavy
//! dependencies: the scalar kinds a leaf buffer can hold ([`ScalarKind`]) and the description
//! of an exported function ([`Export`]: its parameters and result as [`HostType`]s).
//!
//! The `syn` feature adds [`signature`], which reads an export from the Rust signature a user
//! writes (in `spiral!` or in a `// export: fn ...;` line).

#![warn(missing_docs)]

use std::fmt;

/// The kind of a leaf buffer: which primitive type its elements have.
///
/// Generated code and device transfers use it to pack leaves without knowing the Rust type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalarKind {
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `bool`, stored as one byte holding 0 or 1.
    Bool,
}

impl ScalarKind {
    /// Every kind, in declaration order.
    pub const ALL: [ScalarKind; 11] = [
        ScalarKind::I8,
        ScalarKind::I16,
        ScalarKind::I32,
        ScalarKind::I64,
        ScalarKind::U8,
        ScalarKind::U16,
        ScalarKind::U32,
        ScalarKind::U64,
        ScalarKind::F32,
        ScalarKind::F64,
        ScalarKind::Bool,
    ];

    /// Size of one element in bytes.
    pub const fn size(self) -> usize {
        match self {
            ScalarKind::I8 | ScalarKind::U8 | ScalarKind::Bool => 1,
            ScalarKind::I16 | ScalarKind::U16 => 2,
            ScalarKind::I32 | ScalarKind::U32 | ScalarKind::F32 => 4,
            ScalarKind::I64 | ScalarKind::U64 | ScalarKind::F64 => 8,
        }
    }

    /// Alignment of one element in bytes (equal to its size for every kind).
    pub const fn align(self) -> usize {
        self.size()
    }

    /// The Rust (and Spiral) name of the type: `"i32"`, `"f64"`, `"bool"`...
    pub const fn name(self) -> &'static str {
        match self {
            ScalarKind::I8 => "i8",
            ScalarKind::I16 => "i16",
            ScalarKind::I32 => "i32",
            ScalarKind::I64 => "i64",
            ScalarKind::U8 => "u8",
            ScalarKind::U16 => "u16",
            ScalarKind::U32 => "u32",
            ScalarKind::U64 => "u64",
            ScalarKind::F32 => "f32",
            ScalarKind::F64 => "f64",
            ScalarKind::Bool => "bool",
        }
    }

    /// The C type a generated kernel uses for one element: `"int32_t"`, `"double"`, `"bool"`...
    pub const fn c_type(self) -> &'static str {
        match self {
            ScalarKind::I8 => "int8_t",
            ScalarKind::I16 => "int16_t",
            ScalarKind::I32 => "int32_t",
            ScalarKind::I64 => "int64_t",
            ScalarKind::U8 => "uint8_t",
            ScalarKind::U16 => "uint16_t",
            ScalarKind::U32 => "uint32_t",
            ScalarKind::U64 => "uint64_t",
            ScalarKind::F32 => "float",
            ScalarKind::F64 => "double",
            ScalarKind::Bool => "bool",
        }
    }
}

impl fmt::Display for ScalarKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}


impl ScalarKind {
    /// The kind a Rust type name denotes (`"i32"`, `"f64"`, `"bool"`...).
    pub fn from_rust_name(s: &str) -> Option<ScalarKind> {
        ScalarKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// A type in an exported signature, as the host sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostType {
    /// `()`.
    Unit,
    /// A scalar.
    Prim(ScalarKind),
    /// `usize`: a length or an index. Spiral sees an `i32` (the kernel index type); a value
    /// past `i32::MAX` passed in is an `Error::DeviceLimit`, and a negative one returned is an
    /// error too.
    Usize,
    /// A Rust tuple (flat; Spiral sees the right-nested pairs `a * (b * c)`).
    Tuple(Vec<HostType>),
    /// An inverse array (`InvArray<T>`, `&InvArray<T>` or `&mut InvArray<T>`).
    InvArray(Box<HostType>),
    /// A struct with named fields declared next to the exports (with `#[derive(Inverse)]`);
    /// Spiral sees it as a record.
    Struct(StructDef),
}

/// A Rust struct with named fields that an export's signature uses: Spiral sees it as the
/// record of its fields, and an `InvArray` of it as one column per leaf field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructDef {
    /// The Rust name (`Particle`); `{name}Columns` and `{name}Slices` are its column trees
    /// (from `#[derive(Inverse)]`).
    pub name: String,
    /// The fields, sorted by name: the order of a Spiral record's leaves.
    pub fields: Vec<(String, HostType)>,
}

impl HostType {
    /// The Spiral type this host type is seen as (tuples right-nested).
    pub fn spiral_type(&self) -> String {
        match self {
            HostType::Unit => "()".into(),
            HostType::Prim(p) => p.name().into(),
            HostType::Usize => "i32".into(),
            HostType::Tuple(ts) => {
                let parts: Vec<String> = ts.iter().map(|t| t.spiral_type()).collect();
                format!("({})", parts.join(" * "))
            }
            HostType::InvArray(t) => format!("(inv_array {})", t.spiral_type()),
            HostType::Struct(d) => {
                let parts: Vec<String> = d.fields.iter().map(|(n, t)| format!("{n} : {}", t.spiral_type())).collect();
                format!("{{{}}}", parts.join("; "))
            }
        }
    }
    /// The scalar leaves of an element type, in order.
    pub fn leaves(&self, out: &mut Vec<ScalarKind>) {
        match self {
            HostType::Unit => {}
            HostType::Prim(p) => out.push(*p),
            HostType::Usize => out.push(ScalarKind::I32),
            HostType::Tuple(ts) => ts.iter().for_each(|t| t.leaves(out)),
            HostType::InvArray(t) => t.leaves(out),
            HostType::Struct(d) => d.fields.iter().for_each(|(_, t)| t.leaves(out)),
        }
    }
}

/// How a parameter is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Passing {
    /// By value (`InvArray<T>` is moved in: its buffers are used without a copy, and returned
    /// unchanged they come back as the same buffers).
    Moved,
    /// `&InvArray<T>`: read; columns the program writes to are copied first.
    Borrowed,
    /// `&mut InvArray<T>`: the program works on the caller's buffers in place, and they are
    /// back in the caller's array when the function returns (also on `Err`).
    BorrowedMut,
    /// `InvSliceMut<T>`: a mutable view of part of an inverse array, worked on in place (the
    /// program may only read and write its elements, and pass it to kernels).
    SliceMut,
    /// `&DeviceInvArray<T>`: an inverse array resident in a GPU's memory, read by kernels in
    /// place (no copy); the program may only pass it to kernels that read it, and the export
    /// runs on that GPU only.
    Device,
    /// `&mut DeviceInvArray<T>`: as [`Passing::Device`], and kernels may write it in place.
    DeviceMut,
}

impl Passing {
    /// A GPU-resident inverse array (`&DeviceInvArray<T>` or `&mut DeviceInvArray<T>`).
    pub fn on_device(self) -> bool {
        matches!(self, Passing::Device | Passing::DeviceMut)
    }
}

/// One parameter of an exported function (after the device).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The Rust parameter name.
    pub name: String,
    /// Its type.
    pub ty: HostType,
    /// By value, `&` or `&mut`.
    pub passing: Passing,
}

impl Param {
    /// Passed as `&InvArray<T>` (shared; written columns are copied).
    pub fn borrowed(&self) -> bool {
        self.passing == Passing::Borrowed
    }
}

/// One exported function: its name (a top-level Spiral function of the same name), the name of
/// its device parameter, its runtime parameters after the device, and its result type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The Rust and Spiral name.
    pub name: String,
    /// The name of the `&Device` parameter.
    pub device: String,
    /// Parameters after the device.
    pub params: Vec<Param>,
    /// The `T` in `Result<T, Error>`.
    pub ret: HostType,
}

#[cfg(feature = "syn")]
pub mod signature;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_names_round_trip() {
        for k in ScalarKind::ALL {
            assert_eq!(ScalarKind::from_rust_name(k.name()), Some(k));
        }
        assert_eq!(ScalarKind::from_rust_name("char"), None);
    }

    #[test]
    fn host_types_as_spiral_types() {
        let t = HostType::InvArray(Box::new(HostType::Tuple(vec![HostType::Prim(ScalarKind::I32), HostType::Prim(ScalarKind::F64)])));
        assert_eq!(t.spiral_type(), "(inv_array (i32 * f64))");
        let mut l = Vec::new();
        t.leaves(&mut l);
        assert_eq!(l, vec![ScalarKind::I32, ScalarKind::F64]);
    }
}
