//! A temp directory for one test, removed with everything in it when dropped (also when the
//! test fails).

use std::path::{Path, PathBuf};

/// A fresh directory under the system's temp dir, named after its test's area and unique in
/// the run, removed with everything in it when dropped (also when the test fails).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "finapi-conformance-{tag}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    /// A new directory holding one file.
    pub fn with(tag: &str, name: &str, text: &str) -> TempDir {
        let dir = TempDir::new(tag);
        dir.file(name, text);
        dir
    }

    /// Write `name` in the directory; its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `name` in the directory (not created).
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
