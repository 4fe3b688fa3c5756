//! Dtype dispatch: run one generic body for whichever element type a tensor holds.

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`, for all six dtypes.
#[doc(hidden)]
#[macro_export]
macro_rules! dispatch_all {
    ($dtype:expr, $T:ident, $body:block) => {
        match $dtype {
            $crate::DType::Float32 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = f64;
                $body
            }
            $crate::DType::Int32 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = i32;
                $body
            }
            $crate::DType::Int64 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = i64;
                $body
            }
            $crate::DType::UInt8 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = u8;
                $body
            }
            $crate::DType::Bool => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = bool;
                $body
            }
        }
    };
}

/// Runs `$body` with `$T` bound to a numeric type (not bool); returns a dtype error naming `$op`
/// for bool. Must be used in a function returning `Result`.
#[doc(hidden)]
#[macro_export]
macro_rules! dispatch_num {
    ($dtype:expr, $op:expr, $T:ident, $body:block) => {
        match $dtype {
            $crate::DType::Float32 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = f64;
                $body
            }
            $crate::DType::Int32 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = i32;
                $body
            }
            $crate::DType::Int64 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = i64;
                $body
            }
            $crate::DType::UInt8 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = u8;
                $body
            }
            $crate::DType::Bool => {
                $crate::bail!(DType, "{}: not defined for bool tensors", $op)
            }
        }
    };
}

/// Runs `$body` with `$T` bound to `f32` or `f64`; returns a dtype error naming `$op` otherwise.
/// Must be used in a function returning `Result`.
#[doc(hidden)]
#[macro_export]
macro_rules! dispatch_float {
    ($dtype:expr, $op:expr, $T:ident, $body:block) => {
        match $dtype {
            $crate::DType::Float32 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                #[allow(unused_imports)]
                use $crate::dtype::{Element as _, Float as _, Num as _};
                type $T = f64;
                $body
            }
            other => $crate::bail!(
                DType,
                "{}: expected a float tensor, got {}\n  hint: cast first, e.g. x.cast(DType::Float32)",
                $op,
                other
            ),
        }
    };
}
