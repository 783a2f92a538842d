//! The plan language: parser, model, validator and renderers, plus the runtime contract (`rt`)
//! that generated code implements. An ordinary library so that the `plan!` macro, the
//! `venus-worker plan` tools and the tests all use one implementation.

pub mod rt;
