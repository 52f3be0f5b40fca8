//! `proxy --record DIR`: keep a session. While the proxy runs, [`capture`] keeps what the app's
//! own calls show; when it stops, the recording is written:
//!
//! - `world.toml` ([`world_file`]): the mandator, the clients by role with fresh secrets, the
//!   users with salted password hashes and the bank data finAPI answered, scrubbed ([`scrub`]);
//! - `session.feature` ([`feature`]): the boundary facts of the report, in the step vocabulary;
//! - `shapes.json` ([`shapes`]), only when the session saw shape differences;
//! - `README.md` ([`readme`]): which variable gets which client, and how to run the files.
//!
//! Every file is checked for every secret the session carried before anything is written.

mod capture;
mod feature;
mod readme;
mod scrub;
mod shapes;
mod world_file;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::Serialize;

use super::ProxyReport;
use crate::model::ApiVersion;
use crate::runner::Credentials;
pub(crate) use capture::Seen;

/// One file a recording wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedFile {
    /// Its name in the recording's directory.
    pub name: String,
    pub lines: usize,
    pub bytes: usize,
}

/// What a recording wrote, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    pub dir: PathBuf,
    pub files: Vec<RecordedFile>,
}

impl Recorded {
    /// One line: `recorded 4 files (312 lines, 10240 bytes) to DIR`.
    pub fn summary_line(&self) -> String {
        let lines: usize = self.files.iter().map(|f| f.lines).sum();
        let bytes: usize = self.files.iter().map(|f| f.bytes).sum();
        format!(
            "recorded {} files ({lines} lines, {bytes} bytes) to {}",
            self.files.len(),
            self.dir.display()
        )
    }
}

/// A recording in progress.
pub(crate) struct Recorder {
    dir: PathBuf,
    version: ApiVersion,
    credentials: Credentials,
    capture: Mutex<capture::Capture>,
}

/// The shortest secret the final scan looks for (shorter ones match ordinary words).
const SCAN_MIN: usize = 8;

impl Recorder {
    /// A recorder for `dir`, which is created now and must take files: a session is not to
    /// be lost to a directory found unwritable only when the proxy stops.
    pub fn new(
        dir: &Path,
        version: ApiVersion,
        credentials: Credentials,
    ) -> Result<Recorder, String> {
        let shown = dir.display();
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the recording's directory {shown}: {e}"))?;
        let probe = dir.join(format!(".finapi-conformance-{}", std::process::id()));
        std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|e| format!("cannot write in the recording's directory {shown}: {e}"))?;
        Ok(Recorder {
            dir: dir.to_path_buf(),
            version,
            credentials,
            capture: Mutex::new(capture::Capture::default()),
        })
    }

    /// Keep what one of the app's calls shows.
    pub fn observe(&self, seen: &Seen<'_>) {
        self.capture.lock().observe(self.version, seen);
    }

    /// The files of the recording, by name, in the order they are written.
    fn files(&self, report: &ProxyReport) -> Result<Vec<(&'static str, String)>, String> {
        let capture = self.capture.lock();
        let took_part: BTreeSet<_> = report.report.results.iter().map(|r| r.principal).collect();
        let (world, vars, left) =
            world_file::build(&capture, &self.credentials, self.version, &took_part);
        world
            .validate()
            .map_err(|e| format!("the recorded world does not validate: {e}"))?;
        let user = world.mandators[0]
            .users
            .first()
            .map_or("user".to_string(), |u| u.id.clone());
        let differ: BTreeSet<(String, u16)> = report
            .shape_differences
            .iter()
            .map(|d| (d.operation.clone(), d.status))
            .collect();
        let (feature, stated) =
            feature::render(&report.report.results, self.version, &user, &differ);
        let shapes = shapes::render(&report.shape_differences, &capture.examples);
        let readme = readme::render(
            &world,
            &vars,
            &left,
            stated,
            shapes.as_ref().map(|_| report.shape_differences.len()),
        );
        let mut files = vec![
            ("world.toml", world_file::render(&world)?),
            ("session.feature", feature),
            ("README.md", readme),
        ];
        if let Some(s) = shapes {
            files.push(("shapes.json", s));
        }
        Ok(files)
    }

    /// Write the recording; `secrets` are every secret the session carried (none may be in a
    /// file: the recording is refused, naming the file, if one is).
    pub fn write(&self, report: &ProxyReport, secrets: &[String]) -> Result<Recorded, String> {
        let files = self.files(report)?;
        for (name, text) in &files {
            if secrets
                .iter()
                .any(|s| s.len() >= SCAN_MIN && text.contains(s.as_str()))
            {
                return Err(format!(
                    "the recording's {name} would hold a secret of the session: nothing written"
                ));
            }
        }
        let shown = self.dir.display().to_string();
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create the recording's directory {shown}: {e}"))?;
        let mut written = Vec::new();
        for (name, text) in &files {
            let path = self.dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(RecordedFile {
                name: name.to_string(),
                lines: text.lines().count(),
                bytes: text.len(),
            });
        }
        // A shapes.json of an earlier recording in the same directory would tell of
        // differences this session did not see.
        if !files.iter().any(|(n, _)| *n == "shapes.json") {
            let stale = self.dir.join("shapes.json");
            if stale.exists() {
                std::fs::remove_file(&stale)
                    .map_err(|e| format!("cannot remove {}: {e}", stale.display()))?;
            }
        }
        Ok(Recorded {
            dir: self.dir.clone(),
            files: written,
        })
    }
}
