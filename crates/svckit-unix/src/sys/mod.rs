//! svckit-unix's boundary with the OS: the only place where svckit's [`Pid`](svckit_core::Pid)
//! and [`Signal`](svckit_core::Signal) become nix's and back ([`os`]), and where every `unsafe`
//! block of the crate lives ([`calls`]). The rest of the crate speaks svckit's types.

mod calls;
mod os;

pub use calls::c_arguments;
pub(crate) use calls::*;
pub(crate) use os::*;
