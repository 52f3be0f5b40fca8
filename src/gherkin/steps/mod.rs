//! The built-in step definitions, grouped by what they do. They register themselves with
//! cucumber (`#[given]`, `#[when]`, `#[then]`) for [`FinapiWorld`](super::FinapiWorld), so
//! every run with that world has them; the vocabulary is documented in `features/README.md`.

mod answers;
mod catalogue;
mod ids;
mod tokens;
mod webform;

pub(crate) use tokens::{restore_config, restore_secrets};
