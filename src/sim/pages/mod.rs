//! The web form's own front pages, outside the API and its guard: the page a user logs in on,
//! the script that embeds it, and the status that script polls.

pub mod login;
pub mod script;
pub mod status;
