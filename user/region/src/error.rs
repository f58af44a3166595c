//! Errors that name what they happened to, and keep the errno.

use std::fmt;
use std::io;

/// An error of an operation on a region (or on the device): the kernel's error, with the region's
/// name. Converts into an [`io::Error`] whose `raw_os_error()` is the kernel's errno.
#[derive(Debug)]
pub struct RegionError {
    name: Option<String>,
    source: io::Error,
}

impl RegionError {
    /// An error of an operation on the region `name`.
    pub fn new(name: &str, source: impl Into<io::Error>) -> Self {
        Self {
            name: Some(name.to_string()),
            source: source.into(),
        }
    }

    /// An error of an operation on the device as a whole.
    pub fn device(source: impl Into<io::Error>) -> Self {
        Self {
            name: None,
            source: source.into(),
        }
    }

    /// The kernel's errno, if the error came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "region '{name}': {}", self.source),
            None => write!(f, "/dev/region: {}", self.source),
        }
    }
}

impl std::error::Error for RegionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// An `io::Error` of the errno's kind whose message names the region. (`io::Error` keeps a raw
/// errno only without a message; this one keeps it in the payload: read it with [`errno`].)
impl From<RegionError> for io::Error {
    fn from(e: RegionError) -> io::Error {
        let msg = e.to_string();
        match e.source.raw_os_error() {
            Some(errno) => io::Error::new(
                io::Error::from_raw_os_error(errno).kind(),
                ErrnoMessage { errno, msg },
            ),
            None => io::Error::new(e.source.kind(), msg),
        }
    }
}

/// The payload of such an `io::Error`: the message, and the errno.
#[derive(Debug)]
struct ErrnoMessage {
    errno: i32,
    msg: String,
}

impl fmt::Display for ErrnoMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for ErrnoMessage {}

/// The kernel's errno behind an error of this library (or any `io::Error` from the OS).
pub fn errno(err: &io::Error) -> Option<i32> {
    err.raw_os_error().or_else(|| {
        err.get_ref()
            .and_then(|e| e.downcast_ref::<ErrnoMessage>())
            .map(|m| m.errno)
    })
}
