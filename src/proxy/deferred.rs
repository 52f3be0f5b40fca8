//! Replays that wait for their principals. A read that could not be replayed as some principal
//! because the proxy held no token for it yet (no other user had logged in, nothing had been
//! revoked or had expired) is kept, and replayed as that principal once a token for it appears,
//! if the read is stable: a read of configuration or of the caller's own resources, which the
//! app was shown (a 2xx), outside Web Form 2.0 (whose forms expire and complete). Waiting is
//! bounded in count ([`Bounds::max_deferred`] reads) and in time ([`Bounds::defer_for`]); what
//! the bound kept from being sent is noted, as is what was still waiting when the report was
//! made.
//!
//! This module keeps the waiting reads and their notes; `replay.rs` forms their replays.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use serde::Serialize;

use super::ids::Named;
use crate::model::{Operation, Principal, Safety};

/// How many replays the proxy sends, and how many reads wait, for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// Most replays in one run (liveness controls included).
    pub max_replays: usize,
    /// Most reads waiting for a principal at once.
    pub max_deferred: usize,
    /// Longest a read waits for a principal.
    pub defer_for: Duration,
}

/// A read of the app's, as its replays need it.
#[derive(Debug, Clone)]
pub(crate) struct ReadCall {
    pub op: Operation,
    pub method: Method,
    pub path_and_query: String,
    pub body: Bytes,
    /// Who sent it, and the user for a user's token.
    pub original: Principal,
    pub user: Option<String>,
    /// What the app's own call got.
    pub status: u16,
    /// The ids its query names, with the app's own answer (for the id cells).
    pub ids: Option<Named>,
}

impl ReadCall {
    /// Whether a replay of it sent later shows what one sent now would: `Err` says why not.
    pub fn stable(&self) -> Result<(), &'static str> {
        if self.op.safety != Safety::Read || self.op.is_grant_row() {
            return Err("not a read");
        }
        if self.op.is_webform() {
            return Err("a Web Form 2.0 read, whose forms and tasks expire and complete");
        }
        if !(200..300).contains(&self.status) {
            return Err("the app's own call was not let through, so it read nothing of its own");
        }
        Ok(())
    }

    fn same(&self, other: &ReadCall) -> bool {
        self.method == other.method
            && self.path_and_query == other.path_and_query
            && self.body == other.body
            && self.original == other.original
            && self.user == other.user
    }
}

/// A read waiting for principals: each with why it waited.
#[derive(Debug, Clone)]
pub(crate) struct Deferred {
    pub read: ReadCall,
    pub waiting: BTreeMap<Principal, String>,
    pub since: Instant,
}

/// Per operation and principal: how many replays waited, how many were sent once a token
/// appeared, and which were never sent, and why.
#[derive(Debug, Clone, Serialize)]
pub struct DeferredNote {
    pub operation: String,
    pub principal: Principal,
    /// Why they waited: the token the proxy did not hold yet.
    pub waited_for: String,
    pub deferred: usize,
    pub sent: usize,
    /// Why some were never sent (the bound, the time they waited), with how many.
    pub never_sent: BTreeMap<String, usize>,
}

/// The reads waiting for principals, and the notes of what waited.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    /// The reads still waiting, oldest first.
    pub reads: Vec<Deferred>,
    notes: BTreeMap<(String, Principal), DeferredNote>,
}

impl Waiting {
    fn note(&mut self, op: &str, p: Principal, why: &str) -> &mut DeferredNote {
        self.notes
            .entry((op.to_string(), p))
            .or_insert_with(|| DeferredNote {
                operation: op.to_string(),
                principal: p,
                waited_for: why.to_string(),
                deferred: 0,
                sent: 0,
                never_sent: BTreeMap::new(),
            })
    }

    /// Keep `read` until tokens for the `waiting` principals appear, within the count bound
    /// (else each is noted as never sent).
    pub fn defer(&mut self, read: ReadCall, waiting: BTreeMap<Principal, String>, bounds: &Bounds) {
        if waiting.is_empty() {
            return;
        }
        if let Some(d) = self.reads.iter_mut().find(|d| d.read.same(&read)) {
            // The same request again: it waits once.
            for (p, why) in waiting {
                d.waiting.entry(p).or_insert(why);
            }
            return;
        }
        let full = self.reads.len() >= bounds.max_deferred;
        for (p, why) in &waiting {
            let n = self.note(&read.op.id, *p, why);
            n.deferred += 1;
            if full {
                *n.never_sent
                    .entry(format!(
                        "the bound: {} reads were already waiting",
                        bounds.max_deferred
                    ))
                    .or_default() += 1;
            }
        }
        if !full {
            self.reads.push(Deferred {
                read,
                waiting,
                since: Instant::now(),
            });
        }
    }

    /// Drop the reads that waited longer than the bound, noting each principal as never sent.
    pub fn expire(&mut self, bounds: &Bounds) {
        let (old, kept): (Vec<Deferred>, Vec<Deferred>) = std::mem::take(&mut self.reads)
            .into_iter()
            .partition(|d| d.since.elapsed() > bounds.defer_for);
        self.reads = kept;
        let why = format!(
            "no token for it appeared within {} s",
            bounds.defer_for.as_secs()
        );
        for d in old {
            for (p, waited) in d.waiting {
                *self
                    .note(&d.read.op.id, p, &waited)
                    .never_sent
                    .entry(why.clone())
                    .or_default() += 1;
            }
        }
    }

    /// A deferred replay of `op` as `p` was sent.
    pub fn sent(&mut self, op: &str, p: Principal) {
        if let Some(n) = self.notes.get_mut(&(op.to_string(), p)) {
            n.sent += 1;
        }
    }

    /// A deferred replay of `op` as `p` was not sent, for `why`.
    pub fn never_sent(&mut self, op: &str, p: Principal, why: &str) {
        if let Some(n) = self.notes.get_mut(&(op.to_string(), p)) {
            *n.never_sent.entry(why.to_string()).or_default() += 1;
        }
    }

    /// The notes for the report: the reads still waiting counted as never sent, with why.
    pub fn notes(&self) -> Vec<DeferredNote> {
        let mut notes = self.notes.clone();
        for d in &self.reads {
            for p in d.waiting.keys() {
                if let Some(n) = notes.get_mut(&(d.read.op.id.clone(), *p)) {
                    *n.never_sent
                        .entry(
                            "still waiting when the report was made: no token for it appeared"
                                .into(),
                        )
                        .or_default() += 1;
                }
            }
        }
        notes.into_values().collect()
    }
}
