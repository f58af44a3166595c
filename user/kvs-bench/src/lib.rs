//! The KVS against LMDB (and the KVS in process memory, for host checks) under the shared
//! benchmark protocol of issue 11: the workloads of `region_kvs::load` ([`Workload`]), each
//! measured phase bracketed by the protocol's snapshots and marker instructions and reported as
//! one `COUNTS` line ([`counts`], from the snapshots of [`probe`] and the instructions of
//! [`markers`]); [`matrix`] runs every workload with 1, 2 and 4 forked workers
//! for one system in one invocation.
//!
//! [`Workload`]: region_kvs::load::Workload

pub mod counts;
pub mod kvs;
pub mod legacy;
pub mod lmdb;
pub mod markers;
pub mod matrix;
pub mod phase;
pub mod probe;
pub mod system;
